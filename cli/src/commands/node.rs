//! `kopnet node init|run|check|accept-older-store|next-keys`.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use kopnet_node::config::{LogFormat, NodeConfig, Role};
use kopnet_node::store_check::{self, Accepted, HomeReport, SafetyState};
use kopnet_node::{keyfile, NodeHome};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Create a node home from a genesis and its keys (copied into the
    /// home: never the cooperative key); `--join` takes the genesis of a
    /// running network and its bootstrap peer.
    Init(super::node_init::InitArgs),
    /// Run the node in a home directory until SIGINT/SIGTERM.
    Run {
        /// The node home (config.toml, genesis.json, keys, data/).
        #[arg(long)]
        home: PathBuf,
        /// Log as JSON lines instead of human text (so does `--output
        /// json`: a running node's output is its log).
        #[arg(long)]
        log_json: bool,
        /// Start a validator whose safety record (data/safety.bin) is lost.
        /// Risky: signing without it can sign twice (equivocation, with the
        /// evidence put on the chain). The node first follows the chain
        /// without signing until none of the last 10 blocks carries its
        /// signature and it hears no message signed by its key; it stops if
        /// another instance is signing with the key.
        #[arg(long)]
        new_safety_record: bool,
    },
    /// Verify a stopped node's store offline: every block, its commit
    /// certificate, parent link and state root (by re-executing the chain
    /// from genesis), and the safety record. Never writes to the home (it
    /// checks a copy of the store). Exit 0: sound; 1: damaged (the first bad
    /// height is named); 2: could not check.
    Check {
        /// The stopped node's home.
        #[arg(long)]
        home: PathBuf,
    },
    /// Accept a stopped validator's store that is behind its safety record
    /// on purpose (restored from an older backup, or cut back by damage and
    /// kept): the node may then start and catch up from its peers, signing
    /// again only past what it signed before.
    AcceptOlderStore {
        /// The stopped validator's home.
        #[arg(long)]
        home: PathBuf,
    },
    /// Write a validator node's next keys for a rotation
    /// (`validator.next.key`, `node.next.key`) and print the `kopnet coop rotate-keys`
    /// the board then signs. A running validator picks up its next
    /// validator key after its next block; it starts with its next node
    /// identity at its next start once the rotation executed. With
    /// `--promote`, after the rotation executed: the next keys become
    /// `validator.key` / `node.key`, the old ones are kept as
    /// `*.retired.key`.
    NextKeys {
        /// The node's home.
        #[arg(long)]
        home: PathBuf,
        /// After the rotation executed: make the next keys the current ones.
        #[arg(long)]
        promote: bool,
    },
    /// Back up a node's home to one file, while the node runs (read over
    /// its own API) or stopped: configuration, genesis, keys, every
    /// committed block with its certificate, and the members' personal
    /// data. Not the safety record (README, "Operating a node"). The file
    /// holds keys and personal data: keep it like the keys.
    Backup {
        /// The node's home.
        #[arg(long)]
        home: PathBuf,
        /// The backup file to write (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// The running node's API URL, when it is not the configured
        /// address on loopback (a container, a proxy).
        #[arg(long, env = super::NODE_ENV)]
        node: Option<String>,
    },
    /// Start this home's ledger from a snapshot its peers keep, instead of
    /// replaying every block (README, "Operating a node: joining"). The
    /// snapshot is tied to a block you trust; then `kopnet node run`
    /// catches up the rest.
    StateSync {
        /// The new node's home (from `kopnet node init`).
        #[arg(long)]
        home: PathBuf,
        /// A peer's API to fetch from (repeat it: chunks are asked of each
        /// in turn, and one that sends a wrong chunk is passed over).
        #[arg(long = "from", required = true)]
        from: Vec<String>,
        /// The block you trust, as HEIGHT:HASH (from your own cooperative's
        /// node, the regulator's, any explorer you believe).
        #[arg(long, conflicts_with = "trust_from")]
        trust_block: Option<String>,
        /// Trust the newest block of the node at this URL.
        #[arg(long)]
        trust_from: Option<String>,
        /// Same as `--output json` (kept for scripts written before it).
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Restore a backup into a new home: every block is verified and
    /// executed again. A validator then starts with `--new-safety-record`.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// The new home (must not exist, or be empty).
        #[arg(long)]
        home: PathBuf,
    },
}

