//! One fault-injection run: setup → start → load throughout → perturbations
//! → wait → stop load → collect → checks.
//!
//! Perturbations fire when the network's committed height (the highest any
//! running node reports) is `at_height` blocks past the height at which the
//! load started (setup commits a varying number of blocks first). `pause` and `disconnect`
//! end after their `secs`; `kill` and `restart` start the node again at
//! once. The run ends when the load duration is over and every perturbation
//! has run and ended. If the network stalls (a perturbation's height is
//! never reached within the catch-up timeout after the load ends), the
//! schedule is ended early, every node is brought back and the checks still
//! run, so the report names the cause (a diverged state root, a broken
//! invariant) and not only the symptom; with no such cause found the run
//! fails as `Stalled`.

use super::backend::{Backend, BackendError};
use super::checks::{self, Acknowledged, BlockSeen, CheckFailure, CheckSummary, NodeSnapshot};
use super::hostile::{HostilePhases, PhaseReport};
use super::manifest::{Manifest, NodeRef, Perturbation};
use super::old_key_live;
use super::rotate::{self, RotationReport};
use crate::cluster::layout::{self, InitError, Layout};
use crate::cluster::traffic::{Traffic, TrafficError};
use futures::StreamExt;
use kopnet_ledger::types::InvalidCoopId;
use kopnet_ledger::CoopId;
use kopnet_node::api::client::Client;
use kopnet_node::keyfile::{self, KeyFileError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Requests in flight while collecting blocks and transactions.
const COLLECT_REQUESTS_MAX: usize = 32;
/// How long in-flight transactions get to land after the load stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the network gets to commit its first block.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node restarted on the new build has to say it speaks the
/// next version.
const UPGRADE_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// The node's `speaks_protocol` once it answers with `want`, or the last
/// value it gave before [`UPGRADE_CHECK_TIMEOUT`].
async fn speaks_protocol(client: &Client, want: u32) -> Option<u32> {
    let deadline = Instant::now() + UPGRADE_CHECK_TIMEOUT;
    let mut last = None;
    while Instant::now() < deadline {
        if let Ok(params) = client.get("/v1/params").await {
            last = params["speaks_protocol"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok());
            if last == Some(want) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last
}
/// Demo members per cooperative for the load.
const MEMBERS_PER_COOP: usize = 40;
/// Demo merchants per cooperative for the load.
const MERCHANTS_PER_COOP: usize = 4;
/// How often the schedule looks at the network's height.
const SCHEDULE_TICK: Duration = Duration::from_millis(250);
/// Deadline of one status request while reading the network's height.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between two looks at every node's height while waiting.
const HEIGHT_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Why a run could not be carried out (a check that fails is not an error:
/// it is the run's [`RunReport::result`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the layout has {nodes} nodes, the manifest {expected}")]
    LayoutMismatch { nodes: usize, expected: usize },
    #[error(transparent)]
    Init(#[from] InitError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("the network did not start: {0}")]
    NotStarted(NotAtHeight),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    CoopId(#[from] InvalidCoopId),
    #[error("registering load accounts: {0}")]
    Setup(TrafficError),
    #[error("the load statistics are poisoned (a thread panicked holding them)")]
    StatsPoisoned,
}

/// Some nodes did not reach a height in time.
#[derive(Debug, thiserror::Error)]
#[error("not at height {height} within {secs} s: {behind}")]
pub struct NotAtHeight {
    pub height: u64,
    pub secs: u64,
    /// `node N at H`, for each node behind.
    pub behind: String,
}

/// What a run did and found.
#[derive(Debug)]
pub struct RunReport {
    pub manifest: String,
    pub backend: &'static str,
    /// `network-namespace`, `admin-endpoint` or `docker-network`.
    pub disconnect_method: &'static str,
    /// The method in words and why it was chosen.
    pub disconnect_detail: String,
    /// One line per perturbation, in the order they ran.
    pub events: Vec<String>,
    pub submitted: u64,
    pub committed: u64,
    /// Committed and applied load transactions by kind (the manifest's mix).
    pub committed_by_kind: BTreeMap<String, u64>,
    pub rejected: BTreeMap<String, u64>,
    pub result: Result<CheckSummary, CheckFailure>,
    /// The hostile phases, in the order they ran.
    pub hostile: Vec<PhaseReport>,
    /// The key rotations, in the order they ran.
    pub rotations: Vec<RotationReport>,
    /// Submit-to-commit latency of the load, as the driver saw it:
    /// (samples, p50 ms, p99 ms).
    pub latency_ms: (usize, u64, u64),
    pub elapsed_secs: u64,
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }
}

fn node_index(manifest: &Manifest, node: NodeRef) -> usize {
    match node {
        NodeRef::Validator(i) => i,
        NodeRef::Observer(i) => manifest.validators + i,
    }
}

/// A scheduled perturbation and how far it has got.
struct Step {
    node: usize,
    name: String,
    at_height: u64,
    perturbation: Perturbation,
    /// When a pause/disconnect must end (set once it began).
    ends_at: Option<Instant>,
    done: bool,
}

impl Step {
    /// `NAME PERTURBATION`, as in the event lines.
    fn label(&self) -> String {
        format!("{} {}", self.name, self.perturbation.name())
    }
}

/// Run `manifest` on `backend` over the network `layout` (already written
/// with [`layout::init`]); `say` receives progress lines.
pub async fn run<B: Backend>(
    manifest: &Manifest,
    layout: &Layout,
    backend: &mut B,
    say: &(dyn Fn(&str) + Sync),
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let result = drive(manifest, layout, backend, say).await;
    backend.stop_all().await;
    let (events, traffic, hostile, rotations, result) = result?;
    let stats = traffic.stats.lock().map_err(|_| RunError::StatsPoisoned)?;
    Ok(RunReport {
        manifest: manifest.name.clone(),
        backend: backend.name(),
        disconnect_method: backend.disconnect_method().name(),
        disconnect_detail: backend.disconnect_detail(),
        events,
        submitted: stats.submitted,
        committed: stats.committed,
        committed_by_kind: stats
            .by_kind
            .iter()
            .map(|(kind, n)| (kind.to_string(), *n))
            .collect(),
        rejected: stats.rejected.clone(),
        result,
        hostile,
        rotations,
        latency_ms: (
            stats.latencies_ms.len(),
            crate::cluster::traffic::percentile(&stats.latencies_ms, 50),
            crate::cluster::traffic::percentile(&stats.latencies_ms, 99),
        ),
        elapsed_secs: started.elapsed().as_secs(),
    })
}

type Driven = (
    Vec<String>,
    Arc<Traffic>,
    Vec<PhaseReport>,
    Vec<RotationReport>,
    Result<CheckSummary, CheckFailure>,
);

/// Start, load, perturb, stop the load, then collect and check.
async fn drive<B: Backend>(
    manifest: &Manifest,
    layout: &Layout,
    backend: &mut B,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Driven, RunError> {
    let expected = manifest.validators + manifest.observers;
    if layout.nodes.len() != expected {
        return Err(RunError::LayoutMismatch {
            nodes: layout.nodes.len(),
            expected,
        });
    }
    let clients: Vec<Client> = layout
        .nodes
        .iter()
        .map(|n| layout.reader(&n.api_url))
        .collect();
    let mut steps = schedule(manifest);
    let mut phases = HostilePhases::new(layout)?;
    start_network(layout, backend, &clients, &steps, say).await?;
    let traffic = Arc::new(register_load(manifest, layout, say).await?);
    let (stop_tx, stop_rx) = watch::channel(false);
    let follower = tokio::spawn(
        traffic
            .clone()
            .follow_blocks(clients.clone(), stop_rx.clone()),
    );
    let load = tokio::spawn(traffic.clone().run_load(manifest.load.rate, stop_rx));
    say(&format!(
        "load: {} tx/s for {} s; {} perturbations scheduled",
        manifest.load.rate,
        manifest.load.duration_secs,
        steps.len()
    ));
    let live_unavailable = (!backend.restarts_with_env()).then(|| {
        format!(
            "the {} backend cannot restart a node with another environment",
            backend.name()
        )
    });
    let mut rotations = Rotations::new(layout, live_unavailable);
    let (events, stalled) = perturb(
        manifest,
        backend,
        &clients,
        &mut steps,
        &mut phases,
        &mut rotations,
        &traffic,
        &stop_tx,
        say,
    )
    .await?;
    let rotations = rotations.into_reports();
    let _ = stop_tx.send(true);
    let _ = load.await;
    say("load stopped; waiting for in-flight transactions ...");
    let drain_until = Instant::now() + DRAIN_TIMEOUT;
    let mut tick = tokio::time::interval(SCHEDULE_TICK);
    while traffic.outstanding() > 0 && Instant::now() < drain_until {
        tick.tick().await;
        traffic.sweep();
    }
    follower.abort();
    // The schedule brings every node it stopped back: a node that is down
    // now stopped by itself (a fail-stop or a crash). That is the finding;
    // the other checks would only report its absence.
    if let Some(stopped) = stopped_node(layout, backend) {
        return Ok((events, traffic, phases.reports, rotations, Err(stopped)));
    }
    let result = collect_and_check(
        manifest, layout, backend, &clients, &traffic, &rotations, say,
    )
    .await?;
    let rotation_failure =
        rotations
            .iter()
            .find(|r| !r.passed())
            .map(|r| match r.old_key_accepted() {
                Some(reason) => CheckFailure::OldKeyNotRefused {
                    node: r.node.clone(),
                    reason,
                },
                None => CheckFailure::RotateKey {
                    node: r.node.clone(),
                    reason: r.lines().join("; "),
                },
            });
    let result = match (result, stalled, phases.first_failure(), rotation_failure) {
        (Ok(_), Some(stall), _, _) => Err(stall),
        (Ok(_), None, Some(hostile), _) => Err(hostile),
        (Ok(_), None, None, Some(rotation)) => Err(rotation),
        (result, _, _, _) => result,
    };
    Ok((events, traffic, phases.reports, rotations, result))
}

/// The first node that is not running, with the reason its log gives.
fn stopped_node<B: Backend>(layout: &Layout, backend: &mut B) -> Option<CheckFailure> {
    let (_, entry) = layout
        .nodes
        .iter()
        .enumerate()
        .find(|(node, _)| !backend.running(*node))?;
    let log = entry.home.join("node.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Some(CheckFailure::Stopped {
        node: entry.id.clone(),
        reason: last_error_line(&text)
            .unwrap_or_else(|| "no error in its log (killed?)".to_string()),
        log: log.display().to_string(),
    })
}

/// Longest stop reason quoted from a node's log.
const STOP_REASON_CHARS_MAX: usize = 400;

/// The last error line of a node's log (a fail-stop names its cause
/// there, and so does a node that refused to start), shortened.
pub(super) fn last_error_line(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| l.starts_with("error:") || l.contains(" ERROR "))
        .map(|l| l.chars().take(STOP_REASON_CHARS_MAX).collect())
}

/// The manifest's perturbations, none begun.
fn schedule(manifest: &Manifest) -> Vec<Step> {
    manifest
        .perturbations
        .iter()
        .map(|p| Step {
            node: node_index(manifest, p.node),
            name: p.node.to_string(),
            at_height: p.at_height,
            perturbation: p.perturbation,
            ends_at: None,
            done: false,
        })
        .collect()
}

/// Start every node that does not join late and wait for the first block.
async fn start_network<B: Backend>(
    layout: &Layout,
    backend: &mut B,
    clients: &[Client],
    steps: &[Step],
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), RunError> {
    let late: BTreeSet<usize> = steps
        .iter()
        .filter(|s| s.perturbation == Perturbation::LateJoin)
        .map(|s| s.node)
        .collect();
    let first: Vec<usize> = (0..layout.nodes.len())
        .filter(|n| !late.contains(n))
        .collect();
    for &node in &first {
        backend.start(node).await?;
    }
    say("waiting for the first block ...");
    wait_for_height(clients, &first, 1, START_TIMEOUT)
        .await
        .map_err(RunError::NotStarted)
}

/// The load driver over the layout's cooperatives, its accounts registered.
async fn register_load(
    manifest: &Manifest,
    layout: &Layout,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Traffic, RunError> {
    let coops = layout
        .cooperatives
        .iter()
        .map(|c| {
            let key = keyfile::read(&c.key)?;
            Ok((
                CoopId::new(&c.id)?,
                key.clone(),
                Client::signed(&c.node, key),
            ))
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    let mut traffic = Traffic::new(
        &layout.chain_id,
        coops,
        MEMBERS_PER_COOP,
        MERCHANTS_PER_COOP,
    )
    .with_mix(manifest.load.to_mix());
    say(&format!(
        "registering {} members and merchants ...",
        traffic.accounts.len()
    ));
    traffic.setup().await.map_err(RunError::Setup)?;
    Ok(traffic)
}

/// Run the schedule until the load is over and every step has run and
/// ended, or the network stalls. Returns the event lines and, if it
/// stalled, the failure to report when the checks find nothing worse.
/// Hostile phases run one at a time: a due one waits for the one before.
#[allow(clippy::too_many_arguments)]
async fn perturb<B: Backend>(
    manifest: &Manifest,
    backend: &mut B,
    clients: &[Client],
    steps: &mut [Step],
    phases: &mut HostilePhases,
    rotations: &mut Rotations,
    traffic: &Arc<Traffic>,
    stop_load: &watch::Sender<bool>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(Vec<String>, Option<CheckFailure>), RunError> {
    let base = network_height(clients).await;
    let load_ends = Instant::now() + Duration::from_secs(manifest.load.duration_secs);
    let give_up = load_ends + Duration::from_secs(manifest.catch_up_timeout_secs);
    let mut events = Vec::new();
    let mut tick = tokio::time::interval(SCHEDULE_TICK);
    let mut load_stopped = false;
    loop {
        tick.tick().await;
        traffic.sweep();
        let now = Instant::now();
        if !load_stopped && now >= load_ends {
            let _ = stop_load.send(true);
            load_stopped = true;
        }
        let height = network_height(clients).await;
        phases.sample(backend);
        for index in 0..steps.len() {
            // A rotation's live old-key phase runs alone: not while another
            // perturbation is in force, and nothing begins during it.
            let others_in_force = steps.iter().enumerate().any(|(other, s)| {
                other != index
                    && !s.done
                    && s.ends_at.is_some()
                    && s.perturbation != Perturbation::RotateKey
            });
            let Some(step) = steps.get_mut(index).filter(|s| !s.done) else {
                continue;
            };
            if step.perturbation == Perturbation::RotateKey && step.ends_at.is_some() {
                if !rotations.collect(step.node).await {
                    continue;
                }
                if rotations.live_phase_due(step.node) && (others_in_force || phases.active()) {
                    continue;
                }
                step.done = true;
                let (node, name, label) = (step.node, step.name.clone(), step.label());
                let before = network_height(clients).await;
                let lines = rotations.finish(node, &name, backend, phases, say).await?;
                for line in lines {
                    say(&line);
                }
                let after = network_height(clients).await;
                // The schedule stood still meanwhile: what fell due since
                // comes as many blocks later, not all at once.
                postpone(
                    steps,
                    before.saturating_sub(base),
                    after.saturating_sub(before),
                );
                events.push(format!("height {after}: {label} ended"));
                continue;
            }
            if let Some(end) = step.ends_at {
                if Instant::now() >= end {
                    end_step(backend, phases, step, say).await?;
                    events.push(format!("height {height}: {} ended", step.label()));
                }
                continue;
            }
            if height < base.saturating_add(step.at_height) {
                continue;
            }
            let hostile = matches!(step.perturbation, Perturbation::Hostile { .. });
            if hostile && phases.active() {
                continue;
            }
            let mut detail = None;
            if step.perturbation == Perturbation::RotateKey {
                rotations.begin(step.node, traffic, clients);
                // Ends when the rotation's task does ([`Rotations::finished`]).
                step.ends_at = Some(now);
            } else {
                detail = begin_step(backend, phases, step, now, clients.get(step.node)).await?;
            }
            let line = match detail {
                Some(detail) => format!("height {height}: {} ({detail})", step.label()),
                None => format!("height {height}: {}", step.label()),
            };
            say(&line);
            events.push(line);
        }
        if load_stopped && steps.iter().all(|s| s.done) {
            return Ok((events, None));
        }
        if now >= give_up {
            let stall =
                end_schedule_early(backend, phases, steps, height, &mut events, say).await?;
            return Ok((events, Some(stall)));
        }
    }
}

/// Move every step that has not begun and is due at or after load height
/// `from` by `blocks` (a rotation's live phase held the schedule for that
/// many blocks).
fn postpone(steps: &mut [Step], from: u64, blocks: u64) {
    for step in steps
        .iter_mut()
        .filter(|s| !s.done && s.ends_at.is_none() && s.at_height >= from)
    {
        step.at_height = step.at_height.saturating_add(blocks);
    }
}

/// Apply a step's perturbation; a pause, disconnect or hostile phase ends
/// later. Some say what they did (a restore: the backup's height and size).
async fn begin_step<B: Backend>(
    backend: &mut B,
    phases: &mut HostilePhases,
    step: &mut Step,
    now: Instant,
    client: Option<&Client>,
) -> Result<Option<String>, BackendError> {
    match step.perturbation {
        Perturbation::Hostile {
            behaviour,
            secs,
            rate,
        } => {
            phases
                .begin(backend, step.node, &step.name, behaviour, secs, rate)
                .await?;
            // The phase counts from the hostile node's start.
            step.ends_at = Some(Instant::now().max(now) + Duration::from_secs(secs));
        }
        Perturbation::Kill => {
            backend.kill(step.node).await?;
            backend.start(step.node).await?;
            step.done = true;
        }
        Perturbation::Restart => {
            backend.terminate(step.node).await?;
            backend.start(step.node).await?;
            step.done = true;
        }
        Perturbation::LateJoin => {
            backend.start(step.node).await?;
            step.done = true;
        }
        Perturbation::Restore => {
            step.done = true;
            if !backend.can_restore() {
                return Ok(Some(format!(
                    "skipped: the {} backend cannot back up and restore a node yet",
                    backend.name()
                )));
            }
            let r = backend.restore(step.node).await?;
            return Ok(Some(format!(
                "backed up while running to height {} ({} bytes, {} ms), home destroyed, restored in {} ms, started with --new-safety-record",
                r.backup_height, r.backup_bytes, r.backup_ms, r.restore_ms
            )));
        }
        Perturbation::Upgrade => {
            step.done = true;
            if !backend.restarts_with_env() {
                return Ok(Some(format!(
                    "skipped: the {} backend cannot restart a node on another build",
                    backend.name()
                )));
            }
            let next = kopnet_node::upgrade::PROTOCOL_VERSION.saturating_add(1);
            backend.set_env_var(
                step.node,
                kopnet_node::upgrade::SPEAKS_PROTOCOL_ENV,
                Some(&next.to_string()),
            )?;
            backend.terminate(step.node).await?;
            backend.start(step.node).await?;
            // It came back on the new build: its own word, at /v1/params.
            let speaks = match client {
                Some(client) => speaks_protocol(client, next).await,
                None => None,
            };
            if speaks != Some(next) {
                return Err(BackendError::Action {
                    node: step.name.clone(),
                    action: "restart on the new build",
                    reason: format!(
                        "within {}s its /v1/params said speaks_protocol {speaks:?}, not {next}",
                        UPGRADE_CHECK_TIMEOUT.as_secs()
                    ),
                });
            }
            return Ok(Some(format!(
                "restarted on the new build: speaks protocol version {next} (its /v1/params says so)"
            )));
        }
        Perturbation::Pause { secs } => {
            backend.pause(step.node).await?;
            step.ends_at = Some(now + Duration::from_secs(secs));
        }
        Perturbation::Disconnect { secs } => {
            backend.disconnect(step.node).await?;
            step.ends_at = Some(now + Duration::from_secs(secs));
        }
        // Begun by [`Rotations::begin`].
        Perturbation::RotateKey => {}
    }
    Ok(None)
}

/// The `rotate-key` steps: the rotation and checks (a) and (b, offline)
/// run as their own task while the schedule goes on ([`rotate::rotate`]);
/// once it is done, the live old-key phase runs in the schedule, which
/// holds the backend ([`old_key_live::run`]).
struct Rotations {
    nodes: Vec<layout::NodeEntry>,
    /// For each node index: the load's index of its cooperative.
    coops: Vec<Option<usize>>,
    running: BTreeMap<usize, tokio::task::JoinHandle<Result<RotationReport, String>>>,
    /// Why the backend cannot run the live old-key phase, if it cannot.
    live_unavailable: Option<String>,
    /// Reports whose task is done, waiting for the live phase.
    held: BTreeMap<usize, RotationReport>,
    reports: Vec<RotationReport>,
}

impl Rotations {
    fn new(layout: &Layout, live_unavailable: Option<String>) -> Rotations {
        let coops = layout
            .nodes
            .iter()
            .map(|n| layout.cooperatives.iter().position(|c| c.id == n.id))
            .collect();
        Rotations {
            nodes: layout.nodes.clone(),
            coops,
            running: BTreeMap::new(),
            live_unavailable,
            held: BTreeMap::new(),
            reports: Vec::new(),
        }
    }

    fn begin(&mut self, node: usize, traffic: &Arc<Traffic>, clients: &[Client]) {
        let (Some(entry), Some(Some(coop)), Some(client)) = (
            self.nodes.get(node).cloned(),
            self.coops.get(node).copied(),
            clients.get(node).cloned(),
        ) else {
            return;
        };
        let traffic = traffic.clone();
        let task = tokio::spawn(async move { rotate::rotate(&entry, coop, traffic, client).await });
        self.running.insert(node, task);
    }

    /// Whether `node`'s rotation task is done (its report is then held).
    async fn collect(&mut self, node: usize) -> bool {
        if self.held.contains_key(&node) {
            return true;
        }
        if self.running.get(&node).is_some_and(|t| !t.is_finished()) {
            return false;
        }
        let name = self
            .nodes
            .get(node)
            .map(|n| n.id.clone())
            .unwrap_or_default();
        let mut report = match self.running.remove(&node) {
            Some(task) => match task.await {
                Ok(Ok(report)) => report,
                Ok(Err(reason)) => failed(name, reason),
                Err(e) => failed(name, format!("rotation task: {e}")),
            },
            None => failed(name, "its cooperative is not in the load".into()),
        };
        report.live_unavailable = self.live_unavailable.clone();
        self.held.insert(node, report);
        true
    }

    /// Whether `node`'s held report waits for its live old-key phase.
    fn live_phase_due(&self, node: usize) -> bool {
        self.held
            .get(&node)
            .is_some_and(RotationReport::live_phase_due)
    }

    /// Run `node`'s live old-key phase when check (a) passed, and file the
    /// report; returns its lines. `name` is the node's manifest name.
    async fn finish<B: Backend>(
        &mut self,
        node: usize,
        name: &str,
        backend: &mut B,
        phases: &mut HostilePhases,
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<String>, BackendError> {
        let Some(mut report) = self.held.remove(&node) else {
            return Ok(Vec::new());
        };
        if report.live_phase_due() {
            let live = old_key_live::run(
                backend,
                phases,
                &self.nodes,
                node,
                name,
                &report.old_validator_key,
                report.rotated_at.saturating_add(2),
                say,
            )
            .await?;
            report.old_key_live = Ok(live);
        }
        let lines = report.lines();
        self.reports.push(report);
        Ok(lines)
    }

    /// Every report, those still waiting for their live phase (the
    /// schedule ended early) marked so.
    fn into_reports(mut self) -> Vec<RotationReport> {
        for (_, mut report) in std::mem::take(&mut self.held) {
            if report.live_phase_due() {
                report.old_key_live =
                    Err("the schedule ended before it (the network stalled)".into());
            }
            self.reports.push(report);
        }
        self.reports
    }
}

/// A rotation that could not be carried out.
fn failed(node: String, reason: String) -> RotationReport {
    RotationReport {
        node,
        old_validator_key: String::new(),
        new_validator_key: String::new(),
        new_node_key: String::new(),
        rotated_at: 0,
        new_key_signed_at: None,
        old_key_signed: Vec::new(),
        old_key_refused: Err(reason),
        old_key_live: Err("the rotation failed".into()),
        live_unavailable: None,
    }
}

/// End a pause, disconnect or hostile phase whose time is up.
async fn end_step<B: Backend>(
    backend: &mut B,
    phases: &mut HostilePhases,
    step: &mut Step,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), BackendError> {
    match step.perturbation {
        Perturbation::Pause { .. } => backend.resume(step.node).await?,
        Perturbation::Disconnect { .. } => backend.reconnect(step.node).await?,
        Perturbation::Hostile { .. } => phases.end(backend, say).await?,
        _ => {}
    }
    step.done = true;
    Ok(())
}

/// The network stalled: say so, undo what is still in force so every node
/// can be inspected, and return the `Stalled` failure.
async fn end_schedule_early<B: Backend>(
    backend: &mut B,
    phases: &mut HostilePhases,
    steps: &mut [Step],
    height: u64,
    events: &mut Vec<String>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<CheckFailure, BackendError> {
    let pending: Vec<String> = steps
        .iter()
        .filter(|s| !s.done)
        .map(|s| format!("{} at load height +{}", s.label(), s.at_height))
        .collect();
    let line = format!(
        "height {height}: the network stalled; ending the schedule early ({})",
        pending.join(", ")
    );
    say(&line);
    events.push(line);
    for step in steps.iter_mut().filter(|s| !s.done) {
        match (step.perturbation, step.ends_at.is_some()) {
            (Perturbation::Pause { .. }, true) => backend.resume(step.node).await?,
            (Perturbation::Disconnect { .. }, true) => backend.reconnect(step.node).await?,
            (Perturbation::LateJoin, _) => backend.start(step.node).await?,
            (Perturbation::Hostile { .. }, true) => phases.end(backend, say).await?,
            _ => {}
        }
        step.done = true;
    }
    Ok(CheckFailure::Stalled {
        height,
        pending: pending.join(", "),
    })
}

/// Wait for every node to reach the network's height, collect what each
/// has (blocks, acknowledged transactions, invariants, log), and check it.
async fn collect_and_check<B: Backend>(
    manifest: &Manifest,
    layout: &Layout,
    backend: &mut B,
    clients: &[Client],
    traffic: &Traffic,
    rotations: &[RotationReport],
    say: &(dyn Fn(&str) + Sync),
) -> Result<Result<CheckSummary, CheckFailure>, RunError> {
    let target = network_height(clients).await;
    say(&format!(
        "waiting for every node to reach height {target} ..."
    ));
    let all: Vec<usize> = (0..layout.nodes.len()).collect();
    // Not reaching it is reported by the checks (`Behind`), naming the node.
    let _ = wait_for_height(
        clients,
        &all,
        target,
        Duration::from_secs(manifest.catch_up_timeout_secs),
    )
    .await;

    let acknowledged: Vec<Acknowledged> = traffic
        .stats
        .lock()
        .map_err(|_| RunError::StatsPoisoned)?
        .acknowledged
        .iter()
        .map(|(hash, result)| Acknowledged {
            hash: hash.to_hex(),
            result: result.clone(),
        })
        .collect();
    let validators = validator_addresses(layout)?;
    say(&format!(
        "collecting blocks 1..={target} and {} acknowledged transactions from {} nodes ...",
        acknowledged.len(),
        clients.len()
    ));
    let mut snapshots = Vec::new();
    for (index, (entry, client)) in layout.nodes.iter().zip(clients).enumerate() {
        let log = backend.log(index).unwrap_or_default();
        let mut snapshot =
            collect(&entry.id, client, target, &acknowledged, &log, &validators).await;
        // A rotated validator proposes under its new key: count those
        // blocks as its own.
        for block in snapshot.blocks.values_mut() {
            if let Some(r) = rotations
                .iter()
                .find(|r| r.new_validator_key == block.proposer)
            {
                block.proposer = r.old_validator_key.clone();
            }
        }
        snapshots.push(snapshot);
    }
    // Evidence against a validator made hostile is expected: `equivocate`
    // double-signs on purpose, and `future-flood` signs votes for heights
    // the network later reaches, for values it never votes for then.
    let byzantine: BTreeSet<String> = manifest
        .hostile_behaviours()
        .into_iter()
        .filter_map(|(node, _)| match node {
            NodeRef::Validator(i) => validators.get(i).cloned(),
            NodeRef::Observer(_) => None,
        })
        .collect();
    Ok(checks::check(
        &snapshots,
        &acknowledged,
        &validators,
        &byzantine,
        target,
    ))
}

/// The highest committed height any node reports (0 if none answers).
async fn network_height(clients: &[Client]) -> u64 {
    let heights = futures::future::join_all(clients.iter().map(|c| async move {
        match tokio::time::timeout(STATUS_TIMEOUT, c.status()).await {
            Ok(Ok(status)) => status["height"].as_u64().unwrap_or(0),
            _ => 0,
        }
    }))
    .await;
    heights.into_iter().max().unwrap_or(0)
}

async fn wait_for_height(
    clients: &[Client],
    nodes: &[usize],
    height: u64,
    timeout: Duration,
) -> Result<(), NotAtHeight> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut behind = Vec::new();
        for &n in nodes {
            let Some(client) = clients.get(n) else {
                continue;
            };
            let h = match client.status().await {
                Ok(status) => status["height"].as_u64().unwrap_or(0),
                Err(_) => 0,
            };
            if h < height {
                behind.push(format!("node {n} at {h}"));
            }
        }
        if behind.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(NotAtHeight {
                height,
                secs: timeout.as_secs(),
                behind: behind.join(", "),
            });
        }
        tokio::time::sleep(HEIGHT_POLL_INTERVAL).await;
    }
}

fn validator_addresses(layout: &Layout) -> Result<Vec<String>, KeyFileError> {
    layout
        .nodes
        .iter()
        .filter(|n| n.role == "validator")
        .map(|n| Ok(keyfile::read(&n.key)?.public().to_address()))
        .collect()
}

/// Everything the checks need from one node.
async fn collect(
    id: &str,
    client: &Client,
    target: u64,
    acknowledged: &[Acknowledged],
    log: &str,
    validators: &[String],
) -> NodeSnapshot {
    let height = match client.status().await {
        Ok(status) => status["height"].as_u64().unwrap_or(0),
        Err(_) => 0,
    };
    let upto = height.min(target);
    let blocks: BTreeMap<u64, BlockSeen> = futures::stream::iter(1..=upto)
        .map(|h| async move {
            let block = client.get(&format!("/v1/blocks/{h}")).await.ok()?;
            let text = |key: &str| block[key].as_str().unwrap_or("").to_string();
            Some((
                h,
                BlockSeen {
                    hash: text("hash"),
                    state_root: text("state_root"),
                    proposer: text("proposer"),
                },
            ))
        })
        .buffer_unordered(COLLECT_REQUESTS_MAX)
        .filter_map(futures::future::ready)
        .collect()
        .await;
    let tx_results: BTreeMap<String, String> = futures::stream::iter(acknowledged)
        .map(|ack| async move {
            let hash = kopnet_consensus::Hash::from_hex(&ack.hash).ok()?;
            let outcome = client.tx(&hash).await.ok()?;
            (outcome.status == "committed").then(|| (ack.hash.clone(), outcome.code))
        })
        .buffer_unordered(COLLECT_REQUESTS_MAX)
        .filter_map(futures::future::ready)
        .collect()
        .await;
    let invariant_error = match client.get("/v1/invariants").await {
        Ok(body) if body["ok"] == true => None,
        Ok(body) => Some(body["error"].to_string()),
        Err(e) => Some(format!("invariants unavailable: {e}")),
    };
    let mut evidence_against = BTreeSet::new();
    for line in log
        .lines()
        .filter(|l| l.contains("conflicting votes observed"))
    {
        for validator in validators {
            // Logged keys are shortened to their first 12 characters.
            let short = validator.get(..12).unwrap_or(validator);
            if line.contains(short) {
                evidence_against.insert(validator.clone());
            }
        }
    }
    NodeSnapshot {
        id: id.to_string(),
        height: upto,
        blocks,
        tx_results,
        invariant_error,
        panic_line: checks::find_panic(log),
        evidence_against,
    }
}

/// Lay out the network a manifest describes in `dir` (fresh keys and genesis).
pub fn prepare(manifest: &Manifest, dir: &std::path::Path) -> Result<Layout, InitError> {
    layout::init_with_power(
        dir,
        manifest.validators,
        manifest.observers,
        &manifest.voting_power,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(at_height: u64, perturbation: Perturbation) -> Step {
        Step {
            node: 0,
            name: "validator-0".into(),
            at_height,
            perturbation,
            ends_at: None,
            done: false,
        }
    }

    #[test]
    fn steps_due_during_a_live_phase_move_by_the_blocks_it_took() {
        let mut steps = vec![
            step(50, Perturbation::Kill),
            step(240, Perturbation::Restart),
            step(250, Perturbation::Pause { secs: 4 }),
            step(350, Perturbation::Disconnect { secs: 4 }),
        ];
        // Already done, and begun and in force: left alone.
        steps[0].done = true;
        steps[1].ends_at = Some(Instant::now());
        postpone(&mut steps, 215, 150);
        let heights: Vec<u64> = steps.iter().map(|s| s.at_height).collect();
        assert_eq!(heights, vec![50, 240, 400, 500]);
        // Overdue before the phase began: begins now, unmoved.
        let mut overdue = vec![step(210, Perturbation::Restart)];
        postpone(&mut overdue, 215, 150);
        assert_eq!(overdue[0].at_height, 210);
    }
}
