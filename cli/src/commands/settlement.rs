//! `kopnet settlement report`: what each cooperative sent, received, earned
//! and owes, for the open window (with the schedule: when its cut-off
//! falls) or a closed one.

use crate::amount::format_signed;
use anyhow::{Context, Result};
use kopnet_node::api::client::Client;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The node's API URL.
    #[arg(long, env = crate::commands::NODE_ENV, default_value = "http://127.0.0.1:8080")]
    pub node: String,
    /// A closed window (default: the open one).
    #[arg(long)]
    pub window: Option<u64>,
    /// `table` (the default), `csv`, or `json` (also `--output json`).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Also print the bilateral matrix (who owes whom). With `--format csv`
    /// the matrix is printed instead of the summary, as its own CSV table.
    #[arg(long)]
    pub matrix: bool,
}

pub async fn report(args: ReportArgs) -> Result<i32> {
    let format = match (args.format, crate::output::json()) {
        (None, false) => ReportFormat::Table,
        (None | Some(ReportFormat::Json), true) => ReportFormat::Json,
        (Some(_), true) => {
            anyhow::bail!("--format and --output json ask for two formats: give one")
        }
        (Some(format), false) => format,
    };
    let client = Client::new(&args.node);
    let coops = client.get("/v1/cooperatives").await?;
    let list = coops["cooperatives"]
        .as_array()
        .context("no cooperatives")?;
    let window = match args.window {
        None => open_window(&coops, list, client.get("/v1/params").await?)?,
        Some(n) => closed_window(&client, list, n).await?,
    };
    let json_out = matches!(format, ReportFormat::Json);
    if json_out {
        crate::output::print_json(
            &json!({"window": window.number, "open": window.settled.is_none(), "settled": window.settled, "schedule": window.schedule, "rows": window.rows}),
        );
        return Ok(0);
    }
    match format {
        ReportFormat::Csv if args.matrix => {
            print_matrix_csv(&window.rows);
            return Ok(0);
        }
        ReportFormat::Csv => print_summary_csv(&window.rows),
        _ => print_summary_table(&window),
    }
    if args.matrix {
        print_matrix(&window.rows);
    }
    Ok(0)
}

/// One window's report: its number, whether it is settled (`None` while it
/// is the open one) and one row per cooperative.
struct WindowReport {
    number: u64,
    settled: Option<bool>,
    /// The open window's schedule (`period_ms`, `next_cutoff_ms`); null for
    /// a closed one.
    schedule: Value,
    rows: Vec<Value>,
}

/// The open window: every cooperative's running figures, and when it closes
/// (`params`: the node's `GET /v1/params`).
fn open_window(coops: &Value, list: &[Value], params: Value) -> Result<WindowReport> {
    let rows = list
        .iter()
        .map(|c| {
            json!({
                "cooperative": c["id"], "gross_sent": c["gross_sent"], "gross_received": c["gross_received"],
                "fees_earned": c["fees_earned"], "net_position": c["position"], "ndc_headroom": c["ndc_headroom"],
                "bilateral": c["bilateral"],
            })
        })
        .collect();
    let open = coops["open_window"]
        .as_u64()
        .context("node did not say the open window")?;
    let schedule = &params["settlement"];
    Ok(WindowReport {
        number: open,
        settled: None,
        schedule: json!({
            "period_ms": schedule["period_ms"],
            "offset_ms": schedule["offset_ms"],
            "next_cutoff_ms": schedule["next_cutoff_ms"],
        }),
        rows,
    })
}

/// Closed window `n`: the figures of the cooperatives it has an entry for,
/// with today's headroom.
async fn closed_window(client: &Client, list: &[Value], n: u64) -> Result<WindowReport> {
    let window = client.get(&format!("/v1/settlement/windows/{n}")).await?;
    let entries = window["entries"].as_object().cloned().unwrap_or_default();
    let rows = list
        .iter()
        .filter_map(|c| {
            let id = c["id"].as_str()?;
            let e = entries.get(id)?;
            Some(json!({
                "cooperative": id, "gross_sent": e["gross_sent"], "gross_received": e["gross_received"],
                "fees_earned": e["fees_earned"], "net_position": e["position"], "ndc_headroom": c["ndc_headroom"],
                "acknowledged": e["acknowledged"],
                "bilateral": e["bilateral"],
            }))
        })
        .collect();
    Ok(WindowReport {
        number: n,
        settled: window["settled"].as_bool(),
        schedule: Value::Null,
        rows,
    })
}

