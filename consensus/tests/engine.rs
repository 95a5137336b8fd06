//! Engine behaviour through its public API: a small in-process cluster,
//! restarts from the safety record, untrusted inputs, evidence, sync.

mod common;

use common::{keys, MemoryStore as Store};

use kopnet_consensus::{
    CertificateError, CommitCertificate, Decision, Engine, EngineConfig, Evidence, Hash, Height,
    Input, InputError, Keypair, Message, Output, Outputs, SafetyRecord, SignedVote, Step,
    TimeoutStep, Validator, ValidatorSet, Value, Vote, VoteKind,
};
use std::collections::VecDeque;

const CHAIN: &str = "kopnet-test";

fn set_of(keys: &[Keypair], powers: &[u64]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .zip(powers)
            .map(|(k, &p)| Validator {
                key: k.public(),
                voting_power: p,
            })
            .collect(),
    )
    .unwrap()
}

fn value(tag: &str) -> Value {
    Value {
        id: Hash::digest("kopnet test value", tag.as_bytes()),
        bytes: tag.as_bytes().to_vec(),
    }
}

fn engine(
    key: &Keypair,
    set: &ValidatorSet,
    height: Height,
    record: Option<SafetyRecord>,
) -> Engine {
    Engine::new(
        EngineConfig::new(CHAIN).unwrap(),
        key.clone(),
        height,
        set.clone(),
        record,
    )
    .unwrap()
}

/// A lossless, synchronous network of engines: delivers everything, answers
/// GetValue / ValidateValue, collects decisions.
struct Cluster {
    engines: Vec<Engine>,
    stores: Vec<Store>,
    decisions: Vec<Vec<Decision>>,
    queue: VecDeque<(usize, Input)>,
}

impl Cluster {
    fn new(keys: &[Keypair], set: &ValidatorSet) -> Self {
        let n = keys.len();
        Cluster {
            engines: keys.iter().map(|k| engine(k, set, 1, None)).collect(),
            stores: (0..n).map(|_| Store::default()).collect(),
            decisions: vec![vec![]; n],
            queue: VecDeque::new(),
        }
    }

    fn outputs(&mut self, from: usize, outputs: Outputs) {
        for output in outputs {
            match output {
                Output::Send(pending) => {
                    let messages = pending.persist(&mut self.stores[from]).unwrap();
                    for m in messages {
                        for to in 0..self.engines.len() {
                            if to != from {
                                let input = match m.clone() {
                                    Message::Proposal(p) => Input::Proposal(p),
                                    Message::Vote(v) => Input::Vote(v),
                                };
                                self.queue.push_back((to, input));
                            }
                        }
                    }
                }
                Output::GetValue { height, round } => {
                    let value = value(&format!("block h{height} r{round} by {from}"));
                    self.queue.push_back((
                        from,
                        Input::ValueReady {
                            height,
                            round,
                            value,
                        },
                    ));
                }
                Output::ValidateValue {
                    height,
                    round,
                    value,
                    ..
                } => {
                    let valid = value.id == Hash::digest("kopnet test value", &value.bytes);
                    self.queue.push_back((
                        from,
                        Input::ValueValidated {
                            height,
                            round,
                            value_id: value.id,
                            valid,
                        },
                    ));
                }
                Output::Decide(d) => self.decisions[from].push(d),
                Output::ScheduleTimeout { .. } | Output::Evidence(_) => {}
            }
        }
    }

    fn run(&mut self) {
        let mut steps = 0;
        while let Some((to, input)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "cluster did not settle");
            if let Ok(out) = self.engines[to].handle(0, input) {
                self.outputs(to, out);
            }
        }
    }

    /// Start every engine's current height with transactions available.
    fn start_height(&mut self) {
        for i in 0..self.engines.len() {
            let out = self.engines[i].start(0);
            self.outputs(i, out);
            let height = self.engines[i].height();
            self.queue.push_back((i, Input::TxsAvailable { height }));
        }
        self.run();
    }

    fn next_height(&mut self, set: &ValidatorSet) {
        for i in 0..self.engines.len() {
            let height = self.engines[i].height() + 1;
            let out = self.engines[i]
                .handle(
                    0,
                    Input::NextHeight {
                        height,
                        validators: set.clone(),
                        next_validators: Some(set.clone()),
                    },
                )
                .unwrap();
            self.outputs(i, out);
            self.queue.push_back((i, Input::TxsAvailable { height }));
        }
        self.run();
    }
}

