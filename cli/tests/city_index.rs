//! The Indeks Kota Koperasi end to end on a local network of real `kopnet
//! node run` processes: members of three cooperatives pay on-us and across
//! cooperatives and take cash at another cooperative's counter; then
//!
//! 1. `GET /v1/index?population=250000` counts each of them where it
//!    belongs (payments at the payer's cooperative, the cross-cooperative
//!    ones apart, the cash-out at the counter that served it, the active
//!    members), and a bad population is a typed 400;
//! 2. `kopnet audit index --population 250000` prints a table with every
//!    cooperative and the city's row, and the same as CSV and JSON; a bad
//!    `--population` is refused before any request;
//! 3. (when `chromium` and `chromedriver` are installed) the explorer's
//!    "Indeks Kota Koperasi" section shows the table, the charts, the
//!    ranking and the definitions; its screenshots go to
//!    `target/tmp/screenshots/`, or to `docs/screenshots/` with
//!    `KOPNET_UPDATE_SCREENSHOTS=1`. Without a browser that step prints
//!    why it was skipped.

mod common;

use common::webdriver::{find_program, Browser};
use common::*;
use kopnet_ledger::{AccountKind, Action, CoopId, KycTier};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const POPULATION: &str = "250000";

fn screenshot_dir() -> PathBuf {
    if std::env::var_os("KOPNET_UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    }
}

/// A signer whose nonce is read from the node (cooperatives have signed
/// at genesis set-up).
fn coop_wallet(cluster: &Cluster, coop: &str) -> Wallet {
    let mut wallet = Wallet::new(cluster.coop_key(coop), &cluster.chain_id);
    let next = cluster.get(0, "/v1/cooperatives").unwrap()["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == coop)
        .unwrap()["next_nonce"]
        .as_u64()
        .unwrap();
    wallet.nonce = next - 1;
    wallet
}

/// Sign `action` as `wallet`, submit it to node 0, wait for it: it must
/// commit ok.
fn commit(cluster: &Cluster, wallet: &mut Wallet, action: Action) {
    let tx = wallet.sign(action);
    let response = cluster.submit(0, &tx);
    assert!(response.status().is_success(), "{:?}", response.text());
    assert_eq!(
        cluster.wait_tx(0, &tx.hash(), Duration::from_secs(30)),
        "ok"
    );
}

fn member(cluster: &Cluster, name: &str) -> Wallet {
    let key = kopnet_ledger::testkit::key_for(&format!("city-index test {name}"));
    Wallet::new(key, &cluster.chain_id)
}

fn register(cluster: &Cluster, coop: &mut Wallet, who: &Wallet, kind: AccountKind, mint: u64) {
    let tier = match kind {
        AccountKind::Member => KycTier::Registered,
        AccountKind::Merchant => KycTier::Business,
    };
    commit(
        cluster,
        coop,
        Action::RegisterMember {
            member: who.public(),
            kind,
            tier,
        },
    );
    if mint > 0 {
        commit(
            cluster,
            coop,
            Action::Mint {
                member: who.public(),
                amount: mint,
            },
        );
    }
}

fn pay(to: &Wallet, amount: u64, idem: u8) -> Action {
    Action::Payment {
        to: to.public(),
        amount,
        memo: String::new(),
        idempotency_id: [idem; 16],
    }
}

fn row<'a>(index: &'a Value, coop: &str) -> &'a Value {
    index["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == coop)
        .unwrap_or_else(|| panic!("no row for {coop}: {index}"))
}

fn kopnet_out(args: &[&str]) -> std::process::Output {
    Command::new(kopnet()).args(args).output().unwrap()
}

#[test]
fn the_city_index_counts_each_cooperative_and_the_city() {
    let cluster = Cluster::start(3, 0);
    let ids: Vec<String> = cluster.nodes.iter().map(|n| n.id.clone()).collect();
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let mut coop_a = coop_wallet(&cluster, a);
    let mut coop_b = coop_wallet(&cluster, b);
    let mut ani = member(&cluster, "ani");
    let budi = member(&cluster, "budi");
    let mut citra = member(&cluster, "citra");
    let warung = member(&cluster, "warung");
    register(&cluster, &mut coop_a, &ani, AccountKind::Member, 500_000);
    register(&cluster, &mut coop_a, &budi, AccountKind::Member, 0);
    register(&cluster, &mut coop_b, &citra, AccountKind::Member, 100_000);
    register(&cluster, &mut coop_b, &warung, AccountKind::Merchant, 0);
    // Across: ani (a) pays the merchant (b); on-us: ani pays budi (a);
    // across: citra (b) pays ani (a); ani takes cash at c's counter.
    commit(&cluster, &mut ani, pay(&warung, 25_000, 1));
    commit(&cluster, &mut ani, pay(&budi, 10_000, 2));
    commit(&cluster, &mut citra, pay(&ani, 5_000, 1));
    commit(
        &cluster,
        &mut ani,
        Action::CashOut {
            agent: CoopId::new(c).unwrap(),
            amount: 10_000,
        },
    );

    api_counts_each_activity_where_it_belongs(&cluster, a, b, c);
    cli_prints_every_cooperative_and_the_city(&cluster, &ids);
    explorer_shows_the_index_with_charts(&cluster, &ids);
}

fn api_counts_each_activity_where_it_belongs(cluster: &Cluster, a: &str, b: &str, c: &str) {
    let index = cluster
        .get(0, &format!("/v1/index?population={POPULATION}"))
        .unwrap();
    assert_eq!(index["population"], 250_000);
    assert_eq!(index["window_days"], 30);
    let ra = &row(&index, a)["indicators"];
    assert_eq!(ra["payments_30d"], 2, "{ra}");
    assert_eq!(ra["payments_rupiah_30d"], 35_000);
    assert_eq!(ra["cross_payments_30d"], 1);
    assert_eq!(ra["cross_payments_rupiah_30d"], 25_000);
    assert_eq!(ra["cross_share_rupiah_bp"], 7_142);
    assert_eq!(ra["active_members_30d"], 1, "ani signed, budi did not");
    assert_eq!(ra["new_members_30d"], 2);
    assert!(
        ra["fee_income_rupiah_30d"].as_i64().unwrap() > 0,
        "issuer share, home cash-out fee"
    );
    let rb = &row(&index, b)["indicators"];
    assert_eq!(rb["payments_30d"], 1);
    assert_eq!(rb["cross_share_count_bp"], 10_000);
    assert_eq!(rb["new_members_30d"], 1);
    assert_eq!(rb["active_members_30d"], 1);
    let rc = &row(&index, c)["indicators"];
    assert_eq!(rc["cash_outs_for_others_30d"], 1);
    assert_eq!(rc["cash_outs_for_others_rupiah_30d"], 10_000);
    assert_eq!(rc["payments_30d"], 0);
    let city = &index["city"];
    assert_eq!(city["payments_30d"], 3);
    assert_eq!(city["payments_rupiah_30d"], 40_000);
    assert_eq!(city["cross_payments_30d"], 2);
    assert_eq!(city["active_members_30d"], 2);
    assert_eq!(city["cash_outs_for_others_30d"], 1);
    let members = city["members"].as_u64().unwrap();
    assert!(members >= 3);
    assert_eq!(
        city["members_per_population_bp"].as_u64(),
        Some(members * 10_000 / 250_000)
    );
    // Ranked: places 1.. in order, each with its per-indicator places.
    let ranks: Vec<u64> = index["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rank"].as_u64().unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    assert_eq!(ranks.first(), Some(&1));
    assert!(index["definitions"].as_array().unwrap().len() >= 15);

    // A bad population: a typed 400, whatever the form.
    for bad in ["0", "abc", "-1", "2.5"] {
        let response = http()
            .get(format!(
                "{}/v1/index?population={bad}",
                cluster.nodes[0].api
            ))
            .send()
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().unwrap();
        assert_eq!(body["error"]["code"], "bad_population", "{bad}: {body}");
    }
}

fn cli_prints_every_cooperative_and_the_city(cluster: &Cluster, ids: &[String]) {
    let node = cluster.nodes[0].api.as_str();
    let listed: Vec<String> = cluster.get(0, "/v1/cooperatives").unwrap()["cooperatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .filter(|id| id != "network")
        .collect();
    assert!(ids.iter().all(|id| listed.contains(id)));

    let out = kopnet_out(&["audit", "index", "--node", node, "--population", POPULATION]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    println!("{table}");
    assert!(table.starts_with("Indeks Kota Koperasi"), "{table}");
    assert!(table.contains("population 250000"));
    for id in &listed {
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(id.as_str())),
            "no row for {id}:\n{table}"
        );
    }
    let city = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some("city"))
        .unwrap_or_else(|| panic!("no city row:\n{table}"));
    assert!(city.contains("Rp40.000"), "{city}");

    let out = kopnet_out(&["audit", "index", "--node", node, "--format", "csv"]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("rank,cooperative,name,score,members"));
    assert_eq!(lines.len(), listed.len() + 2, "{csv}");
    assert!(lines.last().unwrap().starts_with(",city,"));

    let out = kopnet_out(&[
        "audit",
        "index",
        "--node",
        node,
        "--format",
        "json",
        "--population",
        "100",
    ]);
    assert!(out.status.success());
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(index["population"], 100);
    assert_eq!(index["city"]["payments_30d"], 3);

    for bad in ["0", "many", "-5"] {
        let arg = format!("--population={bad}");
        let out = kopnet_out(&["audit", "index", "--node", node, &arg]);
        assert!(!out.status.success(), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("population"), "{bad}: {stderr}");
    }
}

