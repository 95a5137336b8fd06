//! Every `kopnet_*` series the dashboard, the alert rules and their
//! example configuration in `deploy/monitoring/` name is one a node
//! renders at `/metrics` ([`super::scrape`] plus the HTTP refusals): a
//! renamed or removed metric fails here, not silently in an operator's
//! Grafana.

use super::disk::DiskUsage;
use super::{scrape, Metrics};
use crate::api::health::{DiskSpace, Health};
use crate::committed_view::CommittedView;
use crate::config::HealthConfig;
use crate::http::refusals::Refusals;
use kopnet_consensus::{CommitCertificate, SignedVote, Vote, VoteKind};
use kopnet_ledger::testkit::{demo_genesis, validator_key_for};
use kopnet_ledger::{Ledger, MemoryStorage};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Files under `dir`, recursively, in name order.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every `kopnet_…` identifier in `text`.
fn kopnet_names(text: &str) -> BTreeSet<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.split(|c: char| !ident(c))
        .filter(|word| word.starts_with("kopnet_"))
        .map(str::to_string)
        .collect()
}

/// The series names in Prometheus text: each sample line's name.
fn rendered_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// A node's scrape with every kind of series present: a cooperative
/// ledger, a rejection, a counted certificate, disk readings, a refusal.
fn full_scrape() -> String {
    let ledger = Ledger::open(
        MemoryStorage::new(),
        &demo_genesis("kopnet-test", 4, 5_000_000),
    )
    .expect("a demo ledger");
    let view = CommittedView::of(&ledger);
    let metrics = Metrics::default();
    metrics.reject("insufficient_funds");
    metrics.observe_commit_latency(40);
    let set = crate::chain_store::current_set(&ledger).expect("a validator set");
    let signer = validator_key_for("ksp-sejahtera");
    let value = kopnet_consensus::Hash::digest("test", b"block");
    let vote = Vote {
        height: 1,
        round: 1,
        kind: VoteKind::Precommit,
        value_id: Some(value),
        validator: signer.public(),
    };
    let vote = SignedVote::sign("kopnet-test", &signer, vote).unwrap();
    let certificate = CommitCertificate::from_precommits(1, 1, value, [&vote]);
    metrics.observe_certificate(&certificate, &set, |_| Some("ksp-sejahtera".into()));
    let data = tempfile::tempdir().unwrap();
    metrics.observe_disk_usage(DiskUsage::measure(data.path()));
    let health = Health::new(HealthConfig::default(), data.path());
    health.note_disk(Ok(DiskSpace {
        free_bytes: 1 << 30,
    }));
    let mut out = scrape(&metrics, &view, &health, Instant::now());
    let refusals = Refusals::default();
    refusals.count("busy");
    refusals.render(&mut out);
    out
}

#[test]
fn every_metric_deploy_monitoring_names_is_rendered() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/monitoring");
    let files = files_under(&deploy);
    assert!(
        files.iter().any(|f| f.ends_with("kopnet-dashboard.json"))
            && files.iter().any(|f| f.ends_with("alerts.yml")),
        "the dashboard and the rules are in {}",
        deploy.display()
    );
    let rendered = rendered_names(&full_scrape());
    let mut used = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for name in kopnet_names(&text) {
            assert!(
                rendered.contains(&name),
                "{} uses {name}, which /metrics does not render; it renders {rendered:?}",
                file.display()
            );
            used.insert(name);
        }
    }
    // The panels and alerts this was written for are all there.
    for name in [
        "kopnet_height",
        "kopnet_commit_latency_ms_bucket",
        "kopnet_coop_ndc_headroom_rupiah",
        "kopnet_settlement_windows_unacknowledged",
        "kopnet_validator_signatures_total",
        "kopnet_health_problem",
        "kopnet_disk_free_bytes",
    ] {
        assert!(used.contains(name), "deploy/monitoring uses {name}");
    }
}

#[test]
fn names_are_read_out_of_promql_and_prometheus_text() {
    assert_eq!(
        kopnet_names("max by (coop) (kopnet_a_b) < 0.1 * kopnet_c{x=\"kopnet_d\"}[5m] kopnet-e"),
        ["kopnet_a_b", "kopnet_c", "kopnet_d"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        rendered_names(
            "# HELP kopnet_x y\n# TYPE kopnet_x gauge\nkopnet_x 1\nkopnet_y{a=\"b\"} 2\n"
        ),
        ["kopnet_x", "kopnet_y"].map(String::from).into()
    );
}
