//! The lost phone on a live network (issue 16), with the recovery wait set
//! to 5 s of block time in the genesis (`--recovery-wait-secs 5`):
//!
//! * the home cooperative starts a recovery (`kopnet coop recover-member`);
//!   `kopnet wallet balance` warns; the old key still pays during the
//!   wait; the old key cancels it (`kopnet wallet cancel-recovery`), and
//!   after the wait nothing has changed;
//! * a second recovery: the old key pays during the wait; once the chain's
//!   clock passes the effective time the new key signs (`kopnet wallet pay
//!   --key new.key`), the old key is refused (`key_replaced`);
//! * the regulator's observer lists both recoveries (`GET /v1/recoveries`).
//!
//! No sleeps: every wait is on a condition with a deadline.

mod common;
use common::observed::*;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier};
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = OBSERVED_TIMEOUT;

impl ObservedNet {
    /// Wait until the observer has a block at or past `time_ms`.
    fn wait_block_time(&self, time_ms: u64) {
        wait_for(&format!("a block at {time_ms} ms"), TIMEOUT, || {
            let blocks = self.cluster.get(self.observer, "/v1/blocks?limit=1")?;
            let time = blocks["blocks"][0]["time_ms"].as_u64()?;
            (time >= time_ms).then_some(())
        });
    }
}

fn pay(to: &Keypair, amount: u64) -> Action {
    Action::Payment {
        to: to.public(),
        amount,
        memo: String::new(),
        idempotency_id: rand::random(),
    }
}

#[test]
fn a_member_who_loses_a_phone_keeps_the_money() {
    let cluster = Cluster::start_with(4, 1, &["--recovery-wait-secs", "5"]);
    let net = ObservedNet::new(cluster);
    let observer = net.observer;
    let dir = net.cluster.dir.path();
    let ksp = net.cluster.node_of("ksp-sejahtera");
    let api = net.cluster.nodes[ksp].api.clone();
    let coop_file = net
        .cluster
        .net_dir()
        .join("coops/ksp-sejahtera/cooperative.key");
    let coop_file = coop_file.to_str().unwrap();
    let chain = net.cluster.chain_id.clone();
    assert_eq!(net.get("/v1/params")["recovery_wait_ms"], 5_000);

    // Ani (savings cooperative, Rp 100.000) and Budi, who she pays.
    let ani_file = dir.join("ani.key");
    let ani = new_wallet_key(&ani_file);
    let ani_file = ani_file.to_str().unwrap();
    let ani_address = ani.public().to_address();
    let budi = Keypair::generate(&mut rand::rngs::OsRng);
    let mut coop = Wallet::new(net.cluster.coop_key("ksp-sejahtera"), &chain);
    for member in [ani.public(), budi.public()] {
        let register = Action::RegisterMember {
            member,
            kind: AccountKind::Member,
            tier: KycTier::Registered,
        };
        assert_eq!(net.run(ksp, &coop.sign(register)), "ok");
    }
    let mint = Action::Mint {
        member: ani.public(),
        amount: 100_000,
    };
    assert_eq!(net.run(ksp, &coop.sign(mint)), "ok");

    // 1. A recovery Ani did not ask for: her old key pays and cancels it.
    let stranger = Keypair::generate(&mut rand::rngs::OsRng);
    kopnet_ok(&[
        "coop",
        "recover-member",
        "--key",
        coop_file,
        "--node",
        &api,
        "--member",
        &ani_address,
        "--new-key",
        &stranger.public().to_address(),
    ]);
    net.caught_up(ksp);
    let first = net.account(&ani)["recovery"].clone();
    assert_eq!(first["new_key"], stranger.public().to_address(), "{first}");
    let warning = kopnet_ok(&["wallet", "balance", "--key", ani_file, "--node", &api]);
    assert!(warning.contains("WARNING"), "{warning}");
    let mut ani_wallet = net.wallet(&ani);
    assert_eq!(net.run(ksp, &ani_wallet.sign(pay(&budi, 10_000))), "ok");
    kopnet_ok(&[
        "wallet",
        "cancel-recovery",
        "--key",
        ani_file,
        "--node",
        &api,
    ]);
    net.caught_up(ksp);
    assert_eq!(net.account(&ani)["recovery"], Value::Null);
    net.wait_block_time(first["effective_ms"].as_u64().unwrap() + 1);
    assert_eq!(net.account(&ani)["key"], ani_address);

    // 2. Ani lost her phone: the cooperative recovers the account to her
    // new key. The old key still pays during the wait.
    let new_file = dir.join("ani-new.key");
    let new = new_wallet_key(&new_file);
    let new_file = new_file.to_str().unwrap();
    let mut coop = net.wallet(&net.cluster.coop_key("ksp-sejahtera"));
    let start = coop.sign(Action::StartRecovery {
        member: ani.public(),
        new_key: new.public(),
    });
    assert_eq!(net.run(ksp, &start), "ok");
    let mut ani_wallet = net.wallet(&ani);
    assert_eq!(net.run(ksp, &ani_wallet.sign(pay(&budi, 5_000))), "ok");
    let second = net.account(&ani)["recovery"].clone();
    let effective = second["effective_ms"].as_u64().unwrap();
    wait_for("the new key to take over", TIMEOUT, || {
        (net.account(&ani)["key"] == new.public().to_address()).then_some(())
    });
    let account = net.account(&ani);
    assert_eq!(account["recovery"], Value::Null);
    assert_eq!(account["balance"], 85_000);
    // The old key is refused at admission; the new key spends.
    let old = ani_wallet.sign(pay(&budi, 1_000));
    let response = net.cluster.submit(ksp, &old);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "key_replaced", "{body}");
    // The old phone, asking with its own key, learns it was replaced;
    // anyone else asking about a member's key is refused (issue 18).
    let signers = format!("/v1/signers/{ani_address}");
    let (status, body) = net.cluster.get_status_as(observer, &signers, Some(&ani));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("key_replaced")),
        "{body}"
    );
    let (status, body) = net.cluster.get_status_as(observer, &signers, None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("not_permitted")),
        "{body}"
    );
    let signer = net.get(&format!("/v1/signers/{}", new.public().to_address()));
    assert_eq!(signer["account"], ani_address, "{signer}");
    kopnet_ok(&[
        "wallet",
        "pay",
        "--key",
        new_file,
        "--node",
        &api,
        "--to",
        &budi.public().to_address(),
        "--amount",
        "Rp2.000",
    ]);
    net.caught_up(ksp);
    assert_eq!(net.account(&ani)["balance"], 83_000);
    assert_eq!(net.account(&budi)["balance"], 17_000);
    let balance = kopnet_ok(&["wallet", "balance", "--key", new_file, "--node", &api]);
    assert!(
        balance.contains(&ani_address) && !balance.contains("WARNING"),
        "{balance}"
    );

    // The regulator's observer lists both, newest first.
    let list = net.get("/v1/recoveries");
    let items = list["recoveries"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["status"], "completed", "{list}");
    assert_eq!(items[0]["new_key"], new.public().to_address());
    assert!(items[0]["finished_ms"].as_u64().unwrap() >= effective);
    assert_eq!(items[1]["status"], "cancelled", "{list}");
    assert_eq!(items[1]["cancelled_by"], ani_address);
    for item in items {
        assert_eq!(item["member"], ani_address);
        assert_eq!(item["started_by"]["cooperative"], "ksp-sejahtera");
    }
}