#[test]
fn cluster_decides_with_verifiable_certificates_and_follows_set_changes() {
    let ks = keys(4);
    let set1 = set_of(&ks, &[1, 2, 3, 4]);
    let mut cluster = Cluster::new(&ks, &set1);
    cluster.start_height();
    for d in &cluster.decisions {
        assert_eq!(d.len(), 1);
        // Same value everywhere; certificates may hold different quorums.
        assert_eq!(d[0].value, cluster.decisions[0][0].value);
        d[0].certificate.verify(CHAIN, &set1).unwrap();
    }
    // Height 2 with a different set (as if changed at height 0): the engines
    // use exactly the set they are given.
    let set2 = set_of(&ks, &[5, 1, 1, 1]);
    cluster.next_height(&set2);
    let d2 = &cluster.decisions[0][1];
    assert_eq!(d2.height, 2);
    d2.certificate.verify(CHAIN, &set2).unwrap();
    for engine in &cluster.engines {
        assert_eq!(engine.validators(), &set2);
    }
    // The heavy validator alone holds > 2/3 of set2: its precommit suffices.
    assert!(d2
        .certificate
        .signatures
        .iter()
        .any(|s| s.validator == ks[0].public()));
    // Deterministic: a second cluster decides the same values.
    let mut again = Cluster::new(&ks, &set1);
    again.start_height();
    again.next_height(&set2);
    assert_eq!(again.decisions, cluster.decisions);
}

#[test]
fn waits_for_transactions_or_the_empty_block_interval() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let mut e = engine(&ks[0], &set, 1, None);
    let out: Vec<Output> = e.start(1_000).into_iter().collect();
    assert!(matches!(
        out.as_slice(),
        [Output::ScheduleTimeout {
            step: TimeoutStep::EmptyBlock,
            round: 0,
            deadline_ms: 6_000,
            ..
        }]
    ));
    assert_eq!(e.step(), Step::NewHeight);
    let _ = e
        .handle(
            6_000,
            Input::TimeoutElapsed {
                height: 1,
                round: 0,
                step: TimeoutStep::EmptyBlock,
            },
        )
        .unwrap();
    assert_eq!(e.step(), Step::Propose);
}

fn prevote(key: &Keypair, height: Height, round: u32, value: Option<Hash>) -> SignedVote {
    signed_vote(key, height, round, VoteKind::Prevote, value)
}

fn signed_vote(
    key: &Keypair,
    height: Height,
    round: u32,
    kind: VoteKind,
    value: Option<Hash>,
) -> SignedVote {
    let vote = Vote {
        height,
        round,
        kind,
        value_id: value,
        validator: key.public(),
    };
    SignedVote::sign(CHAIN, key, vote).unwrap()
}

