//! `kopnet node check --home DIR`: the whole store and the safety record of
//! a stopped node, without writing to either.
//!
//! The store is copied (under a shared lock on sled's main file, which a
//! running node holds exclusively) into a temporary directory, and the copy
//! is opened: opening a sled directory may write to it (recovery), so the
//! node's own files are only ever read. The copy needs as much free space
//! as the store takes; it is removed at the end.

use super::full::{check_store, StoreReport};
use super::startup::{store_exists, StartFacts};
use super::{Damage, Problem};
use crate::config::{NodeConfig, Role};
use crate::genesis_file::NetworkGenesis;
use crate::safety_file::{SafetyFile, SafetyFileError};
use crate::NodeHome;
use fs2::FileExt;
use kopnet_ledger::SledStorage;
use std::path::{Path, PathBuf};

/// The sled page cache of the copy being checked.
const CHECK_CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// Deepest directory nesting copied (sled's layout is two levels).
const COPY_DEPTH_MAX: usize = 8;

/// What the safety record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SafetyState {
    /// Read and sound; the height it was last signed at.
    Sound { height: u64 },
    /// No file, and none is needed: an observer, or a ledger at genesis.
    Absent,
}

/// Why the safety record is not sound.
#[derive(Debug, thiserror::Error)]
pub enum SafetyProblem {
    #[error(transparent)]
    Damaged(#[from] SafetyFileError),
    #[error(
        "the safety record {path} is missing, but this validator's ledger is at height {height} \
         (start with --new-safety-record: README, \"Safety record and double signing\")"
    )]
    Lost { path: String, height: u64 },
}

/// Both parts of a home's check; each is sound or says what is wrong.
#[derive(Debug)]
pub struct HomeReport {
    pub store: Result<StoreReport, Damage>,
    pub safety: Result<SafetyState, SafetyProblem>,
}

impl HomeReport {
    pub fn sound(&self) -> bool {
        self.store.is_ok() && self.safety.is_ok()
    }
}

/// Why a home could not be checked at all (nothing was found wrong).
#[derive(Debug, thiserror::Error)]
pub enum HomeCheckError {
    #[error("{0}")]
    Setup(String),
    #[error("no ledger store at {path}: nothing to check")]
    NoStore { path: String },
    #[error("the ledger store {path} is in use (is the node running?): stop the node first")]
    Locked { path: String },
    #[error("cannot copy the ledger store {path} to check it: {reason}")]
    Copy { path: String, reason: String },
    #[error("cannot write to the ledger store {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Check the store and the safety record of `home`. `progress` hears
/// `(height, tip)` as the blocks are checked.
pub fn check_home(
    home: &NodeHome,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<HomeReport, HomeCheckError> {
    let config =
        NodeConfig::load(&home.config()).map_err(|e| HomeCheckError::Setup(e.to_string()))?;
    let genesis =
        NetworkGenesis::load(&home.genesis()).map_err(|e| HomeCheckError::Setup(e.to_string()))?;
    let path = home.ledger();
    if !store_exists(&path) {
        return Err(HomeCheckError::NoStore {
            path: path.display().to_string(),
        });
    }
    let safety_file = SafetyFile::new(&home.safety());
    let record = safety_file.load();
    let record_height = match &record {
        Ok(Some(record)) => Some(record.height),
        // A damaged record is reported on its own; without its height the
        // store is checked as if there were none.
        Ok(None) | Err(_) => None,
    };
    let facts = StartFacts {
        existed: true,
        record_height,
    };
    let copy = copy_store(&path)?;
    let store = match SledStorage::open(&copy.path().join("ledger"), CHECK_CACHE_BYTES) {
        Ok(store) => Ok(store),
        Err(e) => Err(Damage {
            path: path.display().to_string(),
            height: None,
            problem: Problem::Unopenable(e.to_string()),
        }),
    };
    let report =
        store.and_then(|store| check_store(&store, &genesis.ledger, &path, facts, progress));
    let safety = match record {
        Err(e) => Err(SafetyProblem::Damaged(e)),
        Ok(Some(record)) => Ok(SafetyState::Sound {
            height: record.height,
        }),
        Ok(None) => match &report {
            Ok(store) if store.height > 0 && config.role == Role::Validator => {
                Err(SafetyProblem::Lost {
                    path: home.safety().display().to_string(),
                    height: store.height,
                })
            }
            _ => Ok(SafetyState::Absent),
        },
    };
    Ok(HomeReport {
        store: report,
        safety,
    })
}

/// A copy of the sled directory `path`, taken while holding a shared lock
/// on its main file.
fn copy_store(path: &Path) -> Result<tempfile::TempDir, HomeCheckError> {
    let shown = path.display().to_string();
    let fail = |reason: String| HomeCheckError::Copy {
        path: shown.clone(),
        reason,
    };
    let main = std::fs::File::open(path.join("db")).map_err(|e| fail(e.to_string()))?;
    // fs2's flock, the lock sled takes (not std's inherent method, newer
    // than the workspace's rust-version).
    if FileExt::try_lock_shared(&main).is_err() {
        return Err(HomeCheckError::Locked {
            path: shown.clone(),
        });
    }
    let dir = tempfile::Builder::new()
        .prefix("kopnet-check-")
        .tempdir()
        .map_err(|e| fail(format!("no temporary directory: {e}")))?;
    copy_dir(path, &dir.path().join("ledger"), 0).map_err(fail)?;
    // Dropping `main` releases the lock.
    Ok(dir)
}

fn copy_dir(from: &Path, to: &Path, depth: usize) -> Result<(), String> {
    if depth > COPY_DEPTH_MAX {
        return Err(format!("{} is nested too deep", from.display()));
    }
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let source: PathBuf = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", source.display()))?;
        if kind.is_dir() {
            copy_dir(&source, &target, depth.saturating_add(1))?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target).map_err(|e| format!("{}: {e}", source.display()))?;
        }
    }
    Ok(())
}
