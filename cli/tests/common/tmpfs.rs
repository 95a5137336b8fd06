//! A size-limited tmpfs mounted for a test (root only), unmounted when the
//! guard drops — also when the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set (by `.ci/run`, where a probe mount works) to make a test that
/// cannot mount fail instead of skipping.
pub const REQUIRE_ENV: &str = "KOPNET_REQUIRE_TMPFS";

/// A mounted tmpfs; unmounted on drop.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mount a tmpfs of `bytes` at `dir` (created if missing), or say why
    /// it cannot be (not root, mounting not permitted here).
    pub fn mount(dir: &Path, bytes: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes},mode=0755")])
            .arg("tmpfs")
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs on {} failed ({}): {}",
                dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes still free on it.
    pub fn free_bytes(&self) -> u64 {
        kopnet_node::api::health::free_space(&self.dir)
            .expect("statvfs of the tmpfs")
            .free_bytes
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let done = Command::new("umount")
            .arg(&self.dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !done {
            // Still in use (a node left running by a failed test): detach
            // it now; the kernel frees it when the last file closes.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Whether a tmpfs can be mounted here: `Err` says why not. With
/// [`REQUIRE_ENV`] set, not being able to is a failure, not a skip.
pub fn available() -> Result<(), String> {
    let probe = tempfile::tempdir().map_err(|e| e.to_string())?;
    let result = Tmpfs::mount(&probe.path().join("probe"), 1024 * 1024).map(drop);
    if let Err(reason) = &result {
        assert!(
            std::env::var_os(REQUIRE_ENV).is_none(),
            "{REQUIRE_ENV} is set but a tmpfs cannot be mounted: {reason}"
        );
    }
    result
}
