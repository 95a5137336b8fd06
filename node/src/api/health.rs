//! # `GET /health` and `GET /health/live`: what a node says about itself
//!
//! Two questions, two endpoints (README, "Health and fail-stop"):
//!
//! - **`GET /health`** — *should clients be sent here?* For load balancers
//!   and monitoring. 200 only when the node is in step with the network
//!   and can keep storing blocks; otherwise 503 with the reasons, most
//!   urgent first ([`Problem`]'s order):
//!   `last_write_failed`, `disk_full`, `low_disk`, `stalled`, `syncing`.
//! - **`GET /health/live`** — *is the process serving?* For the process
//!   supervisor's restarts: 200 whenever the node answers at all. A node
//!   that is stalled or syncing must not be restarted for it (a restart
//!   only makes it sync again, and a network without quorum would restart
//!   every node); a node whose storage fails stops by itself (fail-stop,
//!   [`crate::runtime`]) and the supervisor restarts it on its exit code.
//!
//! The facts ([`HealthFacts`]) are written by the runtime (commits, the
//! peers' claimed heights, a failed write) and by the disk watcher
//! ([`watch_disk`]); the judgement is [`assess`], a pure function of the
//! facts, the `[health]` config and the time, so that tests can drive it.

use super::ApiState;
use crate::config::HealthConfig;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Free space on the filesystem of the node's data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    /// Bytes this process may still write (statvfs `f_bavail`).
    pub free_bytes: u64,
}

/// What the node knows about itself, as last noted.
#[derive(Debug, Clone, Default)]
pub struct HealthFacts {
    /// When this process last committed a block (`None`: not since it
    /// started).
    pub last_commit: Option<Instant>,
    /// The highest height a peer claims (standing claims only).
    pub peer_height: Option<u64>,
    /// The last reading of the data directory's free space.
    pub disk: Option<DiskSpace>,
    /// Why the last reading of the free space failed, if it did.
    pub disk_error: Option<String>,
    /// A write of the store or the safety record failed: the node is
    /// stopping (fail-stop).
    pub write_failed: Option<String>,
}

/// The node's health: its facts, the config they are judged by, and when
/// the process started.
#[derive(Debug)]
pub struct Health {
    config: HealthConfig,
    data_dir: PathBuf,
    started: Instant,
    facts: Mutex<HealthFacts>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new(HealthConfig::default(), Path::new(""))
    }
}

/// Why a node is unhealthy, most urgent first (the order of `reasons`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A write, flush or fsync of the ledger store or the safety record
    /// failed; the node is stopping (fail-stop).
    LastWriteFailed { error: String },
    /// No space left for the node's data.
    DiskFull,
    /// Free space under `health.disk_free_bytes_min`.
    LowDisk { free_bytes: u64, min_bytes: u64 },
    /// No block committed for `health.stall_after_ms`.
    Stalled { for_ms: u64, since_start: bool },
    /// Not in step with the network yet.
    Syncing(Syncing),
}

/// Why a node counts as syncing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syncing {
    /// It has committed nothing since it started: not yet known to be in
    /// step with the network.
    NotYetCommitted,
    /// Peers claim `peer_height`, at least `health.syncing_lag_blocks`
    /// above this node's `height`.
    Behind { height: u64, peer_height: u64 },
}

