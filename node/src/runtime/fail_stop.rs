//! # Fail-stop: a node that cannot go on stops, says why once, and exits
//!
//! Like TigerBeetle (which panics when an fsync fails) and CometBFT (which
//! refuses to start on a corrupt WAL), a kopnet node never runs on with
//! memory that may disagree with its disk. When the host returns a
//! [`HostError`] — a write, flush or fsync of the ledger store or of the
//! safety record failed (a full disk, a failing device), a decided block
//! could not be committed, the double-sign check found another instance of
//! this key — the runtime stops: no more votes, commits or API requests.
//! `kopnet node run` then writes **one** log line, the last, naming what
//! failed ([`FailStop`]'s text), and exits with a code the process
//! supervisor can act on:
//!
//! | exit code | meaning |
//! |---|---|
//! | 0 | stopped on SIGINT/SIGTERM |
//! | 1 | refused to start (config, key, genesis, store that cannot be opened, safety record lost) |
//! | [`EXIT_STORAGE_FAILED`] (74, `EX_IOERR`) | a read or write of the ledger store or the safety record failed |
//! | [`EXIT_CANNOT_GO_ON`] (70, `EX_SOFTWARE`) | the node cannot go on for another reason (see the line) |
//! | [`EXIT_UPGRADE_REQUIRED`] (75, `EX_TEMPFAIL`) | the chain upgrades to a protocol version this build does not speak: install the version the line names (at start too) |
//!
//! Restarting is safe: the ledger's block batch is atomic and durable
//! before the next height starts, and the safety record is replaced
//! atomically (write, fsync, rename, fsync the directory), so the node
//! resumes from what is durable — at worst one block behind, which it
//! catches up from its peers — and never signs anything that conflicts
//! with what it signed before.

use crate::host::HostError;

/// Exit code of a node whose storage failed (`EX_IOERR` of sysexits.h).
pub const EXIT_STORAGE_FAILED: i32 = 74;
/// Exit code of a node that cannot go on for another reason
/// (`EX_SOFTWARE` of sysexits.h).
pub const EXIT_CANNOT_GO_ON: i32 = 70;
/// Exit code of a node that stopped for a scheduled upgrade it cannot
/// follow (`EX_TEMPFAIL`: start it again on the new build).
pub const EXIT_UPGRADE_REQUIRED: i32 = 75;

/// Why a running node stopped on its own.
#[derive(Debug)]
pub struct FailStop {
    error: HostError,
}

impl FailStop {
    pub fn new(error: HostError) -> Self {
        FailStop { error }
    }

    /// What the host reported.
    pub fn error(&self) -> &HostError {
        &self.error
    }

    /// Whether the node's storage failed (rather than the chain or the
    /// engine).
    pub fn storage_failed(&self) -> bool {
        self.error.is_storage_failure()
    }

    /// The process's exit code (see the module docs).
    pub fn exit_code(&self) -> i32 {
        if self.storage_failed() {
            EXIT_STORAGE_FAILED
        } else if matches!(self.error, HostError::UpgradeRequired(_)) {
            EXIT_UPGRADE_REQUIRED
        } else {
            EXIT_CANNOT_GO_ON
        }
    }
}

impl std::fmt::Display for FailStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.exit_code();
        if let HostError::UpgradeRequired(required) = &self.error {
            return write!(
                f,
                "stopped for a scheduled upgrade: {required} (exit code {code})"
            );
        }
        if self.storage_failed() {
            write!(
                f,
                "fail-stop: the node's storage failed, so it stopped rather than run on with memory \
                 and disk disagreeing: {}. Free space on (or repair) the data directory's disk and \
                 start the node again: it resumes from what is on disk (exit code {code})",
                self.error
            )
        } else {
            write!(
                f,
                "fail-stop: the node cannot go on: {} (exit code {code})",
                self.error
            )
        }
    }
}

impl std::error::Error for FailStop {}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::storage::StorageError;

    #[test]
    fn a_failed_write_exits_74_and_names_what_failed() {
        let store = FailStop::new(HostError::Store {
            height: 9,
            source: StorageError::Io("No space left on device (os error 28)".into()),
        });
        assert_eq!(store.exit_code(), EXIT_STORAGE_FAILED);
        let line = store.to_string();
        for needle in [
            "fail-stop",
            "block 9",
            "ledger store",
            "No space left on device",
            "exit code 74",
        ] {
            assert!(line.contains(needle), "{needle:?} missing: {line}");
        }
        assert!(!line.contains('\n'), "one line: {line}");
        let safety = FailStop::new(HostError::Persist(
            "safety record I/O on /x/data/safety.bin: No space left on device".into(),
        ));
        assert_eq!(safety.exit_code(), EXIT_STORAGE_FAILED);
        assert!(safety.to_string().contains("safety.bin"), "{safety}");
    }

    #[test]
    fn other_reasons_exit_70() {
        let stop = FailStop::new(HostError::Commit {
            height: 3,
            reason: "decided value does not decode".into(),
        });
        assert_eq!(stop.exit_code(), EXIT_CANNOT_GO_ON);
        assert!(stop.to_string().contains("cannot commit block 3"), "{stop}");
    }
}
