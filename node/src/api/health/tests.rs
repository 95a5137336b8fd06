use super::*;
use crate::config::NodeConfig;

fn config() -> HealthConfig {
    HealthConfig {
        stall_after_ms: 10_000,
        syncing_lag_blocks: 2,
        disk_free_bytes_min: 1_000,
        disk_check_interval_ms: 1_000,
    }
}

/// A node that committed `ago_ms` before `now`, with `free` bytes free.
fn facts(ago_ms: Option<u64>, now: Instant, free: u64) -> HealthFacts {
    HealthFacts {
        last_commit: ago_ms.map(|ms| now - Duration::from_millis(ms)),
        disk: Some(DiskSpace { free_bytes: free }),
        ..HealthFacts::default()
    }
}

fn codes(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(Problem::code).collect()
}

#[test]
fn a_node_in_step_with_room_on_disk_is_healthy() {
    let started = Instant::now();
    let now = started + Duration::from_secs(60);
    let mut f = facts(Some(500), now, 5_000);
    f.peer_height = Some(11);
    assert_eq!(assess(&config(), &f, 10, started, now), vec![]);
    // No reading of the disk yet is no reason to refuse clients.
    f.disk = None;
    assert_eq!(assess(&config(), &f, 10, started, now), vec![]);
}

#[test]
fn syncing_until_the_first_commit_and_while_peers_are_ahead() {
    let started = Instant::now();
    let now = started + Duration::from_secs(1);
    let fresh = facts(None, now, 5_000);
    assert_eq!(
        assess(&config(), &fresh, 10, started, now),
        vec![Problem::Syncing(Syncing::NotYetCommitted)]
    );
    let mut behind = facts(Some(100), now, 5_000);
    behind.peer_height = Some(12);
    assert_eq!(
        assess(&config(), &behind, 10, started, now),
        vec![Problem::Syncing(Syncing::Behind {
            height: 10,
            peer_height: 12
        })]
    );
    // One block behind is the normal moment after a peer's commit.
    behind.peer_height = Some(11);
    assert_eq!(assess(&config(), &behind, 10, started, now), vec![]);
}

#[test]
fn stalled_after_the_configured_time_without_a_commit() {
    let started = Instant::now();
    let now = started + Duration::from_secs(100);
    let quiet = facts(Some(10_000), now, 5_000);
    assert_eq!(
        assess(&config(), &quiet, 10, started, now),
        vec![Problem::Stalled {
            for_ms: 10_000,
            since_start: false
        }]
    );
    assert_eq!(
        assess(&config(), &facts(Some(9_999), now, 5_000), 10, started, now),
        vec![]
    );
    // Never committed since a start long ago: stalled and not yet in step.
    let never = facts(None, now, 5_000);
    assert_eq!(
        codes(&assess(&config(), &never, 10, started, now)),
        ["stalled", "syncing"]
    );
}

#[test]
fn the_disk_floor_and_a_full_disk() {
    let started = Instant::now();
    let now = started + Duration::from_secs(5);
    assert_eq!(
        assess(&config(), &facts(Some(1), now, 999), 10, started, now),
        vec![Problem::LowDisk {
            free_bytes: 999,
            min_bytes: 1_000
        }]
    );
    assert_eq!(
        assess(&config(), &facts(Some(1), now, 0), 10, started, now),
        vec![Problem::DiskFull]
    );
    // The floor off: only a full disk counts.
    let off = HealthConfig {
        disk_free_bytes_min: 0,
        ..config()
    };
    assert_eq!(
        assess(&off, &facts(Some(1), now, 1), 10, started, now),
        vec![]
    );
}

#[test]
fn every_reason_is_listed_most_urgent_first() {
    let started = Instant::now();
    let now = started + Duration::from_secs(100);
    let mut f = facts(Some(20_000), now, 10);
    f.peer_height = Some(50);
    f.write_failed = Some("cannot write block 11 to the ledger store: full".into());
    assert_eq!(
        codes(&assess(&config(), &f, 10, started, now)),
        ["last_write_failed", "low_disk", "stalled", "syncing"]
    );
}

#[test]
fn the_answer_is_200_ok_or_503_with_the_reason() {
    let health = Health::new(config(), Path::new("/srv/kopnet/data"));
    let now = Instant::now();
    let (status, body) = health.answer(3, now);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "syncing", "{body}");
    health.note_commit(now);
    health.note_disk(Ok(DiskSpace { free_bytes: 5_000 }));
    let (status, body) = health.answer(3, now);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["disk_free_bytes"], 5_000);
    assert!(body.get("reason").is_none(), "{body}");

    health.note_disk(Ok(DiskSpace { free_bytes: 0 }));
    let (status, body) = health.answer(3, now);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["reason"], "disk_full");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("/srv/kopnet/data"), "{message}");

    health.note_write_failed("safety record I/O: No space left on device".into());
    let (_, body) = health.answer(3, now);
    assert_eq!(body["reason"], "last_write_failed");
    assert_eq!(body["reasons"][1]["code"], "disk_full", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{body}"
    );
    // A failed reading keeps the last one and says why.
    health.note_disk(Err("statvfs: gone".into()));
    let (_, body) = health.answer(3, now);
    assert_eq!(body["disk_free_bytes"], 0);
    assert_eq!(body["disk_error"], "statvfs: gone");
}

#[test]
fn free_space_is_read_from_the_data_directorys_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let space = free_space(dir.path()).unwrap();
    assert!(space.free_bytes > 0);
    let missing = free_space(&dir.path().join("nowhere")).unwrap_err();
    assert!(missing.contains("nowhere"), "{missing}");
}

#[test]
fn the_health_section_parses_and_bad_fields_are_named() {
    let config = NodeConfig::parse(
        "[health]\nstall_after_ms = 9000\nsyncing_lag_blocks = 3\ndisk_free_bytes_min = 0\n",
        "c.toml",
    )
    .unwrap();
    assert_eq!(config.health.stall_after_ms, 9_000);
    assert_eq!(config.health.syncing_lag_blocks, 3);
    assert_eq!(config.health.disk_free_bytes_min, 0);
    assert_eq!(NodeConfig::parse(&config.to_toml(), "x").unwrap(), config);
    for (text, named) in [
        // Under twice the default empty-block interval (2000 ms).
        ("[health]\nstall_after_ms = 3999\n", "health.stall_after_ms"),
        (
            "[consensus]\nempty_block_interval_ms = 10000\n[health]\nstall_after_ms = 15000\n",
            "health.stall_after_ms",
        ),
        (
            "[health]\nsyncing_lag_blocks = 0\n",
            "health.syncing_lag_blocks",
        ),
        (
            "[health]\ndisk_check_interval_ms = 0\n",
            "health.disk_check_interval_ms",
        ),
        ("[health]\ncolour = 1\n", "colour"),
    ] {
        let err = NodeConfig::parse(text, "c.toml").unwrap_err();
        assert!(err.to_string().contains(named), "{text}: {err}");
    }
}
