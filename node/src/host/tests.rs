//! The host on its own: one validator over in-memory storage, driven by a
//! tiny shell that carries out timers, so that the host's rules show
//! without a network: commits land with their records, a transaction
//! from a client reaches a block, and a store or safety record that
//! cannot be written stops the host (fail-stop) with memory as on disk.

use super::*;
use crate::config::MempoolConfig;
use kopnet_consensus::{Keypair, SafetyRecord, SafetyStore, TimeoutConfig};
use kopnet_ledger::storage::FaultyStorage;
use kopnet_ledger::{testkit, Action, MemoryStorage};

type Store = Arc<FaultyStorage<MemoryStorage>>;

#[derive(Clone, Default)]
pub(super) struct MemorySafety {
    pub(super) record: Arc<Mutex<Option<SafetyRecord>>>,
    pub(super) broken: bool,
}

#[derive(Debug)]
pub(super) struct SafetyBroken;

impl std::fmt::Display for SafetyBroken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}

impl SafetyStore for MemorySafety {
    type Error = SafetyBroken;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), SafetyBroken> {
        if self.broken {
            return Err(SafetyBroken);
        }
        if let Ok(mut slot) = self.record.lock() {
            *slot = Some(record.clone());
        }
        Ok(())
    }
}

const CHAIN: &str = "kopnet-test";

/// The lone validator's validator key.
fn validator() -> Keypair {
    testkit::validator_key_for("ksp-sejahtera")
}

/// Its node identity (its libp2p key: neither of the other two).
pub(super) fn node_identity() -> Keypair {
    testkit::node_key_for("ksp-sejahtera")
}

/// Its cooperative key (signs its ledger transactions).
fn cooperative() -> Keypair {
    testkit::key_for("ksp-sejahtera")
}

fn config() -> HostConfig {
    config_for(CHAIN)
}

/// A validator's host config on `chain` with short timeouts (shared with
/// the double-sign check's host tests).
pub(super) fn config_for(chain: &str) -> HostConfig {
    let mut engine = EngineConfig::new(chain).unwrap();
    engine.timeouts = TimeoutConfig {
        propose_ms: 100,
        prevote_ms: 100,
        precommit_ms: 100,
        delta_ms: 10,
        empty_block_interval_ms: 50,
        block_interval_min_ms: 0,
    };
    HostConfig {
        include_evidence: true,
        engine,
        block_limits: BlockLimits::default(),
        mempool: MempoolConfig::default(),
        verified_signatures_max: 1_024,
        runs_consensus: true,
        speaks_protocol: crate::upgrade::PROTOCOL_VERSION,
        snapshot_interval_blocks: 0,
        block_clock: Default::default(),
        identity: node_identity().public(),
    }
}

fn open(store: &Store, safety: &MemorySafety) -> Result<Host<Store, MemorySafety>, HostError> {
    let genesis = testkit::demo_genesis(CHAIN, 1, 1_000_000);
    let record = safety.record.lock().unwrap().clone();
    Host::open(
        store.clone(),
        &genesis,
        validator(),
        safety.clone(),
        record,
        config(),
    )
}

/// A shell of the least kind: effects go to a list, timers fire in
/// deadline order with the clock jumping to each (shared with the storage
/// fault tests).
pub(super) struct Shell {
    pub(super) now_ms: u64,
    timers: Timers,
    pub(super) committed: Vec<Committed>,
    pub(super) broadcasts: usize,
    /// The messages broadcast, in order.
    pub(super) sent: Vec<Message>,
    /// The committed-height hints announced, encoded.
    pub(super) hints: Vec<Vec<u8>>,
}

