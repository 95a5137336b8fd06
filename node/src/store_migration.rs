//! Migrating the ledger store at start, a copy first.
//!
//! When the store in `data/ledger` is of an older format this version
//! migrates ([`kopnet_ledger::migrate`]), the node, before it opens the
//! store for anything else:
//!
//! 1. copies the whole store directory to `data/ledger.format-<N>` (under a
//!    `.partial` name, every file synced, then renamed): the way back if the
//!    new version must be abandoned — stop the node, move `data/ledger`
//!    aside, rename the copy to `data/ledger`, start the old version;
//! 2. migrates the store in place, forward only (a crash part-way is
//!    continued at the next start: the migration keeps a cursor, and an
//!    existing copy is never overwritten, so it stays the untouched one);
//! 3. logs what it did, then starts as usual.
//!
//! A store too old or too new to migrate is refused with what to do.

use kopnet_ledger::migrate::{self, MigrationError, MigrationReport, Needed};
use kopnet_ledger::SledStorage;
use std::path::{Path, PathBuf};

/// Why the store could not be migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreMigrationError {
    #[error("{path}: {reason}")]
    Open { path: String, reason: String },
    #[error("cannot copy the store to {path} before migrating it: {reason}")]
    Copy { path: String, reason: String },
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

/// What the migration did: its report and where the copy is.
#[derive(Debug, Clone)]
pub struct Migrated {
    pub report: MigrationReport,
    pub copy: PathBuf,
}

/// The copy made before migrating a store of format `from`.
pub fn copy_path(ledger_dir: &Path, from: u64) -> PathBuf {
    let mut name = ledger_dir.as_os_str().to_owned();
    name.push(format!(".format-{from}"));
    PathBuf::from(name)
}

/// Migrate the store at `ledger_dir` if it is of an older format: `None`
/// when there was nothing to do (no store, or this version's format).
pub fn migrate_if_needed(
    ledger_dir: &Path,
    cache_bytes: u64,
) -> Result<Option<Migrated>, StoreMigrationError> {
    if !ledger_dir.exists() {
        return Ok(None);
    }
    let open = || {
        SledStorage::open(ledger_dir, cache_bytes).map_err(|e| StoreMigrationError::Open {
            path: ledger_dir.display().to_string(),
            reason: e.to_string(),
        })
    };
    let from = {
        let store = open()?;
        match migrate::needed(&store)? {
            Needed::Nothing => return Ok(None),
            Needed::Migrate { from } => from,
        }
        // The store is closed here: the copy is of files nobody writes.
    };
    let copy = copy_path(ledger_dir, from);
    if !copy.exists() {
        copy_store(ledger_dir, &copy).map_err(|e| StoreMigrationError::Copy {
            path: copy.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let store = open()?;
    let report = migrate::migrate(&store)?;
    Ok(Some(Migrated { report, copy }))
}

/// Copy the directory `from` (a sled store: files only, one level of
/// subdirectories at most) to `to`, durably: into `to.partial`, each file
/// synced, then renamed.
fn copy_store(from: &Path, to: &Path) -> std::io::Result<()> {
    let partial = {
        let mut name = to.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    };
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    copy_dir(from, &partial)?;
    std::fs::rename(&partial, to)?;
    if let Some(parent) = to.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            std::fs::File::open(&target)?.sync_all()?;
        }
    }
    std::fs::File::open(to)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::state::{IdempotencyRecord, Sequenced};
    use kopnet_ledger::storage::WriteBatch;
    use kopnet_ledger::{keys, Ledger, Storage};
    use kopnet_primitives::{codec, Hash, PublicKey};

    const CACHE: u64 = 8 * 1024 * 1024;

    fn format_of(dir: &Path) -> u64 {
        let store = SledStorage::open(dir, CACHE).unwrap();
        let bytes = store.get(keys::META_STORE_FORMAT).unwrap().unwrap();
        u64::from_be_bytes(bytes.try_into().unwrap())
    }

    #[test]
    fn a_format_8_store_is_copied_then_migrated_and_opens() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("ledger");
        let genesis = kopnet_ledger::testkit::demo_genesis("kopnet-test", 4, 1_000_000);
        let record = IdempotencyRecord {
            tx: Hash::digest("test", b"tx"),
            to: PublicKey([7; 32]),
            amount: 1_000,
            memo: "kopi".into(),
        };
        let key = keys::idempotency(100, &PublicKey([9; 32]), &[1; 16]);
        {
            let store = SledStorage::open(&dir, CACHE).unwrap();
            let ledger = Ledger::open(store.clone(), &genesis).unwrap();
            drop(ledger);
            // As format 8 wrote a record: bare.
            let mut batch = WriteBatch::default();
            batch.put(key.clone(), codec::encode(&record).unwrap());
            batch.put(
                keys::META_STORE_FORMAT.to_vec(),
                8u64.to_be_bytes().to_vec(),
            );
            store.commit(batch).unwrap();
        }
        assert!(migrate_if_needed(&home.path().join("absent"), CACHE)
            .unwrap()
            .is_none());

        let migrated = migrate_if_needed(&dir, CACHE).unwrap().unwrap();
        assert_eq!(
            (
                migrated.report.from,
                migrated.report.to,
                migrated.report.records
            ),
            (8, 13, 1)
        );
        assert_eq!(migrated.copy, home.path().join("ledger.format-8"));
        // The copy is the store as it was; the store is migrated.
        assert_eq!(format_of(&migrated.copy), 8);
        assert_eq!(format_of(&dir), 13);
        let store = SledStorage::open(&dir, CACHE).unwrap();
        let stored: Sequenced<IdempotencyRecord> =
            codec::decode(&store.get(&key).unwrap().unwrap()).unwrap();
        assert_eq!(stored.record, record);
        assert_eq!(stored.seq, None);
        assert!(Ledger::open(store, &genesis).is_ok());
        // A second start finds nothing to do.
        assert!(migrate_if_needed(&dir, CACHE).unwrap().is_none());
    }

    #[test]
    fn a_store_too_old_to_migrate_is_refused_saying_so() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("ledger");
        {
            let store = SledStorage::open(&dir, CACHE).unwrap();
            let mut batch = WriteBatch::default();
            batch.put(keys::META_GENESIS.to_vec(), vec![1; 32]);
            batch.put(
                keys::META_STORE_FORMAT.to_vec(),
                7u64.to_be_bytes().to_vec(),
            );
            store.commit(batch).unwrap();
        }
        let refused = migrate_if_needed(&dir, CACHE).unwrap_err();
        assert!(refused.to_string().contains("fresh home"), "{refused}");
        assert!(!copy_path(&dir, 7).exists());
        assert_eq!(format_of(&dir), 7, "nothing changed");
    }
}
