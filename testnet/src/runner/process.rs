//! The process backend: each node is a `kopnet node run` child process.
//! kill = SIGKILL and start, restart = SIGTERM (SIGKILL after
//! [`STOP_GRACE`]) and start, pause = SIGSTOP/SIGCONT.
//!
//! How `disconnect` works is settled once, by [`ProcessBackend::prepare`]
//! (manifest `disconnect = "auto" | "namespace" | "admin"`, CLI
//! `--disconnect`); the report's `disconnect_method` says which ran and
//! `disconnect_detail` why:
//!
//! - `network-namespace`, chosen by `auto` where it can be used (the
//!   process runs as root and `ip netns add` works, tried with a throwaway
//!   namespace): every node runs in a namespace of its own, joined by a
//!   per-run bridge ([`super::netns`]: the bridge sits in a switch
//!   namespace of its own, out of reach of the host's firewall), started as
//!   `ip netns exec NS kopnet node run --home H`. `ip netns exec` execs the
//!   node without forking, so the pid held is the node's and
//!   SIGKILL/SIGSTOP/SIGTERM reach it. The layout is rewritten by
//!   [`relayout`] so nodes listen, dial and serve their API at
//!   `10.214.<t>.<10 + i>`; the load and the checks reach the APIs through
//!   the run's uplink (`10.214.<t>.1` in the root namespace) and the
//!   bridge. disconnect = the node's port on the bridge (the bridge end of
//!   its veth) down, reconnect = up: the node is cut off from every peer
//!   *and* from the runner, like a pulled cable, without its cooperation
//!   (the runner copes with an unreachable API as with a paused node).
//!   Namespaces, veths and bridge are removed by `stop_all` and, on every
//!   other path, when the backend is dropped (nodes first: a live process
//!   would keep its namespace).
//! - `admin-endpoint`, where namespaces cannot be made (or forced with
//!   `admin`): nodes on 127.0.0.1 as laid out, disconnect =
//!   `POST /v1/admin/isolate {"isolated": true}` on the node
//!   (`admin_api = true` in the test layout, with the token from the
//!   node's `admin.token`): it drops every peer
//!   connection and refuses new ones while its API stays reachable. This
//!   relies on the node's own code to cut itself off.

use super::addressing::{relayout, Bind, LayoutError};
use super::backend::{Backend, BackendError, DisconnectMethod};
use super::manifest::DisconnectChoice;
use super::netns::{probe, Netns, NetnsError};
use crate::cluster::layout::Layout;
use crate::cluster::process::NodeProcess;
use std::path::{Path, PathBuf};
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
    /// `node run` flags for the next start only (a restored validator's
    /// `--new-safety-record`).
    next_flags: Vec<String>,
    /// Restores done so far (names the backup and the destroyed home).
    restores: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("network namespaces were asked for (disconnect = namespace) but cannot be used: {0}")]
    Namespaces(NetnsError),
    #[error("cannot move the layout into the namespaces: {0}")]
    Layout(#[from] LayoutError),
}

#[derive(Debug)]
pub struct ProcessBackend {
    exe: PathBuf,
    env: Vec<Vec<(String, String)>>,
    slots: Vec<Slot>,
    http: reqwest::Client,
    method: DisconnectMethod,
    /// Why `method` was chosen (for the report).
    reason: String,
    /// Declared after `slots`, so on drop every node is killed before its
    /// namespace is removed (a live process would keep it alive).
    netns: Option<Netns>,
}

impl ProcessBackend {
    /// Set up the backend for `layout` (laid out in `dir`) with the
    /// disconnect method `choice` asks for; returns the layout the runner
    /// must use (moved into the namespaces, or `layout` itself). `exe` is
    /// the `kopnet` binary; `env[i]` extra environment for node i (how a
    /// deliberately broken node gets `KOPNET_FAULT`).
    pub fn prepare(
        exe: PathBuf,
        layout: &Layout,
        dir: &Path,
        env: Vec<Vec<(String, String)>>,
        choice: DisconnectChoice,
    ) -> Result<(ProcessBackend, Layout), SetupError> {
        let namespaces = match choice {
            DisconnectChoice::Admin => Err("chosen (disconnect = admin)".to_string()),
            DisconnectChoice::Auto | DisconnectChoice::Namespace => {
                match probe().and_then(|()| Netns::create(layout.nodes.len())) {
                    Ok(net) => Ok(net),
                    Err(e) if choice == DisconnectChoice::Namespace => {
                        return Err(SetupError::Namespaces(e))
                    }
                    Err(e) => Err(format!("network namespaces unavailable: {e}")),
                }
            }
        };
        match namespaces {
            Ok(net) => {
                // On an error `net` is dropped, which removes it again.
                let moved = relayout(layout, dir, net.plan(), Bind::PlanAddress)?;
                let mut backend = ProcessBackend::new(exe, &moved, env);
                backend.method = DisconnectMethod::NetworkNamespace;
                backend.reason = format!(
                    "uplink {} to {} in switch namespace {}, namespaces {} .. {}",
                    net.names().uplink(),
                    net.plan().cidr(),
                    net.names().switch(),
                    net.names().namespace(0),
                    net.names().namespace(moved.nodes.len().saturating_sub(1))
                );
                backend.netns = Some(net);
                Ok((backend, moved))
            }
            Err(reason) => {
                let mut backend = ProcessBackend::new(exe, layout, env);
                backend.reason = reason;
                Ok((backend, layout.clone()))
            }
        }
    }

