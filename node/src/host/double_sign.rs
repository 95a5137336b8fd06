//! # The double-sign check: starting a validator whose safety record is lost
//!
//! A validator's safety record (`safety.bin`) says what it last signed; its
//! engine refuses to sign anything that conflicts with it. A validator
//! started without it (the operator passed `--new-safety-record`) could sign
//! a second, different vote at a height and round it already voted on —
//! equivocation, which its peers turn into evidence on the chain — or run
//! beside another instance of the same key that is still signing. Like
//! CometBFT's `double_sign_check_height`, the host then follows the chain
//! without an engine (nothing signed, nothing proposed) until:
//!
//! 1. it has heard a peer's height at or above its own and is not behind
//!    any standing claim ([`super::Host::syncing`]);
//! 2. none of the last [`DOUBLE_SIGN_CHECK_BLOCKS`] committed blocks'
//!    certificates carries its key: the check **waits** for the chain to
//!    move that far past the last block this key signed (instead of
//!    refusing as CometBFT does, which only makes the operator retry);
//! 3. for a listening window of [`listen_window_ms`] of host time after 1
//!    and 2 hold, it hears no consensus message signed by its key.
//!
//! Then the engine starts at the next height with a fresh record, which is
//! persisted before anything else happens.
//!
//! **What fails it.** The previous life of this home can have signed at
//! most at `since_height` (the ledger's height when the node opened, plus
//! one: an engine signs only at the height after the last one it committed,
//! and every commit is flushed before the next height starts). Its key on a
//! certificate or on a consensus message *above* `since_height` was
//! therefore signed by someone else holding the key: the host stops
//! (fail-stop, [`DoubleSignError::SignedElsewhere`]) naming the height and
//! round. Signatures at or below `since_height` are this home's own past
//! and only make the check wait.
//!
//! **A home restored from a backup** (`kopnet node restore`, marked by
//! [`RESTORED_MARKER`]) breaks that bound: the node the backup was taken
//! from went on signing after the backup's height, so its own signatures
//! above the restored ledger are its past, not another instance. For such a
//! home the bound is the network's: while the node catches up, every
//! signature of its key on a certificate is taken as the previous life's
//! (the bound rises with each), and the moment it has caught up (the first
//! condition) the bound freezes at that height plus one. From then on the rule is
//! the same: its key above the bound — a signature made while this node is
//! silent — is another instance, and stops it. Its engine still waits for
//! [`DOUBLE_SIGN_CHECK_BLOCKS`] blocks past its last signature and the
//! listening window, so it never signs at a height its previous life
//! signed at.
//!
//! **Limits.** A network that cannot commit without this validator (a single
//! validator, or too many others down) never moves past its last signature,
//! so the check waits until it can. Gossip under this node's own peer id is
//! dropped by gossipsub before it reaches the host, so in a real network a
//! second instance is seen mostly through the certificates; the listening
//! window catches what the network does deliver.

use super::{Effects, Host, HostError};
use crate::chain_store;
use kopnet_consensus::types::Message;
use kopnet_consensus::{
    CommitCertificate, Height, PublicKey, Round, SafetyRecord, SafetyStore, TimeoutConfig,
};
use kopnet_ledger::Storage;

/// The file in a home's `data/` that `kopnet node restore` leaves: the
/// double-sign check then takes the network's height as the bound of what
/// this home's previous life signed (module docs). Removed at the first
/// start that finds a safety record.
pub const RESTORED_MARKER: &str = "restored-from-backup";

/// How many of the last committed blocks must carry no signature of this
/// validator before its engine may start (CometBFT's default suggestion).
pub const DOUBLE_SIGN_CHECK_BLOCKS: u64 = 10;

/// How many heights' worth of timeouts the listening window lasts.
pub const DOUBLE_SIGN_LISTEN_HEIGHTS: u64 = 2;

