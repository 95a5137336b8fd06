//! # The node host: everything around the consensus engine, without I/O
//!
//! [`Host`] owns the ledger, the mempool, the verified-signature cache, the
//! chain records kept beside the ledger (certificates and the validator set
//! of each height, [`crate::chain_store`]), the safety record and the
//! catch-up state. It turns each outside event — a transaction, a gossip
//! message, a page of synced blocks, a timer — and each engine output into
//! engine inputs plus [`Effect`]s for its shell: publish, schedule, request
//! blocks, report a commit. No tokio, no sockets, no clock reads: time is
//! the `now_ms` argument.
//!
//! Two shells run this very code:
//! - the node's tokio runtime ([`crate::runtime`]) over libp2p, sled and
//!   the wall clock;
//! - the deterministic simulator (`kopnet_testnet::sim`) over a simulated
//!   network, clock and in-memory storage, crashing and restarting hosts
//!   from what their storage persisted.
//!
//! ## Rules kept here
//! - **Persist, then send**: a signed message leaves the host (as
//!   [`Effect::Broadcast`]) only after its safety record is durable.
//! - **Commit atomically**: a block, its certificate and the validator set
//!   it decides for `h + 2` land in one batch ([`commit`]); the engine
//!   moves to the next height only after that.
//! - **One error policy**: the engine refusing an input (stale, unknown
//!   signer, bad signature) is normal and decides a gossip [`Verdict`];
//!   anything that leaves memory and disk disagreeing or the node unable to
//!   go on (safety record not saved, decided block not committed, no
//!   validator set for the next height) is a [`HostError`]: the shell stops
//!   the node and says why (fail-stop), never runs on.
//! - **Admission** of transactions from clients and from peers is one path
//!   ([`admission::admit`]), callable from any thread on the shared
//!   [`HostState`].

pub mod admission;
pub mod catch_up;
pub mod commit;
pub mod double_sign;
pub mod effect;
pub mod evidence;
pub mod state;
pub mod timers;
pub mod values;
pub mod verdict;

#[cfg(test)]
mod rotation_tests;
#[cfg(test)]
mod storage_fault_tests;
#[cfg(test)]
mod tests;

pub use admission::{admit, admit_batch, admit_many, Accepted, Admitted, BatchAdmission, Origin};
pub use effect::{CommitPath, Committed, Effect, Effects};
pub use state::{HostState, RecentRejections, RECENT_REJECTIONS_MAX};
pub use timers::{Timer, Timers};

use crate::allow_list;
use crate::chain_store::{self, ChainStoreError};
use crate::config::MempoolConfig;
use crate::mempool::Mempool;
use crate::verified::VerifiedSignatures;
use crate::wire::{self, ConsensusGossip, SyncResponse, Verdict};
use catch_up::{CatchUp, SyncedBlockOutcome};
use evidence::EvidencePool;
use kopnet_consensus::types::Message;
use kopnet_consensus::{
    Decision, Engine, EngineConfig, EngineError, Input, InputError, Keypair, Output, Outputs,
    PublicKey, SafetyRecord, SafetyStore,
};
use kopnet_ledger::ledger::{BlockLimits, ExecutedBlock};
use kopnet_ledger::{Block, Genesis, Ledger, LedgerError, Storage};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

/// Executions of blocks this node built or validated at the current
/// height, kept so the decided one is written without executing it again
/// (oldest dropped first; cleared at every commit).
pub const EXECUTED_BLOCKS_MAX: usize = 4;

/// How a host is set up.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub engine: EngineConfig,
    pub block_limits: BlockLimits,
    pub mempool: MempoolConfig,
    /// Verified transaction signatures remembered.
    pub verified_signatures_max: usize,
    /// Validators run a consensus engine; observers only follow.
    pub runs_consensus: bool,
    /// Take evidence of misbehaviour into the blocks this node proposes.
    /// Always on in a real node; a test build switches it off to show that
    /// the Byzantine runner notices.
    pub include_evidence: bool,
    /// This node's identity on the network (its libp2p key; on a
    /// validator not its validator key): the committed-height hints it
    /// announces name it, and peers believe a hint only from the
    /// connection of the identity it names.
    pub identity: PublicKey,
    /// The highest protocol version this build speaks
    /// ([`crate::upgrade::speaks`]): the host stops before a block of a
    /// version above it.
    pub speaks_protocol: u32,
    /// Capture the state for a snapshot after every block whose height is
    /// a multiple of this (0: never; [`crate::snapshots`]).
    pub snapshot_interval_blocks: u64,
    /// The clock block headers are stamped and checked with
    /// ([`crate::block_clock`]): the real one but in fault-injection runs.
    pub block_clock: crate::block_clock::BlockClock,
}

