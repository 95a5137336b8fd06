//! `kopnet audit verify`: replay the chain from genesis and check everything.
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
    /// Audit a running node over its API.
    #[arg(long, conflicts_with = "home")]
    pub node: Option<String>,
    /// Audit a stopped node's home directory offline.
    #[arg(long)]
    pub home: Option<PathBuf>,
    /// With `--node`: the key that signs the reads — a participant's (a
    /// registered observer's key, or a cooperative's key or node key):
    /// raw blocks are served to participants only.
    #[arg(long, requires = "node")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub read: super::ReadOpts,
}

/// Where the chain comes from.
enum Source {
    Api(Client),
    Home(Box<Ledger<SledStorage>>),
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
            Source::Home(l) => Ok(l.height()),
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
            Source::Home(l) => {
                let block = l
                    .block(height)?
                    .ok_or_else(|| anyhow!("block {height} is missing"))?;
                Ok(RawBlock {
                    block: block.encode()?,
                    certificate: l.host_data(&certificate_key(height))?.unwrap_or_default(),
                    state_root: l.state_root_at(height)?,
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
    let (source, genesis) = match (&args.node, &args.home) {
        (Some(url), None) => {
            let client = match &args.key {
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
            (Source::Home(Box::new(ledger)), genesis)
        }
        _ => bail!("give --node URL or --home DIR"),
    };
    let chain_id = genesis.ledger.chain_id.clone();
    let json = args.read.output == crate::output::OutputFormat::Json;
    let mut replay = Ledger::open(MemoryStorage::new(), &genesis.ledger)?;
    let mut sets: BTreeMap<u64, ValidatorSet> = BTreeMap::new();
    let initial = set_of(&replay)?;
    sets.insert(1, initial.clone());
    sets.insert(2, initial);
    let top = source.height().await?;
    let mut txs = 0u64;
    let mut progress = Progress::new();
    for height in 1..=top {
        progress.show(height, top);
        let raw = source.raw(height).await?;
        let fail = |why: String| -> Result<i32> {
            report(json, false, height, txs, &why);
            Ok(2)
        };
        let block = match Block::decode(&raw.block) {
            Ok(b) => b,
            Err(e) => return fail(format!("block does not decode: {e}")),
        };
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
        report(json, false, top, txs, &format!("invariants: {e}"));
        return Ok(2);
    }
    report(json, true, top, txs, "");
    Ok(0)
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

fn report(json: bool, ok: bool, height: u64, txs: u64, why: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    if json {
        say!(
            "{}",
            serde_json::json!({"ok": ok, "height": height, "txs": txs, "error": if ok { None } else { Some(why) }})
        );
    } else if ok {
        say!("OK height={height} txs={txs}");
    } else {
        say!("FAIL height={height}: {why}");
    }
}