/// The listening window: [`DOUBLE_SIGN_LISTEN_HEIGHTS`] heights at their
/// slowest round 0 (the empty-block wait, then the propose, prevote and
/// precommit timeouts). A running validator signs at every height, so
/// another instance with this key would be heard within it.
pub fn listen_window_ms(timeouts: &TimeoutConfig) -> u64 {
    let height_ms = timeouts
        .empty_block_interval_ms
        .saturating_add(timeouts.propose_ms)
        .saturating_add(timeouts.prevote_ms)
        .saturating_add(timeouts.precommit_ms);
    height_ms.saturating_mul(DOUBLE_SIGN_LISTEN_HEIGHTS)
}

/// Where this key's signature was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeenIn {
    /// A committed block's certificate (a precommit).
    Certificate,
    /// A proposal or vote heard on the network.
    Gossip,
}

impl std::fmt::Display for SeenIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SeenIn::Certificate => "the commit certificate of block",
            SeenIn::Gossip => "a consensus message for",
        })
    }
}

/// Why the double-sign check stopped the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DoubleSignError {
    #[error(
        "double-sign check: this validator's key signed {seen} height {height} round {round}, \
         above height {since_height}, the last one this home can have signed at: another instance \
         may be signing with this key; stop it (or find out who holds the key) before starting this node"
    )]
    SignedElsewhere {
        seen: SeenIn,
        height: Height,
        round: Round,
        since_height: Height,
    },
}

/// What the check waits for (for the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// No peer's height heard yet, or behind one.
    CatchingUp,
    /// The key signed block `signed`; the check may pass from `until` on.
    OwnSignature { signed: Height, until: Height },
    /// Listening since `since_ms`.
    Listening { since_ms: u64 },
}

/// The outcome of a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Wait(Waiting),
    Pass,
}

/// The check's state: pure, driven by what the host saw and by time.
#[derive(Debug, Clone)]
pub struct DoubleSignCheck {
    key: PublicKey,
    /// See the module docs: the highest height this home can have signed at.
    since_height: Height,
    window_ms: u64,
    /// The highest height (≤ `since_height`) whose certificate carries the key.
    last_signed: Option<Height>,
    /// Certificates examined up to here.
    scanned_to: Height,
    /// A peer said it has a height at or above ours.
    heard_network: bool,
    /// Listening since this host time (conditions 1 and 2 held).
    listening_since_ms: Option<u64>,
    /// A restored home whose bound still follows the chain (module docs);
    /// cleared when the node has caught up.
    bound_follows_chain: bool,
}

impl DoubleSignCheck {
    /// A check for `key` on a home whose ledger is at `height`.
    pub fn new(key: PublicKey, height: Height, window_ms: u64) -> Self {
        DoubleSignCheck {
            key,
            since_height: height.saturating_add(1),
            window_ms,
            last_signed: None,
            scanned_to: 0,
            heard_network: false,
            listening_since_ms: None,
            bound_follows_chain: false,
        }
    }

    /// A check for a home restored from a backup: until the node has
    /// caught up, its key on a certificate is its previous life's.
    pub fn restored(key: PublicKey, height: Height, window_ms: u64) -> Self {
        DoubleSignCheck {
            bound_follows_chain: true,
            ..DoubleSignCheck::new(key, height, window_ms)
        }
    }

    pub fn since_height(&self) -> Height {
        self.since_height
    }

    /// The heights whose certificates the next [`Self::certificate`] calls
    /// should cover when the ledger is at `height`: the last
    /// [`DOUBLE_SIGN_CHECK_BLOCKS`] not examined yet.
    pub fn to_scan(&self, height: Height) -> std::ops::RangeInclusive<Height> {
        let window_start = height
            .saturating_add(1)
            .saturating_sub(DOUBLE_SIGN_CHECK_BLOCKS)
            .max(1);
        window_start.max(self.scanned_to.saturating_add(1))..=height
    }

