//! A validator whose safety record is lost (issue 13, point 5): it refuses
//! to start; with `--new-safety-record` it follows the chain without
//! signing until its double-sign check passes (its key on none of the last
//! blocks, a listening window), then signs again, and nobody has evidence
//! of a double vote.

mod common;
use common::*;
use kopnet_node::host::double_sign::DOUBLE_SIGN_CHECK_BLOCKS;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Heights in `from..=to` whose certificate (read on node `i`) `address`
/// signed.
fn signed(cluster: &Cluster, i: usize, address: &str, from: u64, to: u64) -> Vec<u64> {
    (from.max(1)..=to)
        .filter(|h| {
            let block = cluster
                .get(i, &format!("/v1/blocks/{h}"))
                .unwrap_or_else(|| panic!("block {h} on node {i}"));
            block["certificate"]["signers"]
                .as_array()
                .is_some_and(|s| s.iter().any(|k| k.as_str() == Some(address)))
        })
        .collect()
}

#[test]
fn a_validator_without_its_safety_record_refuses_then_signs_only_after_the_check() {
    let mut cluster = Cluster::start(4, 0);
    let victim = cluster.node_of("taksi-bersama");
    let address = cluster.validator_key("taksi-bersama").public().to_address();
    let home = cluster.nodes[victim].home.clone();
    let safety = home.join("data").join("safety.bin");
    cluster.wait_height_all(3, Duration::from_secs(60));
    assert!(safety.exists(), "a first start writes the record");
    // It was signing until it stopped.
    wait_for(
        "the victim on a recent certificate",
        Duration::from_secs(60),
        || {
            let top = cluster.height(0)?;
            (!signed(&cluster, 0, &address, top.saturating_sub(3), top).is_empty()).then_some(())
        },
    );
    let stopped_top = cluster.height(0).unwrap();
    assert!(cluster.terminate(victim).success());
    std::fs::remove_file(&safety).unwrap();

    // Without the flag: a clear refusal, exit status 1.
    let mut child = Command::new(kopnet())
        .args(["node", "run", "--home"])
        .arg(&home)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_for("the refusal", Duration::from_secs(30), || {
        child.try_wait().unwrap()
    });
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "started without its record: {stderr}");
    for needle in [
        safety.display().to_string().as_str(),
        "is missing",
        "equivocation",
        "--new-safety-record",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
    assert!(!safety.exists(), "the refusal wrote no record");

    // With the flag: it starts, but signs nothing until the check passes.
    let restarted_at = cluster.height(0).unwrap();
    let last_signed = *signed(
        &cluster,
        0,
        &address,
        stopped_top.saturating_sub(DOUBLE_SIGN_CHECK_BLOCKS),
        restarted_at,
    )
    .last()
    .expect("the victim signed one of the last blocks before it stopped");
    cluster.start_node_with(victim, &["--new-safety-record"]);
    wait_for(
        "the victim to report its double-sign check",
        Duration::from_secs(60),
        || {
            let status = cluster.get(victim, "/v1/status")?;
            (status["double_sign_check"] == true).then_some(())
        },
    );
    wait_for(
        "the double-sign check to pass",
        Duration::from_secs(180),
        || {
            let status = cluster.get(victim, "/v1/status")?;
            (status["double_sign_check"] == false).then_some(())
        },
    );
    assert!(cluster.log(victim).contains("double-sign check passed"));
    assert!(
        safety.exists(),
        "the new record is written when the check passes"
    );
    // It signs again, and the network keeps committing with it.
    let first_new = wait_for(
        "the victim on a new certificate",
        Duration::from_secs(120),
        || {
            let top = cluster.height(0)?;
            signed(&cluster, 0, &address, last_signed + 1, top)
                .first()
                .copied()
        },
    );
    assert!(
        first_new > last_signed + DOUBLE_SIGN_CHECK_BLOCKS,
        "signed block {first_new}, less than {DOUBLE_SIGN_CHECK_BLOCKS} blocks after block {last_signed}"
    );
    let top = cluster.height(0).unwrap();
    cluster.wait_height_all(top + 2, Duration::from_secs(60));
    for i in 0..cluster.nodes.len() {
        let page = cluster.get(i, "/v1/evidence");
        assert_eq!(
            page.as_ref().map(|p| &p["evidence"]),
            Some(&serde_json::json!([])),
            "evidence on node {i}: {page:?}"
        );
    }
}
