//! The snapshots kept on disk: `data/snapshots/<height>/manifest.bin` and
//! `chunk-<n>.bin`, each snapshot written under `<height>.partial/` and
//! renamed into place once every file is durable, so a directory named by a
//! bare height is always complete.

use kopnet_ledger::snapshot::{self, Capture, Manifest, SnapshotError};
use kopnet_ledger::Storage;
use std::path::{Path, PathBuf};

const MANIFEST_FILE: &str = "manifest.bin";
const PARTIAL_SUFFIX: &str = ".partial";

/// Why the snapshot directory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotDirError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotDirError + '_ {
    move |source| SnapshotDirError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A node's snapshot directory.
#[derive(Debug, Clone)]
pub struct SnapshotDir {
    root: PathBuf,
}

/// A snapshot on disk.
#[derive(Debug, Clone)]
pub struct Listed {
    pub height: u64,
    pub manifest: Manifest,
}

fn chunk_file(index: usize) -> String {
    format!("chunk-{index:05}.bin")
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl SnapshotDir {
    /// The snapshot directory of the node whose data directory is `data`.
    pub fn of_data(data: &Path) -> SnapshotDir {
        SnapshotDir {
            root: data.join("snapshots"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn complete(&self, height: u64) -> PathBuf {
        self.root.join(height.to_string())
    }

    /// The complete snapshots, newest first. A directory that does not
    /// read as one (a manifest that does not decode) is skipped.
    pub fn list(&self) -> Vec<Listed> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut listed: Vec<Listed> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
            .filter_map(|height| {
                let bytes = self.manifest_bytes(height)?;
                let manifest = Manifest::decode(&bytes).ok()?;
                (manifest.height == height).then_some(Listed { height, manifest })
            })
            .collect();
        listed.sort_by_key(|l| std::cmp::Reverse(l.height));
        listed
    }

    /// The encoded manifest of the snapshot at `height`, if complete.
    pub fn manifest_bytes(&self, height: u64) -> Option<Vec<u8>> {
        std::fs::read(self.complete(height).join(MANIFEST_FILE)).ok()
    }

    /// Chunk `index` of the snapshot at `height`, if there is one.
    pub fn chunk(&self, height: u64, index: usize) -> Option<Vec<u8>> {
        std::fs::read(self.complete(height).join(chunk_file(index))).ok()
    }

    /// Start writing the snapshot at `height` (any earlier partial one of
    /// that height is thrown away).
    pub fn begin(&self, height: u64) -> Result<Partial, SnapshotDirError> {
        let dir = self.root.join(format!("{height}{PARTIAL_SUFFIX}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Partial {
            dir,
            complete: self.complete(height),
            chunks: 0,
        })
    }

    /// Write the snapshot of `capture` (records read from `store`), then
    /// keep only the newest `keep`.
    pub fn take<S: Storage>(
        &self,
        capture: &Capture,
        store: &S,
        keep: usize,
    ) -> Result<Manifest, SnapshotDirError> {
        let mut partial = self.begin(capture.height)?;
        let mut failed = None;
        let manifest = snapshot::export(capture, store, &mut |bytes| {
            partial.chunk(bytes).map_err(|e| {
                let text = e.to_string();
                failed = Some(e);
                SnapshotError::Encode(text)
            })
        });
        let manifest = match (manifest, failed) {
            (Ok(m), None) => m,
            (_, Some(e)) => {
                partial.abandon();
                return Err(e);
            }
            (Err(e), None) => {
                partial.abandon();
                return Err(e.into());
            }
        };
        partial.finish(&manifest)?;
        self.prune(keep);
        Ok(manifest)
    }

    /// Remove all but the newest `keep` complete snapshots, and partial
    /// ones left by a crash.
    pub fn prune(&self, keep: usize) {
        for old in self.list().into_iter().skip(keep) {
            let _ = std::fs::remove_dir_all(self.complete(old.height));
        }
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name();
                let stale = name.to_str().is_some_and(|n| n.ends_with(PARTIAL_SUFFIX));
                // Only partial directories older than the newest complete
                // one can be left over (one snapshot is written at a time).
                if stale {
                    let height: Option<u64> = name
                        .to_str()
                        .and_then(|n| n.strip_suffix(PARTIAL_SUFFIX))
                        .and_then(|n| n.parse().ok());
                    let newest = self.list().first().map(|l| l.height);
                    if matches!((height, newest), (Some(h), Some(n)) if h < n) {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
    }
}

/// A snapshot being written: chunks in order, then the manifest.
#[derive(Debug)]
pub struct Partial {
    dir: PathBuf,
    complete: PathBuf,
    chunks: usize,
}

impl Partial {
    /// Write the next chunk.
    pub fn chunk(&mut self, bytes: &[u8]) -> Result<(), SnapshotDirError> {
        let path = self.dir.join(chunk_file(self.chunks));
        write_durable(&path, bytes).map_err(io(&path))?;
        self.chunks += 1;
        Ok(())
    }

    /// Write the manifest and move the snapshot into place.
    pub fn finish(self, manifest: &Manifest) -> Result<(), SnapshotDirError> {
        if manifest.chunks.len() != self.chunks {
            return Err(SnapshotDirError::Snapshot(SnapshotError::Incomplete(
                format!(
                    "{} chunks written, the manifest lists {}",
                    self.chunks,
                    manifest.chunks.len()
                ),
            )));
        }
        let path = self.dir.join(MANIFEST_FILE);
        write_durable(&path, &manifest.encode()?).map_err(io(&path))?;
        sync_dir(&self.dir).map_err(io(&self.dir))?;
        if self.complete.exists() {
            std::fs::remove_dir_all(&self.complete).map_err(io(&self.complete))?;
        }
        std::fs::rename(&self.dir, &self.complete).map_err(io(&self.complete))?;
        if let Some(parent) = self.complete.parent() {
            sync_dir(parent).map_err(io(parent))?;
        }
        Ok(())
    }

    /// Throw the partial snapshot away.
    pub fn abandon(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
