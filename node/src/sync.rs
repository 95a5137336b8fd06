//! Catch-up: serving committed blocks with certificates in pages, and
//! fetching them from a peer, verifying every certificate against the
//! validator set of its height and re-executing every block.

use crate::commit::{certificate_key, commit_block, validator_set_for};
use crate::p2p::P2pHandle;
use crate::shared::NodeState;
use crate::wire::{
    self, SyncRequest, SyncResponse, SyncedBlock, SYNC_PAGE_BYTES_MAX, SYNC_PAGE_MAX,
};
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
    let blocks = page(from, limit, height, SYNC_PAGE_BYTES_MAX, |h| {
        let (Ok(Some(block)), Ok(Some(certificate))) =
            (ledger.block(h), ledger.host_data(&certificate_key(h)))
        else {
            return None;
        };
        let block = block.encode().ok()?;
        Some(SyncedBlock { block, certificate })
    });
    SyncResponse { height, blocks }
}

/// Blocks `from..` up to `height`, at most `limit` (and [`SYNC_PAGE_MAX`])
/// of them and at most `bytes_max` of block and certificate bytes, but
/// always the first one (a block alone always fits a wire message: blocks
/// are bounded well below [`wire::WIRE_BYTES_MAX`]). Stops at the first
/// height `read` cannot supply.
fn page(
    from: u64,
    limit: u32,
    height: u64,
    bytes_max: usize,
    mut read: impl FnMut(u64) -> Option<SyncedBlock>,
) -> Vec<SyncedBlock> {
    let limit = u64::from(limit.min(SYNC_PAGE_MAX));
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let mut h = from.max(1);
    while h <= height && h < from.saturating_add(limit) {
        let Some(synced) = read(h) else { break };
        let size = synced
            .block
            .len()
            .saturating_add(synced.certificate.len())
            .saturating_add(SYNCED_BLOCK_OVERHEAD_BYTES);
        if !blocks.is_empty() && bytes.saturating_add(size) > bytes_max {
            break;
        }
        bytes = bytes.saturating_add(size);
        blocks.push(synced);
        h = h.saturating_add(1);
    }
    blocks
}

/// Encoding overhead of one [`SyncedBlock`] beyond its two byte strings
/// (two length prefixes).
const SYNCED_BLOCK_OVERHEAD_BYTES: usize = 16;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn synced(bytes: usize) -> SyncedBlock {
        SyncedBlock {
            block: vec![7; bytes],
            certificate: vec![1; 300],
        }
    }

    #[test]
    fn a_page_stops_at_its_byte_budget_and_fits_a_wire_message() {
        const MIB: usize = 1024 * 1024;
        // 40 blocks of 3 MiB: a page of 64 would be 120 MiB.
        let blocks = page(1, 64, 40, SYNC_PAGE_BYTES_MAX, |_| Some(synced(3 * MIB)));
        assert_eq!(blocks.len(), SYNC_PAGE_BYTES_MAX / (3 * MIB + 316));
        let response = SyncResponse { height: 40, blocks };
        let encoded = wire::encode(&response);
        assert!(!encoded.is_empty() && encoded.len() <= wire::WIRE_BYTES_MAX);
        assert_eq!(wire::decode::<SyncResponse>(&encoded).unwrap(), response);
    }

    #[test]
    fn a_page_always_carries_one_block_even_over_budget() {
        let blocks = page(5, 64, 40, 1_000, |_| Some(synced(5_000)));
        assert_eq!(blocks.len(), 1);
    }

    #[test]
    fn a_page_is_bounded_by_count_height_and_missing_blocks() {
        assert_eq!(
            page(1, 1_000, 500, usize::MAX, |_| Some(synced(10))).len(),
            64
        );
        assert_eq!(page(1, 10, 500, usize::MAX, |_| Some(synced(10))).len(), 10);
        assert_eq!(
            page(498, 64, 500, usize::MAX, |_| Some(synced(10))).len(),
            3
        );
        let missing_after_3 = |h: u64| (h < 4).then(|| synced(10));
        assert_eq!(page(1, 64, 500, usize::MAX, missing_after_3).len(), 3);
        assert!(page(0, 64, 0, usize::MAX, |_| Some(synced(10))).is_empty());
    }
}
