//! The bench's report: one JSON object (`bench.json`) and the table printed
//! after a run. Every figure of a phase comes from [`Phase`]; the targets
//! of issue 21 are judged by [`targets::judge`] on the main phase.

use super::phase::Phase;
use super::targets::{self, Figures};
use super::{sampler, BenchConfig, LoadSummary, NodeFigures, RATE_MAX};
use serde_json::{json, Value};

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// µs of CPU per committed transaction.
fn us_per_tx(cpu_seconds: f64, committed: u64) -> f64 {
    1e6 * cpu_seconds / committed.max(1) as f64
}

/// The whole report of a run.
pub(super) fn build(config: &BenchConfig, s: &LoadSummary, nodes: &[NodeFigures]) -> Value {
    let m = &s.main;
    let secs = m.elapsed_secs.max(1.0);
    let committed = m.committed.max(1);
    // What the timed load added, per committed transaction.
    let disk_per_tx: Vec<f64> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let start = s.disk_bytes_at_start.get(i).copied().unwrap_or(0);
            n.disk_bytes.saturating_sub(start) as f64 / committed as f64
        })
        .collect();
    let cpu_in_window = |i: usize| m.node_cpu_seconds.get(i).copied().unwrap_or(0.0);
    let rss_max = nodes.iter().map(|n| n.rss_mb_peak).fold(0.0, f64::max);
    let disk_max = disk_per_tx.iter().copied().fold(0.0, f64::max);
    let cpu_us_max = (0..nodes.len())
        .map(|i| us_per_tx(cpu_in_window(i), m.committed))
        .fold(0.0, f64::max);
    let o = &m.outcomes;
    let applied_share = 100.0 * o.applied as f64 / o.committed.max(1) as f64;
    let judged = targets::judge(&Figures {
        saturated: config.rate >= RATE_MAX,
        offered_rate: config.rate,
        applied_tps: o.applied as f64 / secs,
        applied_share_percent: applied_share,
        cpu_us_per_tx_max: cpu_us_max,
        latency_ms_p50: m.latency_ms_p50,
        latency_ms_p99: m.latency_ms_p99,
        disk_bytes_per_tx_max: disk_max,
        rss_mb_max: rss_max,
    });
    let r = &s.reads;
    let host = sampler::host();
    json!({
        "host": {
            "nproc": host.nproc,
            "cpu_model": host.cpu_model,
            "memory_gb": round1(host.memory_gb),
            "load_average_at_end": host.load_average,
        },
        "validators": config.validators,
        "observers": config.observers,
        "duration_s": config.duration_secs,
        "offered_rate": config.rate,
        "max": config.rate >= RATE_MAX,
        "members_per_coop": config.members.map_or(Value::Null, |m| json!(m)),
        "accounts": s.accounts,
        "elapsed_s": round1(m.elapsed_secs),
        "submitted_txs": s.submitted,
        "committed_txs": m.committed,
        "committed_ok_total": s.committed_ok_total,
        "rejected_by_reason": s.rejected,
        "tps": round1(m.committed as f64 / secs),
        "in_window": {
            "committed_txs": o.committed,
            "applied_txs": o.applied,
            "refused_txs": o.refused_count(),
            "applied_share_percent": round1(applied_share),
            "applied_tps": round1(o.applied as f64 / secs),
            "applied_payments": o.payments(),
            "applied_payments_tps": round1(o.payments() as f64 / secs),
            "applied_by_kind": o.applied_by_kind,
            "refused_by_reason": o.refused,
        },
        "latency_ms_p50": m.latency_ms_p50,
        "latency_ms_p95": m.latency_ms_p95,
        "latency_ms_p99": m.latency_ms_p99,
        "rss_mb_max": round1(rss_max),
        "disk_bytes_per_tx": round1(disk_max),
        "commit_interval_ms": intervals_json(m),
        "reads": {
            "clients": r.clients,
            "observers_only": config.read_observers_only,
            "requests_ok": r.ok,
            "errors": r.errors,
            "requests_per_s": round1(r.ok as f64 / secs),
            "block_events": r.events,
            "event_stream_errors": r.event_stream_errors,
            "reader_cpu_seconds": round1(m.reader_cpu_seconds),
        },
        "cpu_in_window": cpu_json(m),
        "targets": judged,
        "nodes": nodes.iter().enumerate().map(|(i, n)| {
            let cpu = cpu_in_window(i);
            json!({
                "id": n.id,
                "role": n.role,
                "cpu_seconds": round1(cpu),
                "cpu_us_per_committed_tx": round1(us_per_tx(cpu, m.committed)),
                "cpu_seconds_total": round1(n.cpu_seconds),
                "cpu_percent_of_one_core": round1(100.0 * cpu / secs),
                "rss_mb_peak": round1(n.rss_mb_peak),
                "disk_bytes": n.disk_bytes,
                "disk_bytes_per_tx": round1(disk_per_tx.get(i).copied().unwrap_or(0.0)),
            })
        }).collect::<Vec<_>>(),
        "settlement": s.settlement,
        "without_readers": s.without_readers.as_ref().map(phase_json),
        "per_second": m.samples.iter().map(|x| json!({
            "second": x.second,
            "committed": x.committed,
            "latency_ms_p50": x.latency_ms_p50,
            "latency_ms_p99": x.latency_ms_p99,
        })).collect::<Vec<_>>(),
    })
}

