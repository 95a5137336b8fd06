//! `kopnet audit verify`: replay the chain from genesis and check everything.
//!
//! A node that started from a snapshot (`kopnet node state-sync`) or pruned
//! its old blocks has no blocks before some height: the audit of its home
//! starts from the oldest snapshot it keeps from there on, imported and
//! checked against the state root in the next block's header, and
//! verifies everything after it (the JSON report names `from_snapshot`).
//!
//! For every height: the commit certificate is verified against the validator
//! set of that height (changes take effect two heights after they commit),
//! every transaction signature is verified, the block is re-executed on a
//! fresh in-memory ledger, and the state root is compared with the node's.

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use kopnet_consensus::{codec, CommitCertificate, Hash, Validator, ValidatorSet};
use kopnet_ledger::{Block, Ledger, MemoryStorage, SledStorage, Storage, VerifyAll};
use kopnet_node::api::client::Client;
use kopnet_node::chain_store::certificate_key;
use kopnet_node::genesis_file::NetworkGenesis;
use kopnet_node::NodeHome;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Audit a running node over its API (without `--home`, the
    /// environment's KOPNET_NODE is used when set).
    #[arg(long, conflicts_with = "home")]
    pub node: Option<String>,
    /// Audit a stopped node's home directory offline.
    #[arg(long)]
    pub home: Option<PathBuf>,
    /// With `--node`: the key that signs the reads — a participant's (a
    /// registered observer's key, or a cooperative's key or node key):
    /// raw blocks are served to participants only (without `--home`, the
    /// environment's KOPNET_KEY is used when set).
    #[arg(long, conflicts_with = "home")]
    pub key: Option<PathBuf>,
}

impl VerifyArgs {
    /// `--node` and `--key`, or, for an audit over the API (no `--home`),
    /// KOPNET_NODE and KOPNET_KEY. Read here rather than by clap's `env`,
    /// which would count a set variable as given and so refuse `--home`
    /// beside it.
    fn api_source(&self) -> (Option<String>, Option<PathBuf>) {
        if self.home.is_some() {
            return (self.node.clone(), self.key.clone());
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        (
            self.node.clone().or_else(|| var(super::NODE_ENV)),
            self.key
                .clone()
                .or_else(|| var(super::KEY_ENV).map(PathBuf::from)),
        )
    }
}

/// Where the chain comes from.
enum Source {
    Api(Client),
    Home {
        ledger: Box<Ledger<SledStorage>>,
        data: PathBuf,
    },
}

struct RawBlock {
    block: Vec<u8>,
    certificate: Vec<u8>,
    state_root: Option<Hash>,
}

impl Source {
    async fn height(&self) -> Result<u64> {
        match self {
            Source::Api(c) => c.status().await?["height"]
                .as_u64()
                .context("status has no height"),
            Source::Home { ledger, .. } => Ok(ledger.height()),
        }
    }

