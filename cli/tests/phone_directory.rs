//! Pay by phone number on a live network (issue 18): personal data stays
//! at the member's home cooperative's node, another cooperative's wallet
//! finds the number through its own node (which asks over the nodes'
//! network), sees a masked name and pays; unlinked, the number is gone;
//! the 101st lookup within a minute from one wallet is refused (429); no
//! route lists numbers. A member's QR code and a payment request can name
//! a phone number instead of an address (the phone alias): the code is
//! made only for the member's own number, and paying it or asking by it
//! goes through the same lookup.
//!
//! No sleeps: every wait is on a condition with a deadline.

mod common;
use common::observed::*;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};
use kopnet_node::api::client::ClientError;
use kopnet_node::api::directory_client::DirectoryClient;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const SRI_PHONE: &str = "0812-3456-7890";
const BUDI_PHONE: &str = "0813 1111 2222";

#[test]
fn a_member_pays_another_cooperatives_member_by_phone_number() {
    let cluster = Cluster::start(4, 0);
    let dir = cluster.dir.path().to_path_buf();
    let chain = cluster.chain_id.clone();
    let a = cluster.node_of("ksp-sejahtera");
    let b = cluster.node_of("pasar-makmur");
    let (api_a, api_b) = (cluster.nodes[a].api.clone(), cluster.nodes[b].api.clone());
    let coop_a_file = cluster
        .net_dir()
        .join("coops/ksp-sejahtera/cooperative.key");
    let coop_a_file = coop_a_file.to_str().unwrap();
    let run = |node: usize, tx: &kopnet_ledger::Transaction| {
        let response = cluster.submit(node, tx);
        assert!(
            response.status().is_success(),
            "{}",
            response.text().unwrap()
        );
        cluster.wait_tx(node, &tx.hash(), TIMEOUT)
    };

    // Sri, a member of KSP Sejahtera (coop A), registered with her name,
    // phone and NIK kept at A's node.
    let sri_file = dir.join("sri.key");
    let sri = new_wallet_key(&sri_file);
    let sri_address = sri.public().to_address();
    kopnet_ok(&[
        "coop",
        "register-member",
        "--key",
        coop_a_file,
        "--node",
        &api_a,
        "--member",
        &sri_address,
        "--name",
        "Sri Wahyuni",
        "--phone",
        SRI_PHONE,
        "--nik",
        "3174012345678901",
    ]);

    // Budi, a member of Pasar Makmur (coop B), with Rp 100.000.
    let budi_file = dir.join("budi.key");
    let budi = new_wallet_key(&budi_file);
    let budi_file = budi_file.to_str().unwrap();
    let mut coop_b = Wallet::new(cluster.coop_key("pasar-makmur"), &chain);
    let register = Action::RegisterMember {
        member: budi.public(),
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    };
    assert_eq!(run(b, &coop_b.sign(register)), "ok");
    let mint = Action::Mint {
        member: budi.public(),
        amount: 100_000,
    };
    assert_eq!(run(b, &coop_b.sign(mint)), "ok");
    cluster.wait_height(a, cluster.height(b).unwrap_or(0), TIMEOUT);

    // Personal data is read by right only: anonymous and other
    // cooperatives are refused; the member itself and its cooperative see it.
    let anonymous = http()
        .get(format!("{api_a}/v1/directory/members/{sri_address}"))
        .send()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let own = rt.block_on(async {
        DirectoryClient::connect(&api_a, sri.clone())
            .await
            .unwrap()
            .get_member(&sri.public())
            .await
    });
    let own = own.unwrap();
    assert_eq!(own["name"], "Sri Wahyuni", "{own}");
    assert_eq!(own["phone"], "+6281234567890");
    assert_eq!(own["nik"], "3174012345678901");
    let other_coop = rt.block_on(async {
        DirectoryClient::connect(&api_a, cluster.coop_key("pasar-makmur"))
            .await
            .unwrap()
            .get_member(&sri.public())
            .await
    });
    assert!(
        matches!(other_coop, Err(ClientError::Api { status: 403, .. })),
        "{other_coop:?}"
    );

    // No route lists records or numbers.
    for path in [
        "/v1/directory/members",
        "/v1/directory",
        "/v1/directory/phones",
    ] {
        let status = http()
            .get(format!("{api_a}{path}"))
            .send()
            .unwrap()
            .status();
        assert!(status == 404 || status == 405, "{path}: {status}");
    }

    // Budi looks Sri's number up at his own node (B), which asks A.
    let found = kopnet_ok(&[
        "wallet",
        "lookup",
        "--key",
        budi_file,
        "--node",
        &api_b,
        "--phone",
        "+62 812 3456 7890",
    ]);
    assert!(found.contains("Sri W***"), "{found}");
    assert!(found.contains(&sri_address), "{found}");
    assert!(found.contains("ksp-sejahtera"), "{found}");
    assert!(
        !found.contains("Wahyuni"),
        "the full name never leaves A: {found}"
    );
    // A's log names the lookup without the number.
    let log = cluster.log(a);
    assert!(log.contains("directory lookup"), "no lookup line at A");
    assert!(!log.contains("81234567890"), "the number is in A's log");

    // Budi pays by phone number.
    let paid = kopnet_ok(&[
        "wallet",
        "pay",
        "--key",
        budi_file,
        "--node",
        &api_b,
        "--to-phone",
        SRI_PHONE,
        "--amount",
        "Rp25.000",
        "--yes",
    ]);
    assert!(paid.contains("Sri W***"), "{paid}");
    assert!(paid.contains(": ok"), "{paid}");
    cluster.wait_height(a, cluster.height(b).unwrap_or(0), TIMEOUT);
    // A member's account is read by right: Sri's own signed read.
    let account = rt
        .block_on(
            kopnet_node::api::client::Client::signed(&api_a, sri.clone()).account(&sri.public()),
        )
        .unwrap();
    assert_eq!(account["balance"], 25_000, "{account}");

    // Budi's number is linked at his cooperative (B).
    let coop_b_file = cluster.net_dir().join("coops/pasar-makmur/cooperative.key");
    kopnet_ok(&[
        "coop",
        "member-info",
        "--key",
        coop_b_file.to_str().unwrap(),
        "--node",
        &api_b,
        "--member",
        &budi.public().to_address(),
        "--name",
        "Budi Santoso",
        "--phone",
        BUDI_PHONE,
    ]);
    // Sri's QR code names her number, not her address; she cannot make
    // one for a number that is not hers.
    let sri_file = sri_file.to_str().unwrap();
    let payload = kopnet_ok(&[
        "wallet",
        "qr",
        "--key",
        sri_file,
        "--node",
        &api_a,
        "--phone",
        SRI_PHONE,
        "--amount",
        "10000",
        "--name",
        "Sri",
        "--city",
        "Sleman",
        "--reference",
        "ARISAN-5",
    ]);
    let payload = payload.trim();
    assert!(payload.contains("0214+6281234567890"), "{payload}");
    assert!(!payload.contains(&sri_address), "{payload}");
    let parsed: serde_json::Value = http()
        .get(format!("{api_b}/v1/qr/parse"))
        .query(&[("payload", payload)])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(parsed["phone"], "+6281234567890", "{parsed}");
    assert!(parsed["to"].is_null(), "{parsed}");
    assert_eq!(parsed["amount"], 10_000, "{parsed}");
    let (ok, text) = kopnet_run(&[
        "wallet", "qr", "--key", sri_file, "--node", &api_a, "--phone", BUDI_PHONE,
    ]);
    assert!(!ok && text.contains("phone_not_yours"), "{text}");
    // Budi pays the code: his node looks the number up, he sees the masked
    // name, the amount and reference are the code's.
    let paid = kopnet_ok(&[
        "wallet", "pay", "--key", budi_file, "--node", &api_b, "--qr", payload, "--yes",
    ]);
    assert!(paid.contains("Sri W***"), "{paid}");
    assert!(paid.contains("Rp10.000"), "{paid}");
    assert!(paid.contains(": ok"), "{paid}");
    // A different --amount than the code's is refused before anything is sent.
    let (ok, text) = kopnet_run(&[
        "wallet", "pay", "--key", budi_file, "--node", &api_b, "--qr", payload, "--amount", "9000",
        "--yes",
    ]);
    assert!(!ok && text.contains("the code asks for"), "{text}");

    // Sri asks Budi for money by his phone number: the request on the
    // ledger names his address; he pays it from his own node.
    let asked = kopnet_ok(&[
        "wallet",
        "request",
        "--key",
        sri_file,
        "--node",
        &api_a,
        "--to-phone",
        BUDI_PHONE,
        "--amount",
        "5000",
        "--reference",
        "KAS",
        "--yes",
    ]);
    assert!(asked.contains("Budi S***"), "{asked}");
    assert!(!asked.contains("Santoso"), "{asked}");
    assert!(asked.contains(": ok"), "{asked}");
    let id = asked
        .split_whitespace()
        .skip_while(|w| *w != "request")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert_eq!(id.len(), 32, "{asked}");
    cluster.wait_height(b, cluster.height(a).unwrap_or(0), TIMEOUT);
    let requests = kopnet_ok(&[
        "wallet", "requests", "--key", budi_file, "--node", &api_b, "--output", "json",
    ]);
    let requests: serde_json::Value = serde_json::from_str(&requests).unwrap();
    let to_pay = requests["to_pay"].as_array().unwrap();
    assert!(
        to_pay
            .iter()
            .any(|r| r["id"] == id.as_str() && r["requester"] == sri_address.as_str()),
        "{requests}"
    );
    let paid = kopnet_ok(&[
        "wallet",
        "pay-request",
        "--key",
        budi_file,
        "--node",
        &api_b,
        "--requester",
        &sri_address,
        "--id",
        &id,
        "--amount",
        "5000",
    ]);
    assert!(paid.contains(": ok"), "{paid}");
    cluster.wait_height(a, cluster.height(b).unwrap_or(0), TIMEOUT);
    let account = rt
        .block_on(
            kopnet_node::api::client::Client::signed(&api_a, sri.clone()).account(&sri.public()),
        )
        .unwrap();
    assert_eq!(account["balance"], 40_000, "{account}");

    // A unlinks the number: the lookup is a plain not-found.
    kopnet_ok(&[
        "coop",
        "unlink-phone",
        "--key",
        coop_a_file,
        "--node",
        &api_a,
        "--member",
        &sri_address,
    ]);
    let (ok, text) = kopnet_run(&[
        "wallet", "lookup", "--key", budi_file, "--node", &api_b, "--phone", SRI_PHONE,
    ]);
    assert!(!ok && text.contains("phone_not_found"), "{text}");

    // One wallet, 100 lookups in a minute; the 101st is refused.
    let budi_client = rt
        .block_on(DirectoryClient::connect(&api_b, budi.clone()))
        .unwrap();
    let mut refused_at = None;
    for i in 1..=101 {
        let answer = rt.block_on(budi_client.lookup("081100000000"));
        if let Err(ClientError::Api {
            status: 429, code, ..
        }) = &answer
        {
            assert_eq!(code, "rate_limited");
            refused_at = Some(i);
            break;
        }
    }
    // Two lookups, the pay by phone's and the pay by QR's came before
    // this loop (the refused --amount stopped before looking up).
    assert_eq!(refused_at, Some(101 - 4), "lookups before the 429");
    // An outsider key (no member of B) is refused outright.
    let stranger = Keypair::generate(&mut rand::rngs::OsRng);
    let outsider = rt.block_on(async {
        DirectoryClient::connect(&api_b, stranger)
            .await
            .unwrap()
            .lookup(SRI_PHONE)
            .await
    });
    assert!(
        matches!(outsider, Err(ClientError::Api { status: 403, .. })),
        "{outsider:?}"
    );
}
