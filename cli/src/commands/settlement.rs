//! `kopnet settlement report`: what each cooperative sent, received, earned
//! and owes, for the open window or a closed one.

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
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub node: String,
    /// A closed window (default: the open one).
    #[arg(long)]
    pub window: Option<u64>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also print the bilateral matrix (who owes whom). With `--format csv`
    /// the matrix is printed instead of the summary, as its own CSV table.
    #[arg(long)]
    pub matrix: bool,
    /// Same as --format json.
    #[arg(long, value_enum)]
    pub output: Option<crate::output::OutputFormat>,
}

pub async fn report(args: ReportArgs) -> Result<i32> {
    let client = Client::new(&args.node);
    let coops = client.get("/v1/cooperatives").await?;
    let list = coops["cooperatives"]
        .as_array()
        .context("no cooperatives")?;
    let (window_number, settled, rows): (u64, Option<bool>, Vec<Value>) = match args.window {
        None => {
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
            (open, None, rows)
        }
        Some(n) => {
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
            (n, window["settled"].as_bool(), rows)
        }
    };
    let json_out = matches!(args.format, ReportFormat::Json)
        || matches!(args.output, Some(crate::output::OutputFormat::Json));
    if json_out {
        println!(
            "{}",
            json!({"window": window_number, "open": settled.is_none(), "settled": settled, "rows": rows})
        );
        return Ok(0);
    }
    let num = |v: &Value| v.as_i64().unwrap_or(0);
    let window_label = match settled {
        None => format!("{window_number} (open)"),
        Some(_) => window_number.to_string(),
    };
    match args.format {
        ReportFormat::Csv if args.matrix => {
            print_matrix_csv(&rows);
            return Ok(0);
        }
        ReportFormat::Csv => {
            println!("cooperative,gross_sent,gross_received,fees_earned,net_position,ndc_headroom");
            for r in &rows {
                println!(
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
        _ => {
            println!(
                "settlement window {window_label}{}",
                match settled {
                    Some(true) => " — settled",
                    Some(false) => " — awaiting acknowledgements",
                    None => "",
                }
            );
            println!(
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
            for r in &rows {
                println!(
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
    }
    if args.matrix {
        print_matrix(&rows);
    }
    Ok(0)
}

/// The bilateral matrix as CSV: first column the row cooperative, then one
/// column per cooperative (negative: the row owes the column).
fn print_matrix_csv(rows: &[Value]) {
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["cooperative"].as_str())
        .collect();
    println!("cooperative,{}", ids.join(","));
    for r in rows {
        let cells: Vec<String> = ids
            .iter()
            .map(|id| r["bilateral"][*id].as_i64().unwrap_or(0).to_string())
            .collect();
        println!(
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
    println!();
    println!("bilateral net positions (row vs column; negative: row owes column)");
    print!("{:<16}", "");
    for id in &ids {
        print!(" {:>14}", id.chars().take(14).collect::<String>());
    }
    println!();
    for r in rows {
        print!("{:<16}", r["cooperative"].as_str().unwrap_or("?"));
        for id in &ids {
            let cell = r["bilateral"][id.as_str()].as_i64().unwrap_or(0);
            print!(" {:>14}", format_signed(cell));
        }
        println!();
    }
}
