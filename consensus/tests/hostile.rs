//! What a hostile validator can and cannot do to an engine: messages for
//! the next height are verified before they are kept and take one slot
//! each; two different messages for one slot become evidence that
//! verifies; a conflicting proposal is evidence too.

mod common;

use common::{equal_set as set_of, keys};
use kopnet_consensus::proposer::proposer;
use kopnet_consensus::{
    Engine, EngineConfig, Evidence, Hash, Height, Input, InputError, Keypair, Output, Proposal,
    Round, SignedProposal, SignedVote, ValidatorSet, Value, Vote, VoteKind,
};

const CHAIN: &str = "kopnet-hostile-test";

fn prevote(key: &Keypair, height: Height, round: Round, tag: u8) -> SignedVote {
    let vote = Vote {
        height,
        round,
        kind: VoteKind::Prevote,
        value_id: Some(Hash([tag; 32])),
        validator: key.public(),
    };
    SignedVote::sign(CHAIN, key, vote).unwrap()
}

fn proposal(key: &Keypair, height: Height, round: Round, tag: &str, size: usize) -> SignedProposal {
    let mut bytes = tag.as_bytes().to_vec();
    bytes.resize(size.max(bytes.len()), 0);
    let value = Value {
        id: Hash::digest("kopnet hostile test value", &bytes),
        bytes,
    };
    let proposal = Proposal {
        height,
        round,
        valid_round: None,
        value,
        proposer: key.public(),
    };
    SignedProposal::sign(CHAIN, key, proposal).unwrap()
}

fn proposer_of<'a>(
    ks: &'a [Keypair],
    set: &ValidatorSet,
    height: Height,
    round: Round,
) -> &'a Keypair {
    let key = proposer(set, height, round).unwrap().key;
    ks.iter().find(|k| k.public() == key).unwrap()
}

/// An engine of `ks[0]` at height 5 that knows height 6's set.
fn engine(ks: &[Keypair]) -> Engine {
    let set = set_of(ks);
    let mut config = EngineConfig::new(CHAIN).unwrap();
    config.value_bytes_max = 10_000;
    let mut engine = Engine::new(config, ks[0].clone(), 5, set.clone(), None).unwrap();
    engine.set_next_validators(set);
    let _ = engine.start(0);
    engine
}

fn evidence_of(outputs: kopnet_consensus::Outputs) -> Vec<Evidence> {
    outputs
        .into_iter()
        .filter_map(|o| match o {
            Output::Evidence(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[test]
fn next_height_messages_are_verified_before_they_are_kept() {
    let ks = keys(4);
    let set = set_of(&ks);
    let mut e = engine(&ks);
    // Forged: a signature that does not verify is never kept.
    let mut forged = prevote(&ks[1], 6, 0, 1);
    forged.vote.value_id = Some(Hash([9; 32]));
    assert!(matches!(
        e.handle(0, Input::Vote(forged)),
        Err(InputError::BadSignature { .. })
    ));
    // A stranger's signed vote is refused.
    let stranger = Keypair::from_seed([77; 32]);
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&stranger, 6, 0, 1))),
        Err(InputError::UnknownValidator { .. })
    ));
    // A proposal from anyone but the round's proposer is refused.
    let not_proposer = ks
        .iter()
        .find(|k| k.public() != proposer(&set, 6, 0).unwrap().key)
        .unwrap();
    assert!(matches!(
        e.handle(0, Input::Proposal(proposal(not_proposer, 6, 0, "x", 10))),
        Err(InputError::NotProposer { .. })
    ));
    // A value over the bound is refused, even from the proposer.
    let p = proposer_of(&ks, &set, 6, 0);
    assert!(matches!(
        e.handle(0, Input::Proposal(proposal(p, 6, 0, "x", 20_000))),
        Err(InputError::ValueTooLarge { .. })
    ));
    // Rounds beyond the window are refused.
    assert!(matches!(
        e.handle(0, Input::Vote(prevote(&ks[1], 6, 1_000, 1))),
        Err(InputError::RoundTooFarAhead { .. })
    ));
    // Nothing of the above was kept.
    assert_eq!(e.future_buffered(), (0, 0));
    // A good one is.
    assert!(e
        .handle(0, Input::Proposal(proposal(p, 6, 0, "x", 1_000)))
        .is_ok());
    assert_eq!(e.future_buffered().0, 1);
}

#[test]
fn a_flood_from_one_signer_takes_only_its_own_slots() {
    let ks = keys(4);
    let mut e = engine(&ks);
    // Validator 1 signs prevotes for every round of the window, each twice
    // with different values: one slot per round, the rest is evidence.
    let mut evidence = Vec::new();
    for round in 0..=16 {
        for tag in 0..5u8 {
            if let Ok(out) = e.handle(0, Input::Vote(prevote(&ks[1], 6, round, tag))) {
                evidence.extend(evidence_of(out));
            }
        }
    }
    assert_eq!(e.future_buffered().0, 17);
    // One piece of evidence per round (reported once per slot), each valid.
    assert_eq!(evidence.len(), 17);
    let set = set_of(&ks);
    for ev in &evidence {
        assert_eq!(ev.offender(), ks[1].public());
        ev.verify(CHAIN, &set).unwrap();
    }
    // Another validator still gets its slot.
    assert!(e.handle(0, Input::Vote(prevote(&ks[2], 6, 0, 1))).is_ok());
    assert_eq!(e.future_buffered().0, 18);
}

#[test]
fn two_proposals_for_one_round_are_evidence_that_verifies() {
    let ks = keys(4);
    let set = set_of(&ks);
    let mut e = engine(&ks);
    let p = proposer_of(&ks, &set, 5, 0);
    let first = proposal(p, 5, 0, "first", 100);
    let second = proposal(p, 5, 0, "second", 100);
    let _ = e.handle(0, Input::Proposal(first)).unwrap();
    let evidence = evidence_of(e.handle(0, Input::Proposal(second.clone())).unwrap());
    assert_eq!(evidence.len(), 1);
    let ev = &evidence[0];
    assert!(matches!(ev, Evidence::ConflictingProposal { .. }));
    assert_eq!(ev.offender(), p.public());
    ev.verify(CHAIN, &set).unwrap();
    // Reported once; a third is refused quietly.
    let third = proposal(p, 5, 0, "third", 100);
    assert!(matches!(
        e.handle(0, Input::Proposal(third)),
        Err(InputError::ConflictingProposal { .. })
    ));
    // Evidence of a validator outside the set, or of the same proposal
    // twice, does not verify.
    let other = set_of(&ks[1..2]);
    if p.public() != ks[1].public() {
        assert!(ev.verify(CHAIN, &other).is_err());
    }
    let same = Evidence::conflicting_proposals(&second, &second);
    assert!(same.verify(CHAIN, &set).is_err());
}
