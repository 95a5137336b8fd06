//! Catch-up: serving committed blocks with their certificates in bounded
//! pages, and taking such pages from a peer — every certificate verified
//! against the validator set of its height, every block re-executed —
//! while one request at a time is in flight.

use super::commit::{commit_block, CommitError};
use super::effect::{CommitPath, Committed, Effect, Effects};
use super::state::HostState;
use crate::chain_store;
use crate::wire::{SyncRequest, SyncResponse, SyncedBlock, SYNC_PAGE_BYTES_MAX, SYNC_PAGE_MAX};
use kopnet_consensus::{codec, CommitCertificate};
use kopnet_ledger::{Block, Storage};

/// The catch-up state: the best height peers claimed, and the request in
/// flight (at most one).
#[derive(Debug, Default)]
pub struct CatchUp {
    best_seen_height: u64,
    /// The attempt in flight, if any.
    in_flight: Option<u64>,
    attempts: u64,
}

impl CatchUp {
    pub fn new(height: u64) -> Self {
        CatchUp {
            best_seen_height: height,
            ..CatchUp::default()
        }
    }

    /// Whether peers claim heights above `height`.
    pub fn behind(&self, height: u64) -> bool {
        self.best_seen_height > height
    }

    pub fn saw_height(&mut self, height: u64) {
        self.best_seen_height = self.best_seen_height.max(height);
    }

    /// Ask for blocks after `height` unless a request is in flight.
    pub fn request(&mut self, height: u64, effects: &mut Effects) {
        if self.in_flight.is_some() {
            return;
        }
        self.attempts = self.attempts.wrapping_add(1);
        self.in_flight = Some(self.attempts);
        effects.push(Effect::RequestBlocks {
            from: height.saturating_add(1),
            attempt: self.attempts,
        });
    }

    /// The answer to `attempt` arrived (or failed): true if it was the one
    /// in flight (a stale answer is ignored).
    pub fn answered(&mut self, attempt: u64) -> bool {
        if self.in_flight == Some(attempt) {
            self.in_flight = None;
            true
        } else {
            false
        }
    }
}

/// Answer a sync request from our store (a bounded page).
pub fn serve<S: Storage>(state: &HostState<S>, request: &SyncRequest) -> SyncResponse {
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
            (ledger.block(h), chain_store::certificate_bytes(&ledger, h))
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
/// are bounded well below [`crate::wire::WIRE_BYTES_MAX`]). Stops at the
/// first height `read` cannot supply.
pub(crate) fn page(
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

/// Why a synced block was refused (the rest of its page is dropped).
#[derive(Debug, thiserror::Error)]
pub enum SyncedBlockRefusal {
    #[error("does not decode: {0}")]
    Decode(String),
    #[error("block {height} does not follow our height {ours}")]
    Gap { height: u64, ours: u64 },
    #[error("certificate does not match block {height}")]
    CertificateMismatch { height: u64 },
    #[error("certificate of block {height}: {reason}")]
    Certificate { height: u64, reason: String },
    #[error("no validator set for block {height}: {reason}")]
    ValidatorSet { height: u64, reason: String },
}

/// What taking one synced block came to.
pub enum SyncedBlockOutcome {
    /// Committed.
    Committed(Box<Committed>),
    /// At or below our height: nothing to do.
    Known,
}

/// Verify one synced block and commit it. A refusal changes nothing; a
/// commit error is the host's (fail-stop) business.
pub fn take_one<S: Storage>(
    state: &HostState<S>,
    synced: &SyncedBlock,
) -> Result<Result<SyncedBlockOutcome, SyncedBlockRefusal>, CommitError> {
    let refuse = |r| Ok(Err(r));
    let block = match Block::decode(&synced.block) {
        Ok(block) => block,
        Err(e) => return refuse(SyncedBlockRefusal::Decode(e.to_string())),
    };
    let certificate: CommitCertificate = match codec::decode(&synced.certificate) {
        Ok(c) => c,
        Err(e) => return refuse(SyncedBlockRefusal::Decode(e.to_string())),
    };
    let height = block.header.height;
    let validators = {
        let ledger = state.ledger.read().map_err(|_| CommitError::Poisoned)?;
        let ours = ledger.height();
        if height <= ours {
            return Ok(Ok(SyncedBlockOutcome::Known));
        }
        if height != ours.saturating_add(1) {
            return refuse(SyncedBlockRefusal::Gap { height, ours });
        }
        match chain_store::validator_set(&ledger, height) {
            Ok(v) => v,
            Err(e) => {
                return refuse(SyncedBlockRefusal::ValidatorSet {
                    height,
                    reason: e.to_string(),
                })
            }
        }
    };
    if certificate.height != height || certificate.value_id != block.hash() {
        return refuse(SyncedBlockRefusal::CertificateMismatch { height });
    }
    if let Err(e) = certificate.verify(&state.chain_id, &validators) {
        return refuse(SyncedBlockRefusal::Certificate {
            height,
            reason: e.to_string(),
        });
    }
    let committed = commit_block(state, block, None, certificate, CommitPath::CaughtUp)?;
    Ok(Ok(SyncedBlockOutcome::Committed(Box::new(committed))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

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

    #[test]
    fn one_request_in_flight_and_stale_answers_ignored() {
        let mut catch_up = CatchUp::new(5);
        let mut effects = Effects::default();
        catch_up.request(5, &mut effects);
        catch_up.request(5, &mut effects);
        assert_eq!(effects.len(), 1);
        assert!(matches!(
            effects.iter().next(),
            Some(Effect::RequestBlocks {
                from: 6,
                attempt: 1
            })
        ));
        assert!(!catch_up.answered(7));
        assert!(catch_up.answered(1));
        assert!(!catch_up.answered(1));
        assert!(!catch_up.behind(5));
        catch_up.saw_height(9);
        assert!(catch_up.behind(5));
    }
}