    /// The backend with the admin-endpoint method, nodes as laid out.
    pub fn new(exe: PathBuf, layout: &Layout, env: Vec<Vec<(String, String)>>) -> ProcessBackend {
        let slots = layout
            .nodes
            .iter()
            .map(|n| Slot {
                id: n.id.clone(),
                home: n.home.clone(),
                api_url: n.api_url.clone(),
                process: None,
                next_flags: Vec::new(),
                restores: 0,
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
            method: DisconnectMethod::AdminEndpoint,
            reason: String::new(),
            netns: None,
        }
    }

    /// The pid of node `node`'s process, while it runs.
    pub fn pid(&self, node: usize) -> Option<u32> {
        self.slots.get(node)?.process.as_ref()?.pid()
    }

    /// The run's namespaces, when the method is `network-namespace`.
    pub fn netns(&self) -> Option<&Netns> {
        self.netns.as_ref()
    }

    fn slot(&mut self, node: usize) -> Result<&mut Slot, BackendError> {
        self.slots
            .get_mut(node)
            .ok_or(BackendError::NoSuchNode(node))
    }

    /// What runs a command in the node's network namespace (`ip netns exec
    /// NS`), or nothing without namespaces.
    fn launcher(&self, node: usize) -> Result<Vec<String>, BackendError> {
        match &self.netns {
            Some(net) => net
                .exec_args(node)
                .map_err(|_| BackendError::NoSuchNode(node)),
            None => Ok(Vec::new()),
        }
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

    /// Cut node `node` off (or connect it again) by the chosen method.
    async fn cut(&mut self, node: usize, cut: bool) -> Result<(), BackendError> {
        let Some(net) = &self.netns else {
            return self.isolate(node, cut).await;
        };
        let id = self
            .slots
            .get(node)
            .ok_or(BackendError::NoSuchNode(node))?
            .id
            .clone();
        net.set_link(node, !cut).map_err(|e| BackendError::Action {
            node: id,
            action: if cut { "disconnect" } else { "reconnect" },
            reason: e.to_string(),
        })
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
        // The node writes its admin token at its first start (it is
        // running, so the file is there).
        let token_path = slot.home.join(kopnet_node::http::admin::ADMIN_TOKEN_FILE);
        let token = std::fs::read_to_string(&token_path)
            .map_err(|e| failed(format!("cannot read {}: {e}", token_path.display())))?;
        let response = self
            .http
            .post(&url)
            .bearer_auth(token.trim())
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

    fn restarts_with_env(&self) -> bool {
        true
    }

    fn disconnect_method(&self) -> DisconnectMethod {
        self.method
    }

    fn disconnect_detail(&self) -> String {
        match self.reason.as_str() {
            "" => self.method.describe().to_string(),
            reason => format!("{}; {reason}", self.method.describe()),
        }
    }

    async fn start(&mut self, node: usize) -> Result<(), BackendError> {
        let exe = self.exe.clone();
        let env = self.env.get(node).cloned().unwrap_or_default();
        let launcher = self.launcher(node)?;
        let slot = self.slot(node)?;
        if slot.process.as_mut().is_some_and(NodeProcess::running) {
            return Ok(());
        }
        let flags = std::mem::take(&mut slot.next_flags);
        let process = NodeProcess::start_under(&launcher, &exe, &slot.id, &slot.home, &env, &flags)
            .map_err(|e| BackendError::Action {
                node: slot.id.clone(),
                action: "start",
                reason: e.to_string(),
            })?;
        slot.process = Some(process);
        Ok(())
    }

    fn can_restore(&self) -> bool {
        true
    }

    async fn restore(
        &mut self,
        node: usize,
    ) -> Result<super::restore::RestoreReport, BackendError> {
        use super::restore;
        let exe = self.exe.clone();
        let launcher = self.launcher(node)?;
        let slot = self.slot(node)?;
        slot.restores = slot.restores.saturating_add(1);
        let (id, home) = (slot.id.clone(), slot.home.clone());
        let (backup, destroyed) = restore::paths(&home, slot.restores);
        let (header, backup_bytes, backup_ms) =
            restore::back_up(&id, &launcher, &exe, &home, &backup).await?;
        // The server dies: a crash, then its home is gone.
        self.slot(node)?.process = None;
        let restore_ms =
            restore::destroy_and_restore(&id, &exe, &home, &backup, &destroyed).await?;
        self.slot(node)?.next_flags = vec![restore::RESTORED_START_FLAG.to_string()];
        self.start(node).await?;
        Ok(restore::RestoreReport {
            backup_height: header.height,
            backup_bytes,
            backup_ms,
            restore_ms,
        })
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
        self.cut(node, true).await
    }

    async fn reconnect(&mut self, node: usize) -> Result<(), BackendError> {
        self.cut(node, false).await
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

    fn set_env_var(
        &mut self,
        node: usize,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), BackendError> {
        let nodes = self.slots.len();
        super::backend::set_env_in(&mut self.env, nodes, node, key, value)
    }

    fn pid(&self, node: usize) -> Option<u32> {
        ProcessBackend::pid(self, node)
    }

    async fn stop_all(&mut self) {
        for slot in &mut self.slots {
            if let Some(process) = slot.process.take() {
                // A paused process cannot handle SIGTERM until continued.
                process.signal("-CONT");
                stop_off_runtime(process).await;
            }
        }
        if let Some(net) = self.netns.as_mut() {
            for problem in net.teardown() {
                eprintln!("warning: removing the run's network namespaces: {problem}");
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
