//! The double-sign check in hosts: four validators over in-memory storage,
//! wired by a tiny deterministic network (messages delivered in order, the
//! clock jumping to the next timer or tick), one of them restarted without
//! its safety record.

use super::super::*;
use super::{DoubleSignError, SeenIn, DOUBLE_SIGN_CHECK_BLOCKS};
use crate::wire::SyncRequest;
use kopnet_consensus::{Keypair, SignedVote, Vote, VoteKind};
use kopnet_ledger::storage::FaultyStorage;
use kopnet_ledger::{testkit, MemoryStorage};

type Store = Arc<FaultyStorage<MemoryStorage>>;
type TestHost = Host<Store, Safety>;

const CHAIN: &str = "kopnet-double-sign";
const VALIDATORS: usize = 4;
/// The shell's sync tick (host time).
const TICK_MS: u64 = 100;
/// Bound on the steps of one `run_until`.
const STEPS_MAX: usize = 200_000;

/// A safety record "on disk" that a test can lose.
#[derive(Clone, Default)]
struct Safety(Arc<Mutex<Option<SafetyRecord>>>);

impl SafetyStore for Safety {
    type Error = std::convert::Infallible;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Self::Error> {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(record.clone());
        }
        Ok(())
    }
}

/// Validator `i`'s validator key.
fn key(i: usize) -> Keypair {
    testkit::validator_key_for(testkit::DEMO_COOPERATIVES[i].0)
}

/// Validator `i`'s node identity: what its peers know its connection by.
fn identity(i: usize) -> PublicKey {
    testkit::node_key_for(testkit::DEMO_COOPERATIVES[i].0).public()
}

fn config() -> HostConfig {
    super::super::tests::config_for(CHAIN)
}

fn window_ms() -> u64 {
    super::listen_window_ms(&config().engine.timeouts)
}

/// One validator: its host (None while stopped), its disk and what it did.
struct Node {
    host: Option<TestHost>,
    store: Store,
    safety: Safety,
    timers: Timers,
    /// Messages it broadcast, with the host time.
    sent: Vec<(u64, Message)>,
    error: Option<HostError>,
    /// Hears no consensus gossip (as a node under the same peer id as
    /// another: gossipsub drops what claims to come from itself).
    deaf: bool,
}

enum Delivery {
    Message(Message),
    /// An encoded committed-height hint, on `from`'s connection.
    Hint {
        hint: Vec<u8>,
        from: PublicKey,
    },
    Blocks {
        attempt: u64,
        peer: Option<PublicKey>,
    },
}

struct Net {
    now_ms: u64,
    next_tick_ms: u64,
    nodes: Vec<Node>,
    queue: VecDeque<(usize, Delivery)>,
    evidence: usize,
}