/// Why the host cannot go on. The shell stops the node and reports it.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot open the ledger: {0}")]
    Open(#[source] LedgerError),
    #[error(transparent)]
    ChainStore(#[from] ChainStoreError),
    #[error("cannot persist the safety record (no vote is sent unpersisted): {0}")]
    Persist(String),
    #[error("cannot commit block {height}: {reason}")]
    Commit { height: u64, reason: String },
    /// The ledger store failed under a block's write (a write, flush or
    /// fsync: a full disk, a failing device). Memory did not move, but the
    /// store may hold part of it: the node stops and recovers from what is
    /// durable.
    #[error("cannot write block {height} to the ledger store: {source}")]
    Store {
        height: u64,
        #[source]
        source: kopnet_ledger::storage::StorageError,
    },
    #[error("consensus engine: {0}")]
    Engine(#[from] EngineError),
    #[error(transparent)]
    DoubleSign(#[from] double_sign::DoubleSignError),
    /// The chain upgrades to a version this build does not speak: the
    /// node stops before the upgrade's height ([`crate::upgrade`]).
    #[error(transparent)]
    UpgradeRequired(#[from] crate::upgrade::UpgradeRequired),
}

impl HostError {
    /// Block `height` could not be committed: the store failing is
    /// [`HostError::Store`], anything else [`HostError::Commit`].
    fn commit(height: u64, error: commit::CommitError) -> HostError {
        use commit::CommitError;
        match error {
            CommitError::Ledger {
                source: LedgerError::Storage(source),
                ..
            }
            | CommitError::ChainStore(ChainStoreError::Ledger(LedgerError::Storage(source))) => {
                HostError::Store { height, source }
            }
            other => HostError::Commit {
                height,
                reason: other.to_string(),
            },
        }
    }

    /// Whether the node stops because its storage failed: a write, flush
    /// or fsync of the ledger store or of the safety record (or a read of
    /// the store) — the disk, not the chain, is at fault.
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            HostError::Store { .. }
                | HostError::Persist(_)
                | HostError::ChainStore(ChainStoreError::Ledger(LedgerError::Storage(_)))
        )
    }
}

/// The node host. `S` stores the ledger, `K` the consensus safety record.
pub struct Host<S: Storage, K: SafetyStore> {
    state: Arc<HostState<S>>,
    /// The validator key (on an observer: its node key, which signs
    /// nothing).
    keypair: Keypair,
    /// The cooperative's next validator key, when the node holds it
    /// ([`Host::hold_next_validator_key`]).
    next_key: Option<Keypair>,
    config: HostConfig,
    engine: Option<Engine>,
    safety: K,
    catch_up: CatchUp,
    /// The allow-list last given to the shell.
    allowed: Vec<PublicKey>,
    /// The observers' admitted keys at the same height (sorted).
    observers: Vec<PublicKey>,
    /// See [`EXECUTED_BLOCKS_MAX`].
    executed: VecDeque<ExecutedBlock>,
    /// Evidence waiting for a block of ours.
    evidence: EvidencePool,
    /// Holds the engine back while its safety record is lost ([`double_sign`]).
    double_sign: Option<double_sign::DoubleSignCheck>,
}

impl<S: Storage, K: SafetyStore> std::fmt::Debug for Host<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("key", &self.keypair.public())
            .field("height", &self.state.height())
            .finish_non_exhaustive()
    }
}

