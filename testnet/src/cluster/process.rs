//! Child node processes: started as `kopnet node run --home H`, logs in
//! `H/node.log`, each in its own process group (so the terminal's Ctrl-C goes
//! to the supervisor only), stopped with SIGTERM (then SIGKILL after a grace
//! period).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a node process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum NodeProcessError {
    #[error("cannot find the kopnet binary: {0}")]
    NoBinary(std::io::Error),
    #[error("cannot open the log of node {node} in {}: {error}", .home.display())]
    Log {
        node: String,
        home: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot start node {node} ({}): {error}", .exe.display())]
    Spawn {
        node: String,
        exe: PathBuf,
        error: std::io::Error,
    },
}

/// One running `kopnet node run` child; killed when dropped.
#[derive(Debug)]
pub struct NodeProcess {
    pub id: String,
    pub home: PathBuf,
    child: Option<Child>,
}

impl NodeProcess {
    /// Start `kopnet node run` from the running `kopnet` binary itself.
    pub fn start(id: &str, home: &Path) -> Result<NodeProcess, NodeProcessError> {
        let exe = std::env::current_exe().map_err(NodeProcessError::NoBinary)?;
        NodeProcess::start_with(&exe, id, home, &[])
    }

    /// Start `exe node run --home home` with extra environment variables
    /// (the fault-injection runner passes `KOPNET_FAULT` this way).
    pub fn start_with(
        exe: &Path,
        id: &str,
        home: &Path,
        env: &[(String, String)],
    ) -> Result<NodeProcess, NodeProcessError> {
        NodeProcess::start_under(&[], exe, id, home, env, &[])
    }

    /// [`Self::start_with`] through a launcher that execs its arguments
    /// without forking (e.g. `ip netns exec NS`), so the child's pid is the
    /// node's and signals reach the node itself. An empty `launcher` starts
    /// `exe` directly. `flags` follow `node run --home HOME`.
    pub fn start_under(
        launcher: &[String],
        exe: &Path,
        id: &str,
        home: &Path,
        env: &[(String, String)],
        flags: &[String],
    ) -> Result<NodeProcess, NodeProcessError> {
        let log_error = |error| NodeProcessError::Log {
            node: id.to_string(),
            home: home.to_path_buf(),
            error,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.join("node.log"))
            .map_err(log_error)?;
        let err = log.try_clone().map_err(log_error)?;
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let child = command
            .args(["node", "run", "--home"])
            .arg(home)
            .args(flags)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own process group: a Ctrl-C in the terminal reaches only
            // the supervising `kopnet`, which then stops its nodes in order
            // (and still reads their state for the summary).
            .process_group(0)
            .spawn()
            .map_err(|error| NodeProcessError::Spawn {
                node: id.to_string(),
                exe: exe.to_path_buf(),
                error,
            })?;
        Ok(NodeProcess {
            id: id.to_string(),
            home: home.to_path_buf(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The last `lines` lines of the node's log (`home/node.log`), for an
    /// error that should say why a node stopped without sending anyone to
    /// a folder that a test's clean-up may already have removed. Reads at
    /// most the last 64 KiB; an unreadable log gives a note saying so.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.home.join("node.log"), lines)
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Send a signal by name (`-STOP`, `-CONT`, `-KILL`, `-TERM`).
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([signal, &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns whether it exited cleanly.
    pub fn stop(&mut self, grace: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        self.child = Some(match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            _ => child,
        });
        self.signal("-TERM");
        let deadline = Instant::now() + grace;
        let Some(mut child) = self.child.take() else {
            return true;
        };
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Bytes read from the end of a log by [`log_tail`].
const LOG_TAIL_BYTES_MAX: u64 = 64 * 1024;

/// The last `lines` lines of the file at `path` (see
/// [`NodeProcess::log_tail`]).
pub fn log_tail(path: &Path, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let read = || -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES_MAX)))?;
        let mut bytes = Vec::new();
        file.take(LOG_TAIL_BYTES_MAX).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_is_the_last_lines_or_says_why_it_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        assert_eq!(log_tail(&path, 3), "line 28\nline 29\nline 30");
        assert_eq!(log_tail(&path, 100).lines().count(), 30);
        let missing = log_tail(&dir.path().join("gone.log"), 3);
        assert!(missing.starts_with("(cannot read "), "{missing}");
    }
}