impl Net {
    fn new() -> Net {
        let mut net = Net {
            now_ms: 0,
            next_tick_ms: TICK_MS,
            nodes: Vec::new(),
            queue: VecDeque::new(),
            evidence: 0,
        };
        for i in 0..VALIDATORS {
            net.nodes.push(Node {
                host: None,
                store: Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX)),
                safety: Safety::default(),
                timers: Timers::default(),
                sent: Vec::new(),
                error: None,
                deaf: false,
            });
            net.start(i, false);
        }
        net
    }

    /// Open node `i` from its disk (its safety record lost first if
    /// `lost_record`, then behind the double-sign check) and start it.
    fn start(&mut self, i: usize, lost_record: bool) {
        let genesis = testkit::demo_genesis(CHAIN, VALIDATORS, 1_000_000);
        let node = &mut self.nodes[i];
        if lost_record {
            *node.safety.0.lock().unwrap() = None;
        }
        let record = node.safety.0.lock().unwrap().clone();
        let host = Host::open(
            node.store.clone(),
            &genesis,
            key(i),
            node.safety.clone(),
            record,
            HostConfig {
                identity: identity(i),
                ..config()
            },
        )
        .unwrap();
        let mut host = if lost_record {
            host.with_double_sign_check()
        } else {
            host
        };
        node.timers = Timers::default();
        let effects = host.start(self.now_ms).unwrap();
        node.host = Some(host);
        self.take(i, effects);
    }

    fn stop(&mut self, i: usize) {
        self.nodes[i].host = None;
        self.queue.retain(|(to, _)| *to != i);
    }

    fn host(&self, i: usize) -> &TestHost {
        self.nodes[i].host.as_ref().expect("node running")
    }

    fn take(&mut self, i: usize, effects: Effects) {
        let me = identity(i);
        for effect in effects {
            match effect {
                Effect::Broadcast(message) => {
                    self.nodes[i].sent.push((self.now_ms, message.clone()));
                    self.send_to_others(i, || Delivery::Message(message.clone()));
                }
                Effect::AnnounceCommitted { hint, .. } => {
                    self.send_to_others(i, || Delivery::Hint {
                        hint: hint.clone(),
                        from: me,
                    });
                }
                Effect::Schedule {
                    deadline_ms,
                    height,
                    round,
                    step,
                } => self.nodes[i].timers.schedule(
                    deadline_ms,
                    Timer {
                        height,
                        round,
                        step,
                    },
                ),
                Effect::RequestBlocks { attempt, peer, .. } => {
                    self.queue
                        .push_back((i, Delivery::Blocks { attempt, peer }));
                }
                Effect::Evidence(_) => self.evidence += 1,
                _ => {}
            }
        }
    }

    fn send_to_others(&mut self, from: usize, delivery: impl Fn() -> Delivery) {
        for to in 0..self.nodes.len() {
            if to != from && self.nodes[to].host.is_some() {
                self.queue.push_back((to, delivery()));
            }
        }
    }

    /// Feed one delivery to node `to`; a host error stops the node.
    fn deliver(&mut self, to: usize, delivery: Delivery) {
        let now = self.now_ms;
        let answer = match &delivery {
            Delivery::Blocks { peer, .. } => {
                let serving = (0..self.nodes.len())
                    .find(|&s| self.nodes[s].host.is_some() && Some(identity(s)) == *peer);
                let from = self.host(to).height() + 1;
                serving.map(|s| {
                    catch_up::serve(
                        self.host(s).state(),
                        &SyncRequest::Blocks { from, limit: 64 },
                    )
                })
            }
            _ => None,
        };
        if self.nodes[to].deaf && matches!(delivery, Delivery::Message(_)) {
            return;
        }
        let Some(host) = self.nodes[to].host.as_mut() else {
            return;
        };
        let result = match delivery {
            Delivery::Message(message) => host.on_consensus_message(now, message).map(|(_, e)| e),
            Delivery::Hint { hint, from } => host
                .on_consensus_gossip(now, &hint, Some(from))
                .map(|(_, e)| e),
            Delivery::Blocks { attempt, peer } => match answer {
                Some(response) => host.on_blocks(now, attempt, peer, &response),
                None => {
                    host.on_blocks_failed(attempt);
                    Ok(Effects::default())
                }
            },
        };
        self.outcome(to, result);
    }

    fn outcome(&mut self, i: usize, result: Result<Effects, HostError>) {
        match result {
            Ok(effects) => self.take(i, effects),
            Err(error) => {
                self.nodes[i].error = Some(error);
                self.stop(i);
            }
        }
    }

    /// One delivery, or else the clock to the next timer or tick.
    fn step(&mut self) {
        if let Some((to, delivery)) = self.queue.pop_front() {
            self.deliver(to, delivery);
            return;
        }
        let next_timer = self
            .nodes
            .iter()
            .filter(|n| n.host.is_some())
            .filter_map(|n| n.timers.next_deadline_ms())
            .min();
        let next = next_timer.map_or(self.next_tick_ms, |t| t.min(self.next_tick_ms));
        self.now_ms = self.now_ms.max(next);
        let now = self.now_ms;
        for i in 0..self.nodes.len() {
            for timer in self.nodes[i].timers.take_due(now) {
                if let Some(host) = self.nodes[i].host.as_mut() {
                    let result = host.on_timeout(now, timer);
                    self.outcome(i, result);
                }
            }
        }
        if now >= self.next_tick_ms {
            self.next_tick_ms = now + TICK_MS;
            for i in 0..self.nodes.len() {
                if let Some(host) = self.nodes[i].host.as_mut() {
                    let mut effects = host.on_sync_tick();
                    let result = host.on_tick(now).map(|more| {
                        effects.append(more);
                        effects
                    });
                    self.outcome(i, result);
                }
            }
        }
    }

    fn run_until(&mut self, what: &str, mut done: impl FnMut(&Net) -> bool) {
        for _ in 0..STEPS_MAX {
            if done(self) {
                return;
            }
            self.step();
        }
        let state: Vec<String> = self
            .nodes
            .iter()
            .map(|n| match &n.host {
                Some(h) => format!(
                    "height {} engine {:?} check {:?} syncing {}",
                    h.height(),
                    h.engine().map(|e| (e.height(), e.round())),
                    h.double_sign,
                    h.syncing()
                ),
                None => format!("stopped ({:?})", n.error),
            })
            .collect();
        panic!(
            "not reached within {STEPS_MAX} steps: {what}; at {} ms: {state:#?}",
            self.now_ms
        );
    }

    fn run_for(&mut self, ms: u64) {
        let until = self.now_ms + ms;
        self.run_until("time to pass", |net| net.now_ms >= until);
    }

    fn height(&self, i: usize) -> u64 {
        self.host(i).height()
    }

    /// The heights among the last `DOUBLE_SIGN_CHECK_BLOCKS` of node `i`'s
    /// chain whose certificates carry `signer`'s key.
    fn signed_by(&self, i: usize, signer: usize) -> Vec<u64> {
        let ledger = self.host(i).state().ledger.read().unwrap();
        let top = ledger.height();
        (top.saturating_sub(DOUBLE_SIGN_CHECK_BLOCKS - 1).max(1)..=top)
            .filter(|h| {
                chain_store::certificate(&ledger, *h)
                    .unwrap()
                    .unwrap()
                    .signatures
                    .iter()
                    .any(|s| s.validator == key(signer).public())
            })
            .collect()
    }

    fn checking(&self, i: usize) -> bool {
        self.host(i).double_sign_checking()
    }
}

