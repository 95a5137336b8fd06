//! State sync: start a node's ledger from a snapshot its peers keep instead
//! of replaying every block (`kopnet node state-sync`).
//!
//! **Trust.** A snapshot is only as good as the root it is checked
//! against, and a joining node knows nothing of the chain but its genesis.
//! So the operator names one block it trusts: `--trust-block HEIGHT:HASH`
//! (read from its own cooperative's node, from the regulator, from any
//! explorer it believes), or `--trust-from URL`, which asks that one node
//! for its newest block and trusts the answer. The node then:
//!
//! 1. asks each source (`--from URL`, repeatable: peers' APIs, which serve
//!    snapshots to participants only, so the requests are signed with the
//!    home's node key) which snapshots it keeps, and picks the newest one
//!    at a height `S` below the trusted height `T`;
//! 2. fetches the headers `S + 1 ..= T` and checks that they chain by
//!    parent hash up to the trusted hash: header `S + 1` is then the
//!    chain's, and its `prev_state_root` is the root of the state at `S`
//!    and its `parent` the hash of block `S`;
//! 3. fetches the manifest (its block hash must be that parent), then each
//!    chunk from the sources in turn: a chunk that does not match the
//!    manifest is asked of the next source;
//! 4. imports the chunks into a store of its own
//!    ([`kopnet_ledger::snapshot::Importer`]: the state entries must give
//!    the root, each day's records their day's commitment), refusing the
//!    whole snapshot at the first thing that does not hold;
//! 5. applies block `S + 1` (its hash must be header `S + 1`'s: the
//!    certificate cannot be checked, since the validator set that signed
//!    it is decided by state before the snapshot) and block `S + 2` with
//!    its commit certificate, checked against the validator set the
//!    snapshot's state decides (when `S + 2` is past the trusted block and
//!    no source has committed it yet, it waits for it, up to a minute);
//! 6. moves the store into `data/ledger` and keeps the snapshot in
//!    `data/snapshots/S` (so `kopnet audit verify` can start from it, and
//!    the node can serve it to the next one).
//!
//! Then `kopnet node run` goes on by ordinary catch-up from `S + 3`. The
//! node has no blocks below `S + 2` (`Mbase`): it answers for them like a
//! pruned node. A validator's home is marked like a restored one, so its
//! double-sign check takes the network's height as the bound of what its
//! key signed before ([`crate::host::double_sign`]).

use super::anchor;
use super::dir::{Partial, SnapshotDir};
use crate::api::client::{Client, ClientError};
use crate::config::NodeConfig;
use crate::genesis_file::NetworkGenesis;
use crate::host::catch_up::{take_one, SyncedBlockOutcome};
use crate::start::NodeHome;
use crate::wire::SyncedBlock;
use base64::Engine as _;
use kopnet_consensus::{codec, Hash};
use kopnet_ledger::block::{Block, BlockHeader};
use kopnet_ledger::snapshot::{Importer, Manifest, CHUNK_BYTES_MAX, MANIFEST_BYTES_MAX};
use kopnet_ledger::{Ledger, SledStorage};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Most headers between a snapshot and the trusted block (a trusted block
/// further ahead: take a newer snapshot, or trust an older block).
pub const ANCHOR_HEADERS_MAX: u64 = 100_000;
/// Largest encoded header accepted.
const HEADER_BYTES_MAX: usize = 4 * 1024;
/// Largest raw-block answer accepted (base64 JSON of the largest block).
const BLOCK_ANSWER_BYTES_MAX: usize = 16 * 1024 * 1024;
/// How long state sync waits for block `S + 2` while no source has it
/// (it is one past the trusted block when the snapshot is just below it).
const SECOND_BLOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How often it asks again meanwhile.
const SECOND_BLOCK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The block the operator trusts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// `--trust-block HEIGHT:HASH`.
    Block { height: u64, hash: Hash },
    /// `--trust-from URL`: that node's newest block.
    From(String),
}

