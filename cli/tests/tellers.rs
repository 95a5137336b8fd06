//! Tellers on a live network (issue 16): the savings cooperative's key
//! registers "Loket 1" with a daily limit of Rp 100.000 (`kopnet coop
//! teller add`); the teller, with its own key file and nonces, registers a
//! member, mints, pays out cash (burn) and takes a cash-in for another
//! cooperative's member through the ordinary counter commands (`--key
//! teller.key`); the member cashes out at its counter. Beyond its daily
//! limit, for governance, at another cooperative's counter and for another
//! cooperative's member it is refused with typed codes; its transactions
//! name it in history; once removed it is refused at admission.

mod common;
use common::observed::*;
use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, CoopId, GovAction, KycTier};
use serde_json::Value;

impl ObservedNet {
    fn balance(&self, key: &Keypair) -> u64 {
        self.get(&format!("/v1/accounts/{}", key.public().to_address()))["balance"]
            .as_u64()
            .unwrap()
    }

    fn loket(&self) -> Value {
        let list = self.get("/v1/cooperatives/ksp-sejahtera/tellers");
        list["tellers"][0].clone()
    }
}

#[test]
fn a_teller_works_its_counter_within_its_limit_and_nothing_else() {
    let cluster = Cluster::start(4, 1);
    let net = ObservedNet::new(cluster);
    let observer = net.observer;
    let dir = net.cluster.dir.path();
    let ksp_node = net.cluster.node_of("ksp-sejahtera");
    let api = net.cluster.nodes[ksp_node].api.clone();
    let coop_key_file = net
        .cluster
        .net_dir()
        .join("coops/ksp-sejahtera/cooperative.key");
    let coop_key_file = coop_key_file.to_str().unwrap();

    // The cooperative key registers the teller; a teller PC holds only
    // its own key.
    let teller_file = dir.join("loket-1.key");
    let teller = new_wallet_key(&teller_file);
    let teller_file = teller_file.to_str().unwrap();
    let teller_address = teller.public().to_address();
    kopnet_ok(&[
        "coop",
        "teller",
        "add",
        "--key",
        coop_key_file,
        "--node",
        &api,
        "--teller",
        &teller_address,
        "--name",
        "Loket 1",
        "--daily-limit",
        "Rp100.000",
    ]);
    net.caught_up(ksp_node);
    let listed = kopnet_ok(&[
        "coop",
        "tellers",
        "--cooperative",
        "ksp-sejahtera",
        "--node",
        &api,
    ]);
    assert!(
        listed.contains("Loket 1") && listed.contains(&teller_address),
        "{listed}"
    );
    // Bad reads get typed errors.
    let obs_api = &net.cluster.nodes[observer].api;
    for (path, status, code) in [
        (
            "/v1/cooperatives/nobody/tellers",
            404,
            "unknown_cooperative",
        ),
        (
            "/v1/cooperatives/Not%20An%20Id/tellers",
            400,
            "bad_cooperative",
        ),
        ("/v1/signers/kop1notanaddress", 400, "bad_address"),
        ("/v1/recoveries?limit=x", 400, "bad_query"),
    ] {
        let response = http().get(format!("{obs_api}{path}")).send().unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().unwrap();
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    let stranger = Keypair::generate(&mut rand::rngs::OsRng)
        .public()
        .to_address();
    let response = http()
        .get(format!("{obs_api}/v1/signers/{stranger}"))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let signer = net.get(&format!("/v1/signers/{teller_address}"));
    assert_eq!(
        (
            signer["role"].as_str(),
            signer["cooperative"].as_str(),
            signer["name"].as_str()
        ),
        (Some("teller"), Some("ksp-sejahtera"), Some("Loket 1"))
    );

    // Registration, mint and burn at its counter, with the counter commands.
    let ani = new_wallet_key(&dir.join("ani.key"));
    let ani_address = ani.public().to_address();
    let as_teller = |args: &[&str]| {
        let mut all = vec!["coop"];
        all.extend_from_slice(&args[..1]);
        all.extend_from_slice(&["--key", teller_file, "--node", &api]);
        all.extend_from_slice(&args[1..]);
        let out = kopnet_ok(&all);
        net.caught_up(ksp_node);
        out
    };
    as_teller(&["register-member", "--member", &ani_address]);
    as_teller(&["mint", "--member", &ani_address, "--amount", "Rp60.000"]);
    as_teller(&["burn", "--member", &ani_address, "--amount", "Rp5.000"]);
    assert_eq!(net.balance(&ani), 55_000);
    assert_eq!(
        net.get(&format!("/v1/accounts/{ani_address}"))["home"],
        "ksp-sejahtera"
    );

    // Budi, a market cooperative member, deposits cash at Loket 1.
    let chain = net.cluster.chain_id.clone();
    let mut pasar = Wallet::new(net.cluster.coop_key("pasar-makmur"), &chain);
    let budi = Keypair::generate(&mut rand::rngs::OsRng);
    let register = Action::RegisterMember {
        member: budi.public(),
        kind: AccountKind::Member,
        tier: KycTier::Registered,
    };
    let pasar_node = net.cluster.node_of("pasar-makmur");
    assert_eq!(net.run(pasar_node, &pasar.sign(register)), "ok");
    as_teller(&[
        "cash-in",
        "--member",
        &budi.public().to_address(),
        "--amount",
        "Rp30.000",
    ]);
    assert!(net.balance(&budi) > 0);

    // Ani cashes out at the teller's counter (the member signs a cash-out).
    let mut ani_wallet = net.wallet(&ani);
    let cash_out = ani_wallet.sign(Action::CashOut {
        agent: CoopId::new("ksp-sejahtera").unwrap(),
        amount: 5_000,
    });
    assert_eq!(net.run(ksp_node, &cash_out), "ok");

    // 60.000 + 5.000 + 30.000 of Rp 100.000 used today: 5.001 more is over.
    let loket = net.loket();
    assert_eq!(loket["used_today"], 95_000, "{loket}");
    assert_eq!(loket["daily_limit"], 100_000);
    let mut teller_wallet = net.wallet(&teller);
    let over = teller_wallet.sign(Action::Mint {
        member: ani.public(),
        amount: 5_001,
    });
    let balance = net.balance(&ani);
    assert_eq!(net.run(ksp_node, &over), "teller_daily_limit");
    assert_eq!(net.balance(&ani), balance);
    let exact = teller_wallet.sign(Action::Mint {
        member: ani.public(),
        amount: 5_000,
    });
    assert_eq!(net.run(ksp_node, &exact), "ok");
    assert_eq!(net.loket()["used_today"], 100_000);

    // Governance, another cooperative's counter or member: refused.
    let refused = [
        Action::Propose {
            action: GovAction::Freeze {
                member: budi.public(),
            },
        },
        Action::CashIn {
            agent: CoopId::new("pasar-makmur").unwrap(),
            member: ani.public(),
            amount: 1,
        },
        Action::Mint {
            member: budi.public(),
            amount: 1,
        },
        Action::AddTeller {
            teller: Keypair::generate(&mut rand::rngs::OsRng).public(),
            name: "Loket 2".into(),
            daily_limit: None,
        },
    ];
    for action in refused {
        let tx = teller_wallet.sign(action.clone());
        assert_eq!(net.run(ksp_node, &tx), "not_authorized", "{action:?}");
    }
    let open = net.get("/v1/proposals?limit=10");
    assert_eq!(
        open["proposals"].as_array().map(Vec::len),
        Some(0),
        "{open}"
    );

    // History names the teller.
    let history = net.get(&format!("/v1/accounts/{ani_address}/history?limit=20"));
    let by_teller: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["teller"]["name"] == "Loket 1")
        .collect();
    assert!(by_teller.len() >= 3, "{history}");
    assert!(by_teller.iter().any(|i| i["kind"] == "mint"));

    // Removed: refused at admission, typed.
    kopnet_ok(&[
        "coop",
        "teller",
        "remove",
        "--key",
        coop_key_file,
        "--node",
        &api,
        "--teller",
        &teller_address,
    ]);
    net.caught_up(ksp_node);
    let after = teller_wallet.sign(Action::RegisterMember {
        member: Keypair::generate(&mut rand::rngs::OsRng).public(),
        kind: AccountKind::Member,
        tier: KycTier::Basic,
    });
    let response = net.cluster.submit(ksp_node, &after);
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap();
    assert!((400..500).contains(&status), "{status} {body}");
    assert_eq!(body["error"]["code"], "teller_removed", "{body}");
    assert_eq!(net.loket()["active"], false);
}
