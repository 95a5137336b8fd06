//! Catch-up: serving committed blocks with their certificates in bounded
//! pages, and taking such pages from a peer — every certificate verified
//! against the validator set of its height, every block re-executed —
//! while one request at a time is in flight.

use super::commit::{commit_block, CommitError};
use super::effect::{CommitPath, Committed, Effect, Effects};
use super::state::HostState;
use crate::chain_store;
use crate::wire::{SyncRequest, SyncResponse, SyncedBlock, SYNC_PAGE_BYTES_MAX, SYNC_PAGE_MAX};
use kopnet_consensus::{codec, CommitCertificate, PublicKey};
use kopnet_ledger::{Block, Storage};
use std::collections::BTreeMap;

/// Peers whose height claims are remembered (allowed peers only reach the
/// host, so this is a bound, not a filter).
pub const CLAIMS_MAX: usize = 256;
/// How long a peer whose claim or page proved false is not believed.
pub const DISCREDIT_MS: u64 = 60_000;
/// Failed requests (timeouts, no answer) to a claimant before its claim is
/// dropped without penalty (it may just be gone).
pub const CLAIM_FAILURES_MAX: u32 = 3;

/// Why the host wants a peer penalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerOffence {
    /// It answered a catch-up request with a block or certificate that
    /// does not verify.
    BadSyncPage,
    /// It claimed a committed height it then could not serve.
    FalseHeightClaim,
}

#[derive(Debug, Clone, Copy)]
struct Claim {
    height: u64,
    failures: u32,
}

/// The request in flight: its attempt number and the peer it targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub attempt: u64,
    pub peer: Option<PublicKey>,
}

/// The catch-up state. Heights peers claim (in `Committed` hints and in
/// the height of their catch-up answers) are *claims*: a claim makes the
/// node ask that very peer for blocks; a peer that then cannot serve a
/// block above our height, or serves one that does not verify, loses its
/// claim, is not believed for [`DISCREDIT_MS`] and is reported for a
/// penalty. The node is `syncing` while an unrefuted claim is above its
/// height — never for good on one peer's word.
#[derive(Debug, Default)]
pub struct CatchUp {
    claims: BTreeMap<PublicKey, Claim>,
    /// Peers that answered "cannot serve from there" (they pruned it, see
    /// [`serve`]): not asked for blocks from this height or below, which
    /// they cannot come to hold again. At most [`CLAIMS_MAX`].
    unable: BTreeMap<PublicKey, u64>,
    /// Peers not believed until the given time (ms).
    discredited: BTreeMap<PublicKey, u64>,
    in_flight: Option<InFlight>,
    attempts: u64,
}

impl CatchUp {
    pub fn new() -> Self {
        CatchUp::default()
    }

    /// Whether a peer's standing claim is above `height`.
    pub fn behind(&self, height: u64) -> bool {
        self.claims.values().any(|c| c.height > height)
    }

    /// The highest standing claim, if any.
    pub fn best_claim(&self) -> Option<u64> {
        self.claims.values().map(|c| c.height).max()
    }

    /// `peer` says it committed `height`. Ignored from a discredited peer
    /// (until its time is up) or when the table is full; returns whether
    /// the claim stands.
    pub fn claim(&mut self, now_ms: u64, peer: PublicKey, height: u64) -> bool {
        match self.discredited.get(&peer) {
            Some(until) if *until > now_ms => return false,
            Some(_) => {
                self.discredited.remove(&peer);
            }
            None => {}
        }
        if let Some(claim) = self.claims.get_mut(&peer) {
            if height > claim.height {
                *claim = Claim {
                    height,
                    failures: 0,
                };
            }
            return true;
        }
        if self.claims.len() >= CLAIMS_MAX {
            return false;
        }
        self.claims.insert(
            peer,
            Claim {
                height,
                failures: 0,
            },
        );
        true
    }

    /// Drop claims at or below our `height` (fulfilled).
    pub fn forget_up_to(&mut self, height: u64) {
        self.claims.retain(|_, c| c.height > height);
        self.unable.retain(|_, from| *from > height);
    }

    /// `peer` cannot serve blocks from `from` (it pruned them): ask
    /// someone else for those, without holding it against the peer.
    pub fn unable_from(&mut self, peer: PublicKey, from: u64) {
        if self.unable.len() >= CLAIMS_MAX && !self.unable.contains_key(&peer) {
            return;
        }
        let at = self.unable.entry(peer).or_insert(from);
        *at = (*at).max(from);
    }

    /// Whether `peer` said it cannot serve blocks from `from`.
    pub fn is_unable(&self, peer: &PublicKey, from: u64) -> bool {
        self.unable.get(peer).is_some_and(|at| from <= *at)
    }