impl Trust {
    /// `HEIGHT:HASH` as typed on the command line.
    pub fn parse_block(text: &str) -> Result<Trust, StateSyncError> {
        let bad = || StateSyncError::Usage(format!("--trust-block {text:?}: expected HEIGHT:HASH"));
        let (height, hash) = text.split_once(':').ok_or_else(bad)?;
        Ok(Trust::Block {
            height: height.trim().parse().map_err(|_| bad())?,
            hash: Hash::from_hex(hash.trim()).map_err(|_| bad())?,
        })
    }
}

/// Why state sync stopped. Nothing was kept: the staging store is removed.
#[derive(Debug, thiserror::Error)]
pub enum StateSyncError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Home(String),
    #[error("{path} already holds a ledger: state sync starts a new one (move it aside first)")]
    HasLedger { path: String },
    #[error("the trusted block: {0}")]
    Trust(String),
    #[error("no source offers a snapshot below the trusted height {trusted}{detail}")]
    NoSnapshot { trusted: u64, detail: String },
    #[error("headers {from}..={to}: {reason}")]
    Headers { from: u64, to: u64, reason: String },
    #[error("snapshot at height {height}: {reason}")]
    Snapshot { height: u64, reason: String },
    #[error("block {height}: {reason}")]
    Block { height: u64, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// What state sync did.
#[derive(Debug, Clone)]
pub struct StateSyncSummary {
    pub trusted_height: u64,
    pub snapshot_height: u64,
    pub manifest_id: Hash,
    pub state_root: Hash,
    pub chunks: usize,
    /// Bytes of the snapshot itself (manifest and chunks).
    pub snapshot_bytes: u64,
    /// All bytes fetched: snapshot, headers and the two blocks.
    pub downloaded_bytes: u64,
    pub headers: u64,
    /// The ledger's height when state sync ended (`S + 2`).
    pub height: u64,
    /// Chunks a source sent that did not match the manifest.
    pub refused_chunks: u64,
    pub sources: Vec<String>,
    pub elapsed_ms: u64,
    /// Where the time went: fetching (headers, manifest, chunks, blocks),
    /// importing the chunks (checks and writes), opening the imported
    /// ledger, applying the two blocks.
    pub fetch_ms: u64,
    pub import_ms: u64,
    pub open_ms: u64,
    pub blocks_ms: u64,
}

/// What a source keeps.
#[derive(Debug, Clone)]
struct Offer {
    source: usize,
    height: u64,
    manifest_id: String,
}

/// Progress, for the command's output.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    Headers { done: u64, total: u64 },
    Chunk { done: usize, total: usize },
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> StateSyncError {
    StateSyncError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn dir_has_entries(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some())
}

/// Run state sync for the home at `home_dir` from `sources`.
pub async fn state_sync(
    home_dir: &Path,
    sources: &[String],
    trust: Trust,
    mut progress: impl FnMut(Progress),
) -> Result<StateSyncSummary, StateSyncError> {
    let started = Instant::now();
    if sources.is_empty() {
        return Err(StateSyncError::Usage(
            "give at least one source: --from URL (a peer's API)".into(),
        ));
    }
    let home = NodeHome::new(home_dir);
    let config =
        NodeConfig::load(&home.config()).map_err(|e| StateSyncError::Home(e.to_string()))?;
    let genesis =
        NetworkGenesis::load(&home.genesis()).map_err(|e| StateSyncError::Home(e.to_string()))?;
    let key = crate::keyfile::read(&home_dir.join(&config.key_file))
        .map_err(|e| StateSyncError::Home(e.to_string()))?;
    if dir_has_entries(&home.ledger()) {
        return Err(StateSyncError::HasLedger {
            path: home.ledger().display().to_string(),
        });
    }
    let clients: Vec<Client> = sources
        .iter()
        .map(|url| Client::signed(url, key.clone()))
        .collect();
    let (trusted_height, trusted_hash) = trusted_block(&trust, &key).await?;
    let (offers, refusals) = offers(&clients, trusted_height).await;
    let Some(best) = offers.iter().map(|o| o.height).max() else {
        let detail = refusals
            .iter()
            .map(|(source, why)| format!("; {}: {why}", sources[*source]))
            .collect::<String>();
        return Err(StateSyncError::NoSnapshot {
            trusted: trusted_height,
            detail,
        });
    };
    let mut fetched = Fetched::default();
    let clock = Instant::now();
    let anchor = anchor_headers(
        &clients,
        best,
        trusted_height,
        trusted_hash,
        &mut fetched,
        &mut progress,
    )
    .await?;
    fetched.fetch += clock.elapsed();
    let staging = {
        let mut name = home.ledger().into_os_string();
        name.push(".syncing");
        PathBuf::from(name)
    };
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| write_error(&staging, e))?;
    }
    std::fs::create_dir_all(home.data()).map_err(|e| write_error(&home.data(), e))?;
    let snapshots = SnapshotDir::of_data(&home.data());
    let result = build(
        &clients,
        &offers,
        best,
        &anchor,
        &genesis,
        &staging,
        &snapshots,
        &mut fetched,
        &mut progress,
    )
    .await;
    let (manifest, height) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if config.role == crate::config::Role::Validator {
        let marker = home.data().join(crate::host::double_sign::RESTORED_MARKER);
        std::fs::write(&marker, format!("state-synced to height {height}\n"))
            .map_err(|e| write_error(&marker, e))?;
    }
    if home.ledger().exists() {
        std::fs::remove_dir(home.ledger()).map_err(|e| write_error(&home.ledger(), e))?;
    }
    std::fs::rename(&staging, home.ledger())
        .and_then(|()| crate::backup::sync_parent(&home.ledger()))
        .map_err(|e| write_error(&home.ledger(), e))?;
    let used: std::collections::BTreeSet<usize> = fetched.used.iter().copied().collect();
    Ok(StateSyncSummary {
        trusted_height,
        snapshot_height: manifest.height,
        manifest_id: manifest.id(),
        state_root: manifest.state_root,
        chunks: manifest.chunks.len(),
        snapshot_bytes: fetched.snapshot_bytes,
        downloaded_bytes: fetched.bytes,
        headers: trusted_height - manifest.height,
        height,
        refused_chunks: fetched.refused_chunks,
        sources: used.into_iter().map(|i| sources[i].clone()).collect(),
        elapsed_ms: ms(started.elapsed()),
        fetch_ms: ms(fetched.fetch),
        import_ms: ms(fetched.import),
        open_ms: ms(fetched.open),
        blocks_ms: ms(fetched.blocks),
    })
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Counts of what was fetched.
#[derive(Debug, Default)]
struct Fetched {
    fetch: std::time::Duration,
    import: std::time::Duration,
    open: std::time::Duration,
    blocks: std::time::Duration,
    bytes: u64,
    snapshot_bytes: u64,
    refused_chunks: u64,
    used: Vec<usize>,
}

