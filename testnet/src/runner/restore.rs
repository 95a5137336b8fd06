//! The `restore` perturbation: back a running node up with `kopnet node
//! backup`, crash it, destroy its home (moved aside as `HOME.destroyed-N`
//! for a post-mortem, never used again), restore it with `kopnet node
//! restore` and start it with `--new-safety-record` (a backup never holds
//! the safety record; the double-sign check keeps the restored validator
//! from signing until it is safe). The run's usual checks then show it
//! caught up and that nobody holds evidence against it.

use super::backend::BackendError;
use kopnet_node::backup::format::{Kind, Reader};
use kopnet_node::backup::Header;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What one restore did, for the run's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The height the backup holds the chain to.
    pub backup_height: u64,
    pub backup_bytes: u64,
    pub backup_ms: u64,
    pub restore_ms: u64,
}

/// The flag a restored node starts with.
pub const RESTORED_START_FLAG: &str = "--new-safety-record";

/// Where the `n`-th restore of the node at `home` keeps its backup, and
/// where its destroyed home goes.
pub fn paths(home: &Path, n: u32) -> (PathBuf, PathBuf) {
    let with = |suffix: String| {
        let mut name = home.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    (
        with(format!(".backup-{n}")),
        with(format!(".destroyed-{n}")),
    )
}

fn action(node: &str, what: &'static str, reason: impl Into<String>) -> BackendError {
    BackendError::Action {
        node: node.to_string(),
        action: what,
        reason: reason.into(),
    }
}

/// Run `launcher… exe args…` to the end, off the async runtime; its output
/// on failure.
async fn run(
    node: &str,
    what: &'static str,
    launcher: &[String],
    exe: &Path,
    args: Vec<String>,
) -> Result<(), BackendError> {
    let mut command = match launcher.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    command.args(&args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .map_err(|e| action(node, what, e.to_string()))?
        .map_err(|e| action(node, what, e.to_string()))?;
    if !output.status.success() {
        return Err(action(
            node,
            what,
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ));
    }
    Ok(())
}

/// `kopnet node backup` of the running node at `home` into `out`
/// (through `launcher`, so it reaches the node's API from the node's own
/// network namespace); the backup's header and size.
pub async fn back_up(
    node: &str,
    launcher: &[String],
    exe: &Path,
    home: &Path,
    out: &Path,
) -> Result<(Header, u64, u64), BackendError> {
    back_up_with(node, launcher, exe, home, out, None).await
}

async fn back_up_with(
    node: &str,
    launcher: &[String],
    exe: &Path,
    home: &Path,
    out: &Path,
    api: Option<&str>,
) -> Result<(Header, u64, u64), BackendError> {
    let started = Instant::now();
    let mut args = vec![
        "node".to_string(),
        "backup".into(),
        "--home".into(),
        home.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    if let Some(api) = api {
        args.extend(["--node".to_string(), api.to_string()]);
    }
    run(node, "back up", launcher, exe, args).await?;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let file =
        std::fs::File::open(out).map_err(|e| action(node, "read the backup", e.to_string()))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = Reader::new(std::io::BufReader::new(file))
        .map_err(|e| action(node, "read the backup", e.to_string()))?;
    let header = match reader.next_section() {
        Ok(Some(section)) if section.kind == Kind::Header => {
            serde_json::from_slice::<Header>(&section.payload)
                .map_err(|e| action(node, "read the backup", e.to_string()))?
        }
        other => {
            return Err(action(
                node,
                "read the backup",
                format!("no header: {other:?}"),
            ))
        }
    };
    Ok((header, bytes, ms))
}

/// `kopnet node backup` of the running node at `home`, read over its API
/// at `api` (a container's address, from the host); as [`back_up`].
pub async fn back_up_at(
    node: &str,
    exe: &Path,
    home: &Path,
    out: &Path,
    api: &str,
) -> Result<(Header, u64, u64), BackendError> {
    back_up_with(node, &[], exe, home, out, Some(api)).await
}

/// Move the (stopped) node's home aside, then `kopnet node restore` the
/// backup into its place; milliseconds taken by the restore.
pub async fn destroy_and_restore(
    node: &str,
    exe: &Path,
    home: &Path,
    backup: &Path,
    destroyed: &Path,
) -> Result<u64, BackendError> {
    std::fs::rename(home, destroyed)
        .map_err(|e| action(node, "destroy its home", e.to_string()))?;
    let started = Instant::now();
    let args = vec![
        "node".to_string(),
        "restore".into(),
        "--from".into(),
        backup.display().to_string(),
        "--home".into(),
        home.display().to_string(),
    ];
    run(node, "restore", &[], exe, args).await?;
    Ok(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX))
}