#[test]
fn restarted_engine_never_signs_a_different_vote() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    // Find a validator that is not the proposer of (1, 0) and make it
    // prevote a proposal.
    let proposer_index = ks
        .iter()
        .position(|k| {
            Some(k.public()) == kopnet_consensus::proposer::proposer(&set, 1, 0).map(|v| v.key)
        })
        .unwrap();
    let me = (proposer_index + 1) % 4;
    let mut e = engine(&ks[me], &set, 1, None);
    let _ = e.start(0);
    let v = value("A");
    let proposal = kopnet_consensus::SignedProposal::sign(
        CHAIN,
        &ks[proposer_index],
        kopnet_consensus::Proposal {
            height: 1,
            round: 0,
            valid_round: None,
            value: v.clone(),
            proposer: ks[proposer_index].public(),
        },
    )
    .unwrap();
    let _ = e.handle(0, Input::Proposal(proposal)).unwrap();
    let out = e
        .handle(
            0,
            Input::ValueValidated {
                height: 1,
                round: 0,
                value_id: v.id,
                valid: true,
            },
        )
        .unwrap();
    let mut store = Store::default();
    let mut sent = vec![];
    for o in out {
        if let Output::Send(p) = o {
            sent.extend(p.persist(&mut store).unwrap());
        }
    }
    assert_eq!(sent.len(), 1);
    // Crash: only the record survives, and it round-trips through the codec.
    let bytes = store.0.unwrap().encode().unwrap();
    let record = SafetyRecord::decode(&bytes).unwrap();
    let mut restarted = engine(&ks[me], &set, 1, Some(record));
    let mut released = vec![];
    let collect = |outs: Outputs, released: &mut Vec<Message>| {
        for o in outs {
            if let Output::Send(p) = o {
                released.extend(p.persist(&mut Store::default()).unwrap());
            }
        }
    };
    collect(restarted.start(10), &mut released);
    // The propose timeout would make a fresh engine prevote nil.
    collect(
        restarted
            .handle(
                10_000,
                Input::TimeoutElapsed {
                    height: 1,
                    round: 0,
                    step: TimeoutStep::Propose,
                },
            )
            .unwrap(),
        &mut released,
    );
    // It re-sent exactly the same prevote and nothing conflicting.
    assert_eq!(released, sent);
    assert_eq!(restarted.round(), 0);
}

#[test]
fn untrusted_messages_are_dropped_with_typed_reasons() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let mut e = engine(&ks[0], &set, 5, None);
    let _ = e.start(0);
    let a = Some(value("A").id);
    // Wrong height (past and far future).
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&ks[1], 4, 0, a))),
        Err(InputError::WrongHeight { current: 5, got: 4 })
    ));
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&ks[1], 9, 0, a))),
        Err(InputError::WrongHeight { .. })
    ));
    // Next height: refused while its validator set is unknown, buffered
    // (verified) once it is known.
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&ks[1], 6, 0, a))),
        Err(InputError::NextSetUnknown { height: 6 })
    ));
    e.set_next_validators(set.clone());
    assert!(e.handle(0, Input::Vote(prevote(&ks[1], 6, 0, a))).is_ok());
    assert_eq!(e.future_buffered().0, 1);
    // Unknown signer.
    let stranger = Keypair::from_seed([99; 32]);
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&stranger, 5, 0, a))),
        Err(InputError::UnknownValidator { .. })
    ));
    // Bad signature (tampered value) and wrong chain.
    let mut tampered = prevote(&ks[1], 5, 0, a);
    tampered.vote.value_id = None;
    assert!(matches!(
        e.handle(0, Input::Vote(tampered)),
        Err(InputError::BadSignature { .. })
    ));
    let other_chain = SignedVote::sign(
        "another-chain",
        &ks[1],
        Vote {
            height: 5,
            round: 0,
            kind: VoteKind::Prevote,
            value_id: a,
            validator: ks[1].public(),
        },
    )
    .unwrap();
    assert!(matches!(
        e.handle(0, Input::Vote(other_chain)),
        Err(InputError::BadSignature { .. })
    ));
    // A round far ahead.
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&ks[1], 5, 1_000, a))),
        Err(InputError::RoundTooFarAhead { .. })
    ));
    // A proposal from someone who is not the proposer.
    let not_proposer = ks
        .iter()
        .find(|k| {
            Some(k.public()) != kopnet_consensus::proposer::proposer(&set, 5, 0).map(|v| v.key)
        })
        .unwrap();
    let p = kopnet_consensus::SignedProposal::sign(
        CHAIN,
        not_proposer,
        kopnet_consensus::Proposal {
            height: 5,
            round: 0,
            valid_round: None,
            value: value("X"),
            proposer: not_proposer.public(),
        },
    )
    .unwrap();
    assert!(matches!(
        e.handle(0, Input::Proposal(p)),
        Err(InputError::NotProposer { .. })
    ));
    // None of this moved the engine past waiting for the height.
    assert_eq!(e.step(), Step::NewHeight);
}

