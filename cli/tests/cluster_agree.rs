//! 4 validators and 1 observer as real processes on 127.0.0.1: a few hundred
//! transactions over HTTP from members of different cooperatives, then every
//! node must report the same height, block hashes, state roots and balances.

mod common;
use common::*;
use kopnet_consensus::{Keypair, PublicKey};
use kopnet_ledger::{AccountKind, Action, KycTier};
use std::time::Duration;

const VALIDATOR_COOPS: [&str; 4] = [
    "ksp-sejahtera",
    "pasar-makmur",
    "angkot-maju",
    "taksi-bersama",
];

#[test]
fn five_nodes_agree_on_blocks_roots_and_balances() {
    let cluster = Cluster::start(4, 1);
    let (mut members, merchants) = register_members_and_merchants(&cluster);
    pay_merchants(&cluster, &mut members, &merchants);
    every_node_has_the_same_blocks(&cluster);
    every_node_has_the_same_balances(&cluster, &members);
    let observer = cluster.nodes.len() - 1;
    a_balance_is_proven_against_a_certified_root(&cluster, observer, &members[0].0);
}

/// At each validator's cooperative, 4 members with Rp 1.000.000 each and a
/// merchant; returns the members' wallets with their node, and the
/// merchants.
fn register_members_and_merchants(cluster: &Cluster) -> (Vec<(Wallet, usize)>, Vec<PublicKey>) {
    let chain = cluster.chain_id.clone();
    let mut members: Vec<(Wallet, usize)> = Vec::new();
    let mut merchants = Vec::new();
    let mut last = Vec::new();
    for (c, coop) in VALIDATOR_COOPS.iter().enumerate() {
        let node = cluster.node_of(coop);
        let mut teller = Wallet::new(cluster.coop_key(coop), &chain);
        for m in 0..5u8 {
            let key = Keypair::from_seed([c as u8 * 16 + m + 1; 32]);
            let kind = if m < 4 {
                AccountKind::Member
            } else {
                AccountKind::Merchant
            };
            let tier = if m < 4 {
                KycTier::Registered
            } else {
                KycTier::Business
            };
            let reg = teller.sign(Action::RegisterMember {
                member: key.public(),
                kind,
                tier,
            });
            assert!(cluster.submit(node, &reg).status().is_success());
            if m < 4 {
                let mint = teller.sign(Action::Mint {
                    member: key.public(),
                    amount: 1_000_000,
                });
                assert!(cluster.submit(node, &mint).status().is_success());
                last.push((node, mint.hash()));
                members.push((Wallet::new(key, &chain), node));
            } else {
                merchants.push(key.public());
            }
        }
    }
    for (node, hash) in &last {
        assert_eq!(cluster.wait_tx(*node, hash, Duration::from_secs(60)), "ok");
    }
    (members, merchants)
}

fn pay_merchants(cluster: &Cluster, members: &mut [(Wallet, usize)], merchants: &[PublicKey]) {
    // 16 members × 20 payments = 320 transactions, most across cooperatives.
    let mut hashes = Vec::new();
    for round in 0..20usize {
        for (i, (wallet, node)) in members.iter_mut().enumerate() {
            let to = merchants[(i + round) % merchants.len()];
            let tx = wallet.sign(Action::Payment {
                to,
                amount: 1_000 + round as u64,
                memo: format!("r{round}"),
                idempotency_id: [(i * 20 + round) as u8; 16],
            });
            let response = cluster.submit(*node, &tx);
            assert!(response.status().is_success(), "{:?}", response.text());
            hashes.push((*node, tx.hash()));
        }
    }
    for (node, hash) in &hashes {
        assert_eq!(cluster.wait_tx(*node, hash, Duration::from_secs(120)), "ok");
    }
}

fn every_node_has_the_same_blocks(cluster: &Cluster) {
    // Every node reaches the same height; compare everything up to it.
    let target = cluster.height(0).unwrap();
    cluster.wait_height_all(target, Duration::from_secs(60));
    for h in 1..=target {
        let reference = cluster.get(0, &format!("/v1/blocks/{h}")).unwrap();
        for i in 1..cluster.nodes.len() {
            let other = cluster.get(i, &format!("/v1/blocks/{h}")).unwrap();
            assert_eq!(
                other["hash"], reference["hash"],
                "block hash at {h} on {}",
                cluster.nodes[i].id
            );
            assert_eq!(
                other["state_root"], reference["state_root"],
                "state root at {h} on {}",
                cluster.nodes[i].id
            );
        }
    }
}

/// Every member's balance is the same on every node (and was spent from).
fn every_node_has_the_same_balances(cluster: &Cluster, members: &[(Wallet, usize)]) {
    for (wallet, _) in members {
        let address = wallet.public().to_address();
        let reference =
            cluster.get(0, &format!("/v1/accounts/{address}")).unwrap()["balance"].clone();
        assert!(reference.as_u64().unwrap() < 1_000_000);
        for i in 1..cluster.nodes.len() {
            wait_for("balances to match", Duration::from_secs(30), || {
                let b = cluster.get(i, &format!("/v1/accounts/{address}"))?["balance"].clone();
                (b == reference).then_some(())
            });
        }
    }
    for i in 0..cluster.nodes.len() {
        assert_eq!(cluster.get(i, "/v1/invariants").unwrap()["ok"], true);
    }
}

/// A phone checks its balance without trusting the node: the account's
/// record is proven against the state root of height h, and block h + 1
/// (certified by the validators) commits to that root.
fn a_balance_is_proven_against_a_certified_root(
    cluster: &Cluster,
    observer: usize,
    member: &Wallet,
) {
    let address = member.public().to_address();
    let answer = cluster
        .get(observer, &format!("/v1/accounts/{address}/proof"))
        .unwrap();
    let hex = |v: &serde_json::Value| ::hex::decode(v.as_str().unwrap()).unwrap();
    let hash =
        |v: &serde_json::Value| kopnet_consensus::Hash::from_hex(v.as_str().unwrap()).unwrap();
    let proof = kopnet_ledger::commitment::StateProof {
        bits: answer["proof"]["bits"].as_u64().unwrap() as u32,
        bucket: answer["proof"]["bucket"].as_u64().unwrap(),
        leaves: answer["proof"]["leaves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (hash(&pair[0]), hash(&pair[1])))
            .collect(),
        siblings: answer["proof"]["siblings"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash)
            .collect(),
    };
    let root = hash(&answer["state_root"]);
    let (key, value) = (hex(&answer["key"]), hex(&answer["value"]));
    assert!(proof.verify(&root, &key, &value), "{answer}");
    let Ok(kopnet_ledger::state::StateValue::Member(account)) =
        kopnet_consensus::codec::decode(&value)
    else {
        panic!("the proven value is not a member record: {answer}");
    };
    assert_eq!(Some(account.balance), answer["balance"].as_u64());
    let mut forged = value.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert!(!proof.verify(&root, &key, &forged));
    let next = answer["certified_by_block"].as_u64().unwrap();
    cluster.wait_height(observer, next, Duration::from_secs(60));
    let block = cluster
        .get(observer, &format!("/v1/blocks/{next}"))
        .unwrap();
    assert_eq!(block["prev_state_root"], answer["state_root"]);
    assert!(!block["certificate"]["signers"]
        .as_array()
        .unwrap()
        .is_empty());
}
