//! Bytes on the wire: a TCP stream wrapper that counts what every
//! connection writes and reads, below noise and yamux, so the figure is
//! what really crosses the network (handshakes, encryption, framing,
//! gossip, catch-up and keep-alives included). Issue 21 measures bytes per
//! committed transaction with it (`kopnet_p2p_bytes_sent_total`).

use super::stats::P2pStats;
use futures::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A stream that adds what it writes and reads to the shared [`P2pStats`].
#[derive(Debug)]
pub(crate) struct CountedStream<S> {
    inner: S,
    stats: Arc<P2pStats>,
}

impl<S> CountedStream<S> {
    pub(crate) fn new(inner: S, stats: Arc<P2pStats>) -> CountedStream<S> {
        CountedStream { inner, stats }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(read)) = &poll {
            this.stats.count_bytes_received(*read);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = &poll {
            this.stats.count_bytes_sent(*written);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = &poll {
            this.stats.count_bytes_sent(*written);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn counts_what_is_written_and_read() {
        let stats = Arc::new(P2pStats::default());
        futures::executor::block_on(async {
            let mut writer =
                CountedStream::new(futures::io::Cursor::new(Vec::new()), stats.clone());
            writer.write_all(b"hello wire").await.unwrap();
            let mut reader =
                CountedStream::new(futures::io::Cursor::new(vec![7u8; 5]), stats.clone());
            let mut buf = Vec::new();
            reader.read_to_end(&mut buf).await.unwrap();
        });
        assert_eq!(stats.bytes_sent_total(), 10);
        assert_eq!(stats.bytes_received_total(), 5);
    }
}
