//! `kopnet testnet run --manifest FILE`: a fault-injection run on real
//! processes (see `kopnet_testnet::runner`). Exit 0 when every check
//! passed, 1 when a check failed (the first difference is printed), 2 when
//! the run could not be carried out.

use anyhow::{bail, Context, Result};
use kopnet_testnet::runner::backend::Backend;
use kopnet_testnet::runner::docker::DockerBackend;
use kopnet_testnet::runner::hostile::{describe, PhaseReport};
use kopnet_testnet::runner::links;
use kopnet_testnet::runner::manifest::{BackendKind, Defence, DisconnectChoice, Manifest};
use kopnet_testnet::runner::old_key_live::OldKeyLive;
use kopnet_testnet::runner::process::ProcessBackend;
use kopnet_testnet::runner::run::{prepare, run, RunReport};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The manifest (TOML), e.g. testnet/manifests/ci.toml.
    #[arg(long)]
    pub manifest: PathBuf,
    /// Overrides the manifest's backend.
    #[arg(long, value_enum)]
    pub backend: Option<BackendArg>,
    /// How the process backend cuts a node off (overrides the manifest's
    /// `disconnect`): `auto` = a network namespace per node where this
    /// runs as root and `ip netns` works, else the admin endpoint;
    /// `namespace` = namespaces or fail; `admin` = the node's admin endpoint.
    #[arg(long, value_enum)]
    pub disconnect: Option<DisconnectArg>,
    /// Where to lay out the network (default: a new folder under the temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Break one node on purpose, e.g. `validator-2=double-credit`: the
    /// node starts with `KOPNET_FAULT=double-credit`. For showing that the
    /// checks catch a faulty node; never use on a real network.
    #[arg(long, value_name = "NODE=FAULT")]
    pub fault: Option<String>,
    /// Switch a defence off on every node (`KOPNET_DEFENCE_OFF`), as the
    /// manifest's `defences_off` does: `evidence` = equivocation evidence
    /// is not put into blocks. A test build's way to show that a
    /// Byzantine run then fails naming the defence; needs nodes built
    /// with fault injection.
    #[arg(long, value_name = "DEFENCE")]
    pub defence_off: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    Process,
    Docker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DisconnectArg {
    Auto,
    Namespace,
    Admin,
}

/// Exit code 2 (with the reason on one line) when the run could not be
/// carried out, so scripts can tell "failed a check" (1) from "did not run".
pub async fn run_manifest(args: RunArgs) -> Result<i32> {
    match carry_out(args).await {
        Ok(code) => Ok(code),
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            Ok(2)
        }
    }
}