    /// Ask for blocks after `height` unless a request is in flight: from
    /// the peer with the highest claim above it, or from any peer.
    pub fn request(&mut self, height: u64, effects: &mut Effects) {
        if self.in_flight.is_some() {
            return;
        }
        let from = height.saturating_add(1);
        let peer = self
            .claims
            .iter()
            .filter(|(key, c)| c.height > height && !self.is_unable(key, from))
            .max_by_key(|(key, c)| (c.height, std::cmp::Reverse(**key)))
            .map(|(key, _)| *key);
        self.attempts = self.attempts.wrapping_add(1);
        self.in_flight = Some(InFlight {
            attempt: self.attempts,
            peer,
        });
        effects.push(Effect::RequestBlocks {
            from,
            attempt: self.attempts,
            peer,
        });
    }

    /// The answer to `attempt` arrived (or failed): the request, if it was
    /// the one in flight (a stale answer is ignored).
    pub fn answered(&mut self, attempt: u64) -> Option<InFlight> {
        match self.in_flight {
            Some(in_flight) if in_flight.attempt == attempt => self.in_flight.take(),
            _ => None,
        }
    }

    /// A request to `peer` failed: after [`CLAIM_FAILURES_MAX`] failures
    /// its claim is dropped.
    pub fn failed(&mut self, peer: Option<PublicKey>) {
        let Some(peer) = peer else { return };
        if let Some(claim) = self.claims.get_mut(&peer) {
            claim.failures = claim.failures.saturating_add(1);
            if claim.failures >= CLAIM_FAILURES_MAX {
                self.claims.remove(&peer);
            }
        }
    }

    /// `peer` proved false: drop its claim, do not believe it for a while.
    pub fn discredit(&mut self, now_ms: u64, peer: PublicKey) {
        self.claims.remove(&peer);
        if self.discredited.len() >= CLAIMS_MAX {
            // Expired entries first; the table stays bounded either way.
            self.discredited.retain(|_, until| *until > now_ms);
        }
        if self.discredited.len() < CLAIMS_MAX {
            self.discredited
                .insert(peer, now_ms.saturating_add(DISCREDIT_MS));
        }
    }

    /// What a page from `peer` says about it: `served` is whether it
    /// carried any block, `refused` whether one failed verification,
    /// `claimed` the height the page itself states, `ours` our height
    /// before the page. Returns the offence, if any (the claim is dropped
    /// and the peer discredited then).
    ///
    /// Only the page's own height proves a false claim: an honest page
    /// written before its sender's newer hint (the two cross on the wire)
    /// states a height we have and no block. Such a page counts as a
    /// failed request against the standing claim instead.
    pub fn judge_page(
        &mut self,
        now_ms: u64,
        peer: PublicKey,
        served: bool,
        refused: bool,
        claimed: u64,
        ours: u64,
    ) -> Option<PeerOffence> {
        let offence = if refused {
            Some(PeerOffence::BadSyncPage)
        } else if !served && claimed > ours {
            Some(PeerOffence::FalseHeightClaim)
        } else {
            if !served && self.claims.get(&peer).is_some_and(|c| c.height > ours) {
                self.failed(Some(peer));
            }
            None
        };
        if offence.is_some() {
            self.discredit(now_ms, peer);
        }
        offence
    }
}