impl Problem {
    /// The stable code in the answer's `reason`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::LastWriteFailed { .. } => "last_write_failed",
            Problem::DiskFull => "disk_full",
            Problem::LowDisk { .. } => "low_disk",
            Problem::Stalled { .. } => "stalled",
            Problem::Syncing(_) => "syncing",
        }
    }

    /// Words for the operator.
    pub fn message(&self, data_dir: &Path) -> String {
        let dir = data_dir.display();
        match self {
            Problem::LastWriteFailed { error } => {
                format!("a write of the node's storage failed; the node is stopping: {error}")
            }
            Problem::DiskFull => format!("no space left on the filesystem of {dir}"),
            Problem::LowDisk {
                free_bytes,
                min_bytes,
            } => format!(
                "{free_bytes} bytes free on the filesystem of {dir}, under health.disk_free_bytes_min = {min_bytes}"
            ),
            Problem::Stalled {
                for_ms,
                since_start: true,
            } => format!(
                "no block committed in the {for_ms} ms since the node started (health.stall_after_ms)"
            ),
            Problem::Stalled { for_ms, .. } => {
                format!("no block committed for {for_ms} ms (health.stall_after_ms)")
            }
            Problem::Syncing(Syncing::NotYetCommitted) => {
                "no block committed since the node started: not yet in step with the network"
                    .to_string()
            }
            Problem::Syncing(Syncing::Behind {
                height,
                peer_height,
            }) => format!("catching up: at height {height}, peers at {peer_height}"),
        }
    }
}

/// Judge `facts` at `now` for a node at `height` that started at
/// `started`: every problem, most urgent first (empty: healthy).
pub fn assess(
    config: &HealthConfig,
    facts: &HealthFacts,
    height: u64,
    started: Instant,
    now: Instant,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(error) = &facts.write_failed {
        problems.push(Problem::LastWriteFailed {
            error: error.clone(),
        });
    }
    if let Some(disk) = facts.disk {
        if disk.free_bytes == 0 {
            problems.push(Problem::DiskFull);
        } else if disk.free_bytes < config.disk_free_bytes_min {
            problems.push(Problem::LowDisk {
                free_bytes: disk.free_bytes,
                min_bytes: config.disk_free_bytes_min,
            });
        }
    }
    let quiet_since = facts.last_commit.unwrap_or(started);
    let quiet = now.saturating_duration_since(quiet_since);
    if quiet >= Duration::from_millis(config.stall_after_ms) {
        problems.push(Problem::Stalled {
            for_ms: millis(quiet),
            since_start: facts.last_commit.is_none(),
        });
    }
    if facts.last_commit.is_none() {
        problems.push(Problem::Syncing(Syncing::NotYetCommitted));
    } else if let Some(peer_height) = facts.peer_height {
        if peer_height >= height.saturating_add(config.syncing_lag_blocks) {
            problems.push(Problem::Syncing(Syncing::Behind {
                height,
                peer_height,
            }));
        }
    }
    problems
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Health {
    /// The health of a node whose data lives in `data_dir`, starting now.
    pub fn new(config: HealthConfig, data_dir: &Path) -> Self {
        Health {
            config,
            data_dir: data_dir.to_path_buf(),
            started: Instant::now(),
            facts: Mutex::new(HealthFacts::default()),
        }
    }

    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn update(&self, f: impl FnOnce(&mut HealthFacts)) {
        if let Ok(mut facts) = self.facts.lock() {
            f(&mut facts);
        }
    }

    /// A block was committed at `at`.
    pub fn note_commit(&self, at: Instant) {
        self.update(|f| f.last_commit = Some(at));
    }

    /// The peers' highest standing claim.
    pub fn note_peer_height(&self, peer_height: Option<u64>) {
        self.update(|f| f.peer_height = peer_height);
    }

    /// A reading of the free space (or why it failed).
    pub fn note_disk(&self, reading: Result<DiskSpace, String>) {
        self.update(|f| match reading {
            Ok(space) => {
                f.disk = Some(space);
                f.disk_error = None;
            }
            Err(error) => f.disk_error = Some(error),
        });
    }

    /// A write of the storage failed: the node stops (fail-stop).
    pub fn note_write_failed(&self, error: String) {
        self.update(|f| f.write_failed = Some(error));
    }

    /// The facts as they stand.
    pub fn facts(&self) -> HealthFacts {
        self.facts.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// [`assess`] the facts now, for a node at `height`.
    pub fn assess(&self, height: u64, now: Instant) -> Vec<Problem> {
        assess(&self.config, &self.facts(), height, self.started, now)
    }

    /// The answer of `GET /health` at `now` for a node at `height`.
    pub fn answer(&self, height: u64, now: Instant) -> (StatusCode, Value) {
        let facts = self.facts();
        let problems = assess(&self.config, &facts, height, self.started, now);
        let mut body = json!({
            "status": if problems.is_empty() { "ok" } else { "unhealthy" },
            "height": height,
            "peer_height": facts.peer_height,
            "last_commit_ms_ago": facts.last_commit.map(|at| millis(now.saturating_duration_since(at))),
            "disk_free_bytes": facts.disk.map(|d| d.free_bytes),
            "disk_free_bytes_min": self.config.disk_free_bytes_min,
        });
        if let Some(error) = &facts.disk_error {
            body["disk_error"] = json!(error);
        }
        let Some(first) = problems.first() else {
            return (StatusCode::OK, body);
        };
        body["reason"] = json!(first.code());
        body["message"] = json!(first.message(&self.data_dir));
        body["reasons"] = problems
            .iter()
            .map(|p| json!({"code": p.code(), "message": p.message(&self.data_dir)}))
            .collect();
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

/// `GET /health`: 200 `{"status":"ok",...}` when healthy, else 503
/// `{"status":"unhealthy","reason":CODE,"message":...,"reasons":[...],...}`.
#[utoipa::path(
    get,
    path = "/health",
    tag = "node",
    responses(
        (status = 200, description = "In step with the network and able to store blocks", body = super::shapes::Health),
        (status = 503, description = "Unhealthy: the reasons, most urgent first", body = super::shapes::Health),
    )
)]
pub async fn health(State(state): State<ApiState>) -> Response {
    let height = state.node.committed.current().height;
    let (status, body) = state.node.health.answer(height, Instant::now());
    (status, Json(body)).into_response()
}

/// `GET /health/live`: 200 while the process serves.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "node",
    responses((status = 200, description = "The process serves", body = super::shapes::Live))
)]
pub async fn live() -> Json<Value> {
    Json(json!({"status": "live"}))
}