impl Shell {
    pub(super) fn new() -> Self {
        Shell {
            now_ms: 0,
            timers: Timers::default(),
            committed: Vec::new(),
            broadcasts: 0,
            sent: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub(super) fn take(&mut self, effects: Effects) {
        for effect in effects {
            match effect {
                Effect::Schedule {
                    deadline_ms,
                    height,
                    round,
                    step,
                } => self.timers.schedule(
                    deadline_ms,
                    Timer {
                        height,
                        round,
                        step,
                    },
                ),
                Effect::Committed(c) => self.committed.push(*c),
                Effect::AnnounceCommitted { hint, .. } => self.hints.push(hint),
                Effect::Broadcast(message) => {
                    self.broadcasts += 1;
                    self.sent.push(message);
                }
                _ => {}
            }
        }
    }

    /// Fire timers until the host commits `height` (bounded).
    pub(super) fn run_until<S: Storage, K: SafetyStore>(
        &mut self,
        host: &mut Host<S, K>,
        height: u64,
    ) -> Result<(), HostError>
    where
        K::Error: std::fmt::Display,
    {
        for _ in 0..1_000 {
            if host.height() >= height {
                return Ok(());
            }
            let Some(deadline) = self.timers.next_deadline_ms() else {
                panic!("no timer pending at height {}", host.height());
            };
            self.now_ms = self.now_ms.max(deadline);
            for timer in self.timers.take_due(self.now_ms) {
                let effects = host.on_timeout(self.now_ms, timer)?;
                self.take(effects);
            }
        }
        panic!("height {height} not reached");
    }
}

#[test]
fn a_lone_validator_commits_blocks_with_their_records() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let safety = MemorySafety::default();
    let mut host = open(&store, &safety).unwrap();
    let mut shell = Shell::new();
    let effects = host.start(0).unwrap();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::HeightStarted { height: 1, .. })));
    shell.take(effects);
    shell.run_until(&mut host, 3).unwrap();
    assert_eq!(shell.committed.len(), 3);
    assert!(shell.broadcasts > 0);
    let ledger = host.state().ledger.read().unwrap();
    for h in 1..=3 {
        let certificate = chain_store::certificate(&ledger, h).unwrap().unwrap();
        assert_eq!(certificate.height, h);
        // The set that signs h + 2 landed with block h.
        assert!(chain_store::validator_set(&ledger, h + 2).is_ok());
    }
    // Persist, then send: the record the votes came from is on "disk".
    let record = safety.record.lock().unwrap().clone().unwrap();
    assert!(record.height >= 3);
}

#[test]
fn a_client_transaction_takes_the_admission_path_into_a_block() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let mut host = open(&store, &MemorySafety::default()).unwrap();
    let mut shell = Shell::new();
    shell.take(host.start(0).unwrap());
    let mut signers = testkit::demo_signers();
    let member = testkit::key_for("anggota").public();
    let tx = signers.sign(
        CHAIN,
        &cooperative().public(),
        Action::RegisterMember {
            member,
            kind: kopnet_ledger::types::AccountKind::Member,
            tier: kopnet_ledger::types::KycTier::Registered,
        },
    );
    let bytes = tx.encode().unwrap();
    let (admitted, effects) = admit(host.state(), &bytes, Origin::Client);
    assert_eq!(admitted.unwrap().accepted, Accepted::Pending);
    assert!(effects.iter().any(|e| matches!(e, Effect::GossipTx(_))));
    // From a peer the same bytes are already pending and not re-gossiped.
    let (again, effects) = admit(host.state(), &bytes, Origin::Peer);
    assert_eq!(again.unwrap().accepted, Accepted::AlreadyPending);
    assert!(effects.is_empty());
    // Garbage changes nothing and says why.
    let (refused, _) = admit(host.state(), b"not a transaction", Origin::Client);
    assert_eq!(refused.unwrap_err().code(), "malformed");
    shell.take(host.on_txs_available(shell.now_ms).unwrap());
    shell.run_until(&mut host, 2).unwrap();
    let in_block = shell.committed.iter().any(|c| {
        c.outcome
            .results
            .iter()
            .any(|(h, r)| *h == tx.hash() && r.is_ok())
    });
    assert!(in_block, "the transaction was committed and applied");
    assert_eq!(host.state().mempool_len(), 0);
    // Sent again, a client is told it is committed; a peer's late gossip of
    // it is refused for its used nonce without looking it up.
    let (again, effects) = admit(host.state(), &bytes, Origin::Client);
    assert_eq!(again.unwrap().accepted, Accepted::Committed);
    assert!(effects.is_empty());
    let (late, effects) = admit(host.state(), &bytes, Origin::Peer);
    assert_eq!(late.unwrap_err().code(), "stale_nonce");
    assert!(effects.is_empty());
    assert_eq!(host.state().mempool_len(), 0);
}

#[test]
fn a_store_that_refuses_a_block_stops_the_host_with_memory_as_on_disk() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let safety = MemorySafety::default();
    let mut host = open(&store, &safety).unwrap();
    let mut shell = Shell::new();
    shell.take(host.start(0).unwrap());
    shell.run_until(&mut host, 2).unwrap();
    let (height, root) = {
        let ledger = host.state().ledger.read().unwrap();
        (ledger.height(), ledger.state_root())
    };
    store.allow(0);
    let error = shell.run_until(&mut host, height + 1).unwrap_err();
    assert!(
        matches!(error, HostError::Store { height: h, .. } if h == height + 1),
        "{error}"
    );
    assert_eq!(host.height(), height, "memory did not move past the disk");
    drop(host);
    store.allow(u64::MAX);
    let reopened = open(&store, &safety).unwrap();
    let ledger = reopened.state().ledger.read().unwrap();
    assert_eq!((ledger.height(), ledger.state_root()), (height, root));
}