/// The trusted block's height and hash.
async fn trusted_block(
    trust: &Trust,
    key: &kopnet_consensus::Keypair,
) -> Result<(u64, Hash), StateSyncError> {
    match trust {
        Trust::Block { height, hash } => Ok((*height, *hash)),
        Trust::From(url) => {
            let client = Client::signed(url, key.clone());
            let fail = |e: ClientError| StateSyncError::Trust(format!("{url}: {e}"));
            let height = client.status().await.map_err(fail)?["height"]
                .as_u64()
                .ok_or_else(|| StateSyncError::Trust(format!("{url}: status has no height")))?;
            let block = client
                .get(&format!("/v1/blocks/{height}"))
                .await
                .map_err(fail)?;
            let hash = block["hash"]
                .as_str()
                .and_then(|h| Hash::from_hex(h).ok())
                .ok_or_else(|| {
                    StateSyncError::Trust(format!("{url}: block {height} has no hash"))
                })?;
            Ok((height, hash))
        }
    }
}

/// What each source keeps below the trusted height, and why a source
/// offers nothing (it does not answer, or refuses: only participants —
/// the network's cooperatives and registered observers — are served).
async fn offers(clients: &[Client], trusted: u64) -> (Vec<Offer>, Vec<(usize, String)>) {
    let mut offers = Vec::new();
    let mut refusals = Vec::new();
    for (source, client) in clients.iter().enumerate() {
        let listed = match client.get("/v1/snapshots").await {
            Ok(listed) => listed,
            Err(e) => {
                refusals.push((source, e.to_string()));
                continue;
            }
        };
        for entry in listed["snapshots"].as_array().into_iter().flatten() {
            let (Some(height), Some(id)) =
                (entry["height"].as_u64(), entry["manifest_id"].as_str())
            else {
                continue;
            };
            if height > 0 && height < trusted && trusted - height <= ANCHOR_HEADERS_MAX {
                offers.push(Offer {
                    source,
                    height,
                    manifest_id: id.to_string(),
                });
            }
        }
    }
    (offers, refusals)
}

