//! The process backend: each node is a `kopnet node run` child process on
//! 127.0.0.1 (ports from `cluster::layout`). Pause is SIGSTOP/SIGCONT;
//! disconnect uses the node's admin endpoint (`admin_api = true` in the
//! test layout), because per-node network namespaces would need root and
//! a different address plan. The report says which method ran.

use super::backend::{Backend, BackendError, DisconnectMethod};
use crate::cluster::layout::Layout;
use crate::cluster::process::NodeProcess;
use std::path::PathBuf;
use std::time::Duration;

/// Largest node log read back for the checks (the tail is what matters).
pub const LOG_READ_MAX: u64 = 64 * 1024 * 1024;
/// How long a clean stop may take before it becomes a kill.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Slot {
    id: String,
    home: PathBuf,
    api_url: String,
    process: Option<NodeProcess>,
}

#[derive(Debug)]
pub struct ProcessBackend {
    exe: PathBuf,
    env: Vec<Vec<(String, String)>>,
    slots: Vec<Slot>,
    http: reqwest::Client,
}

impl ProcessBackend {
    /// `exe` is the `kopnet` binary; `env[i]` extra environment for node i
    /// (how a deliberately broken node gets `KOPNET_FAULT`).
    pub fn new(exe: PathBuf, layout: &Layout, env: Vec<Vec<(String, String)>>) -> ProcessBackend {
        let slots = layout
            .nodes
            .iter()
            .map(|n| Slot {
                id: n.id.clone(),
                home: n.home.clone(),
                api_url: n.api_url.clone(),
                process: None,
            })
            .collect();
        ProcessBackend {
            exe,
            env,
            slots,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    fn slot(&mut self, node: usize) -> Result<&mut Slot, BackendError> {
        self.slots
            .get_mut(node)
            .ok_or(BackendError::NoSuchNode(node))
    }

    fn signal(
        &mut self,
        node: usize,
        signal: &str,
        action: &'static str,
    ) -> Result<(), BackendError> {
        let slot = self.slot(node)?;
        match &slot.process {
            Some(process) => {
                process.signal(signal);
                Ok(())
            }
            None => Err(BackendError::Action {
                node: slot.id.clone(),
                action,
                reason: "not running".into(),
            }),
        }
    }

    async fn isolate(&mut self, node: usize, isolated: bool) -> Result<(), BackendError> {
        let action = if isolated { "disconnect" } else { "reconnect" };
        let slot = self.slot(node)?;
        let url = format!("{}/v1/admin/isolate", slot.api_url);
        let id = slot.id.clone();
        let failed = |reason: String| BackendError::Action {
            node: id.clone(),
            action,
            reason,
        };
        let response = self
            .http
            .post(&url)
            .json(&serde_json::json!({ "isolated": isolated }))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("{url} answered {}", response.status())));
        }
        Ok(())
    }
}

impl Backend for ProcessBackend {
    fn name(&self) -> &'static str {
        "process"
    }

    fn disconnect_method(&self) -> DisconnectMethod {
        DisconnectMethod::AdminEndpoint
    }

    async fn start(&mut self, node: usize) -> Result<(), BackendError> {
        let exe = self.exe.clone();
        let env = self.env.get(node).cloned().unwrap_or_default();
        let slot = self.slot(node)?;
        if slot.process.as_mut().is_some_and(NodeProcess::running) {
            return Ok(());
        }
        let process = NodeProcess::start_with(&exe, &slot.id, &slot.home, &env).map_err(|e| {
            BackendError::Action {
                node: slot.id.clone(),
                action: "start",
                reason: format!("{e:#}"),
            }
        })?;
        slot.process = Some(process);
        Ok(())
    }

    async fn kill(&mut self, node: usize) -> Result<(), BackendError> {
        let slot = self.slot(node)?;
        // Dropping a NodeProcess SIGKILLs it and reaps it.
        slot.process = None;
        Ok(())
    }

    async fn terminate(&mut self, node: usize) -> Result<(), BackendError> {
        let slot = self.slot(node)?;
        if let Some(process) = slot.process.take() {
            stop_off_runtime(process).await;
        }
        Ok(())
    }

    async fn pause(&mut self, node: usize) -> Result<(), BackendError> {
        self.signal(node, "-STOP", "pause")
    }

    async fn resume(&mut self, node: usize) -> Result<(), BackendError> {
        self.signal(node, "-CONT", "resume")
    }

    async fn disconnect(&mut self, node: usize) -> Result<(), BackendError> {
        self.isolate(node, true).await
    }

    async fn reconnect(&mut self, node: usize) -> Result<(), BackendError> {
        self.isolate(node, false).await
    }

    fn running(&mut self, node: usize) -> bool {
        self.slots
            .get_mut(node)
            .and_then(|s| s.process.as_mut())
            .is_some_and(NodeProcess::running)
    }

    fn log(&self, node: usize) -> Result<String, BackendError> {
        let slot = self.slots.get(node).ok_or(BackendError::NoSuchNode(node))?;
        let path = slot.home.join("node.log");
        let read = || -> std::io::Result<String> {
            use std::io::{Read, Seek, SeekFrom};
            let mut file = std::fs::File::open(&path)?;
            let len = file.metadata()?.len();
            file.seek(SeekFrom::Start(len.saturating_sub(LOG_READ_MAX)))?;
            let mut bytes = Vec::new();
            file.take(LOG_READ_MAX).read_to_end(&mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        read().map_err(|e| BackendError::Action {
            node: slot.id.clone(),
            action: "read log",
            reason: format!("{}: {e}", path.display()),
        })
    }

    async fn stop_all(&mut self) {
        for slot in &mut self.slots {
            if let Some(process) = slot.process.take() {
                // A paused process cannot handle SIGTERM until continued.
                process.signal("-CONT");
                stop_off_runtime(process).await;
            }
        }
    }
}

/// SIGTERM and wait (up to [`STOP_GRACE`], then SIGKILL) on the blocking
/// pool, so the async runtime keeps serving the load meanwhile.
async fn stop_off_runtime(mut process: NodeProcess) {
    // If the blocking task cannot run, dropping the process kills it.
    let _ = tokio::task::spawn_blocking(move || process.stop(STOP_GRACE)).await;
}