#[test]
fn a_safety_record_that_cannot_be_saved_stops_the_host_before_any_vote() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let safety = MemorySafety {
        broken: true,
        ..MemorySafety::default()
    };
    let mut host = open(&store, &safety).unwrap();
    let mut shell = Shell::new();
    let error = host
        .start(0)
        .and_then(|effects| {
            shell.take(effects);
            shell.run_until(&mut host, 1)
        })
        .unwrap_err();
    assert!(matches!(error, HostError::Persist(_)), "{error}");
    assert_eq!(shell.broadcasts, 0, "nothing was sent unpersisted");
    assert_eq!(host.height(), 0);
}

/// Admission refuses what it can refuse cheaply before it verifies a
/// signature: a key no account has, a used nonce, a nonce past the
/// mempool's window cost no verification, forged or not; only a known
/// signer with a plausible nonce gets one (and a forged one is then
/// `bad_signature`).
#[test]
fn admission_checks_signer_and_nonce_before_it_verifies_a_signature() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let host = open(&store, &MemorySafety::default()).unwrap();
    let state = host.state();
    let coop = cooperative();
    let sign = |key: &Keypair, nonce: u64, forged: bool| {
        let body = kopnet_ledger::TxBody {
            chain_id: CHAIN.into(),
            signer: key.public(),
            nonce,
            action: Action::Mint {
                member: testkit::key_for("someone").public(),
                amount: 1,
            },
        };
        let mut tx = kopnet_ledger::Transaction::sign(body, key).unwrap();
        if forged {
            tx.signature.0[10] ^= 1;
        }
        tx.encode().unwrap()
    };
    let code = |bytes: &[u8]| match admit(state, bytes, Origin::Client).0 {
        Ok(admitted) => format!("{:?}", admitted.accepted),
        Err(e) => e.code().to_string(),
    };
    let stranger = testkit::key_for("nobody-has-this-key");
    let window = MempoolConfig::default().max_per_signer as u64;
    for (bytes, expected) in [
        (sign(&stranger, 1, false), "unknown_signer"),
        (sign(&stranger, 1, true), "unknown_signer"),
        (sign(&coop, 0, true), "stale_nonce"),
        (sign(&coop, 1 + window, true), "future_nonce"),
    ] {
        assert_eq!(code(&bytes), expected);
    }
    assert_eq!(
        state.verified.checked_count(),
        0,
        "no signature was verified"
    );
    // A known signer with its next nonce: verified, forged or not.
    assert_eq!(code(&sign(&coop, 1, true)), "bad_signature");
    assert_eq!(state.verified.checked_count(), 1);
    assert_eq!(code(&sign(&coop, 1, false)), "Pending");
    assert_eq!(state.verified.checked_count(), 2);
    // Its nonce is now taken in the mempool: refused without a check.
    assert_eq!(code(&sign(&coop, 1, true)), "nonce_taken");
    assert_eq!(state.verified.checked_count(), 2);
}

/// A validator's committed-height hint names its node identity (the key
/// its peers see its connection under), not the validator key it signs
/// votes with: a peer believes it from that connection and catches up.
#[test]
fn a_committed_hint_names_the_node_identity_and_a_peer_catches_up_on_it() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let mut host = open(&store, &MemorySafety::default()).unwrap();
    let mut shell = Shell::new();
    shell.take(host.start(0).unwrap());
    shell.run_until(&mut host, 2).unwrap();
    let hint = shell
        .hints
        .last()
        .expect("a commit announces its height")
        .clone();
    match wire::decode::<ConsensusGossip>(&hint).unwrap() {
        ConsensusGossip::Committed { height, from } => {
            assert_eq!(height, 2);
            assert_eq!(from, node_identity().public());
            assert_ne!(from, validator().public());
        }
        other => panic!("not a hint: {other:?}"),
    }

    // A second node of the same network, still at genesis.
    let peer_store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let mut peer = open(&peer_store, &MemorySafety::default()).unwrap();
    let _started = peer.start(0).unwrap();
    let asks = |effects: &Effects| {
        effects
            .iter()
            .any(|e| matches!(e, Effect::RequestBlocks { .. }))
    };
    // Under the validator key's name the connection is not the hint's.
    let (_, effects) = peer
        .on_consensus_gossip(1, &hint, Some(validator().public()))
        .unwrap();
    assert!(!asks(&effects));
    // From the node identity's own connection: the peer asks for blocks.
    let (_, effects) = peer
        .on_consensus_gossip(2, &hint, Some(node_identity().public()))
        .unwrap();
    assert!(asks(&effects), "{effects:?}");
}

