//! The interface between the runner and whatever runs the nodes: child
//! processes ([`super::process`]) or containers ([`super::docker`]). Nodes are addressed by their index in the network layout
//! (validators first, then observers, as `cluster::layout` writes them).

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("no node with index {0}")]
    NoSuchNode(usize),
    #[error("node {node}: {action} failed: {reason}")]
    Action {
        node: String,
        action: &'static str,
        reason: String,
    },
}

/// How a backend cuts a node off from its peers, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectMethod {
    /// `POST /v1/admin/isolate` on the node: it drops and refuses peers.
    AdminEndpoint,
    /// The bridge end of the veth of the node's network namespace goes down.
    NetworkNamespace,
    /// `docker network disconnect` of the node's container.
    DockerNetwork,
}

impl DisconnectMethod {
    /// The report's `disconnect_method`.
    pub fn name(&self) -> &'static str {
        match self {
            DisconnectMethod::AdminEndpoint => "admin-endpoint",
            DisconnectMethod::NetworkNamespace => "network-namespace",
            DisconnectMethod::DockerNetwork => "docker-network",
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            DisconnectMethod::AdminEndpoint => {
                "admin endpoint POST /v1/admin/isolate (the node drops and refuses its peers)"
            }
            DisconnectMethod::NetworkNamespace => {
                "network namespace per node: its veth's bridge end set down / up (cut off from its peers and the runner)"
            }
            DisconnectMethod::DockerNetwork => "docker network disconnect / connect",
        }
    }
}

/// What the runner needs from a backend. Every method acts on one node and
/// returns once the action has been carried out (not once the node has
/// recovered: the runner waits on heights for that).
#[allow(async_fn_in_trait)] // used with concrete types only, never as dyn
pub trait Backend {
    /// A short name for reports (`process`, `docker`).
    fn name(&self) -> &'static str;
    fn disconnect_method(&self) -> DisconnectMethod;
    /// The method in words, and why it was chosen where there was a choice.
    fn disconnect_detail(&self) -> String {
        self.disconnect_method().describe().to_string()
    }
    /// Start a node that is not running (first start, or after a stop).
    async fn start(&mut self, node: usize) -> Result<(), BackendError>;
    /// Hard crash: SIGKILL (or `docker kill`).
    async fn kill(&mut self, node: usize) -> Result<(), BackendError>;
    /// Clean stop: SIGTERM and wait for the exit (or `docker stop`).
    async fn terminate(&mut self, node: usize) -> Result<(), BackendError>;
    /// Freeze and thaw the node's process (SIGSTOP/SIGCONT, `docker pause`).
    async fn pause(&mut self, node: usize) -> Result<(), BackendError>;
    async fn resume(&mut self, node: usize) -> Result<(), BackendError>;
    /// Cut the node off from every other node, and restore it.
    async fn disconnect(&mut self, node: usize) -> Result<(), BackendError>;
    async fn reconnect(&mut self, node: usize) -> Result<(), BackendError>;
    /// Whether the node's process/container is alive.
    fn running(&mut self, node: usize) -> bool;
    /// The node's log so far (bounded by the caller's reading).
    fn log(&self, node: usize) -> Result<String, BackendError>;
    /// Stop everything (end of run or abort).
    async fn stop_all(&mut self);
    /// Set (or, with `None`, remove) an environment variable of the node's
    /// next start (how a hostile phase restarts a node with
    /// `KOPNET_FAULT`). Backends that fix the environment at creation
    /// cannot.
    fn set_env_var(
        &mut self,
        node: usize,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), BackendError> {
        let _ = (key, value);
        Err(BackendError::Action {
            node: format!("node {node}"),
            action: "set its environment",
            reason: format!(
                "the {} backend cannot restart a node with another environment (hostile phases need the process backend)",
                self.name()
            ),
        })
    }
    /// Whether [`Backend::set_env_var`] works (hostile phases and the
    /// rotation's live old-key phase need it).
    fn restarts_with_env(&self) -> bool {
        false
    }
    /// Whether [`Backend::restore`] works (the docker backend cannot yet:
    /// a `restore` step is then reported as skipped).
    fn can_restore(&self) -> bool {
        false
    }
    /// Back the running node up, crash it, destroy its home, restore it
    /// from the backup and start it again ([`super::restore`]).
    async fn restore(
        &mut self,
        node: usize,
    ) -> Result<super::restore::RestoreReport, BackendError> {
        let _ = node;
        Err(BackendError::Action {
            node: format!("node {node}"),
            action: "restore",
            reason: format!(
                "the {} backend cannot back up and restore a node's home yet (the restore perturbation needs the process backend)",
                self.name()
            ),
        })
    }
    /// The pid of the node's process while it runs, where the backend
    /// knows it (for sampling its memory).
    fn pid(&self, node: usize) -> Option<u32> {
        let _ = node;
        None
    }
}

/// Set (or, with `None`, remove) `key` in node `node`'s environment among
/// `nodes` nodes' (`env` grows to hold every node): what both backends'
/// [`Backend::set_env_var`] keep for the node's next start.
pub fn set_env_in(
    env: &mut Vec<Vec<(String, String)>>,
    nodes: usize,
    node: usize,
    key: &str,
    value: Option<&str>,
) -> Result<(), BackendError> {
    if node >= nodes {
        return Err(BackendError::NoSuchNode(node));
    }
    if env.len() <= node {
        env.resize(nodes, Vec::new());
    }
    let vars = env.get_mut(node).ok_or(BackendError::NoSuchNode(node))?;
    vars.retain(|(k, _)| k != key);
    if let Some(value) = value {
        vars.push((key.to_string(), value.to_string()));
    }
    Ok(())
}
