//! `kopnet bench --read-clients N`: N explorer-like readers beside the
//! load, to show what reads cost the commit path.
//!
//! Each reader is closed-loop (its next request leaves when the last one is
//! answered, no think time: the hardest a reader can read) against one node
//! (readers are dealt round-robin over every node, validators included) and
//! holds one `/v1/events` stream open as a live explorer page does. Its
//! requests rotate through what an explorer and a wallet ask for: the
//! newest page of blocks, one block, a transaction by hash (taken from the
//! blocks it read), an account and its history, the cooperatives, the
//! invariants and the settlement windows. Answers that are not 2xx, and
//! requests that fail or pass [`READ_TIMEOUT`], count as errors.
//!
//! The readers run on their own tokio runtime whose threads are named
//! [`READER_THREAD`], so the report can give the CPU they used (read from
//! `/proc/self/task`), apart from the load driver's.

use super::sampler;
use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request's deadline.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Name of the readers' runtime threads.
pub const READER_THREAD: &str = "bench-reader";
/// Worker threads of the readers' runtime.
const READER_WORKERS: usize = 2;
/// Most transaction hashes a reader keeps to look up.
const KNOWN_TXS_MAX: usize = 64;
/// Pause before a reader retries an event stream that ended.
const EVENTS_RETRY: Duration = Duration::from_millis(500);

/// What the readers did.
#[derive(Debug, Default)]
pub struct ReadCounts {
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    /// Block events received over the readers' `/v1/events` streams.
    pub events: AtomicU64,
    pub event_stream_errors: AtomicU64,
}

/// Readers running on their own runtime until [`Readers::stop`].
pub struct Readers {
    pub counts: Arc<ReadCounts>,
    stop: tokio::sync::watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").finish_non_exhaustive()
    }
}

/// What one reader reads from.
#[derive(Debug, Clone)]
pub struct ReadTargets {
    /// API base URLs of the nodes.
    pub nodes: Vec<String>,
    /// Account addresses whose pages are read.
    pub accounts: Vec<String>,
    /// The key the readers sign their requests with and the network's
    /// chain id: reads of members' accounts are served by right (the
    /// layout's reader key, a regulator's); `None` reads anonymously,
    /// which the node answers with 403 for members' pages.
    pub signer: Option<(kopnet_consensus::Keypair, String)>,
}

impl Readers {
    /// Start `count` readers (none when 0).
    pub fn start(count: usize, targets: ReadTargets) -> std::io::Result<Readers> {
        let counts = Arc::new(ReadCounts::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let thread = if count == 0 || targets.nodes.is_empty() {
            None
        } else {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(READER_WORKERS)
                .thread_name(READER_THREAD)
                .enable_all()
                .build()?;
            let counts = counts.clone();
            Some(std::thread::spawn(move || {
                runtime.block_on(async move {
                    let mut tasks = Vec::new();
                    for n in 0..count {
                        tasks.push(tokio::spawn(read_loop(
                            n,
                            targets.clone(),
                            counts.clone(),
                            stopped.clone(),
                        )));
                    }
                    for task in tasks {
                        let _ = task.await;
                    }
                });
            }))
        };
        Ok(Readers {
            counts,
            stop,
            thread,
        })
    }

    /// Stop the readers and wait for them.
    pub fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// CPU seconds the readers' threads have used so far.
pub fn reader_cpu_seconds() -> f64 {
    sampler::own_threads_cpu_seconds(READER_THREAD)
}

async fn read_loop(
    n: usize,
    targets: ReadTargets,
    counts: Arc<ReadCounts>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(base) = targets.nodes.get(n % targets.nodes.len().max(1)).cloned() else {
        return;
    };
    let Ok(http) = reqwest::Client::builder().timeout(READ_TIMEOUT).build() else {
        counts.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let events = tokio::spawn(follow_events(
        reqwest::Client::new(),
        format!("{base}/v1/events"),
        counts.clone(),
        stop.clone(),
    ));
    let known: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut top = 1u64;
    let mut turn = n;
    while !*stop.borrow() {
        let account = targets
            .accounts
            .get(turn % targets.accounts.len().max(1))
            .cloned()
            .unwrap_or_default();
        let path = match turn % 8 {
            0 => "/v1/blocks?limit=20".to_string(),
            1 => format!("/v1/accounts/{account}/history?limit=20"),
            2 => "/v1/cooperatives".to_string(),
            3 => match known
                .lock()
                .ok()
                .and_then(|k| k.get(turn % k.len().max(1)).cloned())
            {
                Some(hash) => format!("/v1/tx/{hash}"),
                None => "/v1/status".to_string(),
            },
            4 => format!("/v1/blocks/{}", top.max(1)),
            5 => "/v1/invariants".to_string(),
            6 => "/v1/settlement/windows".to_string(),
            _ => format!("/v1/accounts/{account}"),
        };
        turn = turn.wrapping_add(1);
        let mut request = http.get(format!("{base}{path}"));
        if let Some((key, chain_id)) = &targets.signer {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            for (name, value) in kopnet_node::api::signed_request::sign_request(
                key,
                chain_id,
                "GET",
                &path,
                now_ms,
                &[],
            ) {
                request = request.header(name, value);
            }
        }
        let answer = tokio::select! {
            _ = stop.changed() => break,
            answer = request.send() => answer,
        };
        let body = match answer {
            Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
            _ => None,
        };
        let Some(body) = body else {
            counts.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        counts.ok.fetch_add(1, Ordering::Relaxed);
        if let Some(blocks) = body["blocks"].as_array() {
            top = body["height"].as_u64().unwrap_or(top);
            let hashes = blocks
                .iter()
                .flat_map(|b| b["txs"].as_array().into_iter().flatten())
                .filter_map(|tx| tx["hash"].as_str().map(str::to_string))
                .take(KNOWN_TXS_MAX);
            if let Ok(mut known) = known.lock() {
                known.clear();
                known.extend(hashes);
            }
        }
    }
    let _ = events.await;
}

/// Hold `/v1/events` open and count its block events until stopped,
/// reopening it if it ends.
async fn follow_events(
    http: reqwest::Client,
    url: String,
    counts: Arc<ReadCounts>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let response = tokio::select! {
            _ = stop.changed() => return,
            response = http.get(&url).send() => response,
        };
        match response {
            Ok(r) if r.status().is_success() => {
                let mut stream = r.bytes_stream();
                loop {
                    let chunk = tokio::select! {
                        _ = stop.changed() => return,
                        chunk = stream.next() => chunk,
                    };
                    match chunk {
                        Some(Ok(bytes)) => {
                            let blocks = bytes.windows(12).filter(|w| w == b"event: block").count();
                            counts.events.fetch_add(blocks as u64, Ordering::Relaxed);
                        }
                        Some(Err(_)) | None => break,
                    }
                }
            }
            _ => {}
        }
        counts.event_stream_errors.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(EVENTS_RETRY) => {}
        }
    }
}
