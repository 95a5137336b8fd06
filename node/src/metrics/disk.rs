//! What the node's data directory holds on disk, by part, and the size of
//! its filesystem: `kopnet_disk_used_bytes{what}` and
//! `kopnet_disk_total_bytes` (the free space, `kopnet_disk_free_bytes`,
//! comes with the health facts: [`crate::api::health`]).
//!
//! Measured by the disk watcher ([`crate::api::health::watch_disk`]) on the
//! blocking pool every `health.disk_check_interval_ms`, never on a scrape.
//! The walk is bounded ([`DISK_WALK_ENTRIES_MAX`]): a directory that holds
//! more (it should not: the ledger and the personal store are a few sled
//! files, snapshots are kept a few at a time) is reported as far as counted
//! and logged.

use std::fmt::Write;
use std::path::Path;

/// Directory entries one reading visits at most.
pub const DISK_WALK_ENTRIES_MAX: u64 = 100_000;

/// The parts of the data directory reported on their own (the rest, such as
/// the safety record, counts as `other`).
pub const DISK_PARTS: [&str; 3] = ["ledger", "snapshots", "personal"];

/// One reading of the data directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Bytes of each of [`DISK_PARTS`], in that order, then `other`.
    pub used_bytes: [u64; DISK_PARTS.len() + 1],
    /// The size of the filesystem holding the data directory.
    pub total_bytes: Option<u64>,
    /// The walk stopped at [`DISK_WALK_ENTRIES_MAX`] entries.
    pub truncated: bool,
}

impl DiskUsage {
    /// Read `data_dir` (a missing part counts as 0 bytes).
    pub fn measure(data_dir: &Path) -> DiskUsage {
        let mut usage = DiskUsage {
            total_bytes: fs2::total_space(data_dir).ok(),
            ..DiskUsage::default()
        };
        let mut budget = DISK_WALK_ENTRIES_MAX;
        let top = std::fs::read_dir(data_dir).into_iter().flatten().flatten();
        for entry in top {
            if budget == 0 {
                usage.truncated = true;
                break;
            }
            budget -= 1;
            let name = entry.file_name();
            let part = DISK_PARTS
                .iter()
                .position(|p| name.to_str() == Some(p))
                .unwrap_or(DISK_PARTS.len());
            let (bytes, out_of_budget) = tree_bytes(&entry.path(), &mut budget);
            usage.truncated |= out_of_budget;
            if let Some(slot) = usage.used_bytes.get_mut(part) {
                *slot = slot.saturating_add(bytes);
            }
        }
        usage
    }

    /// The series in Prometheus' text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP kopnet_disk_used_bytes Bytes of the node's data directory, by part (ledger, snapshots, personal, other).\n# TYPE kopnet_disk_used_bytes gauge");
        let names = DISK_PARTS.iter().copied().chain(["other"]);
        for (what, bytes) in names.zip(self.used_bytes) {
            let _ = writeln!(out, "kopnet_disk_used_bytes{{what=\"{what}\"}} {bytes}");
        }
        if let Some(total) = self.total_bytes {
            let _ = writeln!(out, "# HELP kopnet_disk_total_bytes Size of the filesystem holding the node's data directory.\n# TYPE kopnet_disk_total_bytes gauge\nkopnet_disk_total_bytes {total}");
        }
    }
}

/// Bytes of the files under `path` (itself if a file; links not followed),
/// spending one unit of `budget` per entry; whether the budget ran out.
fn tree_bytes(path: &Path, budget: &mut u64) -> (u64, bool) {
    let mut bytes = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            bytes = bytes.saturating_add(meta.len());
        } else if meta.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                if *budget == 0 {
                    return (bytes, true);
                }
                *budget -= 1;
                stack.push(entry.path());
            }
        }
    }
    (bytes, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_summed_per_part_and_the_rest_is_other() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        std::fs::create_dir_all(data.join("ledger/blobs")).unwrap();
        std::fs::write(data.join("ledger/db"), vec![0u8; 1_000]).unwrap();
        std::fs::write(data.join("ledger/blobs/1"), vec![0u8; 24]).unwrap();
        std::fs::create_dir_all(data.join("snapshots/7")).unwrap();
        std::fs::write(data.join("snapshots/7/chunk-0"), vec![0u8; 300]).unwrap();
        std::fs::write(data.join("safety.bin"), vec![0u8; 5]).unwrap();
        let usage = DiskUsage::measure(data);
        assert_eq!(usage.used_bytes, [1_024, 300, 0, 5]);
        assert!(!usage.truncated);
        assert!(usage.total_bytes.is_some_and(|t| t > 0));
        let mut out = String::new();
        usage.render(&mut out);
        assert!(out.contains("kopnet_disk_used_bytes{what=\"ledger\"} 1024\n"));
        assert!(out.contains("kopnet_disk_used_bytes{what=\"other\"} 5\n"));
    }

    #[test]
    fn the_walk_stops_at_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ledger")).unwrap();
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("ledger/{i}")), [0u8; 10]).unwrap();
        }
        let mut budget = 3;
        let (bytes, out) = tree_bytes(&dir.path().join("ledger"), &mut budget);
        assert!(out);
        assert_eq!(budget, 0);
        assert!(bytes <= 30, "{bytes}");
    }
}
