//! `kopnet coop payout --file FILE`: pay many members at once from the
//! cooperative's own funds (rules of the file in [`crate::payout_file`],
//! of the ledger in `kopnet_ledger::payouts`).
//!
//! Every good line is signed with the cooperative key, with consecutive
//! nonces, and sent in chunks of [`CHUNK_LINES`] (`POST /v1/txs`), each
//! chunk waited for before the next (a node keeps at most 256 pending
//! transactions per signer). The summary lists every line: applied (with
//! its transaction), refused in the file (with the reason), refused by the
//! ledger (with its code in words), or not sent (when a chunk could not be
//! submitted: the lines after it are not sent either, since their nonces
//! would wait for the missing one; sending the same file again pays only
//! those, see [`crate::payout_file`]). `--report FILE` writes the same as
//! CSV for the office's records. The exit code is 0 only if every line was
//! applied.

use super::coop::CoopOpts;
use crate::amount;
use crate::payout_file::{self, BadLine, PayoutLine};
use crate::sender::{describe_rejection, Sender, COMMIT_TIMEOUT};
use anyhow::{anyhow, Context, Result};
use kopnet_ledger::{Action, Transaction, TxBody};
use kopnet_node::api::client::TxOutcome;
use std::fmt::Write as _;
use std::path::Path;

/// Lines sent in one request and waited for together.
pub const CHUNK_LINES: usize = 100;

/// What became of one line.
#[derive(Debug, Clone)]
enum Fate {
    Applied { tx: String },
    RefusedInFile(String),
    RefusedByLedger { code: String, words: String },
    NotSent(String),
}

pub async fn run(coop: &CoopOpts, file: &Path, report: Option<&Path>) -> Result<i32> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "payout".into());
    let parsed =
        payout_file::parse(&bytes, &name).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let sender = Sender::open(&coop.node, &coop.key)?;
    let mut fates: Vec<(usize, Option<PayoutLine>, String, Fate)> = parsed
        .bad
        .iter()
        .map(|b: &BadLine| {
            (
                b.line,
                None,
                b.text.clone(),
                Fate::RefusedInFile(b.error.to_string()),
            )
        })
        .collect();
    let sent = send_lines(&sender, &parsed.lines, &parsed.digest).await?;
    for (line, fate) in parsed.lines.iter().zip(sent) {
        fates.push((line.line, Some(line.clone()), String::new(), fate));
    }
    fates.sort_by_key(|(line, ..)| *line);
    if crate::output::json() {
        crate::output::print_json(&summary_json(&name, &fates));
    } else {
        print_summary(&name, &fates);
    }
    if let Some(path) = report {
        std::fs::write(path, report_csv(&fates))
            .with_context(|| format!("cannot write {}", path.display()))?;
        say!("report written to {}", path.display());
    }
    let all_applied = fates
        .iter()
        .all(|(_, _, _, f)| matches!(f, Fate::Applied { .. }));
    Ok(if all_applied { 0 } else { 1 })
}

/// Sign and send the good lines, a chunk at a time; one fate per line.
async fn send_lines(
    sender: &Sender,
    lines: &[PayoutLine],
    digest: &kopnet_consensus::Hash,
) -> Result<Vec<Fate>> {
    let status = sender.client.status().await?;
    let chain_id = status["chain_id"]
        .as_str()
        .context("the node did not say its chain id")?
        .to_string();
    let mut nonce = sender.client.next_nonce(&sender.key.public()).await?;
    let mut fates = Vec::with_capacity(lines.len());
    let mut stopped: Option<String> = None;
    for chunk in lines.chunks(CHUNK_LINES) {
        if let Some(reason) = &stopped {
            fates.extend(chunk.iter().map(|_| Fate::NotSent(reason.clone())));
            continue;
        }
        let mut txs = Vec::with_capacity(chunk.len());
        for line in chunk {
            let action = Action::Payout {
                member: line.member,
                amount: line.amount,
                reference: line.reference.clone(),
                idempotency_id: payout_file::line_idempotency_id(digest, line.line),
            };
            let body = TxBody {
                chain_id: chain_id.clone(),
                signer: sender.key.public(),
                nonce,
                action,
            };
            txs.push(
                Transaction::sign(body, &sender.key).map_err(|e| anyhow!("cannot sign: {e}"))?,
            );
            nonce = nonce.saturating_add(1);
        }
        let submitted = match sender.client.submit_batch(&txs).await {
            Ok(results) => results,
            Err(e) => {
                let reason = format!("the node refused the request: {e}");
                fates.extend(chunk.iter().map(|_| Fate::NotSent(reason.clone())));
                stopped = Some(reason);
                continue;
            }
        };
        for result in submitted {
            let fate = match (result, &stopped) {
                (_, Some(reason)) => Fate::NotSent(reason.clone()),
                (Ok(hash), None) => match sender.client.wait(&hash, COMMIT_TIMEOUT).await {
                    Ok(outcome) => fate_of(&outcome),
                    Err(e) => {
                        let reason = format!("no outcome for {}: {e}", hash.to_hex());
                        stopped = Some(reason.clone());
                        Fate::NotSent(reason)
                    }
                },
                (Err(e), None) => {
                    let reason = format!("not admitted: {e}");
                    stopped = Some(reason.clone());
                    Fate::NotSent(reason)
                }
            };
            fates.push(fate);
        }
    }
    Ok(fates)
}

