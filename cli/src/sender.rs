//! Sign an action with a key file, submit it to a node and wait for the result.

use anyhow::{anyhow, bail, Context, Result};
use kopnet_consensus::{Keypair, PublicKey};
use kopnet_ledger::{Action, Transaction, TxBody};
use kopnet_node::api::client::{Client, TxOutcome};
use kopnet_node::keyfile;
use std::path::Path;
use std::time::Duration;

/// How long commands wait for a transaction to commit.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Sender {
    pub client: Client,
    pub key: Keypair,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sender({})", self.key.public())
    }
}

pub fn parse_address(text: &str) -> Result<PublicKey> {
    PublicKey::from_address(text).map_err(|e| anyhow!("invalid address {text:?}: {e}"))
}

impl Sender {
    pub fn open(node: &str, key_file: &Path) -> Result<Sender> {
        let key = keyfile::read(key_file)?;
        // Reads are signed with the same key, so the node serves what the
        // key may read (a member its own account, a desk its members').
        Ok(Sender {
            client: Client::signed(node, key.clone()),
            key,
        })
    }

    pub fn address(&self) -> String {
        self.key.public().to_address()
    }

    /// Sign and submit; returns the hash (printed for a person at once:
    /// waiting may take a while) and, if `wait`, the outcome.
    pub async fn send(&self, action: Action, wait: bool) -> Result<Sent> {
        let status = self.client.status().await?;
        let chain_id = status["chain_id"]
            .as_str()
            .context("node did not say its chain id")?
            .to_string();
        let nonce = self.client.next_nonce(&self.key.public()).await?;
        let body = TxBody {
            chain_id,
            signer: self.key.public(),
            nonce,
            action,
        };
        let tx = Transaction::sign(body, &self.key).map_err(|e| anyhow!("cannot sign: {e}"))?;
        let hash = self.client.submit(&tx).await?;
        say!("tx {}", hash.to_hex());
        if !wait {
            return Ok(Sent {
                hash,
                outcome: None,
            });
        }
        let outcome = self.client.wait(&hash, COMMIT_TIMEOUT).await?;
        Ok(Sent {
            hash,
            outcome: Some(outcome),
        })
    }

    /// Send; a rejection is an error (under `--output json` its JSON is
    /// printed first, so a script reads the code). A person reads
    /// "committed at height N: ok"; a script gets nothing yet: the caller
    /// prints [`Sent::to_json`], with whatever it adds.
    pub async fn send_checked(&self, action: Action, wait: bool) -> Result<Sent> {
        let sent = self.send(action, wait).await?;
        match &sent.outcome {
            None => {}
            Some(outcome) if outcome.ok() => {
                say!("committed at height {}: ok", outcome.height.unwrap_or(0));
            }
            Some(outcome) => {
                if crate::output::json() {
                    crate::output::print_json(&sent.to_json());
                }
                bail!("{}", describe_rejection(outcome));
            }
        }
        Ok(sent)
    }

    /// Send and report: a rejection is an error line; under `--output
    /// json` the result is one JSON object ([`Sent::to_json`]).
    pub async fn send_and_report(&self, action: Action, wait: bool) -> Result<i32> {
        let sent = self.send_checked(action, wait).await?;
        if crate::output::json() {
            crate::output::print_json(&sent.to_json());
        }
        Ok(0)
    }
}

/// A submitted transaction, and how it ended when it was waited for.
#[derive(Debug, Clone)]
pub struct Sent {
    pub hash: kopnet_consensus::Hash,
    pub outcome: Option<TxOutcome>,
}

impl Sent {
    /// `{"tx", "status": "submitted"}` (not waited for), or `{"tx",
    /// "status": "committed", "height", "code": "ok"}`, or a rejection's
    /// `code` and `message`.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.outcome {
            None => serde_json::json!({"tx": self.hash.to_hex(), "status": "submitted"}),
            Some(outcome) => serde_json::json!({
                "tx": self.hash.to_hex(),
                "status": outcome.status,
                "height": outcome.height,
                "code": outcome.code,
                "message": if outcome.ok() { None } else { Some(describe_rejection(outcome)) },
            }),
        }
    }
}

