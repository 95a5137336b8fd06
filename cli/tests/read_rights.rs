//! Reads by right (issue 18): a member's account and history are served to
//! the member (a request signed by its key), its home cooperative (the
//! cooperative key) and the regulator's observer, and refused with 403
//! `not_permitted` to an anonymous reader, to another cooperative and to
//! another member; blocks and transactions come whole to participants
//! and as headers, counts and status to anyone else; raw blocks only to
//! participants; a forged signature is 401, never taken for anonymous.

mod common;
use common::observed::*;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};

#[test]
fn a_members_history_is_for_the_member_its_cooperative_and_the_regulator() {
    let cluster = Cluster::start(2, 1);
    let net = ObservedNet::new(cluster);
    let observer = net.observer;
    let (home_id, other_id) = (
        net.cluster.nodes[0].id.clone(),
        net.cluster.nodes[1].id.clone(),
    );
    let home_key = net.cluster.coop_key(&home_id);
    let other_coop_key = net.cluster.coop_key(&other_id);
    let mut home = net.wallet(&home_key);
    let member = Keypair::from_seed([41; 32]);
    let stranger = Keypair::from_seed([42; 32]);
    for key in [&member, &stranger] {
        let register = Action::RegisterMember {
            member: key.public(),
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        };
        assert_eq!(net.run(0, &home.sign(register)), "ok");
    }
    let mint = home.sign(Action::Mint {
        member: member.public(),
        amount: 150_000,
    });
    assert_eq!(net.run(0, &mint), "ok");
    let height = net.get(&format!("/v1/tx/{}", mint.hash().to_hex()))["height"]
        .as_u64()
        .unwrap();

    let address = member.public().to_address();
    let history = format!("/v1/accounts/{address}/history");
    let account = format!("/v1/accounts/{address}");
    let regulator = net.cluster.reader_key();
    let get = |path: &str, key: Option<&Keypair>| net.cluster.get_status_as(observer, path, key);

    // Refused, with a code, to anyone without the right.
    for (who, key) in [
        ("anonymous", None),
        ("another cooperative", Some(&other_coop_key)),
        ("another member", Some(&stranger)),
    ] {
        for path in [&history, &account] {
            let (status, body) = get(path, key);
            assert_eq!(status, 403, "{who} reading {path}: {body}");
            assert_eq!(body["error"]["code"], "not_permitted", "{who}: {body}");
        }
    }
    // Served to the holder, its cooperative and the regulator.
    for (who, key) in [
        ("the member", &member),
        ("its cooperative", &home_key),
        ("the regulator", &regulator),
    ] {
        let (status, body) = get(&history, Some(key));
        assert_eq!(status, 200, "{who}: {body}");
        let hashes: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["hash"].as_str())
            .collect();
        assert!(
            hashes.contains(&mint.hash().to_hex().as_str()),
            "{who}: {body}"
        );
        let (status, body) = get(&account, Some(key));
        assert_eq!(
            (status, body["balance"].as_u64()),
            (200, Some(150_000)),
            "{who}: {body}"
        );
    }

    // Blocks: the transactions for participants, headers for anyone else.
    let block = format!("/v1/blocks/{height}");
    let (status, body) = get(&block, None);
    assert_eq!(status, 200);
    assert!(
        body.get("txs").is_none() && body["tx_count"].as_u64() >= Some(1),
        "{body}"
    );
    let (_, body) = get(&block, Some(&other_coop_key));
    assert!(
        body["txs"].as_array().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    let raw = format!("/v1/blocks/{height}/raw");
    let (status, body) = get(&raw, None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("not_permitted"))
    );
    assert_eq!(
        get(&raw, Some(&member)).0,
        403,
        "a member is no participant"
    );
    assert_eq!(get(&raw, Some(&regulator)).0, 200);
    // A transaction: its status for anyone, its parties for participants.
    let tx = format!("/v1/tx/{}", mint.hash().to_hex());
    let (status, body) = get(&tx, None);
    assert_eq!((status, body["status"].as_str()), (200, Some("committed")));
    assert!(
        body.get("signer").is_none() && body.get("amount").is_none(),
        "{body}"
    );
    assert_eq!(body["result"]["code"], "ok");
    let (_, body) = get(&tx, Some(&regulator));
    assert_eq!(body["amount"].as_u64(), Some(150_000), "{body}");

    // A signature by another key under the member's name: 401, not anonymous.
    let mut request = http().get(format!("{}{history}", net.cluster.nodes[observer].api));
    for (name, value) in sign_get(&stranger, &net.cluster.chain_id, &history) {
        let value = if name == "kopnet-signer" {
            address.clone()
        } else {
            value
        };
        request = request.header(name, value);
    }
    let response = request.send().unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "bad_signature", "{body}");
}