pub async fn run(cmd: NodeCommand) -> Result<i32> {
    match cmd {
        NodeCommand::Init(args) => super::node_init::run(args).await,
        NodeCommand::Run {
            home,
            log_json,
            new_safety_record,
        } => {
            let node_home = NodeHome::new(&home);
            let config = NodeConfig::load(&node_home.config())?;
            init_logging(log_json || crate::output::json() || config.log_format == LogFormat::Json);
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("shutting down");
                let _ = stop_tx.send(true);
            });
            let options = kopnet_node::RunOptions { new_safety_record };
            match kopnet_node::run_with(&node_home, options, stop_rx).await {
                Ok(()) => Ok(0),
                // Fail-stop: one line, the log's last, and the code that
                // says what kind of stop it was (README, "Health and
                // fail-stop").
                Err(error @ kopnet_node::NodeError::FailStop(_)) => {
                    tracing::error!("{error}");
                    Ok(error.exit_code())
                }
                // A chain past an upgrade this build does not speak: one
                // line on stderr and exit code 75, as when it stops for it.
                Err(error @ kopnet_node::NodeError::UpgradeRequired(_)) => {
                    eprintln!("error: {error}");
                    Ok(error.exit_code())
                }
                Err(error) => Err(error.into()),
            }
        }
        NodeCommand::Check { home } => {
            let json = crate::output::json();
            let node_home = NodeHome::new(&home);
            let mut progress = Progress::default();
            let checked = tokio::task::spawn_blocking(move || {
                store_check::check_home(&node_home, &mut |h, top| progress.show(h, top))
            })
            .await?;
            match checked {
                Ok(report) => {
                    print_check(&report, json);
                    Ok(if report.sound() { 0 } else { 1 })
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(2)
                }
            }
        }
        NodeCommand::NextKeys { home, promote } => next_keys(&home, promote),
        NodeCommand::Backup { home, out, node } => {
            super::node_backup::backup(&home, &out, node.as_deref()).await
        }
        NodeCommand::Restore { from, home } => super::node_backup::restore(&from, &home).await,
        NodeCommand::StateSync {
            home,
            from,
            trust_block,
            trust_from,
            json,
        } => {
            super::node_state_sync::state_sync(
                &home,
                &from,
                trust_block.as_deref(),
                trust_from.as_deref(),
                json || crate::output::json(),
            )
            .await
        }
        NodeCommand::AcceptOlderStore { home } => {
            let accepted = store_check::accept_older_store(&NodeHome::new(&home))?;
            if crate::output::json() {
                let (accepted, ledger_height, record_height) = match accepted {
                    Accepted::Marked {
                        ledger_height,
                        record_height,
                    } => (true, ledger_height, Some(record_height)),
                    Accepted::NotBehind {
                        ledger_height,
                        record_height,
                    } => (false, ledger_height, record_height),
                };
                crate::output::print_json(&serde_json::json!({
                    "accepted": accepted,
                    "store_height": ledger_height,
                    "safety_record_height": record_height,
                }));
                return Ok(0);
            }
            match accepted {
                Accepted::Marked {
                    ledger_height,
                    record_height,
                } => say!(
                    "accepted: the store ends at height {ledger_height}, the safety record at \
                     {record_height}; the node catches up from its peers and signs again only \
                     past height {record_height}"
                ),
                Accepted::NotBehind {
                    ledger_height,
                    record_height,
                } => say!(
                    "nothing to accept: the store (height {ledger_height}) is not behind the \
                     safety record ({})",
                    record_height.map_or("none".to_string(), |h| format!("height {h}"))
                ),
            }
            Ok(0)
        }
    }
}

/// The key files of a home a rotation replaces: (current, next, retired)
/// per job, from the home's config.
fn rotation_files(home: &std::path::Path) -> Result<Vec<(&'static str, [PathBuf; 3])>> {
    let config = NodeConfig::load(&home.join("config.toml"))?;
    let retired = |file: &str| home.join(file.replace(".key", ".retired.key"));
    let mut files = vec![(
        "node identity",
        [
            home.join(&config.key_file),
            home.join(&config.next_key_file),
            retired(&config.key_file),
        ],
    )];
    // An observer has only its node identity.
    if config.role == Role::Validator {
        files.push((
            "validator key",
            [
                home.join(&config.validator_key_file),
                home.join(&config.next_validator_key_file),
                retired(&config.validator_key_file),
            ],
        ));
    }
    Ok(files)
}

