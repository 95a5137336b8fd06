//! The dashboard and the alert rules in `deploy/monitoring/` against a live
//! network (README, "Monitoring a node"): four validators with settlement
//! windows every 5 s, scraped every second by a real Prometheus
//! ([`prometheus`]). With a little traffic (members paying across
//! cooperatives, one transaction refused):
//!
//! * every query of every dashboard panel returns data;
//! * every alert rule loads and evaluates without error, and every kopnet
//!   series it reads is served at each node's `/metrics` (an alert's
//!   expression is rightly empty while it does not fire);
//! * the unacknowledged-settlement alert fires (nobody acknowledges the
//!   windows the payments closed), the stalled-chain alert does not;
//! * two of the four validators stopped (no quorum left), the stalled-chain
//!   alert fires for the two still running, and the node-down alert for
//!   the stopped ones.
//!
//! Prometheus loads a copy of `alerts.yml` with every range selector
//! shortened to [`prometheus::TEST_RANGE`] and every `for:` to
//! [`prometheus::TEST_FOR`] (the file keeps its durations plain for this):
//! the same expressions on a scale of seconds.
//!
//! Skips, saying why, where `prometheus` is not installed, unless
//! `KOPNET_REQUIRE_PROMETHEUS=1` (`.ci/run` sets it once `apt-get install
//! prometheus` worked).
//!
//! With `KOPNET_MONITORING_SVG_DIR=docs/monitoring` (relative to the
//! workspace) the test also pays for `KOPNET_MONITORING_SVG_SECS` (default
//! 60) seconds and draws every panel from Prometheus' data into an SVG
//! there ([`panel_svg`]): the pictures in the README.

#[path = "../common/mod.rs"]
mod common;
mod panel_svg;
mod prometheus;

use common::*;
use kopnet_consensus::Keypair;
use kopnet_ledger::{AccountKind, Action, KycTier, Transaction};
use prometheus::Prometheus;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const COOPS: [&str; 4] = [
    "ksp-sejahtera",
    "pasar-makmur",
    "angkot-maju",
    "taksi-bersama",
];
const DEADLINE: Duration = Duration::from_secs(120);

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/monitoring")
}

/// A dashboard panel: its title, its unit and its queries (legend format,
/// expression).
struct Panel {
    title: String,
    unit: String,
    queries: Vec<(String, String)>,
}

/// The dashboard's panels.
fn dashboard_panels() -> Vec<Panel> {
    let path = deploy_dir().join("kopnet-dashboard.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let panels: Vec<Panel> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .map(|panel| Panel {
            title: text(&panel["title"]),
            unit: text(&panel["fieldConfig"]["defaults"]["unit"]),
            queries: panel["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .map(|t| (text(&t["legendFormat"]), text(&t["expr"])))
                .collect(),
        })
        .collect();
    assert!(
        panels.len() >= 11 && panels.iter().all(|p| !p.queries.is_empty()),
        "the dashboard has its panels, each with a query"
    );
    panels
}

/// Every `kopnet_…` identifier in `text`.
fn kopnet_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("kopnet_"))
        .map(str::to_string)
        .collect()
}