    /// A committed block's certificate.
    pub fn certificate(&mut self, certificate: &CommitCertificate) -> Result<(), DoubleSignError> {
        self.scanned_to = self.scanned_to.max(certificate.height);
        if self.bound_follows_chain {
            self.since_height = self.since_height.max(certificate.height.saturating_add(1));
        }
        if certificate
            .signatures
            .iter()
            .any(|s| s.validator == self.key)
        {
            self.signed(SeenIn::Certificate, certificate.height, certificate.round)?;
            self.last_signed = self.last_signed.max(Some(certificate.height));
        }
        Ok(())
    }

    /// A consensus message whose signature verified.
    pub fn message(&mut self, message: &Message) -> Result<(), DoubleSignError> {
        let (signer, height, round) = match message {
            Message::Proposal(p) => (p.proposal.proposer, p.proposal.height, p.proposal.round),
            Message::Vote(v) => (v.vote.validator, v.vote.height, v.vote.round),
        };
        if signer == self.key {
            self.signed(SeenIn::Gossip, height, round)?;
        }
        Ok(())
    }

    fn signed(
        &mut self,
        seen: SeenIn,
        height: Height,
        round: Round,
    ) -> Result<(), DoubleSignError> {
        if height > self.since_height {
            return Err(DoubleSignError::SignedElsewhere {
                seen,
                height,
                round,
                since_height: self.since_height,
            });
        }
        Ok(())
    }

    /// A peer claims `claimed` while this node is at `height`.
    pub fn heard(&mut self, claimed: Height, height: Height) {
        if claimed >= height {
            self.heard_network = true;
        }
    }

    /// Time passed: at `now_ms` the ledger is at `height`, `syncing` says
    /// whether a peer claims more. Conditions that stop holding restart the
    /// listening window.
    pub fn tick(&mut self, now_ms: u64, height: Height, syncing: bool) -> Progress {
        if !self.heard_network || syncing {
            self.listening_since_ms = None;
            return Progress::Wait(Waiting::CatchingUp);
        }
        if self.bound_follows_chain {
            // Caught up: what this key signs from here on is someone else.
            self.bound_follows_chain = false;
            self.since_height = self.since_height.max(height.saturating_add(1));
        }
        if let Some(signed) = self.last_signed {
            let until = signed.saturating_add(DOUBLE_SIGN_CHECK_BLOCKS);
            if height < until {
                self.listening_since_ms = None;
                return Progress::Wait(Waiting::OwnSignature { signed, until });
            }
        }
        let since_ms = *self.listening_since_ms.get_or_insert(now_ms);
        if now_ms.saturating_sub(since_ms) >= self.window_ms {
            Progress::Pass
        } else {
            Progress::Wait(Waiting::Listening { since_ms })
        }
    }
}