async fn carry_out(args: RunArgs) -> Result<i32> {
    let json_out = crate::output::json();
    let manifest = Manifest::load(&args.manifest)?;
    let backend = match args.backend {
        Some(BackendArg::Process) => BackendKind::Process,
        Some(BackendArg::Docker) => BackendKind::Docker,
        None => manifest.backend,
    };
    let disconnect = match args.disconnect {
        Some(DisconnectArg::Auto) => DisconnectChoice::Auto,
        Some(DisconnectArg::Namespace) => DisconnectChoice::Namespace,
        Some(DisconnectArg::Admin) => DisconnectChoice::Admin,
        None => manifest.disconnect,
    };
    if manifest.links.is_some()
        && (backend != BackendKind::Process || disconnect == DisconnectChoice::Admin)
    {
        bail!("this manifest's [links] need the process backend in network namespaces (not --backend docker or --disconnect admin)");
    }
    // Links are made in the nodes' namespaces: without them, refuse.
    let disconnect = if manifest.links.is_some() {
        DisconnectChoice::Namespace
    } else {
        disconnect
    };
    if backend == BackendKind::Docker && disconnect != DisconnectChoice::Auto {
        bail!("--disconnect / disconnect = \"...\" applies to the process backend only (docker disconnects with docker network disconnect)");
    }
    let node_count = manifest.validators + manifest.observers;
    let mut env = vec![Vec::new(); node_count];
    if let Some(spec) = &args.fault {
        let (node, fault) = spec
            .split_once('=')
            .context("--fault must look like NODE=FAULT, e.g. validator-2=double-credit")?;
        let index = node_index(&manifest, node)
            .with_context(|| format!("--fault: unknown node {node:?}"))?;
        if fault.is_empty() || fault.len() > 64 {
            bail!("--fault: the fault name must be 1 to 64 characters");
        }
        if let Some(slot) = env.get_mut(index) {
            slot.push(("KOPNET_FAULT".to_string(), fault.to_string()));
        }
    }
    let mut defences: Vec<&str> = manifest.defences_off.iter().map(|d| d.name()).collect();
    for name in &args.defence_off {
        let defence = Defence::parse(name).with_context(|| {
            format!("--defence-off: unknown defence {name:?} (known: evidence)")
        })?;
        if !defences.contains(&defence.name()) {
            defences.push(defence.name());
        }
    }
    if !defences.is_empty() {
        for slot in &mut env {
            slot.push(("KOPNET_DEFENCE_OFF".to_string(), defences.join(",")));
        }
    }
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "kopnet-run-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ))
    });
    if backend == BackendKind::Docker {
        kopnet_testnet::runner::docker_cli::engine_answers().await?;
    }
    let layout = prepare(&manifest, &dir)?;
    let say = |line: &str| {
        if json_out {
            eprintln!("{line}");
        } else {
            say!("{line}");
        }
    };
    let exe = std::env::current_exe().context("cannot find the kopnet binary")?;
    let report = match backend {
        BackendKind::Process => {
            say(&format!(
                "manifest {} in {} (backend process)",
                manifest.name,
                dir.display()
            ));
            let (mut backend, layout) =
                ProcessBackend::prepare(exe, &layout, &dir, env, disconnect)?;
            say(&format!("disconnect: {}", backend.disconnect_detail()));
            // Kept for the whole run: dropping them cuts the nodes apart.
            let mut relays = None;
            if let (Some(links), Some(net)) = (&manifest.links, backend.netns()) {
                relays = Some(links::apply(links, net, &layout).await?);
                say(&format!("links: {}", links.describe(layout.nodes.len())));
            }
            let report = run(&manifest, &layout, &mut backend, &say).await?;
            drop(relays);
            report
        }
        BackendKind::Docker => {
            say(&format!(
                "manifest {} in {} (backend docker; building or reusing the node image ...)",
                manifest.name,
                dir.display()
            ));
            let (mut backend, layout) = DockerBackend::prepare(&exe, &layout, &dir, env).await?;
            say(&format!("docker network {}", backend.network()));
            run(&manifest, &layout, &mut backend, &say).await?
        }
    };
    let links = manifest
        .links
        .as_ref()
        .map(|l| l.describe(manifest.validators + manifest.observers));
    print_report(&report, links.as_deref(), json_out);
    Ok(if report.passed() { 0 } else { 1 })
}

fn node_index(manifest: &Manifest, name: &str) -> Option<usize> {
    let (role, n) = name.rsplit_once('-')?;
    let n: usize = n.parse().ok()?;
    match role {
        "validator" if n < manifest.validators => Some(n),
        "observer" if n < manifest.observers => Some(manifest.validators + n),
        _ => None,
    }
}

