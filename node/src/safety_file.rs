//! The consensus safety record on disk: written to a temporary file, fsynced,
//! renamed over the old one, and the directory fsynced, so after a crash the
//! file holds either the old or the new record, never a torn one.

use kopnet_consensus::{SafetyRecord, SafetyStore};
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
    #[error("safety record {0} is corrupt")]
    Corrupt(String),
}

impl SafetyFile {
    pub fn new(path: &Path) -> Self {
        SafetyFile {
            path: path.to_path_buf(),
            skip_fsync: false,
        }
    }

    pub fn load(&self) -> Result<Option<SafetyRecord>, SafetyFileError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => SafetyRecord::decode(&bytes)
                .map(Some)
                .map_err(|_| SafetyFileError::Corrupt(self.path.display().to_string())),
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
        let bytes = record
            .encode()
            .map_err(|_| SafetyFileError::Corrupt(self.path.display().to_string()))?;
        self.write(&bytes).map_err(|source| SafetyFileError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }
}