#[test]
fn conflicting_votes_produce_verifiable_evidence_once() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let mut e = engine(&ks[0], &set, 1, None);
    let _ = e.start(0);
    let _ = e
        .handle(0, Input::Vote(prevote(&ks[2], 1, 0, Some(value("A").id))))
        .unwrap();
    let out: Vec<Output> = e
        .handle(0, Input::Vote(prevote(&ks[2], 1, 0, None)))
        .unwrap()
        .into_iter()
        .collect();
    let evidence: Vec<&Evidence> = out
        .iter()
        .filter_map(|o| match o {
            Output::Evidence(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(evidence.len(), 1);
    evidence[0].verify(CHAIN, &set).unwrap();
    assert_eq!(evidence[0].offender(), ks[2].public());
    // The same pair again is not reported twice.
    let out = e
        .handle(0, Input::Vote(prevote(&ks[2], 1, 0, None)))
        .unwrap();
    assert!(out.iter().all(|o| !matches!(o, Output::Evidence(_))));
}

#[test]
fn synced_blocks_are_accepted_only_with_a_valid_certificate() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let v = value("synced");
    let precommits: Vec<SignedVote> = ks
        .iter()
        .map(|k| {
            SignedVote::sign(
                CHAIN,
                k,
                Vote {
                    height: 1,
                    round: 2,
                    kind: VoteKind::Precommit,
                    value_id: Some(v.id),
                    validator: k.public(),
                },
            )
            .unwrap()
        })
        .collect();
    let weak = CommitCertificate::from_precommits(1, 2, v.id, &precommits[..2]);
    let strong = CommitCertificate::from_precommits(1, 2, v.id, &precommits[..3]);
    let mut e = engine(&ks[0], &set, 1, None);
    let _ = e.start(0);
    let err = e
        .handle(
            0,
            Input::BlockSynced {
                value: v.clone(),
                certificate: weak,
            },
        )
        .unwrap_err();
    assert!(matches!(
        err,
        InputError::BadCertificate {
            source: CertificateError::InsufficientPower {
                signed: 2,
                total: 4,
                ..
            },
            ..
        }
    ));
    let err = e
        .handle(
            0,
            Input::BlockSynced {
                value: value("other"),
                certificate: strong.clone(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, InputError::SyncedValueMismatch { .. }));
    let out: Vec<Output> = e
        .handle(
            0,
            Input::BlockSynced {
                value: v.clone(),
                certificate: strong,
            },
        )
        .unwrap()
        .into_iter()
        .collect();
    assert!(matches!(out.as_slice(), [Output::Decide(d)] if d.value == v && d.height == 1));
    assert_eq!(e.step(), Step::Commit);
    let _ = e
        .handle(
            0,
            Input::NextHeight {
                height: 2,
                validators: set,
                next_validators: None,
            },
        )
        .unwrap();
    assert_eq!(e.height(), 2);
}

#[test]
fn certificate_rejects_duplicates_strangers_and_forgeries() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let v = value("c");
    let sign = |k: &Keypair| {
        SignedVote::sign(
            CHAIN,
            k,
            Vote {
                height: 3,
                round: 0,
                kind: VoteKind::Precommit,
                value_id: Some(v.id),
                validator: k.public(),
            },
        )
        .unwrap()
    };
    let votes: Vec<SignedVote> = ks.iter().map(sign).collect();
    let mut cert = CommitCertificate::from_precommits(3, 0, v.id, &votes[..3]);
    cert.verify(CHAIN, &set).unwrap();
    let mut dup = cert.clone();
    dup.signatures[2] = dup.signatures[0];
    assert!(matches!(
        dup.verify(CHAIN, &set),
        Err(CertificateError::DuplicateSigner { .. })
    ));
    let stranger = sign(&Keypair::from_seed([42; 32]));
    let mut foreign = cert.clone();
    foreign.signatures[0] = kopnet_consensus::CommitSignature {
        validator: stranger.vote.validator,
        signature: stranger.signature,
    };
    assert!(matches!(
        foreign.verify(CHAIN, &set),
        Err(CertificateError::UnknownSigner { .. })
    ));
    cert.value_id = value("other").id;
    assert!(matches!(
        cert.verify(CHAIN, &set),
        Err(CertificateError::BadSignature { .. })
    ));
    assert!(matches!(
        CommitCertificate::from_precommits(3, 0, v.id, &votes[..0]).verify(CHAIN, &set),
        Err(CertificateError::Empty { .. })
    ));
}

/// A proposal signs the value id, not the bytes. A Byzantine proposer that
/// pairs the id of a value validated in an earlier round with other bytes
/// must get those bytes validated (and refused), not the earlier verdict
/// (found by the simulator: an honest node decided bytes that were not the
/// block its certificate named).
#[test]
fn same_id_with_other_bytes_is_validated_again() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let (p0, p1) = (proposer_index(&ks, &set, 0), proposer_index(&ks, &set, 1));
    let me = (0..4).find(|i| *i != p0 && *i != p1).unwrap();
    let mut e = engine(&ks[me], &set, 1, None);
    let _ = e.start(0);
    let good = value("A");
    let out = e.handle(0, proposal(&ks[p0], 0, good.clone())).unwrap();
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::ValidateValue { round: 0, .. })));
    let _ = e.handle(0, validated(0, good.id, true)).unwrap();
    // f + 1 prevotes of round 1 move the engine there (paper line 55).
    for k in ks.iter().filter(|k| k.public() != ks[me].public()).take(2) {
        let _ = e.handle(0, Input::Vote(prevote(k, 1, 1, None)));
    }
    assert_eq!(e.round(), 1);
    let forged = Value {
        id: good.id,
        bytes: b"not A".to_vec(),
    };
    let out = e.handle(0, proposal(&ks[p1], 1, forged.clone())).unwrap();
    let asked: Vec<&Value> = out
        .iter()
        .filter_map(|o| match o {
            Output::ValidateValue {
                round: 1, value, ..
            } => Some(value),
            _ => None,
        })
        .collect();
    assert_eq!(asked, vec![&forged], "the other bytes must be validated");
    // Refusing them leaves the valid round-0 verdict untouched and makes the
    // engine prevote nil in round 1.
    let out = e.handle(0, validated(1, forged.id, false)).unwrap();
    let mut sent = vec![];
    for o in out {
        if let Output::Send(p) = o {
            sent.extend(p.persist(&mut Store::default()).unwrap());
        }
    }
    assert!(sent.iter().any(|m| matches!(
        m,
        Message::Vote(v) if v.vote.round == 1 && v.vote.kind == VoteKind::Prevote && v.vote.value_id.is_none()
    )));
}