/// The series names node `i` serves at `/metrics`.
fn served_names(cluster: &Cluster, i: usize) -> BTreeSet<String> {
    let text = http()
        .get(format!("{}/metrics", cluster.nodes[i].api))
        .send()
        .and_then(|r| r.text())
        .unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// Members paying merchants of other cooperatives.
struct Traffic {
    members: Vec<(Wallet, usize)>,
    merchants: Vec<kopnet_consensus::PublicKey>,
    paid: u64,
}

impl Traffic {
    /// At each cooperative two members with Rp 1.000.000 and a merchant.
    fn open(cluster: &Cluster) -> Traffic {
        let mut traffic = Traffic {
            members: Vec::new(),
            merchants: Vec::new(),
            paid: 0,
        };
        let mut last = Vec::new();
        for (c, coop) in COOPS.iter().enumerate() {
            let node = cluster.node_of(coop);
            let mut teller = Wallet::new(cluster.coop_key(coop), &cluster.chain_id);
            for m in 0..3u8 {
                let key = Keypair::from_seed([c as u8 * 16 + m + 1; 32]);
                let (kind, tier) = match m {
                    2 => (AccountKind::Merchant, KycTier::Business),
                    _ => (AccountKind::Member, KycTier::Registered),
                };
                let register = teller.sign(Action::RegisterMember {
                    member: key.public(),
                    kind,
                    tier,
                });
                let mut txs = vec![register];
                if m < 2 {
                    txs.push(teller.sign(Action::Mint {
                        member: key.public(),
                        amount: 1_000_000,
                    }));
                    traffic
                        .members
                        .push((Wallet::new(key, &cluster.chain_id), node));
                } else {
                    traffic.merchants.push(key.public());
                }
                for tx in &txs {
                    assert!(cluster.submit(node, tx).status().is_success());
                }
                last.push((node, txs.last().unwrap().hash()));
            }
        }
        for (node, hash) in &last {
            assert_eq!(cluster.wait_tx(*node, hash, DEADLINE), "ok");
        }
        traffic
    }

    /// Each member pays the merchant of the next cooperative; waits until
    /// the payments are committed.
    fn pay_round(&mut self, cluster: &Cluster) {
        let mut sent: Vec<(usize, Transaction)> = Vec::new();
        for (i, (wallet, node)) in self.members.iter_mut().enumerate() {
            self.paid += 1;
            let mut idempotency_id = [0u8; 16];
            idempotency_id[..8].copy_from_slice(&self.paid.to_le_bytes());
            let tx = wallet.sign(Action::Payment {
                to: self.merchants[(i / 2 + 1) % self.merchants.len()],
                amount: 1_000 + self.paid % 500,
                memo: String::new(),
                idempotency_id,
            });
            let response = cluster.submit(*node, &tx);
            assert!(response.status().is_success(), "{:?}", response.text());
            sent.push((*node, tx));
        }
        for (node, tx) in &sent {
            assert_eq!(cluster.wait_tx(*node, &tx.hash(), DEADLINE), "ok");
        }
    }
}

/// A payment from a key no cooperative registered (the `n`-th such key):
/// refused at submission (a rejection reason for the dashboard).
fn submit_refused(cluster: &Cluster, n: u64) {
    let mut seed = [0xee; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    let mut stranger = Wallet::new(Keypair::from_seed(seed), &cluster.chain_id);
    let tx = stranger.sign(Action::Payment {
        to: Keypair::from_seed([1; 32]).public(),
        amount: 1_000,
        memo: String::new(),
        idempotency_id: [0xee; 16],
    });
    let response = cluster.submit(0, &tx);
    assert!(
        !response.status().is_success(),
        "an unknown payer is refused"
    );
}

/// The alert named `name` firing now, if it is: its labels.
fn firing(prometheus: &Prometheus, name: &str) -> Vec<Value> {
    prometheus
        .alerts()
        .into_iter()
        .filter(|a| a["labels"]["alertname"] == name && a["state"] == "firing")
        .map(|a| a["labels"].clone())
        .collect()
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn every_panel_has_data_every_alert_reads_served_series_and_a_stall_fires() {
    let binary = match prometheus::binary() {
        Ok(binary) => binary,
        Err(why) if std::env::var(prometheus::REQUIRE_ENV).as_deref() == Ok("1") => {
            panic!("{}=1 but {why}", prometheus::REQUIRE_ENV)
        }
        Err(why) => {
            println!("SKIPPED: {why}");
            return;
        }
    };
    let svg_dir = std::env::var_os("KOPNET_MONITORING_SVG_DIR")
        .map(|d| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(d));

    let mut cluster = Cluster::init_with(4, 0, &["--window-secs", "5"]);
    for i in 0..cluster.nodes.len() {
        cluster.start_node(i);
    }
    cluster.wait_height_all(2, DEADLINE);
    let targets: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| {
            n.api
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    let rules_text = std::fs::read_to_string(deploy_dir().join("alerts.yml")).unwrap();
    let rules_count = rules_text
        .lines()
        .filter(|l| l.trim_start().starts_with("- alert:"))
        .count();
    let rules =
        prometheus::shorten_durations(&rules_text, prometheus::TEST_RANGE, prometheus::TEST_FOR);
    let dir = tempfile::tempdir().unwrap();
    let prom = Prometheus::start(&binary, dir.path(), &targets, &rules);
    prom.wait_for("Prometheus to be ready", DEADLINE, || {
        prom.ready().then_some(())
    });
    let started = now_secs();

    let mut traffic = Traffic::open(&cluster);
    traffic.pay_round(&cluster);
    submit_refused(&cluster, 0);

    for panel in dashboard_panels() {
        for (_, expr) in &panel.queries {
            let what = format!("panel {:?} to have data: {expr}", panel.title);
            prom.wait_for(&what, DEADLINE, || {
                prom.query(expr).filter(|samples| !samples.is_empty())
            });
        }
    }
    let loaded = prom.wait_for("every rule loaded and evaluated", DEADLINE, || {
        let rules = prom.rules();
        let evaluated = rules.len() == rules_count && rules.iter().all(|(_, _, h)| h == "ok");
        evaluated.then_some(rules)
    });
    for i in 0..cluster.nodes.len() {
        let served = served_names(&cluster, i);
        for (name, query, _) in &loaded {
            for metric in kopnet_names(query) {
                assert!(
                    served.contains(&metric),
                    "alert {name} reads {metric}, not served by {}: {served:?}",
                    cluster.nodes[i].id
                );
            }
        }
    }

    // Nobody acknowledges the windows the payments closed: two 5-s periods
    // later the settlement alert fires. The chain moves: no stall alert.
    let unacknowledged = prom.wait_for("KopnetSettlementUnacknowledged to fire", DEADLINE, || {
        Some(firing(&prom, "KopnetSettlementUnacknowledged")).filter(|f| !f.is_empty())
    });
    eprintln!("firing: {unacknowledged:?}");
    if let Some(dir) = &svg_dir {
        let secs = std::env::var("KOPNET_MONITORING_SVG_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        let until = Instant::now() + Duration::from_secs(secs);
        for n in 1u64.. {
            if Instant::now() >= until {
                break;
            }
            traffic.pay_round(&cluster);
            submit_refused(&cluster, n);
        }
        std::fs::create_dir_all(dir).unwrap();
    }
    assert!(
        firing(&prom, "KopnetChainStalled").is_empty(),
        "no stall while the chain moves"
    );

    // Two of four validators stopped: no quorum, no block anywhere.
    let stopped = [2, 3];
    for i in stopped {
        assert!(cluster.terminate(i).success());
    }
    let running: Vec<&String> = targets.iter().take(2).collect();
    let stalled = prom.wait_for(
        "KopnetChainStalled to fire on both running nodes",
        DEADLINE,
        || {
            let on: Vec<Value> = firing(&prom, "KopnetChainStalled");
            let all = running
                .iter()
                .all(|t| on.iter().any(|l| l["instance"] == t.as_str()));
            all.then_some(on)
        },
    );
    eprintln!("firing: {stalled:?}");
    prom.wait_for(
        "KopnetNodeDown to fire on both stopped nodes",
        DEADLINE,
        || {
            let down = firing(&prom, "KopnetNodeDown");
            stopped
                .iter()
                .all(|&i| down.iter().any(|l| l["instance"] == targets[i].as_str()))
                .then_some(())
        },
    );

    if let Some(dir) = svg_dir {
        // On until the running nodes' /health has said stalled for 5 s.
        let expr = "sum_over_time(kopnet_health_problem{reason=\"stalled\"}[10s:1s]) >= 5";
        prom.wait_for("the running nodes to report stalled", DEADLINE, || {
            let stalled = prom.query(expr)?;
            (stalled.len() == running.len()).then_some(())
        });
        draw_panels(&prom, &dir, &cluster, &targets, started, now_secs());
    }
    drop(prom);
}

/// Every panel over `start..end` (Unix seconds) as an SVG in `dir` (nodes
/// named by their cooperative, not their port).
fn draw_panels(
    prom: &Prometheus,
    dir: &Path,
    cluster: &Cluster,
    targets: &[String],
    start: f64,
    end: f64,
) {
    let node_name = |instance: &str| {
        targets
            .iter()
            .position(|t| t == instance)
            .map_or(instance.to_string(), |i| cluster.nodes[i].id.clone())
    };
    let (from, to) = (format!("{start:.0}"), format!("{end:.0}"));
    for panel in dashboard_panels() {
        let mut lines = Vec::new();
        for (legend, expr) in &panel.queries {
            let params = [
                ("query", expr.as_str()),
                ("start", &from),
                ("end", &to),
                ("step", "1"),
            ];
            let data = prom.api("query_range", &params).expect("a range query");
            for series in data["result"].as_array().cloned().unwrap_or_default() {
                let mut label = legend.clone();
                for (key, value) in series["metric"].as_object().cloned().unwrap_or_default() {
                    let value = value.as_str().unwrap_or_default();
                    let value = if key == "instance" {
                        node_name(value)
                    } else {
                        value.to_string()
                    };
                    label = label.replace(&format!("{{{{{key}}}}}"), &value);
                }
                let values = series["values"].as_array().cloned().unwrap_or_default();
                let points = values
                    .iter()
                    .filter_map(|p| {
                        let value: f64 = p[1].as_str()?.parse().ok()?;
                        Some((p[0].as_f64()? - start, value))
                    })
                    .collect();
                lines.push(panel_svg::Line { label, points });
            }
        }
        let slug: String = panel
            .title
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = dir.join(format!("{slug}.svg"));
        let unit = match panel.unit.as_str() {
            "ops" => "per second",
            "percentunit" => "share (1 = 100%)",
            "none" => "",
            unit => unit,
        };
        panel_svg::write(&path, &panel.title, unit, &lines).unwrap();
        eprintln!("wrote {}", path.display());
    }
}
