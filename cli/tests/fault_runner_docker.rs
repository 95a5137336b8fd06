//! The fault-injection runner with the docker backend: `ci.toml` on one
//! container per node (image built locally FROM scratch, private bridge
//! network; kill/stop/pause/network disconnect by docker; a node backed up,
//! its home destroyed and restored, and a node restarted on the new build,
//! each in a new container) passes every check, and the run leaves no
//! container or network behind. Skips, saying
//! why, where no Docker engine answers.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn leftovers(kind: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(kind).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("kopnet-"))
        .map(str::to_string)
        .collect()
}

/// Every `data/ledger/db` under `dir`.
fn ledger_stores(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let store = path.join("data").join("ledger").join("db");
        if store.is_file() {
            found.push(store);
        } else if path.is_dir() {
            found.extend(ledger_stores(&path));
        }
    }
    found
}

#[test]
fn ci_manifest_passes_on_containers() {
    if let Err(reason) = common::docker_engine() {
        eprintln!("skipping: no Docker engine answers ({reason})");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testnet/manifests/ci.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_kopnet"))
        .args(["testnet", "run", "--backend", "docker", "--output", "json"])
        .arg("--manifest")
        .arg(&manifest)
        .arg("--dir")
        .arg(dir.path().join("net"))
        .output()
        .expect("run kopnet testnet run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tails = || common::log_tails(&dir.path().join("net"), 60);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("report is not JSON ({e}): {stdout}\n{stderr}\n{}", tails()));
    if report["passed"] != true {
        panic!(
            "run failed ({}): {}\n{report}\n{stderr}\n{}",
            report["failure_kind"],
            report["failure"],
            tails()
        );
    }
    assert_eq!(out.status.code(), Some(0), "{report}\n{stderr}");
    assert_eq!(report["backend"], "docker");
    assert_eq!(report["disconnect_method"], "docker-network", "{report}");
    let events = report["perturbations"].to_string();
    for kind in [
        "kill",
        "restart",
        "pause",
        "disconnect",
        "late-join",
        "restore",
        "upgrade",
    ] {
        assert!(events.contains(kind), "{kind} never ran: {events}");
    }
    // Backed up over its container's API, restored, handed to the
    // container's user and started anew; restarted on the new build.
    assert!(!events.contains("skipped"), "{events}");
    assert!(events.contains("restored in"), "{events}");
    assert!(events.contains("speaks protocol version"), "{events}");
    assert!(report["committed_txs"].as_u64().unwrap() > 100, "{report}");
    // The nodes ran as a non-root user (on a read-only root filesystem,
    // which the run passing shows they need no more than): their stores
    // are not root's.
    let stores = ledger_stores(&dir.path().join("net"));
    assert!(
        !stores.is_empty(),
        "no node store under the run's directory"
    );
    for store in stores {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(&store).unwrap().uid();
        assert_ne!(owner, 0, "{} was written by root", store.display());
    }
    // Nothing of the run is left behind.
    let containers = leftovers(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(containers.is_empty(), "containers left: {containers:?}");
    let networks = leftovers(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(networks.is_empty(), "networks left: {networks:?}");
}
