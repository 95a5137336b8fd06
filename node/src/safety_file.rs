//! The consensus safety record on disk: written to a temporary file, fsynced,
//! renamed over the old one, and the directory fsynced, so after a crash the
//! file holds either the old or the new record, never a torn one.
//!
//! The bytes carry a format version and a checksum
//! ([`kopnet_consensus::safety_format`]). A file that is truncated, has
//! flipped bytes or is not a safety record is refused with its path named
//! ([`SafetyFileError::Damaged`]); the node never replaces it by an empty
//! record on its own, since that would forget what the validator signed.
//! (A *missing* file is a first start only while the ledger is at genesis:
//! see `start.rs`.) Recovery is the operator's choice: restore the file
//! from a backup, or move it aside and start with `--new-safety-record`
//! (README, "Recovering a damaged node").

use kopnet_consensus::{SafetyDecodeError, SafetyRecord, SafetyStore};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct SafetyFile {
    path: PathBuf,
    /// Test networks can break this on purpose to show the runner catches it.
    pub skip_fsync: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SafetyFileError {
    #[error("safety record I/O on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the safety record {path} is damaged ({reason}); refusing to use or replace it: restore it \
         from a backup, or move it aside and start with --new-safety-record (README, \"Recovering a \
         damaged node\")"
    )]
    Damaged {
        path: String,
        reason: SafetyDecodeError,
    },
    #[error("cannot encode the safety record for {path}: {reason}")]
    Encode { path: String, reason: String },
}

impl SafetyFile {
    pub fn new(path: &Path) -> Self {
        SafetyFile {
            path: path.to_path_buf(),
            skip_fsync: false,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the record: `None` when the file does not exist; an error
    /// naming the file when it cannot be read or is damaged. Never writes.
    pub fn load(&self) -> Result<Option<SafetyRecord>, SafetyFileError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                SafetyRecord::decode(&bytes)
                    .map(Some)
                    .map_err(|reason| SafetyFileError::Damaged {
                        path: self.path.display().to_string(),
                        reason,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SafetyFileError::Io {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }

    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if !self.skip_fsync {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if !self.skip_fsync {
            if let Some(dir) = self.path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
        }
        Ok(())
    }
}

impl SafetyStore for SafetyFile {
    type Error = SafetyFileError;

    fn persist(&mut self, record: &SafetyRecord) -> Result<(), SafetyFileError> {
        let bytes = record.encode().map_err(|e| SafetyFileError::Encode {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.write(&bytes).map_err(|source| SafetyFileError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_consensus::{SignPosition, SignStep};

    fn written(dir: &Path) -> (SafetyFile, SafetyRecord) {
        let mut file = SafetyFile::new(&dir.join("safety.bin"));
        let mut record = SafetyRecord::default();
        let position = SignPosition {
            height: 9,
            round: 0,
            step: SignStep::Prevote,
        };
        record.record(position, None);
        file.persist(&record).unwrap();
        (file, record)
    }

    #[test]
    fn a_written_record_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let (file, record) = written(dir.path());
        assert_eq!(file.load().unwrap(), Some(record));
        let missing = SafetyFile::new(&dir.path().join("other.bin"));
        assert_eq!(missing.load().unwrap(), None);
    }

    /// Truncated, flipped and emptied files are refused, naming the file
    /// and what is wrong, and the file is left as it was.
    #[test]
    fn a_damaged_record_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (file, _) = written(dir.path());
        let good = std::fs::read(file.path()).unwrap();
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        let cases: [(&[u8], &str); 3] = [
            (&good[..good.len() - 5], "truncated"),
            (&flipped, "checksum mismatch"),
            (&[], "empty"),
        ];
        for (bytes, why) in cases {
            std::fs::write(file.path(), bytes).unwrap();
            let refused = file.load().unwrap_err();
            let shown = refused.to_string();
            assert!(
                matches!(refused, SafetyFileError::Damaged { .. }),
                "{shown}"
            );
            assert!(
                shown.contains(&file.path().display().to_string()),
                "{shown}"
            );
            assert!(shown.contains(why), "{why:?} not in {shown}");
            assert!(shown.contains("--new-safety-record"), "{shown}");
            assert_eq!(std::fs::read(file.path()).unwrap(), bytes);
        }
    }
}