const D: usize = 3;

#[test]
fn while_its_key_is_on_the_last_blocks_and_the_chain_stands_still_it_signs_nothing() {
    let mut net = Net::new();
    net.run_until("four validators commit", |n| {
        (0..VALIDATORS).all(|i| n.height(i) >= 4)
    });
    // C and D stop: A and B alone cannot commit (2 of 4).
    let stopped_at = net.height(D);
    net.stop(2);
    net.stop(D);
    let sent_before = net.nodes[D].sent.len();
    net.start(D, true);
    assert!(
        !net.signed_by(D, D).is_empty(),
        "D signed some of its last blocks before it stopped"
    );
    // However long it waits: no engine, nothing signed.
    net.run_for(20 * window_ms());
    assert!(
        net.checking(D),
        "the check passed with D's key on the last blocks"
    );
    assert!(net.host(D).engine().is_none());
    assert_eq!(
        net.nodes[D].sent.len(),
        sent_before,
        "D signed during the check"
    );
    assert_eq!(net.height(D), stopped_at);
    assert!(net.nodes[D].error.is_none());
}

#[test]
fn a_validator_whose_record_is_lost_signs_only_after_the_chain_moves_past_it_and_the_window() {
    let mut net = Net::new();
    net.run_until("four validators commit", |n| {
        (0..VALIDATORS).all(|i| n.height(i) >= 4)
    });
    let stopped_at = net.height(D);
    net.stop(D);
    let sent_before = net.nodes[D].sent.len();
    net.start(D, true);
    assert!(
        !net.signed_by(D, D).is_empty(),
        "D signed some of its last blocks before it stopped"
    );
    assert!(net.checking(D));
    // A, B and C go on without D; D follows, signing nothing, until the
    // chain is past its last signature and it has listened a window.
    let mut listening_since_ms = None;
    net.run_until("the check to pass", |n| {
        let check = n.host(D).double_sign.as_ref();
        if let Some(since) = check.and_then(|c| c.listening_since_ms) {
            listening_since_ms = Some(since);
        }
        check.is_none()
    });
    let passed_at_ms = net.now_ms;
    let engine_height = net.host(D).engine().unwrap().height();
    assert_eq!(
        net.nodes[D].sent.len(),
        sent_before,
        "nothing before the engine"
    );
    assert!(
        net.signed_by(D, D).is_empty(),
        "started with its key on the last blocks"
    );
    assert!(engine_height > stopped_at + 1 + DOUBLE_SIGN_CHECK_BLOCKS);
    // The window ran in full once the chain had moved past D's signature.
    let listening_since_ms = listening_since_ms.expect("D listened before passing");
    assert!(passed_at_ms >= listening_since_ms + window_ms());
    // D signs again and the network commits with its votes; no evidence.
    let top = net.height(0);
    net.run_until("D's key on a new certificate", |n| {
        n.signed_by(0, D).iter().any(|h| *h > top)
    });
    assert!(net.nodes[D].sent[sent_before..]
        .iter()
        .all(|(at, m)| *at >= passed_at_ms && m.height() >= engine_height));
    assert_eq!(net.evidence, 0, "no double signing was seen");
    assert!(net.nodes.iter().all(|n| n.error.is_none()));
}