/// `kopnet node next-keys`.
fn next_keys(home: &std::path::Path, promote: bool) -> Result<i32> {
    let files = rotation_files(home)?;
    let mut done = Vec::new();
    if promote {
        for (job, [current, next, retired]) in &files {
            if !next.exists() {
                say!("{job}: no {} to promote", next.display());
                done.push(serde_json::json!({"job": job, "promoted": false}));
                continue;
            }
            if retired.exists() {
                bail!("{} exists: move it away first", retired.display());
            }
            std::fs::rename(current, retired)
                .with_context(|| format!("cannot move {}", current.display()))?;
            std::fs::rename(next, current)
                .with_context(|| format!("cannot move {}", next.display()))?;
            say!("{job}: {} is now {}", next.display(), current.display());
            done.push(serde_json::json!({"job": job, "promoted": true,
                "file": current.display().to_string(), "retired": retired.display().to_string()}));
        }
        if crate::output::json() {
            crate::output::print_json(&serde_json::json!({ "promoted": done }));
        }
        return Ok(0);
    }
    if let Some((_, [_, next, _])) = files.iter().find(|(_, [_, next, _])| next.exists()) {
        bail!(
            "{} exists: a rotation is under way (after it executed, run `kopnet node next-keys --home {} --promote`)",
            next.display(),
            home.display()
        );
    }
    let observer = files.len() == 1;
    let mut args = Vec::new();
    for (job, [_, next, _]) in &files {
        let key = kopnet_consensus::Keypair::generate(&mut rand::rngs::OsRng);
        keyfile::write_new(next, &key)?;
        say!("{job}: {} ({})", next.display(), key.public().to_address());
        done.push(
            serde_json::json!({"job": job, "file": next.display().to_string(),
            "address": key.public().to_address()}),
        );
        let flag = if *job == "validator key" {
            "--validator-key"
        } else {
            "--node-key"
        };
        args.push(format!("{flag} {}", key.public().to_address()));
    }
    let next_step = if observer {
        format!("kopnet observer rotate-key --home {}", home.display())
    } else {
        format!(
            "kopnet coop rotate-keys --key cooperative.key {}",
            args.join(" ")
        )
    };
    if crate::output::json() {
        crate::output::print_json(
            &serde_json::json!({ "next_keys": done, "next_step": next_step }),
        );
    } else if observer {
        say!("now sign the rotation with the observer's current key: {next_step}");
    } else {
        say!("now have the board sign: {next_step}");
    }
    Ok(0)
}

/// One line per part: `OK height=N ...`, or `FAIL height=N ...: what`.
fn print_check(report: &HomeReport, json: bool) {
    let safety = match &report.safety {
        Ok(SafetyState::Sound { height }) => Ok(format!("signed-to-height-{height}")),
        Ok(SafetyState::Absent) => Ok("none".to_string()),
        Err(e) => Err(e.to_string()),
    };
    if json {
        let store = match &report.store {
            Ok(s) => serde_json::json!({"ok": true, "height": s.height, "txs": s.txs,
                "state_root": s.state_root.to_hex()}),
            Err(d) => serde_json::json!({"ok": false, "height": d.height, "path": d.path,
                "problem": d.problem.to_string()}),
        };
        let safety = match &safety {
            Ok(state) => serde_json::json!({"ok": true, "state": state}),
            Err(why) => serde_json::json!({"ok": false, "problem": why}),
        };
        crate::output::print_json(
            &serde_json::json!({"ok": report.sound(), "store": store, "safety": safety}),
        );
        return;
    }
    match (&report.store, &safety) {
        (Ok(s), Ok(state)) => say!(
            "OK height={} txs={} state_root={} safety={state}",
            s.height,
            s.txs,
            s.state_root
        ),
        (Ok(s), Err(_)) => say!("store OK height={} txs={}", s.height, s.txs),
        (Err(d), _) => match d.height {
            Some(height) => say!("FAIL height={height} store={}: {}", d.path, d.problem),
            None => say!("FAIL store={}: {}", d.path, d.problem),
        },
    }
    if let Err(why) = &safety {
        say!("FAIL safety record: {why}");
    }
}

/// A progress line on stderr ("checking block 5/10"): in place on a
/// terminal, ten lines otherwise.
pub(super) struct Progress {
    shown: Option<u64>,
    verb: &'static str,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new("checking")
    }
}

impl Progress {
    pub(super) fn new(verb: &'static str) -> Self {
        Progress { shown: None, verb }
    }

    pub(super) fn show(&mut self, height: u64, top: u64) {
        let terminal = std::io::stderr().is_terminal();
        let steps = if terminal { 100 } else { 10 };
        let step = height.saturating_mul(steps) / top.max(1);
        if self.shown == Some(step) {
            return;
        }
        self.shown = Some(step);
        if terminal {
            eprint!("\r{} block {height}/{top}", self.verb);
            if height == top {
                eprintln!();
            }
        } else {
            eprintln!("{} block {height}/{top}", self.verb);
        }
    }
}

fn init_logging(json: bool) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libp2p=warn"));
    // Every failure of sled reaches the node as an error of its store (and
    // a storage failure stops it with one line saying so); sled's own log
    // would only repeat it, e.g. when its store is dropped after a full
    // disk. `RUST_LOG=...,sled=...` still shows it.
    let sled_asked = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("sled"));
    if !sled_asked {
        if let Ok(off) = "sled=off".parse() {
            filter = filter.add_directive(off);
        }
    }
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
