//! The docker backend: one container per node, from an image built locally
//! `FROM scratch` ([`super::docker_image`]), on a private bridge network the
//! run creates and removes. Each container has a fixed address on that
//! network; its node home (from `cluster::layout`) is mounted at the same
//! path (the only writable place besides a `/tmp` tmpfs: the root
//! filesystem is read-only, and the node runs as a non-root user,
//! [`super::docker_user`]), rewritten by [`relayout`] so nodes listen on every interface and
//! dial their peers at the containers' addresses. The runner reaches each
//! node's API at its container address (the host routes to its bridges).
//!
//! kill = `docker kill` + `docker start`; restart = `docker stop` + `docker
//! start`; pause = `docker pause`/`unpause`; disconnect = `docker network
//! disconnect`/`connect` (same address back). Everything the run created —
//! containers and the network — is removed by `stop_all`, also after a
//! failed run.
//!
//! A node whose start must differ from its container's — another
//! environment (the `upgrade` step's new build, a hostile phase), or a
//! restored home's one-time `--new-safety-record` — gets a new container
//! (`docker rm -f`, then `docker run` again on the same home and address).
//! `restore` backs the running node up over its API at its container
//! address (`kopnet node backup --node`, run on the host), kills the
//! container, moves the home aside, restores it (`kopnet node restore`),
//! hands the restored files to the container's user ([`super::docker_user`])
//! and starts a new container with `--new-safety-record`; the next start
//! after that is an ordinary one.

use super::addressing::{relayout, AddressPlan, Bind};
use super::backend::{Backend, BackendError, DisconnectMethod};
use super::docker_cli::{docker, engine_answers, DockerError, DOCKER_TIMEOUT};
use crate::cluster::layout::Layout;
use std::path::{Path, PathBuf};

/// Log lines read back for the checks (the tail is what matters).
const LOG_TAIL_LINES: &str = "200000";
/// Seconds a `docker stop` waits before it kills.
const STOP_GRACE_SECS: &str = "10";

/// Second octet of the docker runs' subnets: `10.213.<x>.0/24`.
pub const DOCKER_SECOND_OCTET: u8 = 213;

#[derive(Debug)]
struct Container {
    id: String,
    name: String,
    home: PathBuf,
    /// `--user` ([`super::docker_user`]): never root.
    user: String,
    /// The node's API at its container address (for `kopnet node backup`).
    api: String,
    created: bool,
    /// The next start needs a new container (another environment or flags).
    recreate: bool,
    /// `kopnet node run` flags of the next container, used once.
    next_flags: Vec<String>,
    /// Restores so far (names the backup and the destroyed home).
    restores: u32,
}

#[derive(Debug)]
pub struct DockerBackend {
    /// The kopnet binary the image holds (the runner's `backup`/`restore`
    /// steps run it on the host).
    exe: PathBuf,
    image: String,
    network: String,
    plan: AddressPlan,
    env: Vec<Vec<(String, String)>>,
    containers: Vec<Container>,
}

