//! Catch-up: serving committed blocks with certificates in pages, and
//! fetching them from a peer, verifying every certificate against the
//! validator set of its height and re-executing every block.

use crate::commit::{certificate_key, commit_block, validator_set_for};
use crate::p2p::P2pHandle;
use crate::shared::NodeState;
use crate::wire::{self, SyncRequest, SyncResponse, SyncedBlock, SYNC_PAGE_MAX};
use kopnet_consensus::{codec, CommitCertificate};
use kopnet_ledger::Block;

/// What one fetch produced.
#[derive(Debug)]
pub enum SyncOutcome {
    Blocks(SyncResponse),
    Failed(String),
}

/// Answer a sync request from our store (bounded page).
pub fn serve(state: &NodeState, request: &SyncRequest) -> SyncResponse {
    let SyncRequest::Blocks { from, limit } = *request;
    let Ok(ledger) = state.ledger.read() else {
        return SyncResponse {
            height: 0,
            blocks: vec![],
        };
    };
    let height = ledger.height();
    let mut blocks = Vec::new();
    let limit = u64::from(limit.min(SYNC_PAGE_MAX));
    let mut h = from.max(1);
    while h <= height && h < from.saturating_add(limit) {
        let (Ok(Some(block)), Ok(Some(cert))) =
            (ledger.block(h), ledger.host_data(&certificate_key(h)))
        else {
            break;
        };
        let Ok(bytes) = block.encode() else { break };
        blocks.push(SyncedBlock {
            block: bytes,
            certificate: cert,
        });
        h = h.saturating_add(1);
    }
    SyncResponse { height, blocks }
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

/// Verify and apply synced blocks in order; stop at the first bad one.
/// Returns how many were applied.
pub fn apply(state: &NodeState, response: &SyncResponse) -> usize {
    let mut applied = 0;
    for synced in &response.blocks {
        match apply_one(state, synced) {
            Ok(true) => applied += 1,
            Ok(false) => {}
            Err(reason) => {
                tracing::warn!(%reason, "rejected synced block");
                break;
            }
        }
    }
    applied
}

fn apply_one(state: &NodeState, synced: &SyncedBlock) -> Result<bool, String> {
    let block = Block::decode(&synced.block).map_err(|e| e.to_string())?;
    let certificate: CommitCertificate =
        codec::decode(&synced.certificate).map_err(|e| e.to_string())?;
    let height = block.header.height;
    let (ours, validators) = {
        let ledger = state.ledger.read().map_err(|_| "ledger lock".to_string())?;
        if height <= ledger.height() {
            return Ok(false);
        }
        let validators = validator_set_for(&ledger, height).map_err(|e| e.to_string())?;
        (ledger.height(), validators)
    };
    if height != ours.saturating_add(1) {
        return Err(format!("block {height} does not follow our height {ours}"));
    }
    if certificate.height != height || certificate.value_id != block.hash() {
        return Err(format!("certificate does not match block {height}"));
    }
    certificate
        .verify(&state.chain_id, &validators)
        .map_err(|e| format!("certificate of block {height}: {e}"))?;
    commit_block(state, &block, &certificate).map_err(|e| e.to_string())?;
    Ok(true)
}
