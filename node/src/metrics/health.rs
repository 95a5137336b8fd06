//! `GET /health`'s judgement as series: `kopnet_healthy` (1 when `/health`
//! would answer 200), `kopnet_health_problem{reason}` (1 for each reason it
//! would give, 0 for the others: every reason always has a series, so an
//! alert on one needs no `absent()`), and the disk figures it judges by:
//! `kopnet_disk_free_bytes` (once read) and `kopnet_disk_free_bytes_min`.
//!
//! Judged at scrape time ([`Health::assess`]: a pure function of a few
//! facts and the clock, no I/O), so `stalled` shows the moment `/health`
//! says it.

use crate::api::health::{Health, Problem, Syncing};
use std::fmt::Write;
use std::time::Instant;

/// Every reason code of [`Problem`], most urgent first.
pub const HEALTH_REASONS: [&str; 5] = [
    "last_write_failed",
    "disk_full",
    "low_disk",
    "stalled",
    "syncing",
];

/// Where `problem`'s reason stands in [`HEALTH_REASONS`] (exhaustive: a
/// new kind of problem does not compile until it has its series).
fn reason_index(problem: &Problem) -> usize {
    match problem {
        Problem::LastWriteFailed { .. } => 0,
        Problem::DiskFull => 1,
        Problem::LowDisk { .. } => 2,
        Problem::Stalled { .. } => 3,
        Problem::Syncing(Syncing::NotYetCommitted | Syncing::Behind { .. }) => 4,
    }
}

/// The health series of a node at `height`, judged at `now`.
pub fn render(health: &Health, height: u64, now: Instant, out: &mut String) {
    let problems = health.assess(height, now);
    let _ = writeln!(out, "# HELP kopnet_healthy 1 when GET /health answers 200 (in step with the network and able to store blocks), else 0.\n# TYPE kopnet_healthy gauge\nkopnet_healthy {}", u8::from(problems.is_empty()));
    let _ = writeln!(out, "# HELP kopnet_health_problem 1 for each reason GET /health gives now, 0 for the others.\n# TYPE kopnet_health_problem gauge");
    for (i, reason) in HEALTH_REASONS.iter().enumerate() {
        let on = problems.iter().any(|p| reason_index(p) == i);
        let _ = writeln!(
            out,
            "kopnet_health_problem{{reason=\"{reason}\"}} {}",
            u8::from(on)
        );
    }
    let facts = health.facts();
    if let Some(disk) = facts.disk {
        let _ = writeln!(out, "# HELP kopnet_disk_free_bytes Free bytes (for this process) on the filesystem of the node's data directory, as last read.\n# TYPE kopnet_disk_free_bytes gauge\nkopnet_disk_free_bytes {}", disk.free_bytes);
    }
    let _ = writeln!(out, "# HELP kopnet_disk_free_bytes_min health.disk_free_bytes_min: under this much free space /health says low_disk.\n# TYPE kopnet_disk_free_bytes_min gauge\nkopnet_disk_free_bytes_min {}", health.config().disk_free_bytes_min);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::health::DiskSpace;
    use crate::config::HealthConfig;
    use std::path::Path;

    #[test]
    fn each_problem_has_its_own_reason_series() {
        let problems = [
            Problem::LastWriteFailed {
                error: "eio".into(),
            },
            Problem::DiskFull,
            Problem::LowDisk {
                free_bytes: 1,
                min_bytes: 2,
            },
            Problem::Stalled {
                for_ms: 1,
                since_start: false,
            },
            Problem::Syncing(Syncing::NotYetCommitted),
            Problem::Syncing(Syncing::Behind {
                height: 1,
                peer_height: 9,
            }),
        ];
        for p in &problems {
            assert_eq!(HEALTH_REASONS[reason_index(p)], p.code());
        }
    }

    #[test]
    fn every_reason_has_a_series_and_the_ones_given_are_1() {
        let health = Health::new(HealthConfig::default(), Path::new("/data"));
        let min = health.config().disk_free_bytes_min;
        health.note_disk(Ok(DiskSpace {
            free_bytes: min - 1,
        }));
        let mut out = String::new();
        // Nothing committed since the start: syncing; and low on disk.
        render(&health, 0, Instant::now(), &mut out);
        assert!(out.contains("kopnet_healthy 0\n"), "{out}");
        for (reason, on) in HEALTH_REASONS.iter().zip([0, 0, 1, 0, 1]) {
            let line = format!("kopnet_health_problem{{reason=\"{reason}\"}} {on}\n");
            assert!(out.contains(&line), "{line} in {out}");
        }
        assert!(out.contains(&format!("kopnet_disk_free_bytes {}\n", min - 1)));

        let health = Health::new(HealthConfig::default(), Path::new("/data"));
        health.note_commit(Instant::now());
        let mut out = String::new();
        render(&health, 5, Instant::now(), &mut out);
        assert!(out.contains("kopnet_healthy 1\n"), "{out}");
        assert!(!out.contains("} 1\n"), "no problem is 1: {out}");
        assert!(
            !out.contains("kopnet_disk_free_bytes "),
            "not read yet: {out}"
        );
    }
}