#[test]
fn its_own_vote_heard_during_the_window_stops_the_host() {
    let mut net = Net::new();
    net.run_until("four validators commit", |n| {
        (0..VALIDATORS).all(|i| n.height(i) >= 3)
    });
    net.stop(D);
    net.start(D, true);
    let since = net.host(D).double_sign.as_ref().unwrap().since_height();
    net.run_until("D listening", |n| {
        n.nodes[D].host.as_ref().is_some_and(|h| {
            h.double_sign
                .as_ref()
                .is_some_and(|c| c.listening_since_ms.is_some())
        })
    });
    let vote = |height| {
        let vote = Vote {
            kind: VoteKind::Prevote,
            height,
            round: 1,
            value_id: None,
            validator: key(D).public(),
        };
        Message::Vote(SignedVote::sign(CHAIN, &key(D), vote).unwrap())
    };
    let now = net.now_ms;
    let host = net.nodes[D].host.as_mut().unwrap();
    // Its own old vote, replayed from before the crash: no proof of anything.
    let (verdict, _) = host.on_consensus_message(now, vote(since)).unwrap();
    assert_eq!(verdict, Verdict::Accept);
    // A forged one proves nothing either.
    let mut forged = vote(since + 5);
    if let Message::Vote(v) = &mut forged {
        v.vote.round = 2;
    }
    let (verdict, _) = host.on_consensus_message(now, forged).unwrap();
    assert_eq!(verdict, Verdict::Reject);
    assert!(host.double_sign_checking());
    // Its key on a vote for the current height: another instance is signing.
    let current = host.height() + 1;
    let error = host.on_consensus_message(now, vote(current)).unwrap_err();
    assert!(
        matches!(
            error,
            HostError::DoubleSign(DoubleSignError::SignedElsewhere {
                seen: SeenIn::Gossip,
                height,
                round: 1,
                ..
            }) if height == current
        ),
        "{error}"
    );
    assert!(host.engine().is_none());
    assert!(error
        .to_string()
        .contains("another instance may be signing"));
}

#[test]
fn a_second_instance_seen_on_the_certificates_stops_the_host() {
    let mut net = Net::new();
    // A fifth home with D's key, empty, started with the check while D
    // itself keeps signing. It hears D's votes only on the certificates.
    net.nodes.push(Node {
        host: None,
        store: Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX)),
        safety: Safety::default(),
        timers: Timers::default(),
        sent: Vec::new(),
        error: None,
        deaf: true,
    });
    let genesis = testkit::demo_genesis(CHAIN, VALIDATORS, 1_000_000);
    let copy = Host::open(
        net.nodes[4].store.clone(),
        &genesis,
        key(D),
        Safety::default(),
        None,
        config(),
    )
    .unwrap()
    .with_double_sign_check();
    net.nodes[4].host = Some(copy);
    net.run_until("the copy to stop", |n| n.nodes[4].error.is_some());
    let error = net.nodes[4].error.take().unwrap();
    assert!(
        matches!(
            error,
            HostError::DoubleSign(DoubleSignError::SignedElsewhere {
                seen: SeenIn::Certificate,
                height,
                since_height: 1,
                ..
            }) if height > 1
        ),
        "{error}"
    );
    assert!(net.nodes[4].sent.is_empty(), "the copy signed nothing");
    assert_eq!(net.evidence, 0);
}
