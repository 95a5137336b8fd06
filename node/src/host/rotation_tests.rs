//! A validator key rotation on a running host (issue 16): the host holds
//! its next key before the rotation commits at `h`, signs `h + 1` with the
//! old key and from `h + 2` with the new one without a restart, and then
//! refuses consensus gossip signed by the old key.

use super::tests::{config_for, MemorySafety, Shell};
use super::*;
use kopnet_consensus::{SignedVote, Vote, VoteKind};
use kopnet_ledger::storage::FaultyStorage;
use kopnet_ledger::{testkit, Action, MemoryStorage};

const CHAIN: &str = "kopnet-test";

type Store = Arc<FaultyStorage<MemoryStorage>>;

#[test]
fn a_rotated_validator_key_signs_from_two_blocks_on_and_the_old_one_is_refused() {
    let store: Store = Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX));
    let genesis = testkit::demo_genesis(CHAIN, 1, 1_000_000);
    let old = testkit::validator_key_for("ksp-sejahtera");
    let new = testkit::key_for("ksp-sejahtera/validator/2");
    let mut host = Host::open(
        store,
        &genesis,
        old.clone(),
        MemorySafety::default(),
        None,
        config_for(CHAIN),
    )
    .unwrap();
    let mut shell = Shell::new();
    shell.take(host.start(0).unwrap());
    shell.run_until(&mut host, 1).unwrap();
    // The operator put the next key in place: the node holds it while the
    // set still lists the old one, and keeps signing with the old one.
    assert!(host.hold_next_validator_key(new.clone()));
    assert!(!host.hold_next_validator_key(new.clone()), "held once");
    assert_eq!(host.public_key(), old.public());

    // The board signs the rotation with the cooperative key.
    let mut signers = testkit::demo_signers();
    let tx = signers.sign(
        CHAIN,
        &testkit::key_for("ksp-sejahtera").public(),
        Action::RotateNodeKeys {
            validator_key: Some(new.public()),
            node_key: None,
        },
    );
    let (admitted, _) = admit(host.state(), &tx.encode().unwrap(), Origin::Client);
    admitted.unwrap();
    shell.take(host.on_txs_available(shell.now_ms).unwrap());
    let mut rotated_at = None;
    for target in 2..20 {
        shell.run_until(&mut host, target).unwrap();
        rotated_at = shell.committed.iter().find_map(|c| {
            c.outcome
                .results
                .iter()
                .any(|(hash, result)| *hash == tx.hash() && result.is_ok())
                .then_some(c.block.header.height)
        });
        if rotated_at.is_some() {
            break;
        }
    }
    let h = rotated_at.expect("the rotation was committed");
    shell.run_until(&mut host, h + 4).unwrap();

    for committed in &shell.committed {
        let height = committed.block.header.height;
        let signed: Vec<_> = committed
            .certificate
            .signatures
            .iter()
            .map(|s| s.validator)
            .collect();
        let expected = if height <= h + 1 { &old } else { &new };
        assert_eq!(signed, vec![expected.public()], "certificate of {height}");
        let proposer = committed.block.header.proposer;
        assert_eq!(proposer, expected.public(), "proposer of {height}");
    }
    assert_eq!(host.public_key(), new.public());

    // A vote signed by the old key for the height being decided: refused
    // before any signature work (its signer is no validator of it).
    let height = host.engine().unwrap().height();
    assert!(height >= h + 2);
    let vote = Vote {
        height,
        round: 0,
        kind: VoteKind::Prevote,
        value_id: None,
        validator: old.public(),
    };
    let signed = SignedVote::sign(CHAIN, &old, vote).unwrap();
    let data = wire::encode(&ConsensusGossip::Message(Message::Vote(signed)));
    let (verdict, effects) = host.on_consensus_gossip(shell.now_ms, &data, None).unwrap();
    assert_eq!(verdict, Verdict::Reject);
    assert!(effects.is_empty());
}
