//! `kopnet audit report`: the regulator's desk, from an observer node.
//!
//! ```text
//! kopnet audit report --node URL --key REGULATOR_KEY_FILE \
//!     --from YYYY-MM-DD --to YYYY-MM-DD --format csv|json [--out FILE]
//! ```
//!
//! Asks the observer's `GET /v1/audit/report` in a request signed with the
//! regulator's (registered observer) key and prints it. `json` is the
//! node's answer as it is. `csv` is one stream with three sections, each
//! a `# name` line, a header row and its rows, separated by an empty line
//! (one file a spreadsheet opens; split it at the `#` lines for three):
//!
//! - `# cash_transactions`: one row per cash transaction of each member-day
//!   at or above the reporting threshold (`day,member,home,day_total,
//!   deposits,withdrawals,tx_hash,height,kind,amount,counter_coop,teller`);
//! - `# flags`: one row per transaction behind each flag
//!   (`rule,account,home,detail,tx_hash,height,kind,amount`);
//! - `# statements`: one row per cooperative (`cooperative,windows_closed,
//!   first_window,last_window,net_position,gross_sent,gross_received,
//!   on_us_volume,fees_earned,unacknowledged,fees_payment_to_member,
//!   fees_payment_to_merchant,fees_cash_in,fees_cash_out,mdr_by_class,
//!   mdr_to_date_by_class`; the class columns are `class=rupiah` pairs
//!   separated by `;`).
//!
//! Amounts are whole rupiah; times are ms since the Unix epoch; days are
//! WIB. A last `# notes` section says when a list was cut at its bound or
//! the walk stopped early.

use anyhow::{Context, Result};
use serde_json::Value;
use std::path::PathBuf;

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The observer node's API, e.g. `http://127.0.0.1:8085`.
    #[arg(long, env = super::NODE_ENV)]
    pub node: String,
    /// The regulator's key file (the observer key registered on the ledger).
    #[arg(long, env = super::KEY_ENV)]
    pub key: PathBuf,
    /// First day, `YYYY-MM-DD` (WIB).
    #[arg(long)]
    pub from: String,
    /// Last day, included (at most 92 days after `--from`).
    #[arg(long)]
    pub to: String,
    /// `csv` (the default) or `json` (also `--output json`: the node's answer as it is).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn run(args: ReportArgs) -> Result<i32> {
    let key = kopnet_node::keyfile::read(&args.key)
        .with_context(|| format!("reading the key file {}", args.key.display()))?;
    let path = format!(
        "/v1/audit/report?from={}&to={}",
        query_value(&args.from),
        query_value(&args.to)
    );
    let format = match (args.format, crate::output::json()) {
        (None, false) => ReportFormat::Csv,
        (None | Some(ReportFormat::Json), true) => ReportFormat::Json,
        (Some(ReportFormat::Csv), true) => {
            anyhow::bail!("--format csv and --output json ask for two formats: give one")
        }
        (Some(format), false) => format,
    };
    let report = signed_get(&args.node, &key, &path).await?;
    let text = match format {
        ReportFormat::Json => format!("{report:#}\n"),
        ReportFormat::Csv => to_csv(&report),
    };
    match &args.out {
        Some(file) => {
            std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))?
        }
        // The report is the result in either format: stdout.
        None => crate::output::write_stdout(format_args!("{text}")),
    }
    Ok(0)
}

/// `GET path` from the node at `base`, signed with `key` for the node's
/// network (its chain id read first from `/v1/status`); the node's error
/// code and message on a refusal.
async fn signed_get(base: &str, key: &kopnet_consensus::Keypair, path: &str) -> Result<Value> {
    use kopnet_node::api::client::{Client, ClientError};
    let base = base.trim_end_matches('/');
    let status = Client::new(base).status().await?;
    let chain_id = status["chain_id"]
        .as_str()
        .context("the node's status names no chain id")?;
    let time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let headers =
        kopnet_node::api::signed_request::sign_request(key, chain_id, "GET", path, time_ms, &[]);
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .timeout(std::time::Duration::from_secs(600))
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let code = response.status().as_u16();
    let body: Value = response.json().await.context("the answer is not JSON")?;
    if code >= 400 {
        return Err(ClientError::Api {
            status: code,
            code: body["error"]["code"]
                .as_str()
                .unwrap_or("error")
                .to_string(),
            message: body["error"]["message"].as_str().unwrap_or("").to_string(),
        }
        .into());
    }
    Ok(body)
}

/// A date as a query value: only the characters a date has, so nothing
/// the user typed can change the query's shape (the node checks the rest).
fn query_value(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(16)
        .collect()
}

