//! Writing the snapshots the host captures, off the consensus loop: one at
//! a time on a blocking thread; a capture that arrives while one is being
//! written is dropped and logged (the next interval takes its place).

use super::dir::SnapshotDir;
use kopnet_ledger::snapshot::Capture;
use kopnet_ledger::Storage;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Takes snapshots for the node's shell.
#[derive(Debug, Clone)]
pub struct SnapshotTaker<S> {
    dir: SnapshotDir,
    keep: usize,
    store: S,
    busy: Arc<AtomicBool>,
    /// Height of the newest snapshot written (0: none yet).
    pub newest: Arc<AtomicU64>,
}

impl<S: Storage + Clone + 'static> SnapshotTaker<S> {
    pub fn new(dir: SnapshotDir, keep: usize, store: S) -> Self {
        let newest = dir.list().first().map_or(0, |l| l.height);
        dir.prune(keep);
        SnapshotTaker {
            dir,
            keep,
            store,
            busy: Arc::new(AtomicBool::new(false)),
            newest: Arc::new(AtomicU64::new(newest)),
        }
    }

    /// Write the snapshot of `capture` on a blocking thread (unless one is
    /// being written).
    pub fn take(&self, capture: Box<Capture>) {
        if self.busy.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                height = capture.height,
                "a snapshot is still being written; this one is skipped"
            );
            return;
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match this.dir.take(&capture, &this.store, this.keep) {
                Ok(manifest) => {
                    this.newest.store(manifest.height, Ordering::Relaxed);
                    tracing::info!(
                        height = manifest.height,
                        chunks = manifest.chunks.len(),
                        bytes = manifest.total_bytes(),
                        ms = started.elapsed().as_millis() as u64,
                        "snapshot taken"
                    );
                }
                Err(error) => {
                    tracing::warn!(height = capture.height, %error, "snapshot not taken");
                }
            }
            this.busy.store(false, Ordering::Release);
        });
    }
}
