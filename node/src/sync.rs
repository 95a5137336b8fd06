//! The runtime's side of catch-up: asking a peer over libp2p for a page of
//! committed blocks. Serving pages and verifying and committing what comes
//! back is the host's job ([`crate::host::catch_up`]).

use crate::p2p::P2pHandle;
use crate::wire::{self, SyncRequest, SyncResponse, SYNC_PAGE_MAX};

/// What one fetch produced.
#[derive(Debug)]
pub enum SyncOutcome {
    Blocks(SyncResponse),
    Failed(String),
}

/// Ask the `index`-th connected peer (mod count) for blocks from `from`.
pub async fn fetch(p2p: &P2pHandle, index: usize, from: u64) -> SyncOutcome {
    let peers = match p2p.connected_peers().await {
        Ok(peers) if !peers.is_empty() => peers,
        Ok(_) => return SyncOutcome::Failed("no peers".into()),
        Err(e) => return SyncOutcome::Failed(e.to_string()),
    };
    let Some(peer) = peers.get(index % peers.len()).copied() else {
        return SyncOutcome::Failed("no peers".into());
    };
    let request = wire::encode(&SyncRequest::Blocks {
        from,
        limit: SYNC_PAGE_MAX,
    });
    match p2p.request(peer, request).await {
        Ok(bytes) => match wire::decode::<SyncResponse>(&bytes) {
            Ok(response) => SyncOutcome::Blocks(response),
            Err(e) => SyncOutcome::Failed(format!("bad sync response from {peer}: {e}")),
        },
        Err(e) => SyncOutcome::Failed(e.to_string()),
    }
}