/// The index in `ks` of the proposer of height 1, `round`.
fn proposer_index(ks: &[Keypair], set: &ValidatorSet, round: u32) -> usize {
    let key = kopnet_consensus::proposer::proposer(set, 1, round)
        .unwrap()
        .key;
    ks.iter().position(|k| k.public() == key).unwrap()
}

/// `proposer`'s signed proposal of `value` at height 1, `round`, with no
/// valid round.
fn proposal(proposer: &Keypair, round: u32, value: Value) -> Input {
    proposal_with(proposer, round, None, value)
}

/// `proposer`'s signed proposal of `value` at height 1, `round`, re-proposed
/// from `valid_round` (paper line 16).
fn reproposal(proposer: &Keypair, round: u32, valid_round: u32, value: Value) -> Input {
    proposal_with(proposer, round, Some(valid_round), value)
}

fn proposal_with(proposer: &Keypair, round: u32, valid_round: Option<u32>, value: Value) -> Input {
    let signed = kopnet_consensus::SignedProposal::sign(
        CHAIN,
        proposer,
        kopnet_consensus::Proposal {
            height: 1,
            round,
            valid_round,
            value,
            proposer: proposer.public(),
        },
    )
    .unwrap();
    Input::Proposal(signed)
}

/// The host's verdict on a value proposed at height 1, `round`.
fn validated(round: u32, value_id: Hash, valid: bool) -> Input {
    Input::ValueValidated {
        height: 1,
        round,
        value_id,
        valid,
    }
}

fn precommit(key: &Keypair, height: Height, round: u32, value: Option<Hash>) -> SignedVote {
    signed_vote(key, height, round, VoteKind::Precommit, value)
}

fn decisions(out: Outputs) -> Vec<Decision> {
    out.into_iter()
        .filter_map(|o| match o {
            Output::Decide(d) => Some(d),
            _ => None,
        })
        .collect()
}

