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
