//! `kopnet node init|run`.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use kopnet_node::config::{LogFormat, NodeConfig, Role};
use kopnet_node::genesis_file::NetworkGenesis;
use kopnet_node::{keyfile, NodeHome};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Create a node home from a genesis and a key.
    Init {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        genesis: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// Run as a read-only observer.
        #[arg(long)]
        observer: bool,
        /// HTTP API address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        api: std::net::SocketAddr,
        /// libp2p listen address.
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/26656")]
        listen: String,
        /// Addresses of other nodes (repeatable).
        #[arg(long = "peer")]
        peers: Vec<String>,
    },
    /// Run the node in a home directory until SIGINT/SIGTERM.
    Run {
        #[arg(long)]
        home: PathBuf,
        /// Log as JSON lines instead of human text.
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
}

pub async fn run(cmd: NodeCommand) -> Result<i32> {
    match cmd {
        NodeCommand::Init {
            home,
            genesis,
            key,
            observer,
            api,
            listen,
            peers,
        } => {
            let parsed = NetworkGenesis::load(&genesis)?;
            let keypair = keyfile::read(&key)?;
            if home.join("config.toml").exists() {
                bail!("{} already has a config.toml", home.display());
            }
            std::fs::create_dir_all(&home)
                .with_context(|| format!("cannot create {}", home.display()))?;
            keyfile::write_new(&home.join("node.key"), &keypair)?;
            std::fs::write(home.join("genesis.json"), parsed.to_json())?;
            let config = NodeConfig {
                role: if observer {
                    Role::Observer
                } else {
                    Role::Validator
                },
                listen: vec![listen],
                peers,
                api,
                ..NodeConfig::default()
            };
            config.validate()?;
            std::fs::write(home.join("config.toml"), config.to_toml())?;
            say!(
                "initialised {} for {}",
                home.display(),
                keypair.public().to_address()
            );
            Ok(0)
        }
        NodeCommand::Run {
            home,
            log_json,
            new_safety_record,
        } => {
            let node_home = NodeHome::new(&home);
            let config = NodeConfig::load(&node_home.config())?;
            init_logging(log_json || config.log_format == LogFormat::Json);
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
                Err(error) => Err(error.into()),
            }
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