fn explorer_shows_the_index_with_charts(cluster: &Cluster, ids: &[String]) {
    let Some(chromedriver) = find_program(&["chromedriver"]) else {
        println!("SKIPPED the explorer step: chromedriver not found on PATH (apt-get install chromium-driver)");
        return;
    };
    let Some(chromium) = find_program(&["chromium", "chromium-browser", "google-chrome"]) else {
        println!(
            "SKIPPED the explorer step: chromium not found on PATH (apt-get install chromium)"
        );
        return;
    };
    let browser = Browser::start(&chromedriver, &chromium);
    let shots = screenshot_dir();
    browser.goto(&format!(
        "{}/explorer#/index/{POPULATION}",
        cluster.nodes[0].api
    ));
    browser.wait("the city index", Duration::from_secs(20), |b| {
        b.attr("#city-index", "data-ready")
            .filter(|r| r == "true")?;
        b.text("#city-index-table")
    });
    for id in ids {
        assert!(
            browser.visible(&format!("#city-index-table tr[data-coop=\"{id}\"]")),
            "no row for {id}"
        );
    }
    let city = browser
        .text("#city-index-table tr[data-coop=\"city\"]")
        .unwrap();
    assert!(city.contains("Rp40.000"), "{city}");
    // The explorer's own view is hidden while the index shows; the tab is active.
    assert!(!browser.visible("#main"));
    assert_eq!(
        browser.js("return document.querySelector('nav.tabs a[data-tab=index]').classList.contains('active')"),
        json!(true)
    );
    let charts = browser.js("return document.querySelectorAll('#city-index svg.chart').length");
    assert_eq!(charts, json!(5));
    assert!(browser
        .text("#city-index-definitions")
        .unwrap()
        .contains("cash_outs_for_others_30d"));
    assert!(browser.text("#city-index-rule").unwrap().contains("Borda"));
    // The wide table scrolls inside its card: the page fits the phone.
    assert!(browser.fits_width(), "the index is wider than 360 px");
    browser.screenshot(&shots.join("explorer-city-index-phone.png"));
    // The README's pictures: a desktop screen (Chrome's device metrics
    // over the DevTools protocol), the table, then the charts.
    browser.call(
        "POST",
        &browser.s("/goog/cdp/execute"),
        json!({"cmd": "Emulation.setDeviceMetricsOverride",
               "params": {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false}}),
    );
    browser.goto(&format!("{}/explorer#/index", cluster.nodes[0].api));
    browser.goto(&format!(
        "{}/explorer#/index/{POPULATION}",
        cluster.nodes[0].api
    ));
    browser.wait(
        "the city index on a wide screen",
        Duration::from_secs(20),
        |b| {
            b.attr("#city-index", "data-ready")
                .filter(|r| r == "true")?;
            b.text("#city-index-table tr[data-coop=\"city\"]")
        },
    );
    browser.js("document.querySelector('#city-index-title').scrollIntoView(); return null;");
    browser.screenshot(&shots.join("explorer-city-index.png"));
    browser.js("document.querySelector('#city-index svg.chart').closest('.card').scrollIntoView(); return null;");
    browser.screenshot(&shots.join("explorer-city-index-charts.png"));

    // A bad population typed in the page: the error in words, nothing else.
    browser.goto(&format!("{}/explorer#/index/abc", cluster.nodes[0].api));
    browser.wait("the population error", Duration::from_secs(20), |b| {
        b.attr("#city-index", "data-ready")
            .filter(|r| r == "true")?;
        b.text("#city-index-body .error")
    });
}
