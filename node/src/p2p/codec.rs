//! A length-prefixed byte codec for `/kopnet/sync/1`.
//!
//! Frame: a 4-byte big-endian length, then that many bytes. A request may
//! be at most [`SYNC_REQUEST_BYTES_MAX`], a response at most
//! [`SYNC_MESSAGE_BYTES_MAX`]; a longer announced length is refused before
//! anything is read. Within the bound, the buffer grows only as bytes
//! actually arrive, so announcing 16 MiB and sending five bytes costs five.

use super::config::{SYNC_MESSAGE_BYTES_MAX, SYNC_REQUEST_BYTES_MAX};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{request_response, StreamProtocol};
use std::io;

/// The first read's capacity: most frames (requests, short pages) fit.
const FRAME_INITIAL_CAPACITY_BYTES: usize = 4 * 1024;

/// A request-response codec of length-prefixed frames: requests of at most
/// `REQUEST_MAX` bytes, responses of at most `RESPONSE_MAX`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FramedCodec<const REQUEST_MAX: usize, const RESPONSE_MAX: usize>;

/// Catch-up (`/kopnet/sync/1`).
pub type SyncCodec = FramedCodec<SYNC_REQUEST_BYTES_MAX, SYNC_MESSAGE_BYTES_MAX>;

/// Read one frame of at most `limit` bytes into `data` (cleared first).
async fn read_frame_into<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
    data: &mut Vec<u8>,
) -> io::Result<()> {
    data.clear();
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let announced = u32::from_be_bytes(prefix);
    let length = usize::try_from(announced)
        .ok()
        .filter(|length| *length <= limit)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {announced} bytes exceeds {limit}"),
            )
        })?;
    data.reserve(length.min(FRAME_INITIAL_CAPACITY_BYTES));
    (&mut *io)
        .take(u64::from(announced))
        .read_to_end(data)
        .await?;
    if data.len() != length {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame announced {length} bytes, got {}", data.len()),
        ));
    }
    Ok(())
}

pub(super) async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    read_frame_into(io, limit, &mut data).await?;
    Ok(data)
}

pub(super) async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    data: &[u8],
    limit: usize,
) -> io::Result<()> {
    if data.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds {limit}", data.len()),
        ));
    }
    let length = u32::try_from(data.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
    io.write_all(&length.to_be_bytes()).await?;
    io.write_all(data).await?;
    io.close().await
}

impl<const REQUEST_MAX: usize, const RESPONSE_MAX: usize> request_response::Codec
    for FramedCodec<REQUEST_MAX, RESPONSE_MAX>
{
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, REQUEST_MAX).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, RESPONSE_MAX).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &request, REQUEST_MAX).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, RESPONSE_MAX).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;
    use libp2p::request_response::Codec;

    fn protocol() -> StreamProtocol {
        StreamProtocol::new(super::super::config::SYNC_PROTOCOL)
    }

    fn frame(length: usize, body: &[u8]) -> Vec<u8> {
        let mut wire = u32::try_from(length).unwrap().to_be_bytes().to_vec();
        wire.extend_from_slice(body);
        wire
    }

    #[tokio::test]
    async fn requests_have_their_own_small_bound() {
        let mut codec = SyncCodec::default();
        let largest = vec![7u8; SYNC_REQUEST_BYTES_MAX];
        let mut wire = Vec::new();
        codec
            .write_request(&protocol(), &mut Cursor::new(&mut wire), largest.clone())
            .await
            .unwrap();
        let read = codec
            .read_request(&protocol(), &mut Cursor::new(wire))
            .await
            .unwrap();
        assert_eq!(read, largest);

        let mut sink = Vec::new();
        let too_long = vec![7u8; SYNC_REQUEST_BYTES_MAX + 1];
        let written = codec
            .write_request(&protocol(), &mut Cursor::new(&mut sink), too_long.clone())
            .await;
        assert_eq!(written.unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert!(sink.is_empty(), "nothing written for a refused request");
        // A request announcing more than the request bound is refused even
        // though a response of that size would be fine.
        let wire = frame(SYNC_REQUEST_BYTES_MAX + 1, &too_long);
        let read = codec
            .read_request(&protocol(), &mut Cursor::new(wire.clone()))
            .await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::InvalidData);
        let read = codec
            .read_response(&protocol(), &mut Cursor::new(wire))
            .await;
        assert_eq!(read.unwrap(), too_long);
    }

    #[tokio::test]
    async fn responses_beyond_the_bound_are_refused_before_reading() {
        let mut codec = SyncCodec::default();
        let wire = frame(SYNC_MESSAGE_BYTES_MAX + 1, b"");
        let read = codec
            .read_response(&protocol(), &mut Cursor::new(wire))
            .await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::InvalidData);
        let wire = frame(u32::MAX as usize, b"");
        let read = codec
            .read_response(&protocol(), &mut Cursor::new(wire))
            .await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test]
    async fn a_short_stream_announcing_the_maximum_allocates_only_what_arrived() {
        let wire = frame(SYNC_MESSAGE_BYTES_MAX, b"hello");
        let mut data = Vec::new();
        let read = read_frame_into(&mut Cursor::new(wire), SYNC_MESSAGE_BYTES_MAX, &mut data).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(data, b"hello");
        assert!(
            data.capacity() <= 64 * 1024,
            "{} bytes allocated for a 5-byte body",
            data.capacity()
        );
    }

    #[tokio::test]
    async fn a_frame_exactly_as_announced_is_read_and_the_rest_left() {
        let mut wire = frame(3, b"abc");
        wire.extend_from_slice(b"trailing");
        let mut cursor = Cursor::new(wire);
        let mut data = Vec::new();
        read_frame_into(&mut cursor, 16, &mut data).await.unwrap();
        assert_eq!(data, b"abc");
        assert_eq!(cursor.position(), 7);
    }
}
