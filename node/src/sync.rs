//! The runtime's side of catch-up: asking a peer over libp2p for a page of
//! committed blocks. Serving pages and verifying and committing what comes
//! back is the host's job ([`crate::host::catch_up`]).

use crate::p2p::{key_of_peer, P2pHandle};
use crate::wire::{self, SyncRequest, SyncResponse, SYNC_PAGE_MAX};
use kopnet_consensus::PublicKey;

/// What one fetch produced.
#[derive(Debug)]
pub enum SyncOutcome {
    Blocks(SyncResponse),
    Failed(String),
}

/// Ask `target` if it is connected, else the `index`-th connected peer
/// (mod count), for blocks from `from`. Returns the key of the peer asked.
pub async fn fetch(
    p2p: &P2pHandle,
    index: usize,
    from: u64,
    target: Option<PublicKey>,
) -> (Option<PublicKey>, SyncOutcome) {
    let peers = match p2p.connected_peers().await {
        Ok(peers) if !peers.is_empty() => peers,
        Ok(_) => return (target, SyncOutcome::Failed("no peers".into())),
        Err(e) => return (target, SyncOutcome::Failed(e.to_string())),
    };
    let wanted = target.and_then(|key| {
        peers
            .iter()
            .copied()
            .find(|peer| key_of_peer(peer) == Some(key))
    });
    let Some(peer) = wanted.or_else(|| peers.get(index % peers.len()).copied()) else {
        return (target, SyncOutcome::Failed("no peers".into()));
    };
    let key = key_of_peer(&peer);
    (key, ask(p2p, peer, from).await)
}

async fn ask(p2p: &P2pHandle, peer: libp2p::PeerId, from: u64) -> SyncOutcome {
    let request = wire::encode(&SyncRequest::Blocks {
        from,
        limit: SYNC_PAGE_MAX,
    });
    match p2p.request(peer, request).await {
        Ok(bytes) => match wire::decode::<SyncResponse>(&bytes) {
            Ok(response) => SyncOutcome::Blocks(response),
            Err(e) => {
                // Provably bad bytes from the peer we asked.
                let _ = p2p.penalise(peer, crate::p2p::Offence::BadSyncPage).await;
                SyncOutcome::Failed(format!("bad sync response from {peer}: {e}"))
            }
        },
        Err(e) => SyncOutcome::Failed(e.to_string()),
    }
}