/// A rejection in words, with its code.
pub fn describe_rejection(outcome: &TxOutcome) -> String {
    let words = match outcome.code.as_str() {
        "insufficient_funds" => "insufficient funds",
        "tier_balance_cap" => "the receiving account would exceed its tier's balance cap",
        "tier_monthly_incoming_cap" => {
            "the receiving account would pass its tier's incoming limit for this month"
        }
        "tier_forbids_transfer" => {
            "this account's tier pays merchants only; register the member (KYC) first"
        }
        "tier_forbids_cash_out" => {
            "this account's tier may not take cash out; register the member (KYC) first"
        }
        "qr_payment_cap" => "above the network's cap on one payment to a merchant (QRIS)",
        "net_debit_cap_exceeded" => "a cooperative would exceed its net debit cap",
        "account_frozen" => "the account is frozen",
        "unknown_account" => "unknown account",
        "unknown_cooperative" => "unknown cooperative",
        "not_authorized" => "not authorized",
        "duplicate" => "this payment was already made (same idempotency id)",
        "zero_amount" => "amount must be more than zero",
        "self_payment" => "cannot pay yourself",
        "stale_nonce" | "future_nonce" => "out-of-order transaction; try again",
        "bad_signature" => "the signature does not verify",
        "wrong_chain" => "the transaction is for another network",
        "window_not_open" => "that settlement window is not the open one",
        "nothing_to_acknowledge" => "nothing to acknowledge in that window",
        "window_closes_on_schedule" => {
            "settlement windows close on the governed schedule, not on request"
        }
        "voting_power_out_of_range" => "the voting power is past the network's limit",
        "validator_count_exceeded" => "the network would have more validators than its limit",
        "total_voting_power_exceeded" => {
            "the validators' total voting power would pass the network's limit"
        }
        "no_validator_left" => "the network must keep at least one validator",
        "cooperative_count_exceeded" => "the network cannot admit more cooperatives",
        "invalid_fee_rule" => "a fee rule is not usable",
        "tier_limit_out_of_range" => "balance caps must rise with the KYC tier",
        "settlement_schedule_out_of_range" => "the settlement schedule is out of bounds",
        "validator_limits_out_of_range" => "the validator limits are out of bounds",
        "fee_exceeds_amount" => "the cash-in is not more than its fees",
        "teller_removed" => "this teller key was removed by its cooperative",
        "key_replaced" => "this key no longer signs for its account (rotated or recovered)",
        "teller_daily_limit" => "the teller's daily limit would be passed",
        "unknown_teller" => "no active teller of this cooperative has that key",
        "too_many_tellers" => "the cooperative has as many tellers as it may have",
        "recovery_pending" => "the account already has a pending recovery",
        "no_recovery_pending" => "the account has no pending recovery",
        "too_many_recoveries" => "the cooperative has too many pending recoveries",
        "recovery_wait_out_of_range" => "the recovery waiting period is out of bounds",
        "account_exists" => "the key is already in use",
        "weak_key" => "the key is weak or invalid",
        "payment_rule_out_of_range" => "the payment rule is out of bounds",
        "too_many_incentives" => "the network keeps as many incentive programmes as it may",
        "unknown_incentive" => "no running incentive programme has that number",
        "unknown_request" => "no payment request with that requester and id",
        "request_already_paid" => "the payment request was paid already",
        "request_expired" => "the payment request expired",
        "request_closed" => "the payment request was declined or cancelled",
        "request_amount_mismatch" => "the amount is not the one requested",
        "too_many_requests" => "the requester has as many open requests as it may",
        "too_many_requests_to_payer" => "the payer has as many open requests as it may",
        "request_expiry_out_of_range" => "a request must expire within 7 days",
        "request_exists" => "a request with that id exists already",
        "unknown_payment" => "no payment to a merchant with that hash can be refunded now",
        "refund_exceeds_payment" => "the refunds would pass what the payment was",
        "too_many_refunds" => "the payment has been refunded in as many parts as it may",
        "refund_period_out_of_range" => "the refund period must be 1 to 90 days",
        "cash_report_threshold_out_of_range" => {
            "the cash report threshold must be Rp1.000.000 to Rp100.000.000.000"
        }
        "upgrade_out_of_range" => {
            "an upgrade names the next protocol version, at least 10 blocks ahead, and only one may be scheduled"
        }
        "no_upgrade_scheduled" => "no upgrade is scheduled",
        other => other,
    };
    let detail = outcome.message.clone().unwrap_or_default();
    let prefix = format!("{}: ", outcome.code);
    let detail = detail.strip_prefix(&prefix).unwrap_or(&detail).to_string();
    let detail = if detail == outcome.code {
        String::new()
    } else {
        detail
    };
    format!(
        "transaction {} rejected: {words} ({}{}{})",
        outcome.hash.to_hex(),
        outcome.code,
        if detail.is_empty() { "" } else { " — " },
        detail
    )
}

/// Look up the cooperative a key works for: its own cooperative key, or
/// one of its tellers' keys.
pub async fn coop_of(client: &Client, key: &PublicKey) -> Result<String> {
    let signer = client.signer(key).await?;
    match signer["role"].as_str() {
        Some("cooperative" | "teller") => signer["cooperative"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the node did not name the key's cooperative")),
        _ => bail!(
            "key {} is neither a cooperative's key nor a teller's",
            key.to_address()
        ),
    }
}
