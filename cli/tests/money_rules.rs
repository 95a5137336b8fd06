//! The rules of the land on a live network, through the `kopnet` CLI
//! (issue 17): a micro merchant registered with its class, a basic member
//! moved to the registered tier by its cooperative, a payout file with bad
//! lines (each refused with its reason, the rest paid, the report written;
//! sent again, nobody is paid twice), a payment request paid once from the
//! wallet and refused the second time, and a cashback programme voted in
//! and listed.

mod common;
use common::observed::*;
use common::*;
use serde_json::Value;
use std::path::Path;

fn key_arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn tiers_classes_payouts_requests_and_cashback_through_the_cli() {
    let net = ObservedNet::new(Cluster::start(4, 1));
    let dir = net.cluster.dir.path().to_path_buf();
    let coops = net.cluster.net_dir().join("coops");
    let ksp_key = coops.join("ksp-sejahtera/cooperative.key");
    let pasar_key = coops.join("pasar-makmur/cooperative.key");
    let ksp = net.cluster.node_of("ksp-sejahtera");
    let api = net.cluster.nodes[ksp].api.clone();

    // Members of ksp-sejahtera: Ani registered, Sri unregistered (basic);
    // a micro merchant (a warung) at pasar-makmur.
    let ani_file = dir.join("ani.key");
    let ani = new_wallet_key(&ani_file).public().to_address();
    let sri_file = dir.join("sri.key");
    let sri = new_wallet_key(&sri_file).public().to_address();
    let warung_file = dir.join("warung.key");
    let warung = new_wallet_key(&warung_file).public().to_address();
    let coop = |key: &Path, args: &[&str]| {
        let mut all = vec!["coop"];
        all.extend_from_slice(&args[..1]);
        all.extend_from_slice(&["--key", key_arg(key), "--node", &api]);
        all.extend_from_slice(&args[1..]);
        kopnet_run(&all)
    };
    for (member, tier) in [(&ani, "registered"), (&sri, "basic")] {
        let (ok, text) = coop(
            &ksp_key,
            &["register-member", "--member", member, "--tier", tier],
        );
        assert!(ok, "{text}");
    }
    let (ok, text) = coop(
        &pasar_key,
        &[
            "register-member",
            "--member",
            &warung,
            "--merchant",
            "--class",
            "micro",
        ],
    );
    assert!(ok, "{text}");
    net.caught_up(ksp);
    let account = |address: &str| net.get(&format!("/v1/accounts/{address}"));
    assert_eq!(account(&warung)["merchant_class"], "micro");
    let sri_account = account(&sri);
    assert_eq!(
        (
            sri_account["tier"].as_str(),
            sri_account["balance_cap"].as_u64(),
            sri_account["may_transfer"].as_bool()
        ),
        (Some("basic"), Some(2_000_000), Some(false))
    );

    // The cooperative registers Sri after KYC.
    let (ok, text) = coop(
        &ksp_key,
        &["set-tier", "--member", &sri, "--tier", "registered"],
    );
    assert!(ok, "{text}");

    // A payout file: two good lines, then a bad address, Ani twice, an
    // amount of zero and a line the ledger refuses (an unregistered key).
    let stranger = kopnet_consensus::Keypair::generate(&mut rand::rngs::OsRng)
        .public()
        .to_address();
    let file = dir.join("shu-2026.csv");
    std::fs::write(
        &file,
        format!(
            "# SHU 2026\naddress,amount,reference\n{ani},300.000,SHU 2026\n{sri},Rp50.000\n\
             kopNOPE,1000\n{ani},5\n{stranger},0\n{stranger},7.500,SHU 2026\n"
        ),
    )
    .unwrap();
    let report = dir.join("shu-report.csv");
    let payout = |file: &Path| {
        coop(
            &ksp_key,
            &[
                "payout",
                "--file",
                key_arg(file),
                "--report",
                key_arg(&report),
            ],
        )
    };
    let (ok, text) = payout(&file);
    assert!(!ok, "a file with refused lines exits non-zero: {text}");
    assert!(
        text.contains("applied 2 lines, Rp350.000; refused 4 (3 in the file, 1 by the ledger)"),
        "{text}"
    );
    assert!(text.contains("invalid address"), "{text}");
    assert!(text.contains("already paid on line 3"), "{text}");
    assert!(text.contains("unknown_account"), "{text}");
    let csv = std::fs::read_to_string(&report).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with(&format!("3,{ani},300000,SHU 2026,applied,,")));
    net.caught_up(ksp);
    assert_eq!(account(&ani)["balance"], 300_000);
    assert_eq!(account(&sri)["balance"], 50_000);
    // Sent again: the paid lines are duplicates, nobody is paid twice.
    let (ok, text) = payout(&file);
    assert!(!ok, "{text}");
    assert!(text.contains("applied 0 lines"), "{text}");
    assert_eq!(text.matches("(duplicate").count(), 2, "{text}");
    net.caught_up(ksp);
    assert_eq!(account(&ani)["balance"], 300_000);
    let ani_account = account(&ani);
    assert_eq!(ani_account["incoming_this_month"], 300_000);
    assert_eq!(ani_account["monthly_headroom"], 40_000_000 - 300_000);

    // The warung asks Ani for Rp 100.000; Ani sees it and pays it once.
    let (ok, text) = kopnet_run(&[
        "wallet",
        "request",
        "--key",
        key_arg(&warung_file),
        "--node",
        &api,
        "--to",
        &ani,
        "--amount",
        "100.000",
        "--reference",
        "Nasi kotak 10",
        "--expires",
        "1h",
    ]);
    assert!(ok, "{text}");
    let id = text
        .split_whitespace()
        .skip_while(|w| *w != "request")
        .nth(1)
        .unwrap()
        .to_string();
    net.caught_up(ksp);
    let listed = kopnet_ok(&[
        "wallet",
        "requests",
        "--key",
        key_arg(&ani_file),
        "--node",
        &api,
    ]);
    assert!(
        listed.contains(&id) && listed.contains("Nasi kotak 10"),
        "{listed}"
    );
    let pay = |amount: &str| {
        kopnet_run(&[
            "wallet",
            "pay-request",
            "--key",
            key_arg(&ani_file),
            "--node",
            &api,
            "--requester",
            &warung,
            "--id",
            &id,
            "--amount",
            amount,
        ])
    };
    let (ok, text) = pay("99.999");
    assert!(!ok && text.contains("request_amount_mismatch"), "{text}");
    let (ok, text) = pay("100.000");
    assert!(ok, "{text}");
    let (ok, text) = pay("100.000");
    assert!(!ok && text.contains("request_already_paid"), "{text}");
    net.caught_up(ksp);
    // A micro merchant's Rp 100.000 pays no merchant discount.
    assert_eq!(account(&warung)["balance"], 100_000);
    assert_eq!(account(&ani)["balance"], 200_000);
    let requests: Value = net.get(&format!("/v1/accounts/{warung}/requests"));
    assert_eq!(requests["requested"][0]["status"], "paid", "{requests}");
    assert_eq!(requests["requested"][0]["paid_by"], ani.as_str());

    // The warung refunds part of it; its cooperative cannot refund more
    // than is left; both transactions link to the payment.
    let paid_tx = requests["requested"][0]["tx"].as_str().unwrap().to_string();
    let (ok, text) = kopnet_run(&[
        "wallet",
        "refund",
        "--key",
        key_arg(&warung_file),
        "--node",
        &api,
        "--payment",
        &paid_tx,
        "--amount",
        "40.000",
        "--memo",
        "1 kotak kurang",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = coop(
        &pasar_key,
        &["refund", "--payment", &paid_tx, "--amount", "60.001"],
    );
    assert!(!ok && text.contains("refund_exceeds_payment"), "{text}");
    net.caught_up(ksp);
    let refunds = net.get(&format!("/v1/tx/{paid_tx}/refunds"));
    assert_eq!(
        (
            refunds["amount"].as_u64(),
            refunds["refunded"].as_u64(),
            refunds["refundable"].as_u64()
        ),
        (Some(100_000), Some(40_000), Some(60_000)),
        "{refunds}"
    );
    assert_eq!(refunds["refunds"].as_array().map(Vec::len), Some(1));
    assert_eq!(account(&ani)["balance"], 240_000);
    assert_eq!(account(&warung)["balance"], 60_000);

    // A cashback programme, voted in by three of the four validators.
    let (ok, text) = coop(
        &ksp_key,
        &[
            "propose",
            "create-incentive",
            "--name",
            "Belanja antar-koperasi",
            "--bps",
            "100",
            "--member-monthly-cap",
            "Rp25.000",
            "--budget",
            "Rp1.000.000",
            "--ends",
            "2099-12-31",
            "--cross-only",
            "--class",
            "micro",
            "--class",
            "small",
        ],
    );
    assert!(ok, "{text}");
    for approver in ["pasar-makmur", "angkot-maju"] {
        let key = coops.join(format!("{approver}/cooperative.key"));
        let (ok, text) = coop(&key, &["approve", "0"]);
        assert!(ok, "{text}");
    }
    net.caught_up(ksp);
    let programmes = net.get("/v1/incentives");
    let programme = &programmes["programmes"][0];
    assert_eq!(programme["name"], "Belanja antar-koperasi", "{programmes}");
    assert_eq!(programme["budget"], 1_000_000);
    assert_eq!(programme["classes"], serde_json::json!(["micro", "small"]));
    assert_eq!(programme["live"], true);
}