/// When the open window closes, in words: the period, and how far the next
/// cut-off is from this machine's clock (the chain's clock is its blocks'
/// times; this is only for reading).
fn schedule_words(schedule: &Value) -> String {
    let period_s = schedule["period_ms"].as_u64().unwrap_or(0) / 1_000;
    let Some(cutoff_ms) = schedule["next_cutoff_ms"].as_u64() else {
        return format!("windows close every {period_s} s");
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let wait_s = cutoff_ms.saturating_sub(now_ms).div_ceil(1_000);
    format!(
        "windows close every {period_s} s; the first block past the next cut-off, in about {wait_s} s, closes this one if anything happened in it"
    )
}

/// A figure of a row, 0 if missing.
fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// The summary as CSV, plain integers.
fn print_summary_csv(rows: &[Value]) {
    say!("cooperative,gross_sent,gross_received,fees_earned,net_position,ndc_headroom");
    for r in rows {
        say!(
            "{},{},{},{},{},{}",
            r["cooperative"].as_str().unwrap_or("?"),
            num(&r["gross_sent"]),
            num(&r["gross_received"]),
            num(&r["fees_earned"]),
            num(&r["net_position"]),
            num(&r["ndc_headroom"])
        );
    }
}

/// The summary as a table with formatted amounts, under a title saying
/// whether the window is open, settled or awaiting acknowledgements.
fn print_summary_table(window: &WindowReport) {
    let settled = window.settled;
    let window_label = match settled {
        None => format!(
            "{} (open; {})",
            window.number,
            schedule_words(&window.schedule)
        ),
        Some(_) => window.number.to_string(),
    };
    say!(
        "settlement window {window_label}{}",
        match settled {
            Some(true) => " — settled",
            Some(false) => " — awaiting acknowledgements",
            None => "",
        }
    );
    say!(
        "{:<16} {:>16} {:>16} {:>12} {:>16} {:>16}",
        "cooperative",
        "gross sent",
        "gross received",
        "fees",
        "net position",
        // A closed window's report shows today's headroom.
        if settled.is_some() {
            "NDC headroom now"
        } else {
            "NDC headroom"
        }
    );
    for r in &window.rows {
        say!(
            "{:<16} {:>16} {:>16} {:>12} {:>16} {:>16}",
            r["cooperative"].as_str().unwrap_or("?"),
            format_signed(num(&r["gross_sent"])),
            format_signed(num(&r["gross_received"])),
            format_signed(num(&r["fees_earned"])),
            format_signed(num(&r["net_position"])),
            format_signed(num(&r["ndc_headroom"]))
        );
    }
}

/// The bilateral matrix as CSV: first column the row cooperative, then one
/// column per cooperative (negative: the row owes the column).
fn print_matrix_csv(rows: &[Value]) {
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["cooperative"].as_str())
        .collect();
    say!("cooperative,{}", ids.join(","));
    for r in rows {
        let cells: Vec<String> = ids
            .iter()
            .map(|id| r["bilateral"][*id].as_i64().unwrap_or(0).to_string())
            .collect();
        say!(
            "{},{}",
            r["cooperative"].as_str().unwrap_or("?"),
            cells.join(",")
        );
    }
}

/// Rows owe columns: a negative cell means the row cooperative owes the column.
fn print_matrix(rows: &[Value]) {
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r["cooperative"].as_str().map(str::to_string))
        .collect();
    say!();
    say!("bilateral net positions (row vs column; negative: row owes column)");
    say_part!("{:<16}", "");
    for id in &ids {
        say_part!(" {:>14}", id.chars().take(14).collect::<String>());
    }
    say!();
    for r in rows {
        say_part!("{:<16}", r["cooperative"].as_str().unwrap_or("?"));
        for id in &ids {
            let cell = r["bilateral"][id.as_str()].as_i64().unwrap_or(0);
            say_part!(" {:>14}", format_signed(cell));
        }
        say!();
    }
}