fn print_report(report: &RunReport, links: Option<&str>, json_out: bool) {
    if json_out {
        let value = json!({
            "manifest": report.manifest,
            "backend": report.backend,
            "disconnect_method": report.disconnect_method,
            "disconnect_detail": report.disconnect_detail,
            "links": links,
            "perturbations": report.events,
            "submitted": report.submitted,
            "committed_txs": report.committed,
            "committed_by_kind": report.committed_by_kind,
            "rejected_by_reason": report.rejected,
            "passed": report.passed(),
            "common_height": report.result.as_ref().ok().map(|s| s.common_height),
            "proposed": report.result.as_ref().ok().map(|s| s.proposed.clone()),
            "failure": report.result.as_ref().err().map(|e| e.to_string()),
            "failure_kind": report.result.as_ref().err().map(|e| e.kind()),
            "hostile": report.hostile.iter().map(phase_json).collect::<Vec<_>>(),
            "rotations": report.rotations.iter().map(|r| json!({
                "node": r.node,
                "rotated_at": r.rotated_at,
                "old_validator_key": r.old_validator_key,
                "new_validator_key": r.new_validator_key,
                "new_node_key": r.new_node_key,
                "new_key_signed_at": r.new_key_signed_at,
                "old_key_signed": r.old_key_signed,
                "old_key_refused": r.old_key_refused.as_ref().ok(),
                "old_key_live": r.old_key_live.as_ref().ok().map(old_key_live_json),
                "old_key_live_error": r.live_failure(),
                "old_key_live_unavailable": r.live_unavailable,
                "passed": r.passed(),
                "lines": r.lines(),
            })).collect::<Vec<_>>(),
            "latency_samples": report.latency_ms.0,
            "latency_p50_ms": report.latency_ms.1,
            "latency_p99_ms": report.latency_ms.2,
            "elapsed_secs": report.elapsed_secs,
        });
        crate::output::print_json(&value);
        return;
    }
    say!("--- report: manifest {} ---", report.manifest);
    say!("backend:     {}", report.backend);
    say!(
        "disconnect:  {} ({})",
        report.disconnect_method,
        report.disconnect_detail
    );
    if let Some(links) = links {
        say!("links:       {links}");
    }
    for event in &report.events {
        say!("  {event}");
    }
    say!(
        "load:        {} accepted by a node, {} in blocks; refused or lost, by reason {:?} \
         (lost: accepted but in no block within 30 s, e.g. held by a node that was then killed)",
        report.submitted,
        report.committed,
        report.rejected
    );
    say!("by kind:     {:?}", report.committed_by_kind);
    say!(
        "latency:     p50 {} ms, p99 {} ms submit-to-commit ({} samples)",
        report.latency_ms.1,
        report.latency_ms.2,
        report.latency_ms.0
    );
    match &report.result {
        Ok(summary) => {
            say!(
                "checks:      PASSED — {} nodes identical at heights 1..={}, {} acknowledged txs on every node with the same result, invariants hold, every validator proposed ({:?}), no panics, no evidence against an honest validator",
                summary.nodes, summary.common_height, summary.acknowledged_txs, summary.proposed
            );
        }
        Err(failure) => say!("checks:      FAILED — {failure}"),
    }
    for phase in &report.hostile {
        say!("hostile:     {}", describe(phase));
    }
    for rotation in &report.rotations {
        for line in rotation.lines() {
            say!("rotation:    {line}");
        }
    }
    say!("elapsed:     {} s", report.elapsed_secs);
}

/// The rotation's live old-key phase in the JSON report.
fn old_key_live_json(live: &OldKeyLive) -> serde_json::Value {
    json!({
        "secs": live.secs,
        "messages_sent": live.messages_sent,
        "penalties_before": live.penalties_before,
        "penalties_after": live.penalties_after,
        "penalties_grown": live.penalties_grown,
        "bans": live.bans,
        "honest_blocks_min": live.honest_blocks_min,
        "heights_checked": [live.heights_checked.0, live.heights_checked.1],
        "old_key_certificates": live.old_key_certificates,
        "healthy_after": live.healthy_after,
        "failure": live.failure(),
    })
}

/// One hostile phase in the JSON report.
fn phase_json(phase: &PhaseReport) -> serde_json::Value {
    json!({
        "node": phase.node,
        "node_id": phase.node_id,
        "behaviour": phase.behaviour.name(),
        "secs": phase.secs,
        "rate": phase.rate,
        "messages_sent": phase.messages_sent,
        "honest_blocks_min": phase.honest_blocks_min,
        "penalties": phase.defences.penalties,
        "bans": phase.defences.bans,
        "dropped_over_budget": phase.defences.dropped_over_budget,
        "evidence": phase.evidence.iter().map(|e| json!({
            "offender": e.offender,
            "kind": e.kind,
            "height": e.height,
            "round": e.round,
            "included_in_block": e.included_in_block,
        })).collect::<Vec<_>>(),
        "evidence_height": phase.evidence_height(),
        "honest_rss_peak_bytes": phase.rss_peak_bytes,
        "honest_rss_peak_node": phase.rss_peak_node,
        "honest_rss_bytes_max": kopnet_testnet::runner::hostile::HONEST_RSS_BYTES_MAX,
        "passed": phase.failure.is_none(),
        "failure": phase.failure,
    })
}