impl<S: Storage, K> Host<S, K>
where
    K: SafetyStore,
    K::Error: std::fmt::Display,
{
    /// Run the double-sign check before this validator's engine starts (its
    /// safety record is lost; see the module docs). No effect on observers.
    #[must_use]
    pub fn with_double_sign_check(self) -> Self {
        self.with_check(false)
    }

    /// [`Self::with_double_sign_check`] for a home restored from a backup:
    /// the bound follows the chain until the node has caught up.
    #[must_use]
    pub fn with_double_sign_check_after_restore(self) -> Self {
        self.with_check(true)
    }

    fn with_check(mut self, restored: bool) -> Self {
        if self.config.runs_consensus {
            self.engine = None;
            let window_ms = listen_window_ms(&self.config.engine.timeouts);
            let (key, height) = (self.keypair.public(), self.height());
            let check = if restored {
                DoubleSignCheck::restored(key, height, window_ms)
            } else {
                DoubleSignCheck::new(key, height, window_ms)
            };
            tracing::warn!(
                since_height = check.since_height(),
                window_ms,
                blocks = DOUBLE_SIGN_CHECK_BLOCKS,
                restored,
                "safety record lost: double-sign check before this validator signs anything"
            );
            self.double_sign = Some(check);
        }
        self
    }

    /// Whether the double-sign check still holds the engine back.
    pub fn double_sign_checking(&self) -> bool {
        self.double_sign.is_some()
    }

    /// A peer's height, for the check.
    pub(super) fn double_sign_heard(&mut self, claimed: Height) {
        let height = self.height();
        if let Some(check) = self.double_sign.as_mut() {
            check.heard(claimed, height);
        }
    }

    /// A verified consensus message, for the check.
    pub(super) fn double_sign_message(&mut self, message: &Message) -> Result<(), HostError> {
        match self.double_sign.as_mut() {
            Some(check) => Ok(check.message(message)?),
            None => Ok(()),
        }
    }

    /// Periodic host work driven by time: the double-sign check looks at
    /// the new certificates and, once it passes, starts the engine.
    pub fn on_tick(&mut self, now_ms: u64) -> Result<Effects, HostError> {
        let mut effects = Effects::default();
        let Some(mut check) = self.double_sign.take() else {
            return Ok(effects);
        };
        let height = self.height();
        {
            let ledger = self.state.ledger.read().map_err(|_| HostError::Commit {
                height,
                reason: "ledger lock poisoned".into(),
            })?;
            for h in check.to_scan(height) {
                if let Some(certificate) = chain_store::certificate(&ledger, h)? {
                    check.certificate(&certificate)?;
                }
            }
        }
        match check.tick(now_ms, height, self.syncing()) {
            Progress::Wait(waiting) => {
                tracing::debug!(height, ?waiting, "double-sign check waiting");
                self.double_sign = Some(check);
            }
            Progress::Pass => {
                tracing::info!(
                    height,
                    next = height.saturating_add(1),
                    "double-sign check passed: this key signed none of the last blocks and was not heard; the engine starts with a new safety record"
                );
                self.start_fresh_engine(now_ms, height.saturating_add(1), &mut effects)?;
            }
        }
        Ok(effects)
    }

    /// Start an engine at `height` with a new (persisted) safety record.
    fn start_fresh_engine(
        &mut self,
        now_ms: u64,
        height: Height,
        effects: &mut Effects,
    ) -> Result<(), HostError> {
        let record = SafetyRecord::default();
        self.safety
            .persist(&record)
            .map_err(|e| HostError::Persist(e.to_string()))?;
        self.run_engine_at(now_ms, height, record, effects)
    }
}