/// Answer a sync request from our store (a bounded page).
///
/// A request from below our base (blocks this node pruned, or never had
/// because it started from a snapshot) is answered with no block and
/// height 0: [`SyncResponse::cannot_serve`]. The requester treats that as
/// "ask someone else" and holds nothing against us; claiming our real
/// height with no block would read as a false claim.
pub fn serve<S: Storage>(state: &HostState<S>, request: &SyncRequest) -> SyncResponse {
    let SyncRequest::Blocks { from, limit } = *request;
    let Ok(ledger) = state.ledger.read() else {
        return SyncResponse::cannot_serve();
    };
    let height = ledger.height();
    if from.max(1) < ledger.base_height() && from <= height {
        return SyncResponse::cannot_serve();
    }
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
pub fn page(
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

    fn key(i: u8) -> PublicKey {
        kopnet_consensus::Keypair::from_seed([i; 32]).public()
    }

    #[test]
    fn one_request_in_flight_to_the_best_claimant_and_stale_answers_ignored() {
        let mut catch_up = CatchUp::new();
        let mut effects = Effects::default();
        assert!(catch_up.claim(0, key(1), 7));
        assert!(catch_up.claim(0, key(2), 9));
        catch_up.request(5, &mut effects);
        catch_up.request(5, &mut effects);
        assert_eq!(effects.len(), 1);
        assert!(matches!(
            effects.iter().next(),
            Some(Effect::RequestBlocks { from: 6, attempt: 1, peer: Some(p) }) if *p == key(2)
        ));
        assert!(catch_up.answered(7).is_none());
        assert_eq!(catch_up.answered(1).map(|f| f.peer), Some(Some(key(2))));
        assert!(catch_up.answered(1).is_none());
        assert!(catch_up.behind(5));
        catch_up.forget_up_to(9);
        assert!(!catch_up.behind(9));
    }

    #[test]
    fn a_false_claim_is_dropped_penalised_and_not_believed_for_a_while() {
        let mut catch_up = CatchUp::new();
        assert!(catch_up.claim(0, key(3), 1_000_000));
        assert!(catch_up.behind(5));
        // It answers with no block above ours: a false claim.
        assert_eq!(
            catch_up.judge_page(10, key(3), false, false, 1_000_000, 5),
            Some(PeerOffence::FalseHeightClaim)
        );
        assert!(!catch_up.behind(5));
        // Its next hints are ignored until the discredit runs out.
        assert!(!catch_up.claim(20, key(3), 2_000_000));
        assert!(!catch_up.behind(5));
        assert!(catch_up.claim(10 + DISCREDIT_MS, key(3), 6));
        // A page that does not verify is a bad page.
        assert_eq!(
            catch_up.judge_page(10 + DISCREDIT_MS, key(3), true, true, 6, 5),
            Some(PeerOffence::BadSyncPage)
        );
        // An honest answer is no offence.
        assert!(catch_up.claim(0, key(4), 8));
        assert_eq!(catch_up.judge_page(0, key(4), true, false, 8, 5), None);
        assert!(catch_up.behind(5));
    }

    #[test]
    fn an_empty_page_older_than_its_senders_hint_is_no_offence() {
        let mut catch_up = CatchUp::new();
        // The hint "I have 6" overtook the page the peer wrote at 5.
        assert!(catch_up.claim(0, key(7), 6));
        for _ in 0..CLAIM_FAILURES_MAX {
            assert!(catch_up.behind(5));
            assert_eq!(catch_up.judge_page(0, key(7), false, false, 5, 5), None);
        }
        // Unproven after as many pages as unanswered requests: dropped,
        // not penalised, and believed again at once.
        assert!(!catch_up.behind(5));
        assert!(catch_up.claim(0, key(7), 6));
    }

    #[test]
    fn a_silent_claimant_loses_its_claim_without_penalty() {
        let mut catch_up = CatchUp::new();
        assert!(catch_up.claim(0, key(5), 50));
        for _ in 0..CLAIM_FAILURES_MAX {
            assert!(catch_up.behind(10));
            catch_up.failed(Some(key(5)));
        }
        assert!(!catch_up.behind(10));
        assert!(catch_up.claim(0, key(5), 50));
    }

    #[test]
    fn a_peer_that_cannot_serve_is_asked_no_more_for_those_heights_and_not_penalised() {
        let mut catch_up = CatchUp::new();
        // The pruned peer claims more than the archive one.
        assert!(catch_up.claim(0, key(1), 900));
        assert!(catch_up.claim(0, key(2), 800));
        let mut effects = Effects::default();
        catch_up.request(5, &mut effects);
        assert!(matches!(
            effects.iter().next(),
            Some(Effect::RequestBlocks { from: 6, peer: Some(p), .. }) if *p == key(1)
        ));
        // It answers "cannot serve" (height 0, no block): no offence.
        let answer = SyncResponse::cannot_serve();
        assert!(answer.is_cannot_serve());
        assert_eq!(
            catch_up.judge_page(0, key(1), false, false, answer.height, 5),
            None
        );
        catch_up.unable_from(key(1), 6);
        assert!(catch_up.answered(1).is_some());
        let mut effects = Effects::default();
        catch_up.request(5, &mut effects);
        assert!(matches!(
            effects.iter().next(),
            Some(Effect::RequestBlocks { from: 6, peer: Some(p), .. }) if *p == key(2)
        ));
        // Past those heights it is asked again.
        assert!(catch_up.is_unable(&key(1), 6));
        assert!(!catch_up.is_unable(&key(1), 7));
        catch_up.forget_up_to(6);
        assert!(!catch_up.is_unable(&key(1), 6));
        // A normal page is not "cannot serve".
        assert!(!SyncResponse {
            height: 9,
            blocks: vec![]
        }
        .is_cannot_serve());
    }

    #[test]
    fn claims_are_bounded() {
        let mut catch_up = CatchUp::new();
        for i in 0..CLAIMS_MAX {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let peer = PublicKey(bytes);
            assert!(catch_up.claim(0, peer, 10));
        }
        assert!(!catch_up.claim(0, key(6), 10));
    }
}