/// Gossip is anonymous: a "committed" hint counts only on its named
/// sender's own connection and is never forwarded; a consensus message is
/// judged by its signer, whoever relays it.
#[test]
fn consensus_gossip_is_judged_by_its_sender_connection_and_its_signer() {
    use kopnet_consensus::{SignedVote, Vote, VoteKind};
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let mut host = open(&store, &MemorySafety::default()).unwrap();
    let _started = host.start(0).unwrap();
    let peer = testkit::key_for("koperasi-tetangga");
    let relay = testkit::key_for("koperasi-perantara").public();
    let hint = wire::encode(&ConsensusGossip::Committed {
        height: 50,
        from: peer.public(),
    });
    let asks = |effects: &Effects| {
        effects
            .iter()
            .any(|e| matches!(e, Effect::RequestBlocks { .. }))
    };

    // Relayed (or forged) under another's name: no catch-up, no penalty.
    let (verdict, effects) = host.on_consensus_gossip(1, &hint, Some(relay)).unwrap();
    assert_eq!(verdict, Verdict::Ignore);
    assert!(!asks(&effects));
    // From its sender's own connection: believed, not forwarded.
    let (verdict, effects) = host
        .on_consensus_gossip(2, &hint, Some(peer.public()))
        .unwrap();
    assert_eq!(verdict, Verdict::Ignore);
    assert!(asks(&effects));

    // A vote signed by a key that is not a validator is refused whoever
    // delivers it, even its own signer; one by our validator is not.
    let vote = |key: &Keypair| {
        let vote = Vote {
            height: 1,
            round: 0,
            kind: VoteKind::Prevote,
            value_id: None,
            validator: key.public(),
        };
        let signed = SignedVote::sign(CHAIN, key, vote).unwrap();
        wire::encode(&ConsensusGossip::Message(Message::Vote(signed)))
    };
    let (verdict, _) = host
        .on_consensus_gossip(3, &vote(&peer), Some(peer.public()))
        .unwrap();
    assert_eq!(verdict, Verdict::Reject);
    let (verdict, _) = host
        .on_consensus_gossip(4, &vote(&validator()), Some(relay))
        .unwrap();
    assert_ne!(verdict, Verdict::Reject);
}

/// A forged signature is provably bad at any height: a validator key's
/// messages for heights the engine does not take now (far ahead, or
/// passed) are dropped unforwarded, and refused — the sender penalised —
/// if their signature does not verify (the `future-flood` half that
/// carries garbage signatures).
#[test]
fn forged_messages_for_other_heights_are_refused_and_signed_ones_ignored() {
    use kopnet_consensus::{Signature, SignedVote, Vote, VoteKind};
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let mut host = open(&store, &MemorySafety::default()).unwrap();
    let _started = host.start(0).unwrap();
    let current = host.engine.as_ref().unwrap().height();
    let key = validator();
    let vote_at = |height: u64, forged: bool| {
        let vote = Vote {
            height,
            round: 0,
            kind: VoteKind::Precommit,
            value_id: None,
            validator: key.public(),
        };
        let mut signed = SignedVote::sign(CHAIN, &key, vote).unwrap();
        if forged {
            signed.signature = Signature([0x5A; 64]);
        }
        wire::encode(&ConsensusGossip::Message(Message::Vote(signed)))
    };
    let relay = Some(testkit::key_for("koperasi-perantara").public());
    let far = current + 500;
    let (verdict, effects) = host
        .on_consensus_gossip(1, &vote_at(far, true), relay)
        .unwrap();
    assert_eq!(verdict, Verdict::Reject);
    assert!(effects.is_empty(), "{effects:?}");
    let (verdict, effects) = host
        .on_consensus_gossip(2, &vote_at(far, false), relay)
        .unwrap();
    assert_eq!(verdict, Verdict::Ignore);
    assert!(effects.is_empty(), "{effects:?}");
    // A passed height (0 is below every engine height) likewise.
    let (verdict, _) = host
        .on_consensus_gossip(3, &vote_at(0, true), relay)
        .unwrap();
    assert_eq!(verdict, Verdict::Reject);
    let (verdict, _) = host
        .on_consensus_gossip(4, &vote_at(0, false), relay)
        .unwrap();
    assert_eq!(verdict, Verdict::Ignore);
    // The engine's own heights are still the engine's to judge: a forged
    // vote of the current height is refused by it, as before.
    let (verdict, _) = host
        .on_consensus_gossip(5, &vote_at(current, true), relay)
        .unwrap();
    assert_eq!(verdict, Verdict::Reject);
    assert_eq!(host.engine.as_ref().unwrap().height(), current);
}