fn intervals_json(p: &Phase) -> Value {
    json!({
        "blocks": p.commit_intervals.blocks,
        "p50": p.commit_intervals.p50_ms,
        "p99": p.commit_intervals.p99_ms,
        "max": p.commit_intervals.max_ms,
    })
}

/// CPU over a phase: the nodes', the bench process's and the machine's.
fn cpu_json(p: &Phase) -> Value {
    let nodes = p.node_cpu_total();
    json!({
        "nodes_seconds": round1(nodes),
        "node_cpu_ms_per_committed_tx": round1(us_per_tx(nodes, p.committed) / 1000.0),
        "node_cpu_us_per_committed_tx_per_node": round1(
            us_per_tx(nodes, p.committed) / p.node_cpu_seconds.len().max(1) as f64
        ),
        "bench_process_seconds": round1(p.bench_cpu_seconds),
        "bench_process_us_per_committed_tx": round1(us_per_tx(p.bench_cpu_seconds, p.committed)),
        "machine_busy_seconds": round1(p.machine_busy_seconds),
        "machine_idle_seconds": round1(p.machine_idle_seconds),
    })
}

/// A phase without readers, in the report's units.
fn phase_json(p: &Phase) -> Value {
    let secs = p.elapsed_secs.max(1.0);
    let o = &p.outcomes;
    json!({
        "elapsed_s": round1(p.elapsed_secs),
        "committed_txs": p.committed,
        "tps": round1(p.committed as f64 / secs),
        "applied_txs": o.applied,
        "applied_tps": round1(o.applied as f64 / secs),
        "refused_by_reason": o.refused,
        "latency_ms_p50": p.latency_ms_p50,
        "latency_ms_p95": p.latency_ms_p95,
        "latency_ms_p99": p.latency_ms_p99,
        "commit_interval_ms": intervals_json(p),
        "cpu": cpu_json(p),
    })
}