impl DockerBackend {
    /// Build (or reuse) the image for `binary`, create the run's private
    /// network, and rewrite `layout` in `dir` for it. Returns the backend
    /// and the layout the runner must use.
    pub async fn prepare(
        binary: &Path,
        layout: &Layout,
        dir: &Path,
        env: Vec<Vec<(String, String)>>,
    ) -> Result<(DockerBackend, Layout), DockerError> {
        engine_answers().await?;
        let image = super::docker_image::ensure(binary).await?;
        let run = format!(
            "kopnet-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let plan = create_network(&run).await?;
        let layout = match relayout(layout, dir, plan, Bind::AnyInterface) {
            Ok(layout) => layout,
            Err(e) => {
                let _ = docker(&["network", "rm", &run], DOCKER_TIMEOUT).await;
                return Err(e.into());
            }
        };
        let mut containers = Vec::with_capacity(layout.nodes.len());
        for n in &layout.nodes {
            let user = match super::docker_user::container_user(&n.home) {
                Ok(user) => user,
                Err(e) => {
                    let _ = docker(&["network", "rm", &run], DOCKER_TIMEOUT).await;
                    return Err(e);
                }
            };
            containers.push(Container {
                id: n.id.clone(),
                name: format!("{run}-{}", n.id),
                home: n.home.clone(),
                user,
                api: n.api_url.clone(),
                created: false,
                recreate: false,
                next_flags: Vec::new(),
                restores: 0,
            });
        }
        Ok((
            DockerBackend {
                exe: binary.to_path_buf(),
                image,
                network: run,
                plan,
                env,
                containers,
            },
            layout,
        ))
    }

    /// The run's network name (containers are named `<network>-<node id>`).
    pub fn network(&self) -> &str {
        &self.network
    }

    fn container(&self, node: usize) -> Result<&Container, BackendError> {
        self.containers
            .get(node)
            .ok_or(BackendError::NoSuchNode(node))
    }

    async fn act(
        &self,
        node: usize,
        action: &'static str,
        args: &[&str],
    ) -> Result<(), BackendError> {
        let container = self.container(node)?;
        let mut full: Vec<&str> = args.to_vec();
        full.push(&container.name);
        docker(&full, DOCKER_TIMEOUT)
            .await
            .map(|_| ())
            .map_err(|e| BackendError::Action {
                node: container.id.clone(),
                action,
                reason: e.to_string(),
            })
    }
}

/// Create the run's bridge network on the first free 10.213.x.0/24.
async fn create_network(name: &str) -> Result<AddressPlan, DockerError> {
    let first: u8 = rand::random();
    for step in 0..=255u8 {
        let plan = AddressPlan::new(DOCKER_SECOND_OCTET, first.wrapping_add(step));
        match docker(
            &[
                "network",
                "create",
                "--driver",
                "bridge",
                "--subnet",
                &plan.cidr(),
                name,
            ],
            DOCKER_TIMEOUT,
        )
        .await
        {
            Ok(_) => return Ok(plan),
            // Another network holds this range: try the next one.
            Err(DockerError::Command { reason, .. })
                if reason.contains("overlap") || reason.contains("in use") =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
    }
    Err(DockerError::NoSubnet)
}

impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn disconnect_method(&self) -> DisconnectMethod {
        DisconnectMethod::DockerNetwork
    }

    fn restarts_with_env(&self) -> bool {
        true
    }

    fn set_env_var(
        &mut self,
        node: usize,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), BackendError> {
        let nodes = self.containers.len();
        super::backend::set_env_in(&mut self.env, nodes, node, key, value)?;
        if let Some(c) = self.containers.get_mut(node) {
            c.recreate = true;
        }
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
        let container = self
            .containers
            .get_mut(node)
            .ok_or(BackendError::NoSuchNode(node))?;
        container.restores = container.restores.saturating_add(1);
        let (id, home, api) = (
            container.id.clone(),
            container.home.clone(),
            container.api.clone(),
        );
        let (backup, destroyed) = restore::paths(&home, container.restores);
        let (header, backup_bytes, backup_ms) =
            restore::back_up_at(&id, &exe, &home, &backup, &api).await?;
        // The server dies: a crash, then its home is gone.
        self.kill(node).await?;
        let restore_ms =
            restore::destroy_and_restore(&id, &exe, &home, &backup, &destroyed).await?;
        let user = super::docker_user::container_user(&home).map_err(|e| BackendError::Action {
            node: id.clone(),
            action: "hand the restored home to the container's user",
            reason: e.to_string(),
        })?;
        if let Some(c) = self.containers.get_mut(node) {
            c.user = user;
            c.recreate = true;
            c.next_flags = vec![restore::RESTORED_START_FLAG.to_string()];
        }
        self.start(node).await?;
        Ok(restore::RestoreReport {
            backup_height: header.height,
            backup_bytes,
            backup_ms,
            restore_ms,
        })
    }

    async fn start(&mut self, node: usize) -> Result<(), BackendError> {
        let container = self.container(node)?;
        if container.created && container.recreate {
            self.act(node, "replace its container", &["rm", "-f"])
                .await?;
            if let Some(c) = self.containers.get_mut(node) {
                c.created = false;
            }
        }
        let container = self.container(node)?;
        if container.created {
            return self.act(node, "start", &["start"]).await;
        }
        let flags = container.next_flags.clone();
        let home = container.home.to_string_lossy().to_string();
        let mount = format!("{home}:{home}");
        // A /tmp the node's user can write (`kopnet node check` copies there).
        let tmp = match container.user.split_once(':') {
            Some((uid, gid)) => format!("/tmp:uid={uid},gid={gid}"),
            None => "/tmp".to_string(),
        };
        let ip = self.plan.ip(node);
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--name",
            &container.name,
            "--network",
            &self.network,
            "--ip",
            &ip,
            "-v",
            &mount,
            // Non-root, and nothing but the home (and /tmp) writable.
            "--user",
            &container.user,
            "--read-only",
            "--tmpfs",
            &tmp,
            "--stop-timeout",
            STOP_GRACE_SECS,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (key, value) in self.env.get(node).into_iter().flatten() {
            args.push("-e".into());
            args.push(format!("{key}={value}"));
        }
        args.extend([
            self.image.clone(),
            "node".into(),
            "run".into(),
            "--home".into(),
            home,
        ]);
        args.extend(flags.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = container.id.clone();
        docker(&refs, DOCKER_TIMEOUT)
            .await
            .map_err(|e| BackendError::Action {
                node: id,
                action: "start",
                reason: e.to_string(),
            })?;
        if let Some(c) = self.containers.get_mut(node) {
            c.created = true;
            // A container made with one-time flags is replaced at the
            // next start by an ordinary one.
            c.recreate = !flags.is_empty();
            c.next_flags.clear();
        }
        Ok(())
    }

    async fn kill(&mut self, node: usize) -> Result<(), BackendError> {
        self.act(node, "kill", &["kill", "--signal", "KILL"])
            .await?;
        // `docker kill` returns once the signal is sent, not once the
        // container has stopped; a `docker start` in between is a no-op on
        // a container still running, which then exits and stays down. Wait
        // until it has stopped (as the process backend reaps its child).
        self.act(node, "kill", &["wait"]).await
    }

    async fn terminate(&mut self, node: usize) -> Result<(), BackendError> {
        self.act(node, "restart", &["stop", "-t", STOP_GRACE_SECS])
            .await
    }

    async fn pause(&mut self, node: usize) -> Result<(), BackendError> {
        self.act(node, "pause", &["pause"]).await
    }

    async fn resume(&mut self, node: usize) -> Result<(), BackendError> {
        self.act(node, "resume", &["unpause"]).await
    }

    async fn disconnect(&mut self, node: usize) -> Result<(), BackendError> {
        let network = self.network.clone();
        self.act(node, "disconnect", &["network", "disconnect", &network])
            .await
    }

    async fn reconnect(&mut self, node: usize) -> Result<(), BackendError> {
        let network = self.network.clone();
        let ip = self.plan.ip(node);
        self.act(
            node,
            "reconnect",
            &["network", "connect", "--ip", &ip, &network],
        )
        .await
    }

    fn running(&mut self, node: usize) -> bool {
        let Ok(container) = self.container(node) else {
            return false;
        };
        std::process::Command::new("docker")
            .args(["inspect", "-f", "{{.State.Running}}", &container.name])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "true")
            .unwrap_or(false)
    }

    fn log(&self, node: usize) -> Result<String, BackendError> {
        let container = self.container(node)?;
        let out = std::process::Command::new("docker")
            .args(["logs", "--tail", LOG_TAIL_LINES, &container.name])
            .output()
            .map_err(|e| BackendError::Action {
                node: container.id.clone(),
                action: "read log",
                reason: e.to_string(),
            })?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(text)
    }

    async fn stop_all(&mut self) {
        // Keep each container's whole log in its node's home (as the process
        // backend's `node.log`), so a failed run can be read afterwards.
        for c in self.containers.iter().filter(|c| c.created) {
            if let Ok(out) = std::process::Command::new("docker")
                .args(["logs", &c.name])
                .output()
            {
                let mut text = out.stdout;
                text.extend_from_slice(&out.stderr);
                let _ = std::fs::write(c.home.join("node.log"), text);
            }
        }
        let names: Vec<String> = self
            .containers
            .iter()
            .filter(|c| c.created)
            .map(|c| c.name.clone())
            .collect();
        if !names.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(names.iter().map(String::as_str));
            let _ = docker(&args, DOCKER_TIMEOUT).await;
        }
        for c in &mut self.containers {
            c.created = false;
        }
        let _ = docker(&["network", "rm", &self.network], DOCKER_TIMEOUT).await;
    }
}