#[test]
fn a_value_decided_in_one_round_may_arrive_in_a_later_rounds_proposal() {
    // The proposer of round 0 equivocates: we get its proposal of X, the
    // others decide its proposal of A. An honest validator re-proposes A in
    // round 1: its bytes are A's (same id), so we decide A on round 0's
    // precommits, with round 0's certificate.
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let (p0, p1) = (proposer_index(&ks, &set, 0), proposer_index(&ks, &set, 1));
    let me = (0..4).find(|i| *i != p0 && *i != p1).unwrap();
    let mut e = engine(&ks[me], &set, 1, None);
    let _ = e.start(0);
    let (a, x) = (value("A"), value("X"));
    let _ = e.handle(0, proposal(&ks[p0], 0, x.clone())).unwrap();
    let _ = e.handle(0, validated(0, x.id, true)).unwrap();
    let others: Vec<&Keypair> = ks
        .iter()
        .filter(|k| k.public() != ks[me].public())
        .collect();
    for k in &others {
        let out = e
            .handle(0, Input::Vote(precommit(k, 1, 0, Some(a.id))))
            .unwrap();
        assert!(decisions(out).is_empty(), "A's bytes are not known yet");
    }
    for k in others.iter().take(2) {
        let _ = e.handle(0, Input::Vote(prevote(k, 1, 1, None)));
    }
    assert_eq!(e.round(), 1);
    let out = e.handle(0, reproposal(&ks[p1], 1, 0, a.clone())).unwrap();
    assert!(
        decisions(out).is_empty(),
        "not before the bytes are validated"
    );
    let decided = decisions(e.handle(0, validated(1, a.id, true)).unwrap());
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].value, a);
    assert_eq!(decided[0].certificate.round, 0);
    decided[0].certificate.verify(CHAIN, &set).unwrap();
}

#[test]
fn a_restarted_validator_can_still_prove_its_lock() {
    let ks = keys(4);
    let set = set_of(&ks, &[1, 1, 1, 1]);
    let p0 = proposer_index(&ks, &set, 0);
    let me = (0..4).find(|i| *i != p0).unwrap();
    let mut e = engine(&ks[me], &set, 1, None);
    let mut store = Store::default();
    let persist = |out: Outputs, store: &mut Store| {
        for o in out {
            if let Output::Send(p) = o {
                let _ = p.persist(store).unwrap();
            }
        }
    };
    let _ = e.start(0);
    let a = value("A");
    persist(
        e.handle(0, proposal(&ks[p0], 0, a.clone())).unwrap(),
        &mut store,
    );
    persist(e.handle(0, validated(0, a.id, true)).unwrap(), &mut store);
    let others: Vec<usize> = (0..4).filter(|i| *i != me).take(2).collect();
    for i in &others {
        persist(
            e.handle(0, Input::Vote(prevote(&ks[*i], 1, 0, Some(a.id))))
                .unwrap(),
            &mut store,
        );
    }
    let mut polka: Vec<_> = e.proof_of_lock().iter().map(|v| v.vote.validator).collect();
    polka.sort();
    assert_eq!(polka.len(), 3, "our prevote and the two others'");
    let mut record = store.0.clone().expect("the lock was persisted");
    assert_eq!(record.locked, Some((0, a.id)));
    assert_eq!(record.valid_proof.len(), 3);
    // A vote that is not part of the polka (another value), slipped into
    // the record, is not counted after the restart.
    record
        .valid_proof
        .push(prevote(&ks[others[0]], 1, 0, Some(value("B").id)));
    let restarted = engine(&ks[me], &set, 1, Some(record.clone()));
    let mut proved: Vec<_> = restarted
        .proof_of_lock()
        .iter()
        .map(|v| v.vote.validator)
        .collect();
    proved.sort();
    assert_eq!(proved, polka, "the restarted engine proves the same polka");
    // Without the proof in the record, it could not (what happened before).
    record.valid_proof.clear();
    assert!(engine(&ks[me], &set, 1, Some(record))
        .proof_of_lock()
        .is_empty());
}