/// The human table.
pub fn render_table(report: &Value) -> String {
    let mut out = String::new();
    let host = &report["host"];
    out.push_str(&format!(
        "kopnet bench: {} validators + {} observers, offered {} tx/s{} for {} s, {} demo accounts\n  host: nproc {}, {}, {} GB RAM, load average {} at the end\n",
        report["validators"],
        report["observers"],
        report["offered_rate"],
        if report["max"].as_bool() == Some(true) { " (--max)" } else { "" },
        report["duration_s"],
        report["accounts"],
        host["nproc"],
        host["cpu_model"].as_str().unwrap_or("?"),
        host["memory_gb"],
        host["load_average_at_end"].as_str().unwrap_or("?"),
    ));
    out.push_str(&format!(
        "  committed tx/s (observer)   {}\n  committed txs               {}\n  submitted txs               {}\n",
        report["tps"], report["committed_txs"], report["submitted_txs"]
    ));
    let w = &report["in_window"];
    out.push_str(&format!(
        "  applied / refused (window)  {} / {} of {} committed: {} % applied\n  applied tx/s                {} (payments {} /s)\n  refused by reason (window)  {}\n",
        w["applied_txs"], w["refused_txs"], w["committed_txs"], w["applied_share_percent"],
        w["applied_tps"], w["applied_payments_tps"], w["refused_by_reason"]
    ));
    out.push_str(&format!(
        "  latency p50/p95/p99 (ms)    {} / {} / {}\n",
        report["latency_ms_p50"], report["latency_ms_p95"], report["latency_ms_p99"]
    ));
    out.push_str(&format!(
        "  peak RSS max (MB)           {}\n  disk bytes per tx (max)     {}\n  not applied (whole run)     {}\n",
        report["rss_mb_max"], report["disk_bytes_per_tx"], report["rejected_by_reason"]
    ));
    let settlement = &report["settlement"];
    out.push_str(&format!(
        "  settlement windows          {} closed on schedule, {} settled\n",
        settlement["windows_closed"], settlement["windows_settled"]
    ));
    let iv = &report["commit_interval_ms"];
    out.push_str(&format!(
        "  commit interval p50/p99 (ms) {} / {} ({} blocks)\n",
        iv["p50"], iv["p99"], iv["blocks"]
    ));
    let reads = &report["reads"];
    if reads["clients"].as_u64().unwrap_or(0) > 0 {
        out.push_str(&format!(
            "  readers                     {} clients: {} requests ({} /s), {} errors, {} block events, reader CPU {} s\n",
            reads["clients"], reads["requests_ok"], reads["requests_per_s"], reads["errors"],
            reads["block_events"], reads["reader_cpu_seconds"]
        ));
    }
    let cpu = &report["cpu_in_window"];
    out.push_str(&format!(
        "  CPU in the window (s)       nodes {} ({} ms per committed tx, {} µs per node), machine busy {} / idle {}\n  load driver CPU (s)         {} ({} µs per committed tx; the bench process, not counted in the nodes')\n",
        cpu["nodes_seconds"], cpu["node_cpu_ms_per_committed_tx"],
        cpu["node_cpu_us_per_committed_tx_per_node"],
        cpu["machine_busy_seconds"], cpu["machine_idle_seconds"],
        cpu["bench_process_seconds"], cpu["bench_process_us_per_committed_tx"]
    ));
    let before = &report["without_readers"];
    if before.is_object() {
        let iv = &before["commit_interval_ms"];
        let cpu = &before["cpu"];
        out.push_str(&format!(
            "  phase without readers       {} tx/s ({} applied), latency p50/p99 {} / {} ms, commit interval p50/p99 {} / {} ms ({} blocks)\n\
             \x20                             CPU: nodes {} s ({} ms per committed tx), bench process {}, machine busy {} / idle {}\n",
            before["tps"], before["applied_tps"], before["latency_ms_p50"], before["latency_ms_p99"],
            iv["p50"], iv["p99"], iv["blocks"],
            cpu["nodes_seconds"], cpu["node_cpu_ms_per_committed_tx"], cpu["bench_process_seconds"],
            cpu["machine_busy_seconds"], cpu["machine_idle_seconds"]
        ));
    }
    out.push_str(&format!(
        "\n  {:<18} {:<10} {:>8} {:>10} {:>8} {:>10} {:>12} {:>10}\n",
        "node", "role", "cpu s", "µs/tx", "cpu %", "rss MB", "disk bytes", "bytes/tx"
    ));
    for n in report["nodes"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<18} {:<10} {:>8} {:>10} {:>8} {:>10} {:>12} {:>10}\n",
            n["id"].as_str().unwrap_or("?"),
            n["role"].as_str().unwrap_or("?"),
            // serde_json's Display ignores width: pad the text instead.
            n["cpu_seconds"].to_string(),
            n["cpu_us_per_committed_tx"].to_string(),
            n["cpu_percent_of_one_core"].to_string(),
            n["rss_mb_peak"].to_string(),
            n["disk_bytes"].to_string(),
            n["disk_bytes_per_tx"].to_string()
        ));
    }
    out.push_str("\n  targets (issue 21)\n");
    for t in report["targets"].as_array().into_iter().flatten() {
        let verdict = t["verdict"].as_str().unwrap_or("?").replace('_', " ");
        out.push_str(&format!(
            "  {:<50} {:<34} {}\n",
            t["target"].as_str().unwrap_or("?"),
            t["measured"].as_str().unwrap_or("?"),
            verdict
        ));
    }
    out
}