#[cfg(test)]
mod host_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_consensus::{Hash, Keypair, SignedVote, Vote, VoteKind};

    const WINDOW_MS: u64 = 1_000;

    fn key() -> Keypair {
        Keypair::from_seed([7; 32])
    }

    fn certificate(height: Height, signers: &[&Keypair]) -> CommitCertificate {
        let value_id = Hash::digest("test", &height.to_be_bytes());
        let votes: Vec<SignedVote> = signers
            .iter()
            .map(|k| {
                let vote = Vote {
                    kind: VoteKind::Precommit,
                    height,
                    round: 0,
                    value_id: Some(value_id),
                    validator: k.public(),
                };
                SignedVote::sign("chain", k, vote).unwrap()
            })
            .collect();
        CommitCertificate::from_precommits(height, 0, value_id, &votes)
    }

    #[test]
    fn its_own_past_signatures_make_it_wait_until_the_chain_moves_past_them() {
        let me = key();
        let other = Keypair::from_seed([8; 32]);
        // The ledger is at 20: this home can have signed up to 21.
        let mut check = DoubleSignCheck::new(me.public(), 20, WINDOW_MS);
        assert_eq!(check.to_scan(20), 11..=20);
        for h in check.to_scan(20) {
            check.certificate(&certificate(h, &[&me, &other])).unwrap();
        }
        check.heard(25, 20);
        assert_eq!(
            check.tick(0, 20, false),
            Progress::Wait(Waiting::OwnSignature {
                signed: 20,
                until: 30
            })
        );
        // Block 21 still carries its last precommit from before the crash.
        check.certificate(&certificate(21, &[&me, &other])).unwrap();
        for h in 22..=30 {
            check.certificate(&certificate(h, &[&other])).unwrap();
        }
        assert!(check.to_scan(30).is_empty(), "nothing left to scan");
        assert!(matches!(
            check.tick(100, 30, false),
            Progress::Wait(Waiting::OwnSignature { until: 31, .. })
        ));
        check.certificate(&certificate(31, &[&other])).unwrap();
        assert_eq!(
            check.tick(200, 31, false),
            Progress::Wait(Waiting::Listening { since_ms: 200 })
        );
        assert!(matches!(
            check.tick(200 + WINDOW_MS - 1, 31, false),
            Progress::Wait(_)
        ));
        assert_eq!(check.tick(200 + WINDOW_MS, 31, false), Progress::Pass);
    }

    /// Restored from a backup at height 20: the node it was taken from
    /// signed on to 40 before it died. Those are its past while it catches
    /// up; once caught up (at 45), its key at 47 is another instance.
    #[test]
    fn a_restored_home_takes_the_networks_height_as_its_bound() {
        let me = key();
        let other = Keypair::from_seed([8; 32]);
        let mut check = DoubleSignCheck::restored(me.public(), 20, WINDOW_MS);
        for h in 21..=40 {
            check.certificate(&certificate(h, &[&me, &other])).unwrap();
        }
        for h in 41..=45 {
            check.certificate(&certificate(h, &[&other])).unwrap();
        }
        check.heard(45, 45);
        assert_eq!(
            check.tick(0, 45, false),
            Progress::Wait(Waiting::OwnSignature {
                signed: 40,
                until: 50
            })
        );
        assert_eq!(check.since_height(), 46);
        // Its previous life's last precommit may still land at 46.
        check.certificate(&certificate(46, &[&me, &other])).unwrap();
        let error = check.certificate(&certificate(47, &[&me])).unwrap_err();
        assert!(matches!(
            error,
            DoubleSignError::SignedElsewhere {
                height: 47,
                since_height: 46,
                ..
            }
        ));
        // The same signatures on a home that was not restored: another
        // instance at once.
        let mut strict = DoubleSignCheck::new(me.public(), 20, WINDOW_MS);
        assert!(strict.certificate(&certificate(30, &[&me])).is_err());
    }

    #[test]
    fn its_key_above_the_last_height_this_home_signed_fails_the_check() {
        let me = key();
        let mut check = DoubleSignCheck::new(me.public(), 20, WINDOW_MS);
        let error = check.certificate(&certificate(22, &[&me])).unwrap_err();
        assert_eq!(
            error,
            DoubleSignError::SignedElsewhere {
                seen: SeenIn::Certificate,
                height: 22,
                round: 0,
                since_height: 21
            }
        );
        assert!(error.to_string().contains("another instance"), "{error}");
    }

    #[test]
    fn catching_up_or_falling_behind_restarts_the_window() {
        let me = key();
        let mut check = DoubleSignCheck::new(me.public(), 5, WINDOW_MS);
        // Nothing heard from the network yet: no window.
        assert_eq!(check.tick(0, 5, false), Progress::Wait(Waiting::CatchingUp));
        check.heard(4, 5);
        assert_eq!(
            check.tick(0, 5, false),
            Progress::Wait(Waiting::CatchingUp),
            "a peer behind us says nothing about the network's height"
        );
        check.heard(5, 5);
        assert!(matches!(
            check.tick(0, 5, false),
            Progress::Wait(Waiting::Listening { since_ms: 0 })
        ));
        assert_eq!(
            check.tick(WINDOW_MS / 2, 5, true),
            Progress::Wait(Waiting::CatchingUp)
        );
        assert!(matches!(
            check.tick(WINDOW_MS, 6, false),
            Progress::Wait(Waiting::Listening { .. })
        ));
        assert_eq!(check.tick(2 * WINDOW_MS, 6, false), Progress::Pass);
    }

    #[test]
    fn the_window_is_two_slow_heights() {
        let timeouts = TimeoutConfig {
            propose_ms: 1_500,
            prevote_ms: 750,
            precommit_ms: 750,
            delta_ms: 250,
            empty_block_interval_ms: 1_000,
            block_interval_min_ms: 100,
        };
        assert_eq!(listen_window_ms(&timeouts), 8_000);
    }
}