impl<S: Storage, K> Host<S, K>
where
    K: SafetyStore,
    K::Error: std::fmt::Display,
{
    /// Open the ledger in `storage` (a fresh store starts from `genesis`),
    /// make sure the validator sets of the next heights are recorded, and
    /// set up the engine at the next height from `record` (the safety
    /// record `safety` last persisted).
    pub fn open(
        storage: S,
        genesis: &Genesis,
        keypair: Keypair,
        safety: K,
        record: Option<SafetyRecord>,
        config: HostConfig,
    ) -> Result<Self, HostError> {
        let ledger = Ledger::open(storage, genesis).map_err(HostError::Open)?;
        chain_store::init_validator_sets(&ledger)?;
        let height = ledger.height();
        let engine = if config.runs_consensus {
            let validators = chain_store::validator_set(&ledger, height.saturating_add(1))?;
            let mut engine = Engine::new(
                config.engine.clone(),
                keypair.clone(),
                height.saturating_add(1),
                validators,
                record,
            )?;
            if let Ok(next) = chain_store::validator_set(&ledger, height.saturating_add(2)) {
                engine.set_next_validators(next);
            }
            Some(engine)
        } else {
            None
        };
        let state = Arc::new(HostState {
            chain_id: genesis.chain_id.clone(),
            ledger: RwLock::new(ledger),
            mempool: Mutex::new(Mempool::new(config.mempool.clone())),
            verified: VerifiedSignatures::new(config.verified_signatures_max),
            rejections: Mutex::default(),
        });
        Ok(Host {
            state,
            keypair,
            next_key: None,
            config,
            engine,
            safety,
            catch_up: CatchUp::new(),
            allowed: Vec::new(),
            observers: Vec::new(),
            executed: VecDeque::new(),
            evidence: EvidencePool::default(),
            double_sign: None,
        })
    }

    /// The node's identity on the network ([`HostConfig::identity`]), once
    /// the shell knows which of its identities it starts libp2p with.
    pub fn set_identity(&mut self, identity: PublicKey) {
        self.config.identity = identity;
    }

    /// What readers share (ledger, mempool, signature cache, refusals).
    pub fn state(&self) -> &Arc<HostState<S>> {
        &self.state
    }

    /// The consensus engine (validators only).
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// The key this node signs consensus messages with now: of its
    /// validator keys, the one the current height's set lists.
    pub fn public_key(&self) -> PublicKey {
        self.engine
            .as_ref()
            .map_or_else(|| self.keypair.public(), Engine::public_key)
    }

    /// Hold the cooperative's next validator key (its rotation is sent
    /// now or was sent already): the engine signs with it from the first
    /// height whose validator set lists it ([`Engine::hold_next_key`]).
    /// Returns whether the key is new to this host.
    pub fn hold_next_validator_key(&mut self, keypair: Keypair) -> bool {
        let key = keypair.public();
        if key == self.keypair.public() || self.next_key.as_ref().is_some_and(|k| k.public() == key)
        {
            return false;
        }
        if let Some(engine) = self.engine.as_mut() {
            engine.hold_next_key(keypair.clone());
        }
        self.next_key = Some(keypair);
        true
    }

    /// The committed height.
    pub fn height(&self) -> u64 {
        self.state.height()
    }

    /// Whether a peer's standing claim is above this node's height (see
    /// [`CatchUp`]: a claim that proves false is dropped).
    pub fn syncing(&self) -> bool {
        self.catch_up.behind(self.height())
    }

    /// The highest height a peer claims to have committed (standing
    /// claims only), for `GET /health`.
    pub fn best_peer_height(&self) -> Option<u64> {
        self.catch_up.best_claim()
    }

    /// Whether `key` is a registered observer's node identity (its
    /// current one, or the one its rotation replaced while admitted).
    /// Kept with the allow-list, after every commit (checked per gossiped
    /// transaction: no ledger lock here).
    pub fn is_observer(&self, key: &PublicKey) -> bool {
        self.observers.binary_search(key).is_ok()
    }

    /// Offences seen and not on the chain yet.
    pub fn pending_evidence(&self) -> usize {
        self.evidence.len()
    }

    /// Start: the allow-list, the engine's first height and its timers.
    pub fn start(&mut self, now_ms: u64) -> Result<Effects, HostError> {
        let mut effects = Effects::default();
        self.refresh_allow_list(&mut effects);
        if let Some(engine) = self.engine.as_mut() {
            effects.push(Effect::HeightStarted {
                height: engine.height(),
                validators: engine.validators().clone(),
            });
            let outputs = engine.start(now_ms);
            self.drive(now_ms, outputs, &mut effects)?;
        }
        Ok(effects)
    }

    /// A timer of [`Effect::Schedule`] fired.
    pub fn on_timeout(&mut self, now_ms: u64, timer: Timer) -> Result<Effects, HostError> {
        let mut effects = Effects::default();
        let input = Input::TimeoutElapsed {
            height: timer.height,
            round: timer.round,
            step: timer.step,
        };
        if let Err(e) = self.feed(now_ms, input, &mut effects)? {
            tracing::trace!(error = %e, "stale timeout");
        }
        Ok(effects)
    }

    /// The mempool has transactions: the engine may start round 0 now.
    pub fn on_txs_available(&mut self, now_ms: u64) -> Result<Effects, HostError> {
        let mut effects = Effects::default();
        let Some(height) = self.engine.as_ref().map(Engine::height) else {
            return Ok(effects);
        };
        if self.state.mempool_len() == 0 {
            return Ok(effects);
        }
        if let Err(e) = self.feed(now_ms, Input::TxsAvailable { height }, &mut effects)? {
            tracing::trace!(error = %e, "transactions available, engine not interested");
        }
        Ok(effects)
    }

    /// Encoded consensus gossip delivered by `sender` (the peer at the other
    /// end of the noise-authenticated connection it came on, if it is an
    /// ed25519 key). Gossip is anonymous (issue 21): nothing but the
    /// payload's own signature says who made a message.
    ///
    /// * A proposal or vote is judged by its signer: it must be a
    ///   validator of the height (checked here, before the signature, so a
    ///   message naming anyone else is refused cheaply) and its signature
    ///   must verify (the engine, before it is kept or forwarded). An
    ///   observer or a stranger's key cannot make one; anyone may relay a
    ///   genuine one, which is what forwarding is (and content-hash message
    ///   ids make a replay within gossipsub's cache a duplicate; a later
    ///   one is stale to the engine).
    /// * A "committed" hint is not signed: it is believed only from its
    ///   sender's own connection (`sender == from`) and not forwarded
    ///   (every node publishes its own to each peer directly); one relayed
    ///   by anyone else is ignored without penalty, so nobody can make a
    ///   node chase (and then punish) an honest peer under a false hint.
    pub fn on_consensus_gossip(
        &mut self,
        now_ms: u64,
        data: &[u8],
        sender: Option<PublicKey>,
    ) -> Result<(Verdict, Effects), HostError> {
        let Ok(gossip) = wire::decode::<ConsensusGossip>(data) else {
            return Ok((Verdict::Reject, Effects::default()));
        };
        match gossip {
            ConsensusGossip::Committed { height, from } => {
                if sender != Some(from) {
                    return Ok((Verdict::Ignore, Effects::default()));
                }
                Ok((Verdict::Ignore, self.on_peer_height(now_ms, from, height)))
            }
            ConsensusGossip::Message(message) => {
                // Consensus messages are made by validators only: one whose
                // signer is not a validator (an observer's, or a key that
                // is no longer one) is refused before any signature work.
                if !self.is_validator(&message.signer()) {
                    // Provably wrong only for a height whose set we know: a
                    // node behind a set change must not punish the honest
                    // peers forwarding a new validator's messages.
                    let verdict = if message.height() <= self.known_set_height() {
                        Verdict::Reject
                    } else {
                        Verdict::Ignore
                    };
                    return Ok((verdict, Effects::default()));
                }
                self.on_consensus_message(now_ms, message)
            }
        }
    }

    /// The highest height whose validator set this node knows.
    fn known_set_height(&self) -> u64 {
        self.height()
            .saturating_add(kopnet_consensus::VALIDATOR_SET_CHANGE_DELAY)
    }

    /// Whether `key` is a validator of the height being decided or the next.
    fn is_validator(&self, key: &PublicKey) -> bool {
        match self.engine.as_ref() {
            Some(engine) => {
                engine.validators().power_of(key) > 0
                    || engine
                        .next_validators()
                        .is_some_and(|s| s.power_of(key) > 0)
            }
            None => self
                .state
                .ledger
                .read()
                .map(|ledger| ledger.validators().iter().any(|(k, _)| k == key))
                .unwrap_or(false),
        }
    }

    /// A proposal or vote from the network (untrusted).
    pub fn on_consensus_message(
        &mut self,
        now_ms: u64,
        message: Message,
    ) -> Result<(Verdict, Effects), HostError> {
        let mut effects = Effects::default();
        if self.engine.is_none() {
            let validators: Vec<PublicKey> = match self.state.ledger.read() {
                Ok(ledger) => ledger.validators().into_iter().map(|(k, _)| k).collect(),
                Err(_) => return Ok((Verdict::Ignore, effects)),
            };
            let verdict = verdict::for_observer(&self.state.chain_id, &validators, &message);
            if verdict != Verdict::Reject {
                self.double_sign_message(&message)?;
            }
            return Ok((verdict, effects));
        }
        // A message for a height the engine does not take (one it has
        // passed, or beyond the next) is dropped unheard, but a forged
        // signature is provably bad at any height: without this check a
        // validator's key could send forged messages for far heights (the
        // `future-flood`'s half with garbage signatures) unpunished.
        if let Some(engine) = self.engine.as_ref() {
            let (current, got) = (engine.height(), message.height());
            if got != current && Some(got) != current.checked_add(1) {
                let verdict = verdict::for_other_height(&self.state.chain_id, &message);
                return Ok((verdict, effects));
            }
        }
        let input = match message {
            Message::Proposal(p) => Input::Proposal(p),
            Message::Vote(v) => Input::Vote(v),
        };
        let verdict = match self.feed(now_ms, input, &mut effects)? {
            // A message that conflicts with one kept (the evidence is ours
            // now) is not forwarded.
            Ok(()) if effects.iter().any(|e| matches!(e, Effect::Evidence(_))) => Verdict::Ignore,
            Ok(()) => Verdict::Accept,
            Err(e) => {
                tracing::trace!(error = %e, "consensus message dropped");
                verdict::for_engine_error(&e)
            }
        };
        Ok((verdict, effects))
    }

    /// `peer` says it committed `height`: a claim, checked by asking it
    /// for the blocks if that is ahead of us.
    pub fn on_peer_height(&mut self, now_ms: u64, peer: PublicKey, height: u64) -> Effects {
        let mut effects = Effects::default();
        self.double_sign_heard(height);
        let ours = self.height();
        if height > ours && self.catch_up.claim(now_ms, peer, height) {
            self.catch_up.request(ours, &mut effects);
        }
        effects
    }

    /// Periodically: ask a peer for blocks we may have missed, and, as a
    /// validator of the height, publish again the votes others may need to
    /// move on ([`Effect::Rebroadcast`]): the proof of our lock
    /// ([`Engine::proof_of_lock`], kept across restarts in the safety
    /// record) and the previous round's precommits
    /// ([`Engine::round_change_proof`]). Only validators publish consensus
    /// messages (peers refuse them from anyone else).
    pub fn on_sync_tick(&mut self) -> Effects {
        let mut effects = Effects::default();
        self.catch_up.request(self.height(), &mut effects);
        if let Some(engine) = self.engine() {
            if engine.validators().power_of(&engine.public_key()) > 0 {
                for vote in engine
                    .proof_of_lock()
                    .into_iter()
                    .chain(engine.round_change_proof())
                {
                    effects.push(Effect::Rebroadcast(Message::Vote(vote)));
                }
            }
        }
        effects
    }

    /// A page of blocks from `peer` answering [`Effect::RequestBlocks`]
    /// `attempt`: verify and commit them in order, stop at the first bad
    /// one, then run consensus from the new height (keeping the safety
    /// record, so the node never signs twice). A page that does not verify,
    /// or an empty page from a peer claiming more than we have, has the
    /// peer penalised ([`Effect::Penalise`]).
    pub fn on_blocks(
        &mut self,
        now_ms: u64,
        attempt: u64,
        peer: Option<PublicKey>,
        response: &SyncResponse,
    ) -> Result<Effects, HostError> {
        let mut effects = Effects::default();
        if self.catch_up.answered(attempt).is_none() {
            return Ok(effects);
        }
        let ours = self.height();
        if let Some(peer) = peer {
            if response.height > ours {
                self.catch_up.claim(now_ms, peer, response.height);
            }
            if response.is_cannot_serve() {
                // A pruned peer: ask someone else for these heights.
                tracing::debug!(%peer, from = ours.saturating_add(1), "peer cannot serve these blocks (pruned): asking another");
                self.catch_up.unable_from(peer, ours.saturating_add(1));
            }
        }
        let mut refused = false;
        let mut applied = 0u64;
        for synced in &response.blocks {
            let taken = catch_up::take_one(&self.state, synced)
                .map_err(|e| HostError::commit(self.height().saturating_add(1), e))?;
            match taken {
                Ok(SyncedBlockOutcome::Committed(committed)) => {
                    applied = applied.saturating_add(1);
                    self.after_commit(*committed, &mut effects)?;
                }
                Ok(SyncedBlockOutcome::Known) => {}
                Err(refusal) => {
                    tracing::warn!(%refusal, ?peer, "rejected synced block");
                    refused = true;
                    break;
                }
            }
        }
        if let Some(peer) = peer {
            let served = !response.blocks.is_empty();
            if let Some(offence) =
                self.catch_up
                    .judge_page(now_ms, peer, served, refused, response.height, ours)
            {
                tracing::warn!(%peer, ?offence, claimed = response.height, "catch-up peer proved false");
                effects.push(Effect::Penalise { peer, offence });
            }
        }
        let height = self.height();
        if applied > 0 {
            if applied > 1 {
                tracing::info!(height, applied, "caught up from peers");
            } else {
                tracing::debug!(height, "block from peers");
            }
            self.restart_engine_at(now_ms, height.saturating_add(1), &mut effects)?;
            if self.catch_up.behind(height) {
                self.catch_up.request(height, &mut effects);
            }
        }
        Ok(effects)
    }

    /// The request `attempt` failed (no peer, timeout, bad answer).
    pub fn on_blocks_failed(&mut self, attempt: u64) {
        if let Some(in_flight) = self.catch_up.answered(attempt) {
            self.catch_up.failed(in_flight.peer);
        }
    }

    /// Feed one input to the engine and carry out everything it leads to.
    /// The inner error is the engine refusing the input (normal); the
    /// outer one is fatal.
    fn feed(
        &mut self,
        now_ms: u64,
        input: Input,
        effects: &mut Effects,
    ) -> Result<Result<(), InputError>, HostError> {
        let Some(engine) = self.engine.as_mut() else {
            return Ok(Ok(()));
        };
        match engine.handle(now_ms, input) {
            Ok(outputs) => {
                self.drive(now_ms, outputs, effects)?;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        }
    }

    /// Carry out engine outputs, feeding follow-up inputs back in, in order.
    /// This is the one place that calls the engine with its own follow-ups.
    fn drive(
        &mut self,
        now_ms: u64,
        outputs: Outputs,
        effects: &mut Effects,
    ) -> Result<(), HostError> {
        let mut queue: VecDeque<Output> = outputs.into_iter().collect();
        while let Some(output) = queue.pop_front() {
            let follow_ups = self.carry_out(now_ms, output, effects)?;
            for input in follow_ups {
                let Some(engine) = self.engine.as_mut() else {
                    break;
                };
                match engine.handle(now_ms, input) {
                    Ok(more) => queue.extend(more),
                    Err(e) => tracing::debug!(error = %e, "engine refused a follow-up input"),
                }
            }
        }
        Ok(())
    }

    /// One engine output: effects for the shell, and the inputs that answer it.
    fn carry_out(
        &mut self,
        now_ms: u64,
        output: Output,
        effects: &mut Effects,
    ) -> Result<Vec<Input>, HostError> {
        match output {
            Output::Send(pending) => {
                let messages = pending
                    .persist(&mut self.safety)
                    .map_err(|e| HostError::Persist(e.to_string()))?;
                for message in messages {
                    effects.push(Effect::Broadcast(message));
                }
                Ok(Vec::new())
            }
            Output::ScheduleTimeout {
                height,
                round,
                step,
                deadline_ms,
            } => {
                effects.push(Effect::Schedule {
                    deadline_ms,
                    height,
                    round,
                    step,
                });
                Ok(Vec::new())
            }
            Output::GetValue { height, round } => {
                let proposer = self.public_key();
                let evidence = if self.config.include_evidence {
                    self.evidence.records()
                } else {
                    Vec::new()
                };
                let limits = self.config.block_limits;
                let block_now = self.config.block_clock.at(now_ms);
                let built =
                    values::build(&self.state, height, proposer, block_now, evidence, limits);
                Ok(built
                    .map(|(value, executed)| {
                        self.keep_executed(executed);
                        Input::ValueReady {
                            height,
                            round,
                            value,
                        }
                    })
                    .into_iter()
                    .collect())
            }
            Output::ValidateValue {
                height,
                round,
                value,
                proposer,
                valid_round,
            } => {
                let by = values::ProposedBy {
                    signer: proposer,
                    fresh: valid_round.is_none(),
                };
                let block_now = self.config.block_clock.at(now_ms);
                let valid = match values::validate(&self.state, height, by, block_now, &value) {
                    Ok(executed) => {
                        self.keep_executed(executed);
                        true
                    }
                    Err(refusal) => {
                        tracing::warn!(height, %refusal, "invalid proposal");
                        false
                    }
                };
                Ok(vec![Input::ValueValidated {
                    height,
                    round,
                    value_id: value.id,
                    valid,
                }])
            }
            Output::Decide(decision) => self.on_decide(decision, effects),
            Output::Evidence(evidence) => {
                let offence = evidence.offence();
                tracing::warn!(
                    offender = %offence.offender,
                    height = offence.height,
                    round = offence.round,
                    vote = ?offence.vote,
                    "conflicting messages observed: evidence kept for the next block"
                );
                self.evidence.add(&evidence);
                effects.push(Effect::Evidence(evidence));
                Ok(Vec::new())
            }
        }
    }

    /// Commit a decided block (unless catch-up already did), then start the
    /// next height with its validator set.
    fn on_decide(
        &mut self,
        decision: Decision,
        effects: &mut Effects,
    ) -> Result<Vec<Input>, HostError> {
        let height = decision.height;
        if self.height() < height {
            let decided = |reason: String| HostError::Commit { height, reason };
            let block = Block::decode(&decision.value.bytes)
                .map_err(|e| decided(format!("decided value does not decode: {e}")))?;
            if block.hash() != decision.value.id {
                return Err(decided("decided value id is not the block hash".into()));
            }
            let executed = self
                .executed
                .iter()
                .position(|e| e.hash() == decision.value.id)
                .and_then(|i| self.executed.remove(i));
            let committed = commit::commit_block(
                &self.state,
                block,
                executed,
                decision.certificate,
                CommitPath::Decided,
            )
            .map_err(|e| HostError::commit(height, e))?;
            tracing::info!(height, txs = committed.block.txs.len(), "committed block");
            effects.push(Effect::AnnounceCommitted {
                height,
                hint: wire::encode(&ConsensusGossip::Committed {
                    height,
                    from: self.config.identity,
                }),
            });
            self.after_commit(committed, effects)?;
        }
        let next = height.saturating_add(1);
        let (validators, next_validators) = {
            let ledger = self.state.ledger.read().map_err(|_| HostError::Commit {
                height,
                reason: "ledger lock poisoned".into(),
            })?;
            let after = chain_store::validator_set(&ledger, next.saturating_add(1)).ok();
            (chain_store::validator_set(&ledger, next)?, after)
        };
        effects.push(Effect::HeightStarted {
            height: next,
            validators: validators.clone(),
        });
        let mut inputs = vec![Input::NextHeight {
            height: next,
            validators,
            next_validators,
        }];
        if self.state.mempool_len() > 0 {
            inputs.push(Input::TxsAvailable { height: next });
        }
        Ok(inputs)
    }

    fn keep_executed(&mut self, executed: ExecutedBlock) {
        if self.executed.iter().any(|e| e.hash() == executed.hash()) {
            return;
        }
        if self.executed.len() >= EXECUTED_BLOCKS_MAX {
            self.executed.pop_front();
        }
        self.executed.push_back(executed);
    }

    /// Bookkeeping after any commit.
    fn after_commit(
        &mut self,
        committed: Committed,
        effects: &mut Effects,
    ) -> Result<(), HostError> {
        self.executed.clear();
        let height = committed.outcome.height;
        self.catch_up.forget_up_to(height);
        if !self.evidence.is_empty() {
            self.evidence.prune(&self.state, height);
        }
        self.refresh_allow_list(effects);
        effects.push(Effect::Committed(Box::new(committed)));
        self.capture_snapshot(height, effects)?;
        self.check_protocol(height)
    }

    /// At a snapshot height, copy the state for the shell to write
    /// ([`crate::snapshots`]): `O(state entries)`, here where no block is
    /// being applied, so the copy is of exactly this height.
    fn capture_snapshot(&self, height: u64, effects: &mut Effects) -> Result<(), HostError> {
        let interval = self.config.snapshot_interval_blocks;
        if interval == 0 || !height.is_multiple_of(interval) {
            return Ok(());
        }
        let ledger = self.state.ledger.read().map_err(|_| HostError::Commit {
            height,
            reason: "ledger lock poisoned".into(),
        })?;
        match kopnet_ledger::snapshot::Capture::of(&ledger) {
            Ok(capture) => effects.push(Effect::Snapshot(Box::new(capture))),
            Err(error) => tracing::warn!(height, %error, "cannot capture the state for a snapshot"),
        }
        Ok(())
    }

    /// Whether this build may go on past `height` ([`crate::upgrade`]):
    /// a scheduled version it does not speak stops it here, before it
    /// signs anything at the upgrade's height.
    pub fn check_protocol(&self, height: u64) -> Result<(), HostError> {
        use kopnet_ledger::state::StateRead;
        let ledger = self.state.ledger.read().map_err(|_| HostError::Commit {
            height,
            reason: "ledger lock poisoned".into(),
        })?;
        if let Some(params) = ledger.state().params_ref() {
            crate::upgrade::check(params, height, self.config.speaks_protocol)?;
        }
        Ok(())
    }

    /// After catching up, run consensus from `height` with a fresh engine
    /// that keeps the safety record (so it never signs twice).
    fn restart_engine_at(
        &mut self,
        now_ms: u64,
        height: u64,
        effects: &mut Effects,
    ) -> Result<(), HostError> {
        let Some(old) = self.engine.as_ref() else {
            return Ok(());
        };
        let record = old.safety_record().clone();
        self.run_engine_at(now_ms, height, record, effects)
    }

    /// Replace the engine with one at `height` that resumes from `record`,
    /// knows the next height's set where recorded, and has started.
    fn run_engine_at(
        &mut self,
        now_ms: u64,
        height: u64,
        record: SafetyRecord,
        effects: &mut Effects,
    ) -> Result<(), HostError> {
        let (validators, next_validators) = {
            let ledger = self.state.ledger.read().map_err(|_| HostError::Commit {
                height,
                reason: "ledger lock poisoned".into(),
            })?;
            let after = chain_store::validator_set(&ledger, height.saturating_add(1)).ok();
            (chain_store::validator_set(&ledger, height)?, after)
        };
        let mut engine = Engine::new(
            self.config.engine.clone(),
            self.keypair.clone(),
            height,
            validators.clone(),
            Some(record),
        )?;
        if let Some(next) = next_validators {
            engine.set_next_validators(next);
        }
        if let Some(next_key) = &self.next_key {
            engine.hold_next_key(next_key.clone());
        }
        effects.push(Effect::HeightStarted { height, validators });
        let outputs = engine.start(now_ms);
        self.engine = Some(engine);
        self.drive(now_ms, outputs, effects)
    }

    /// Tell the shell the ledger's allow-list if it changed (a cooperative
    /// added or removed by governance).
    fn refresh_allow_list(&mut self, effects: &mut Effects) {
        let (keys, mut observers) = match self.state.ledger.read() {
            Ok(ledger) => (allow_list::current(&ledger), ledger.admitted_observers()),
            Err(_) => return,
        };
        observers.sort();
        self.observers = observers;
        if keys != self.allowed {
            self.allowed = keys.clone();
            effects.push(Effect::AllowList(keys));
        }
    }
}