    async fn raw(&self, height: u64) -> Result<RawBlock> {
        match self {
            Source::Api(c) => {
                let body = c.get(&format!("/v1/blocks/{height}/raw")).await?;
                let b64 = base64::engine::general_purpose::STANDARD;
                let field = |name: &str| -> Result<Vec<u8>> {
                    b64.decode(body[name].as_str().unwrap_or_default())
                        .map_err(|_| anyhow!("{name} of block {height} is not base64"))
                };
                Ok(RawBlock {
                    block: field("block")?,
                    certificate: field("certificate")?,
                    state_root: body["state_root"]
                        .as_str()
                        .and_then(|s| Hash::from_hex(s).ok()),
                })
            }
            Source::Home { ledger: l, .. } => {
                // From the store itself, not through the readers' base: a
                // state-synced node holds block S + 1 below its base (it has
                // no certificate for it).
                let store = l.storage();
                let block = store
                    .get(&kopnet_ledger::keys::block(height))?
                    .ok_or_else(|| anyhow!("block {height} is missing"))?;
                let state_root = store
                    .get(&kopnet_ledger::keys::root(height))?
                    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                    .map(Hash);
                Ok(RawBlock {
                    block,
                    certificate: l.host_data(&certificate_key(height))?.unwrap_or_default(),
                    state_root,
                })
            }
        }
    }
}

fn set_of<S: Storage>(ledger: &Ledger<S>) -> Result<ValidatorSet> {
    let validators = ledger
        .validators()
        .into_iter()
        .map(|(key, voting_power)| Validator { key, voting_power })
        .collect();
    ValidatorSet::new(validators).map_err(|e| anyhow!("validator set: {e}"))
}

pub async fn verify(args: VerifyArgs) -> Result<i32> {
    let (node, key) = args.api_source();
    if key.is_some() && node.is_none() {
        bail!("--key signs reads over the API: give --node URL too");
    }
    let (source, genesis) = match (&node, &args.home) {
        (Some(url), None) => {
            let client = match &key {
                Some(key) => Client::signed(url, kopnet_node::keyfile::read(key)?),
                None => Client::new(url),
            };
            let genesis: NetworkGenesis = serde_json::from_value(client.get("/v1/genesis").await?)
                .context("node returned an unreadable genesis")?;
            (Source::Api(client), genesis)
        }
        (None, Some(dir)) => {
            let home = NodeHome::new(dir);
            let genesis = NetworkGenesis::load(&home.genesis())?;
            let store = SledStorage::open(&home.ledger(), 16 * 1024 * 1024).map_err(|e| {
                anyhow!(
                    "cannot open {} (is the node still running?): {e}",
                    home.ledger().display()
                )
            })?;
            let ledger = Ledger::open(store, &genesis.ledger)?;
            (
                Source::Home {
                    ledger: Box::new(ledger),
                    data: home.data(),
                },
                genesis,
            )
        }
        _ => bail!("give --node URL or --home DIR"),
    };
    let chain_id = genesis.ledger.chain_id.clone();
    let json = crate::output::json();
    let mut sets: BTreeMap<u64, ValidatorSet> = BTreeMap::new();
    let (mut replay, first, from_snapshot) = match start_snapshot(&source, &genesis)? {
        Some(start) => {
            for (height, set) in start.sets {
                sets.insert(height, set);
            }
            (start.ledger, start.height + 1, Some(start.height))
        }
        None => {
            let replay = Ledger::open(MemoryStorage::new(), &genesis.ledger)?;
            let initial = set_of(&replay)?;
            sets.insert(1, initial.clone());
            sets.insert(2, initial);
            (replay, 1, None)
        }
    };
    let top = source.height().await?;
    let mut txs = 0u64;
    let mut progress = Progress::new();
    for height in first..=top {
        progress.show(height, top);
        let raw = source.raw(height).await?;
        let fail = |why: String| -> Result<i32> {
            report(json, false, height, txs, from_snapshot, &why);
            Ok(2)
        };
        let block = match Block::decode(&raw.block) {
            Ok(b) => b,
            Err(e) => return fail(format!("block does not decode: {e}")),
        };
        // The block right after a state-synced node's snapshot has no
        // certificate (the set that signed it is decided before the
        // snapshot): it is the block state sync tied to the trusted hash,
        // and the next block's parent and certificate cover it.
        let anchored = from_snapshot == Some(height - 1) && raw.certificate.is_empty();
        if !anchored {
            let certificate: CommitCertificate = match codec::decode(&raw.certificate) {
                Ok(c) => c,
                Err(e) => return fail(format!("certificate does not decode: {e}")),
            };
            let Some(set) = sets.get(&height) else {
                return fail("no validator set known for this height".into());
            };
            if certificate.height != height || certificate.value_id != block.hash() {
                return fail("certificate is for another block".into());
            }
            if let Err(e) = certificate.verify(&chain_id, set) {
                return fail(format!("commit certificate: {e}"));
            }
        }
        let outcome = match replay.apply_block(&block, &VerifyAll, vec![]) {
            Ok(o) => o,
            Err(e) => return fail(format!("re-execution: {e}")),
        };
        match raw.state_root {
            Some(root) if root == outcome.state_root => {}
            Some(root) => {
                return fail(format!(
                    "state root differs: node {root}, replay {}",
                    outcome.state_root
                ))
            }
            None => return fail("the node has no state root recorded for this height".into()),
        }
        txs += block.txs.len() as u64;
        sets.insert(height + 2, set_of(&replay)?);
        sets.retain(|h, _| *h + 2 > height);
    }
    if let Err(e) = replay.check_invariants() {
        report(
            json,
            false,
            top,
            txs,
            from_snapshot,
            &format!("invariants: {e}"),
        );
        return Ok(2);
    }
    report(json, true, top, txs, from_snapshot, "");
    Ok(0)
}

/// Where a replay of a node that started from a snapshot begins.
struct SnapshotStart {
    height: u64,
    ledger: Ledger<MemoryStorage>,
    sets: Vec<(u64, ValidatorSet)>,
}

/// For a home whose ledger starts above genesis (state sync): the oldest
/// snapshot it keeps at or above the one it started from, imported and
/// checked against the state root in the next block's header (the chain
/// from there on is what the audit verifies), with the validator sets
/// recorded for the two heights after it. `None` for a node with every
/// block, or read over the API.
fn start_snapshot(source: &Source, genesis: &NetworkGenesis) -> Result<Option<SnapshotStart>> {
    let Source::Home { ledger, data } = source else {
        return Ok(None);
    };
    let meta = |key: &[u8]| -> Result<Option<u64>> {
        match ledger.storage().get(key)? {
            Some(bytes) => Ok(Some(u64::from_be_bytes(
                <[u8; 8]>::try_from(bytes.as_slice()).map_err(|_| anyhow!("a bad store height"))?,
            ))),
            None => Ok(None),
        }
    };
    // A state-synced node holds blocks from its snapshot's height + 1; a
    // pruned one from its base.
    let started_at = match (
        meta(kopnet_ledger::keys::META_SNAPSHOT_HEIGHT)?,
        meta(kopnet_ledger::keys::META_BASE)?.unwrap_or(1),
    ) {
        // Block S + 1 of a state-synced node is held below its base (S + 2).
        (Some(snapshot), base) if base <= snapshot.saturating_add(2) => snapshot,
        (_, base) if base > 1 => base - 1,
        (_, _) => return Ok(None),
    };
    let dir = kopnet_node::snapshots::dir::SnapshotDir::of_data(data);
    let Some(kept) = dir
        .list()
        .into_iter()
        .filter(|l| l.height >= started_at && l.height < ledger.height())
        .min_by_key(|l| l.height)
    else {
        bail!(
            "this node holds no blocks before height {} and keeps no snapshot at or after \
             height {started_at} to replay from (data/snapshots): audit an archive node from \
             genesis instead",
            started_at + 1
        );
    };
    let height = kept.height;
    let next = ledger
        .storage()
        .get(&kopnet_ledger::keys::block(height + 1))?
        .map(|bytes| Block::decode(&bytes))
        .transpose()?
        .ok_or_else(|| anyhow!("block {} is missing", height + 1))?;
    let mut importer = kopnet_ledger::snapshot::Importer::new(
        MemoryStorage::new(),
        &genesis.ledger,
        kept.manifest.clone(),
        next.header.prev_state_root,
    )?;
    for index in 0..kept.manifest.chunks.len() {
        let bytes = dir
            .chunk(height, index)
            .ok_or_else(|| anyhow!("chunk {index} of the snapshot at {height} is missing"))?;
        importer.chunk(index, &bytes)?;
    }
    let imported = importer.finish(&genesis.ledger)?;
    let mut sets = Vec::new();
    for h in [height + 1, height + 2] {
        if let Some(bytes) = ledger.host_data(&kopnet_node::chain_store::validator_set_key(h))? {
            sets.push((
                h,
                codec::decode(&bytes).map_err(|e| anyhow!("validator set {h}: {e}"))?,
            ));
        }
    }
    Ok(Some(SnapshotStart {
        height,
        ledger: imported,
        sets,
    }))
}

/// A progress bar on stderr: redrawn in place on a terminal (at most every
/// percent), one line every tenth of the way otherwise.
struct Progress {
    terminal: bool,
    shown: Option<u64>,
}

/// Width of the bar in characters.
const BAR_WIDTH_CHARS: u64 = 30;

impl Progress {
    fn new() -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            shown: None,
        }
    }

    fn show(&mut self, height: u64, top: u64) {
        let steps = if self.terminal { 100 } else { 10 };
        let step = height.saturating_mul(steps) / top.max(1);
        if self.shown == Some(step) {
            return;
        }
        self.shown = Some(step);
        let filled = height.saturating_mul(BAR_WIDTH_CHARS) / top.max(1);
        let bar: String = (0..BAR_WIDTH_CHARS)
            .map(|i| if i < filled { '#' } else { '.' })
            .collect();
        let line = format!("verifying [{bar}] {height}/{top} blocks");
        if self.terminal {
            eprint!("\r{line}");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
    }
}

fn report(json: bool, ok: bool, height: u64, txs: u64, from_snapshot: Option<u64>, why: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    if json {
        crate::output::print_json(
            &serde_json::json!({"ok": ok, "height": height, "txs": txs, "from_snapshot": from_snapshot, "error": if ok { None } else { Some(why) }}),
        );
    } else if ok {
        match from_snapshot {
            Some(s) => say!("OK height={height} txs={txs} from the snapshot at height {s}"),
            None => say!("OK height={height} txs={txs}"),
        }
    } else {
        say!("FAIL height={height}: {why}");
    }
}