/// The headers right after the snapshot, tied to the trusted hash.
#[derive(Debug)]
struct Anchor {
    /// Header `S + 1`.
    first: BlockHeader,
    /// Header `S + 2`, when the trusted height is at least that.
    second: Option<BlockHeader>,
}

/// Fetch headers `snapshot + 1 ..= trusted` and check they chain up to the
/// trusted hash.
async fn anchor_headers(
    clients: &[Client],
    snapshot: u64,
    trusted: u64,
    trusted_hash: Hash,
    fetched: &mut Fetched,
    progress: &mut impl FnMut(Progress),
) -> Result<Anchor, StateSyncError> {
    let from = snapshot + 1;
    let fail = |reason: String| StateSyncError::Headers {
        from,
        to: trusted,
        reason,
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let (mut first, mut second) = (None, None);
    let mut previous: Option<Hash> = None;
    let mut next = from;
    let mut source = 0usize;
    let mut failures = 0usize;
    while next <= trusted {
        let client = &clients[source % clients.len()];
        let page = match client
            .get(&format!("/v1/headers?from={next}&to={trusted}"))
            .await
        {
            Ok(page) => page,
            Err(e) => {
                failures += 1;
                if failures >= clients.len() * 2 {
                    return Err(fail(format!("no source serves them ({e})")));
                }
                source += 1;
                continue;
            }
        };
        let headers = page["headers"].as_array().cloned().unwrap_or_default();
        if headers.is_empty() {
            failures += 1;
            if failures >= clients.len() * 2 {
                return Err(fail(format!("no source holds header {next}")));
            }
            source += 1;
            continue;
        }
        fetched.used.push(source % clients.len());
        for text in headers {
            let bytes = b64
                .decode(text.as_str().unwrap_or_default())
                .map_err(|_| fail(format!("header {next} is not base64")))?;
            fetched.bytes += bytes.len() as u64;
            let header: BlockHeader = codec::decode_bounded(&bytes, HEADER_BYTES_MAX)
                .map_err(|e| fail(format!("header {next}: {e}")))?;
            if header.height != next {
                return Err(fail(format!(
                    "asked for header {next}, got {}",
                    header.height
                )));
            }
            if let Some(hash) = previous {
                if header.parent != hash {
                    return Err(fail(format!(
                        "header {next} does not follow header {}",
                        next - 1
                    )));
                }
            }
            previous = Some(header.hash());
            if next == from {
                first = Some(header);
            } else if next == from + 1 {
                second = Some(header);
            }
            next += 1;
            if next > trusted {
                break;
            }
        }
        progress(Progress::Headers {
            done: next - from,
            total: trusted - snapshot,
        });
    }
    if previous != Some(trusted_hash) {
        return Err(fail(format!(
            "they do not lead to the trusted hash of block {trusted}"
        )));
    }
    let first = first.ok_or_else(|| fail("no header after the snapshot".into()))?;
    Ok(Anchor { first, second })
}

/// Import the snapshot at `height` into `staging` and apply the two blocks
/// after it: the manifest and the ledger's height.
#[allow(clippy::too_many_arguments)]
async fn build(
    clients: &[Client],
    offers: &[Offer],
    height: u64,
    anchor: &Anchor,
    genesis: &NetworkGenesis,
    staging: &Path,
    snapshots: &SnapshotDir,
    fetched: &mut Fetched,
    progress: &mut impl FnMut(Progress),
) -> Result<(Manifest, u64), StateSyncError> {
    let fail = |reason: String| StateSyncError::Snapshot { height, reason };
    let holders: Vec<&Offer> = offers.iter().filter(|o| o.height == height).collect();
    let mut manifest = None;
    for offer in &holders {
        let Ok(bytes) = clients[offer.source]
            .get_bytes(
                &format!("/v1/snapshots/{height}/manifest"),
                MANIFEST_BYTES_MAX,
            )
            .await
        else {
            continue;
        };
        fetched.bytes += bytes.len() as u64;
        fetched.snapshot_bytes += bytes.len() as u64;
        match Manifest::decode(&bytes) {
            Ok(m) if m.height == height && m.block_hash == anchor.first.parent => {
                manifest = Some(m);
                break;
            }
            // A manifest that does not match the anchored chain: ask the
            // next holder.
            _ => continue,
        }
    }
    let manifest = manifest.ok_or_else(|| {
        fail("no source gave a manifest of the block the trusted chain names".into())
    })?;
    // Sources whose listing names this manifest come first.
    let id = manifest.id().to_hex();
    let mut order: Vec<usize> = holders
        .iter()
        .filter(|o| o.manifest_id == id)
        .map(|o| o.source)
        .collect();
    for offer in &holders {
        if !order.contains(&offer.source) {
            order.push(offer.source);
        }
    }
    let store =
        SledStorage::open(staging, 64 * 1024 * 1024).map_err(|e| write_error(staging, e))?;
    let mut importer = Importer::new(
        store,
        &genesis.ledger,
        manifest.clone(),
        anchor.first.prev_state_root,
    )
    .map_err(|e| fail(e.to_string()))?;
    let mut kept: Partial = snapshots
        .begin(height)
        .map_err(|e| write_error(snapshots.root(), e))?;
    let total = manifest.chunks.len();
    for index in 0..total {
        let mut chunk = None;
        let clock = Instant::now();
        for attempt in 0..order.len() {
            let source = order[(index + attempt) % order.len()];
            let Ok(bytes) = clients[source]
                .get_bytes(
                    &format!("/v1/snapshots/{height}/chunks/{index}"),
                    CHUNK_BYTES_MAX,
                )
                .await
            else {
                continue;
            };
            fetched.bytes += bytes.len() as u64;
            if Importer::<SledStorage>::matches(&manifest, index, &bytes) {
                fetched.used.push(source);
                chunk = Some(bytes);
                break;
            }
            fetched.refused_chunks += 1;
        }
        let Some(bytes) = chunk else {
            kept.abandon();
            return Err(fail(format!(
                "no source sent chunk {index} as the manifest names it"
            )));
        };
        fetched.snapshot_bytes += bytes.len() as u64;
        fetched.fetch += clock.elapsed();
        let clock = Instant::now();
        if let Err(e) = importer.chunk(index, &bytes) {
            kept.abandon();
            return Err(fail(e.to_string()));
        }
        kept.chunk(&bytes)
            .map_err(|e| write_error(snapshots.root(), e))?;
        fetched.import += clock.elapsed();
        progress(Progress::Chunk {
            done: index + 1,
            total,
        });
    }
    let clock = Instant::now();
    let ledger = match importer.finish(&genesis.ledger) {
        Ok(ledger) => ledger,
        Err(e) => {
            kept.abandon();
            return Err(fail(e.to_string()));
        }
    };
    kept.finish(&manifest)
        .map_err(|e| write_error(snapshots.root(), e))?;
    fetched.open += clock.elapsed();
    let clock = Instant::now();
    let height_after = next_two_blocks(clients, &order, ledger, anchor, genesis, fetched).await?;
    fetched.blocks += clock.elapsed();
    Ok((manifest, height_after))
}

/// A block's bytes and certificate from `/v1/blocks/{h}/raw` at one
/// source, if it serves them.
async fn raw_block(
    client: &Client,
    height: u64,
    fetched: &mut Fetched,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = client.get(&format!("/v1/blocks/{height}/raw")).await.ok()?;
    let field = |name: &str| b64.decode(body[name].as_str().unwrap_or_default()).ok();
    let (block, certificate) = (field("block")?, field("certificate")?);
    (block.len() + certificate.len() <= BLOCK_ANSWER_BYTES_MAX).then(|| {
        fetched.bytes += (block.len() + certificate.len()) as u64;
        (block, certificate)
    })
}

/// Apply blocks `S + 1` (anchored by hash) and `S + 2` (by certificate,
/// and by hash when the trusted height reaches it); the height reached.
async fn next_two_blocks(
    clients: &[Client],
    order: &[usize],
    mut ledger: Ledger<SledStorage>,
    anchor: &Anchor,
    genesis: &NetworkGenesis,
    fetched: &mut Fetched,
) -> Result<u64, StateSyncError> {
    let first_height = anchor.first.height;
    let fail = |height: u64, reason: String| StateSyncError::Block { height, reason };
    let wanted = anchor.first.hash();
    let mut applied = false;
    for source in order {
        let Some((bytes, _)) = raw_block(&clients[*source], first_height, fetched).await else {
            continue;
        };
        let Ok(block) = Block::decode(&bytes) else {
            continue;
        };
        if block.hash() != wanted {
            continue;
        }
        anchor::apply_first_block(&mut ledger, &block)
            .map_err(|e| fail(first_height, e.to_string()))?;
        applied = true;
        break;
    }
    if !applied {
        return Err(fail(
            first_height,
            "no source sent the block the trusted chain names".into(),
        ));
    }
    let second_height = first_height + 1;
    let state = anchor::offline_state(&genesis.ledger.chain_id, ledger);
    // Block `S + 2` is one past the trusted block when the snapshot is the
    // one just below it: the sources may not have committed it yet. While
    // none serves it, ask again until `SECOND_BLOCK_WAIT` has passed.
    let waiting_since = Instant::now();
    let mut committed = false;
    let mut reason;
    loop {
        reason = "no source sent it with a certificate that verifies".to_string();
        let mut served = false;
        for source in order {
            let Some((block, certificate)) =
                raw_block(&clients[*source], second_height, fetched).await
            else {
                continue;
            };
            served = true;
            if let (Some(header), Ok(decoded)) = (&anchor.second, Block::decode(&block)) {
                if decoded.hash() != header.hash() {
                    continue;
                }
            }
            match take_one(&state, &SyncedBlock { block, certificate }) {
                Ok(Ok(SyncedBlockOutcome::Committed(_))) => {
                    committed = true;
                    break;
                }
                Ok(Ok(SyncedBlockOutcome::Known)) => {}
                Ok(Err(refusal)) => reason = refusal.to_string(),
                Err(e) => return Err(fail(second_height, e.to_string())),
            }
        }
        if committed || served {
            break;
        }
        if waiting_since.elapsed() >= SECOND_BLOCK_WAIT {
            reason = format!(
                "no source has it yet (waited {} s): try again once the network is past it",
                SECOND_BLOCK_WAIT.as_secs()
            );
            break;
        }
        tokio::time::sleep(SECOND_BLOCK_POLL).await;
    }
    if !committed {
        return Err(fail(second_height, reason));
    }
    let ledger = anchor::into_ledger(state).map_err(|e| fail(second_height, e.to_string()))?;
    anchor::set_base(&ledger, second_height).map_err(|e| fail(second_height, e.to_string()))?;
    Ok(ledger.height())
}