/// Read the free space of `dir`'s filesystem every
/// `health.disk_check_interval_ms` into `health`, and what the directory
/// holds into the metrics ([`crate::metrics::disk`]), until `stop` turns
/// true.
/// The read runs on the blocking pool (a hung network filesystem must not
/// hold an async worker).
pub async fn watch_disk(
    node: std::sync::Arc<crate::node_state::NodeState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let health = &node.health;
    let interval_ms = health.config().disk_check_interval_ms;
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warned = false;
    let mut walk_warned = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        let dir = health.data_dir().to_path_buf();
        let reading = tokio::task::spawn_blocking(move || free_space(&dir))
            .await
            .unwrap_or_else(|e| Err(format!("free-space task failed: {e}")));
        match &reading {
            Err(error) if !warned => {
                tracing::warn!(%error, "cannot read the data directory's free space");
                warned = true;
            }
            Ok(_) => warned = false,
            Err(_) => {}
        }
        health.note_disk(reading);
        // What the data directory holds, for `/metrics` (a bounded walk).
        let dir = health.data_dir().to_path_buf();
        let usage =
            tokio::task::spawn_blocking(move || crate::metrics::disk::DiskUsage::measure(&dir));
        if let Ok(usage) = usage.await {
            if usage.truncated && !walk_warned {
                tracing::warn!(
                    entries_max = crate::metrics::disk::DISK_WALK_ENTRIES_MAX,
                    "the data directory holds more entries than its size reading counts"
                );
                walk_warned = true;
            }
            node.metrics.observe_disk_usage(usage);
        }
    }
}

/// Free space of `dir`'s filesystem (statvfs).
pub fn free_space(dir: &Path) -> Result<DiskSpace, String> {
    fs2::available_space(dir)
        .map(|free_bytes| DiskSpace { free_bytes })
        .map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests;