/// One CSV field: quoted when it holds a comma, a quote or a line end.
fn field(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn row(out: &mut String, values: &[Value]) {
    let line: Vec<String> = values.iter().map(field).collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// `class=amount;...` of a JSON object.
fn pairs(value: &Value) -> Value {
    let text: Vec<String> = value
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    Value::String(text.join(";"))
}

/// The three sections (see the module docs).
pub fn to_csv(report: &Value) -> String {
    let mut out = String::new();
    let cash = &report["cash_transactions"];
    out.push_str("# cash_transactions\n");
    out.push_str("day,member,home,day_total,deposits,withdrawals,tx_hash,height,kind,amount,counter_coop,teller\n");
    for day in list(&cash["rows"]) {
        for tx in list(&day["transactions"]) {
            row(
                &mut out,
                &[
                    day["day"].clone(),
                    day["member"].clone(),
                    day["home"].clone(),
                    day["total"].clone(),
                    day["deposits"].clone(),
                    day["withdrawals"].clone(),
                    tx["hash"].clone(),
                    tx["height"].clone(),
                    tx["kind"].clone(),
                    tx["amount"].clone(),
                    tx["counter_coop"].clone(),
                    tx["teller"].clone(),
                ],
            );
        }
    }
    out.push_str("\n# flags\n");
    out.push_str("rule,account,home,detail,tx_hash,height,kind,amount\n");
    let flags = &report["flags"];
    for flag in list(&flags["flags"]) {
        let head = [
            flag["rule"].clone(),
            flag["account"].clone(),
            flag["home"].clone(),
            flag["detail"].clone(),
        ];
        let txs = list(&flag["transactions"]);
        if txs.is_empty() {
            row(
                &mut out,
                &[head.as_slice(), &[const { Value::Null }; 4]].concat(),
            );
        }
        for tx in txs {
            let tail = [
                tx["hash"].clone(),
                tx["height"].clone(),
                tx["kind"].clone(),
                tx["amount"].clone(),
            ];
            row(&mut out, &[head.as_slice(), &tail].concat());
        }
    }
    out.push_str("\n# statements\n");
    out.push_str("cooperative,windows_closed,first_window,last_window,net_position,gross_sent,gross_received,on_us_volume,fees_earned,unacknowledged,fees_payment_to_member,fees_payment_to_merchant,fees_cash_in,fees_cash_out,mdr_by_class,mdr_to_date_by_class\n");
    let statements = &report["statements"];
    for s in list(&statements["cooperatives"]) {
        let fee = |kind: &str| match &s["fees_by_kind"][kind] {
            Value::Null => Value::from(0),
            v => v.clone(),
        };
        row(
            &mut out,
            &[
                s["cooperative"].clone(),
                s["windows_closed"].clone(),
                s["first_window"].clone(),
                s["last_window"].clone(),
                s["net_position"].clone(),
                s["gross_sent"].clone(),
                s["gross_received"].clone(),
                s["on_us_volume"].clone(),
                s["fees_earned"].clone(),
                s["unacknowledged"].clone(),
                fee("payment_to_member"),
                fee("payment_to_merchant"),
                fee("cash_in"),
                fee("cash_out"),
                pairs(&s["mdr_by_class"]),
                pairs(&s["mdr_to_date_by_class"]),
            ],
        );
    }
    let mut notes = Vec::new();
    if report["complete"] == Value::Bool(false) {
        notes.push(format!(
            "the walk stopped at its bound at height {}: later transactions are not in this report",
            report["last_height"]
        ));
    }
    for (name, cut) in [
        ("cash_transactions", &cash["cut"]),
        ("flags", &flags["cut"]),
        ("statements (windows)", &statements["cut"]),
    ] {
        if cut == &Value::Bool(true) {
            notes.push(format!("{name}: more than listed (cut at the bound)"));
        }
    }
    out.push_str("\n# notes\nnote\n");
    row(
        &mut out,
        &[Value::String(format!(
            "period {} to {} (WIB), heights {} to {} at height {}, threshold {} rupiah, {} transactions read",
            report["from"].as_str().unwrap_or("?"),
            report["to"].as_str().unwrap_or("?"),
            report["first_height"],
            report["last_height"],
            report["height"],
            cash["threshold"],
            report["transactions"]
        ))],
    );
    for note in notes {
        row(&mut out, &[Value::String(note)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csv_has_three_sections_with_quoted_details() {
        let report = json!({
            "from": "2026-12-06", "to": "2026-12-06", "height": 9,
            "first_height": 1, "last_height": 9, "complete": true, "transactions": 3,
            "cash_transactions": {"threshold": 500, "cut": false, "rows": [
                {"day": "2026-12-06", "member": "kop1m", "home": "ksp-a", "total": 600,
                 "deposits": 600, "withdrawals": 0, "transactions": [
                    {"hash": "ab", "height": 3, "kind": "cash_in", "amount": 600,
                     "counter_coop": "ksp-b", "teller": null}]}]},
            "flags": {"cut": false, "flags": [
                {"rule": "structuring", "account": "kop1m", "home": "ksp-a",
                 "detail": "3 pieces, \"just\" under", "transactions": [
                    {"hash": "cd", "height": 4, "kind": "cash_in", "amount": 450}]}]},
            "statements": {"cut": true, "windows": 1, "cooperatives": [
                {"cooperative": "ksp-a", "windows_closed": 1, "first_window": 0,
                 "last_window": 0, "net_position": -5, "gross_sent": 5, "gross_received": 0,
                 "on_us_volume": 0, "fees_earned": 0, "unacknowledged": 1,
                 "fees_by_kind": {"cash_in": 1000}, "mdr_by_class": {"small": 3},
                 "mdr_to_date_by_class": {}}]}
        });
        let csv = to_csv(&report);
        assert!(
            csv.contains("2026-12-06,kop1m,ksp-a,600,600,0,ab,3,cash_in,600,ksp-b,\n"),
            "{csv}"
        );
        assert!(
            csv.contains(
                "structuring,kop1m,ksp-a,\"3 pieces, \"\"just\"\" under\",cd,4,cash_in,450\n"
            ),
            "{csv}"
        );
        assert!(
            csv.contains("ksp-a,1,0,0,-5,5,0,0,0,1,0,0,1000,0,small=3,\n"),
            "{csv}"
        );
        assert!(
            csv.contains("statements (windows): more than listed"),
            "{csv}"
        );
        let sections: Vec<&str> = csv.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(
            sections,
            ["# cash_transactions", "# flags", "# statements", "# notes"]
        );
    }

    #[test]
    fn dates_cannot_change_the_query() {
        assert_eq!(query_value("2026-12-06&x=1"), "2026-12-06x1");
    }
}