fn fate_of(outcome: &TxOutcome) -> Fate {
    if outcome.ok() {
        Fate::Applied {
            tx: outcome.hash.to_hex(),
        }
    } else {
        Fate::RefusedByLedger {
            code: outcome.code.clone(),
            words: describe_rejection(outcome),
        }
    }
}

fn print_summary(name: &str, fates: &[(usize, Option<PayoutLine>, String, Fate)]) {
    let (mut applied, mut applied_sum, mut in_file, mut by_ledger, mut not_sent) =
        (0usize, 0u64, 0usize, 0usize, 0usize);
    say!("payout {name}: {} lines", fates.len());
    for (number, line, text, fate) in fates {
        let what = match line {
            Some(l) => format!("{}  {}", l.member.to_address(), amount::format(l.amount)),
            None => text.chars().take(60).collect(),
        };
        let outcome = match fate {
            Fate::Applied { tx } => {
                applied += 1;
                applied_sum = applied_sum.saturating_add(line.as_ref().map_or(0, |l| l.amount));
                format!("applied  tx {tx}")
            }
            Fate::RefusedInFile(reason) => {
                in_file += 1;
                format!("refused in the file: {reason}")
            }
            Fate::RefusedByLedger { words, .. } => {
                by_ledger += 1;
                format!("refused: {words}")
            }
            Fate::NotSent(reason) => {
                not_sent += 1;
                format!("not sent: {reason}")
            }
        };
        say!("  line {number:>5}  {what}  {outcome}");
    }
    say!(
        "applied {applied} lines, {}; refused {} ({in_file} in the file, {by_ledger} by the ledger); not sent {not_sent}",
        amount::format(applied_sum),
        in_file + by_ledger,
    );
}

/// One line's fate as the report's columns: `(address or the line's
/// text, amount, reference, result, detail, tx)`.
fn columns(
    line: &Option<PayoutLine>,
    text: &str,
    fate: &Fate,
) -> (String, Option<u64>, String, &'static str, String, String) {
    let (address, amount, reference) = match line {
        Some(l) => (l.member.to_address(), Some(l.amount), l.reference.clone()),
        None => (text.to_string(), None, String::new()),
    };
    let (result, detail, tx) = match fate {
        Fate::Applied { tx } => ("applied", String::new(), tx.clone()),
        Fate::RefusedInFile(reason) => ("refused_in_file", reason.clone(), String::new()),
        Fate::RefusedByLedger { code, .. } => ("refused", code.clone(), String::new()),
        Fate::NotSent(reason) => ("not_sent", reason.clone(), String::new()),
    };
    (address, amount, reference, result, detail, tx)
}

/// `--output json`: every line's fate (the report's columns) and the totals.
fn summary_json(
    name: &str,
    fates: &[(usize, Option<PayoutLine>, String, Fate)],
) -> serde_json::Value {
    let mut lines = Vec::with_capacity(fates.len());
    let mut count = std::collections::BTreeMap::<&str, u64>::new();
    let mut applied_amount = 0u64;
    for (number, line, text, fate) in fates {
        let (address, amount, reference, result, detail, tx) = columns(line, text, fate);
        *count.entry(result).or_default() += 1;
        if result == "applied" {
            applied_amount = applied_amount.saturating_add(amount.unwrap_or(0));
        }
        lines.push(serde_json::json!({
            "line": number, "address": address, "amount": amount, "reference": reference,
            "result": result, "detail": detail, "tx": tx,
        }));
    }
    let n = |result: &str| count.get(result).copied().unwrap_or(0);
    serde_json::json!({
        "file": name,
        "lines": lines,
        "applied": n("applied"),
        "applied_amount": applied_amount,
        "refused_in_file": n("refused_in_file"),
        "refused_by_ledger": n("refused"),
        "not_sent": n("not_sent"),
    })
}

/// The report as CSV: `line,address,amount,reference,result,detail,tx`.
fn report_csv(fates: &[(usize, Option<PayoutLine>, String, Fate)]) -> String {
    let mut out = String::from("line,address,amount,reference,result,detail,tx\n");
    let clean = |s: &str| s.replace([',', '\n', '\r'], " ");
    for (number, line, text, fate) in fates {
        let (address, amount, reference, result, detail, tx) = columns(line, text, fate);
        let (address, amount, reference, detail) = (
            clean(&address),
            amount.map(|a| a.to_string()).unwrap_or_default(),
            clean(&reference),
            clean(&detail),
        );
        let _ = writeln!(
            out,
            "{number},{address},{amount},{reference},{result},{detail},{tx}"
        );
    }
    out
}
