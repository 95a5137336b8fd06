//! A validator killed with SIGKILL: the other three keep committing; when it
//! restarts it catches up and votes again; the observer's state root equals
//! the validators' at every height it has.

mod common;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};
use std::time::Duration;

#[test]
fn killed_validator_catches_up_and_votes_again() {
    let mut cluster = Cluster::start(4, 1);
    let chain = cluster.chain_id.clone();
    let victim = cluster.node_of("taksi-bersama");
    let observer = cluster.observer();
    let mut teller = Wallet::new(cluster.coop_key("ksp-sejahtera"), &chain);
    let member = Keypair::from_seed([42; 32]);
    let reg = teller.sign(Action::RegisterMember {
        member: member.public(),
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    });
    cluster.submit(0, &reg);
    assert_eq!(
        cluster.wait_tx(0, &reg.hash(), Duration::from_secs(60)),
        "ok"
    );

    cluster.kill9(victim);
    let before = cluster.height(0).unwrap();
    // The remaining three (3 of 4 > 2/3) keep committing transactions.
    let mut hashes = Vec::new();
    for _ in 0..10 {
        let mint = teller.sign(Action::Mint {
            member: member.public(),
            amount: 1_000,
        });
        assert!(cluster.submit(0, &mint).status().is_success());
        hashes.push(mint.hash());
    }
    for hash in &hashes {
        assert_eq!(cluster.wait_tx(0, hash, Duration::from_secs(90)), "ok");
    }
    let during = cluster.height(0).unwrap();
    assert!(during > before, "no progress without one validator");

    cluster.start_node(victim);
    cluster.wait_height(victim, during, Duration::from_secs(90));
    // It votes again: a later certificate carries its signature.
    let victim_key = cluster.validator_key("taksi-bersama").public().to_address();
    wait_for(
        "the restarted validator to sign a commit certificate",
        Duration::from_secs(90),
        || {
            let top = cluster.height(0)?;
            (during + 1..=top).find(|h| {
                cluster
                    .get(0, &format!("/v1/blocks/{h}"))
                    .and_then(|b| b["certificate"]["signers"].as_array().cloned())
                    .is_some_and(|signers| {
                        signers
                            .iter()
                            .any(|s| s.as_str() == Some(victim_key.as_str()))
                    })
            })
        },
    );
    // The observer agrees with the validators at every height it has.
    let observed = cluster.height(observer).unwrap();
    assert!(observed >= during);
    for h in 1..=observed {
        let o = cluster.get(observer, &format!("/v1/blocks/{h}")).unwrap();
        let v = cluster.get(0, &format!("/v1/blocks/{h}")).unwrap();
        assert_eq!(o["state_root"], v["state_root"], "height {h}");
        assert_eq!(o["hash"], v["hash"], "height {h}");
    }
}
