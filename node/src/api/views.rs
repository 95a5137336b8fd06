//! JSON shapes of ledger objects, as clients see them.

use crate::node_state::TxSummary;
use kopnet_consensus::{CommitCertificate, Hash};
use kopnet_ledger::settlement::SettlementWindow;
use kopnet_ledger::types::{AccountStatus, Cooperative, MemberAccount};
use kopnet_ledger::{Action, Block, Rejection, Transaction, TxRecord};
use serde_json::{json, Value};

/// The short name of an action, as shown in APIs.
pub fn action_kind(action: &Action) -> &'static str {
    match action {
        Action::RegisterMember { .. } => "register_member",
        Action::Mint { .. } => "mint",
        Action::Burn { .. } => "burn",
        Action::Payment { .. } => "payment",
        Action::CashIn { .. } => "cash_in",
        Action::CashOut { .. } => "cash_out",
        Action::CloseSettlementWindow { .. } => "close_settlement_window",
        Action::AcknowledgeSettlement { .. } => "acknowledge_settlement",
        Action::Propose { .. } => "propose",
        Action::Approve { .. } => "approve",
        Action::RotateNodeKeys { .. } => "rotate_node_keys",
        Action::AddTeller { .. } => "add_teller",
        Action::RemoveTeller { .. } => "remove_teller",
        Action::RotateMemberKey { .. } => "rotate_member_key",
        Action::StartRecovery { .. } => "start_recovery",
        Action::CancelRecovery { .. } => "cancel_recovery",
        Action::SetMerchantName { .. } => "set_merchant_name",
        Action::RotateObserverKey { .. } => "rotate_observer_key",
        Action::SetMemberTier { .. } => "set_member_tier",
        Action::RegisterMerchant { .. } => "register_merchant",
        Action::SetMerchantClass { .. } => "set_merchant_class",
        Action::Payout { .. } => "payout",
        Action::RequestPayment { .. } => "request_payment",
        Action::PayRequest { .. } => "pay_request",
        Action::DeclineRequest { .. } => "decline_request",
        Action::CancelRequest { .. } => "cancel_request",
        Action::Refund { .. } => "refund",
    }
}

/// The cooperative whose counter a cash-in or cash-out used.
pub fn action_agent(action: &Action) -> Option<String> {
    match action {
        Action::CashIn { agent, .. } | Action::CashOut { agent, .. } => Some(agent.to_string()),
        _ => None,
    }
}

pub fn summarize(
    tx: &Transaction,
    hash: &Hash,
    result: &Result<(), Rejection>,
    fees: u64,
) -> TxSummary {
    let (to, amount) = match &tx.body.action {
        Action::Payment { to, amount, .. } => (Some(to.to_address()), Some(*amount)),
        Action::Mint { member, amount } | Action::Burn { member, amount } => {
            (Some(member.to_address()), Some(*amount))
        }
        Action::CashIn { member, amount, .. } | Action::Payout { member, amount, .. } => {
            (Some(member.to_address()), Some(*amount))
        }
        Action::CashOut { amount, .. } => (None, Some(*amount)),
        // A request names the account asked to pay it (none for a dynamic
        // QR code); paying or declining one names the requester, so both
        // wallets see the transaction in a block event.
        Action::RequestPayment { payer, amount, .. } => {
            (payer.map(|p| p.to_address()), Some(*amount))
        }
        Action::PayRequest {
            requester, amount, ..
        } => (Some(requester.to_address()), Some(*amount)),
        Action::DeclineRequest { requester, .. } => (Some(requester.to_address()), None),
        // The refund names the payment, not its payer (the payment's page
        // and the payer's history have it).
        Action::Refund { amount, .. } => (None, Some(*amount)),
        Action::RegisterMember { member, .. }
        | Action::StartRecovery { member, .. }
        | Action::CancelRecovery { member }
        | Action::SetMemberTier { member, .. }
        | Action::RegisterMerchant {
            merchant: member, ..
        }
        | Action::SetMerchantClass {
            merchant: member, ..
        }
        | Action::SetMerchantName {
            merchant: member, ..
        } => (Some(member.to_address()), None),
        _ => (None, None),
    };
    TxSummary {
        hash: hash.to_hex(),
        kind: action_kind(&tx.body.action),
        signer: tx.body.signer.to_address(),
        to,
        amount,
        agent: action_agent(&tx.body.action),
        fees,
        result: match result {
            Ok(()) => "ok",
            Err(r) => r.code(),
        },
    }
}

pub fn result_json(result: &Result<(), Rejection>) -> Value {
    match result {
        Ok(()) => json!({"code": "ok"}),
        Err(r) => json!({"code": r.code(), "message": r.to_string()}),
    }
}

pub fn tx_json(tx: &Transaction, hash: &Hash, record: Option<&TxRecord>) -> Value {
    let result = record.map(|r| r.result.clone()).unwrap_or(Ok(()));
    let fees = record.map_or(0, |r| r.fees);
    let summary = summarize(tx, hash, &result, fees);
    json!({
        "hash": hash.to_hex(),
        "kind": action_kind(&tx.body.action),
        "signer": tx.body.signer.to_address(),
        "nonce": tx.body.nonce,
        "to": summary.to,
        "amount": summary.amount,
        "agent": summary.agent,
        "fees": record.map(|r| r.fees),
        "action": serde_json::to_value(&tx.body.action).unwrap_or(Value::Null),
        "height": record.map(|r| r.height),
        "index": record.map(|r| r.index),
        "result": record.map(|r| result_json(&r.result)),
    })
}

pub fn block_json(
    block: &Block,
    state_root_after: Option<Hash>,
    cert: Option<&CommitCertificate>,
) -> Value {
    let txs: Vec<Value> = block
        .txs
        .iter()
        .map(|tx| {
            let hash = tx.hash();
            let mut v = json!({"hash": hash.to_hex(), "kind": action_kind(&tx.body.action), "signer": tx.body.signer.to_address(), "nonce": tx.body.nonce});
            if let Some(agent) = action_agent(&tx.body.action) {
                v["agent"] = json!(agent);
            }
            v
        })
        .collect();
    let h = &block.header;
    json!({
        "height": h.height,
        "hash": block.hash().to_hex(),
        "parent": h.parent.to_hex(),
        "prev_state_root": h.prev_state_root.to_hex(),
        "state_root": state_root_after.map(|r| r.to_hex()),
        "tx_root": h.tx_root.to_hex(),
        "tx_count": h.tx_count,
        "proposer": h.proposer.to_address(),
        "time_ms": h.time_ms,
        "evidence": block.evidence.iter().map(|e| json!({
            "offender": e.offender.to_address(),
            "kind": e.kind.as_str(),
            "height": e.height,
            "round": e.round,
        })).collect::<Vec<_>>(),
        "certificate": cert.map(|c| json!({
            "round": c.round,
            "signers": c.signatures.iter().map(|s| s.validator.to_address()).collect::<Vec<_>>(),
        })),
        "txs": txs,
    })
}

/// A member account as clients see it, with what its tier allows: the
/// balance cap, the monthly incoming cap and what is left of it in the
/// month `month` (the last block's WIB calendar month), whether it may pay
/// other members and take cash out, and a merchant's class.
pub fn account_json(
    address: &str,
    account: &MemberAccount,
    params: Option<&kopnet_ledger::state::Params>,
    month: u32,
) -> Value {
    let cap = params.map(|p| p.tier_limits.cap(account.tier)).unwrap_or(0);
    let rule = params.map(|p| p.tier_rules.rule(account.tier));
    let monthly_cap = rule.and_then(|r| r.monthly_incoming_cap);
    let incoming = kopnet_ledger::tiers::incoming_in(account, month);
    json!({
        "address": address,
        "balance": account.balance,
        "nonce": account.nonce,
        "next_nonce": account.nonce.saturating_add(1),
        "home": account.home.as_str(),
        "kind": match account.kind { kopnet_ledger::AccountKind::Member => "member", kopnet_ledger::AccountKind::Merchant => "merchant" },
        "status": match account.status { AccountStatus::Active => "active", AccountStatus::Frozen => "frozen" },
        "tier": format!("{:?}", account.tier).to_lowercase(),
        "balance_cap": cap,
        // What the tier allows this calendar month (WIB): null cap and
        // headroom when the tier has no monthly limit.
        "incoming_this_month": incoming,
        "monthly_incoming_cap": monthly_cap,
        "monthly_headroom": monthly_cap.map(|c| c.saturating_sub(incoming)),
        "may_transfer": rule.is_some_and(|r| r.may_transfer),
        "may_cash_out": rule.is_some_and(|r| r.may_cash_out),
        "merchant_class": account.class.map(|c| c.name()),
        "registered_at_height": account.registered_at_height,
        // The key that signs for the account now (the address until a
        // rotation or a recovery replaced it).
        "key": account.key.to_address(),
    })
}

/// What anyone may know of a merchant account: it is a business that
/// takes payments, not a person's wallet ([`super::access`]): its kind,
/// home cooperative, status, QRIS class and public display name — never
/// its balance, nonce, tier or history.
pub fn merchant_public_json(address: &str, account: &MemberAccount, merchant_name: Value) -> Value {
    json!({
        "address": address,
        "kind": "merchant",
        "home": account.home.as_str(),
        "status": match account.status { AccountStatus::Active => "active", AccountStatus::Frozen => "frozen" },
        "merchant_class": account.class.map(|c| c.name()),
        "merchant_name": merchant_name,
        "visibility": "public",
    })
}

pub fn coop_json(
    coop: &Cooperative,
    fee_balance: u64,
    float_balance: u64,
    members: u64,
    merchants: u64,
) -> Value {
    let headroom = coop.ndc_headroom();
    json!({
        "id": coop.id.as_str(),
        "name": coop.name,
        "key": coop.key.map(|k| k.to_address()),
        "validator_key": coop.validator_key.map(|k| k.to_address()),
        "node_key": coop.node_key.map(|k| k.to_address()),
        "retired_node_key": coop.retired_node_key.map(|r| json!({
            "key": r.key.to_address(),
            "admitted_until_ms": r.until_ms,
        })),
        "key_rotations": coop.key_rotations,
        "voting_power": coop.voting_power,
        "ndc": coop.ndc,
        "position": i64::try_from(coop.position).unwrap_or(i64::MAX),
        "unsettled": i64::try_from(coop.unsettled).unwrap_or(i64::MAX),
        "unsettled_debit": i64::try_from(coop.unsettled_debit).unwrap_or(i64::MIN),
        "ndc_headroom": i64::try_from(headroom).unwrap_or(i64::MAX),
        "gross_sent": coop.stats.gross_sent,
        "gross_received": coop.stats.gross_received,
        "on_us_volume": coop.stats.on_us_volume,
        "cross_volume": coop.stats.cross_volume().unwrap_or(u64::MAX),
        "volume": coop.stats.total_volume().unwrap_or(u64::MAX),
        "fees_earned": coop.stats.fees_earned,
        "fee_balance": fee_balance,
        "float_balance": float_balance,
        "members": members,
        "merchants": merchants,
        "nonce": coop.nonce,
        "next_nonce": coop.nonce.saturating_add(1),
        "active": coop.active,
        "bilateral": bilateral_json(&coop.bilateral),
        // Merchant discount earned since joining, by the merchant's class.
        "mdr_income": coop.mdr_income.iter().map(|(class, fee)| (class.name().to_string(), json!(fee))).collect::<serde_json::Map<String, Value>>(),
    })
}

pub fn window_json(window: &SettlementWindow) -> Value {
    let entries: serde_json::Map<String, Value> = window
        .entries
        .iter()
        .map(|(id, e)| {
            (
                id.to_string(),
                json!({
                    "position": i64::try_from(e.position).unwrap_or(i64::MAX),
                    "gross_sent": e.stats.gross_sent,
                    "gross_received": e.stats.gross_received,
                    "on_us_volume": e.stats.on_us_volume,
                    "volume": e.stats.total_volume().unwrap_or(u64::MAX),
                    "fees_earned": e.stats.fees_earned,
                    "acknowledged": window.acknowledged.contains(id),
                    "bilateral": bilateral_json(&e.bilateral),
                }),
            )
        })
        .collect();
    json!({
        "number": window.number,
        "closed_at_height": window.closed_at_height,
        "closed_at_ms": window.closed_at_ms,
        "settled": window.settled,
        "entries": entries,
    })
}

/// A bilateral row: counterparty → net owed to (+) or by (−) this participant.
pub fn bilateral_json(row: &std::collections::BTreeMap<kopnet_ledger::CoopId, i128>) -> Value {
    Value::Object(
        row.iter()
            .map(|(k, v)| (k.to_string(), json!(i64::try_from(*v).unwrap_or(i64::MAX))))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::testkit::key_for;
    use kopnet_ledger::{Action, CoopId, TxBody};

    fn cash_out(agent: &str) -> Transaction {
        let member = key_for("ani");
        Transaction::sign(
            TxBody {
                chain_id: "kopnet-test".into(),
                signer: member.public(),
                nonce: 1,
                action: Action::CashOut {
                    agent: CoopId::new(agent).unwrap(),
                    amount: 10_000,
                },
            },
            &member,
        )
        .unwrap()
    }

    #[test]
    fn cash_transactions_name_their_counter() {
        let tx = cash_out("pasar-makmur");
        let hash = tx.hash();
        let record = TxRecord {
            height: 7,
            index: 0,
            result: Ok(()),
            fees: 3_500,
        };
        let v = tx_json(&tx, &hash, Some(&record));
        assert_eq!(v["agent"], "pasar-makmur");
        assert_eq!(v["fees"], 3_500);
        assert_eq!(v["amount"], 10_000);
        let summary = summarize(&tx, &hash, &Ok(()), 3_500);
        assert_eq!(summary.agent.as_deref(), Some("pasar-makmur"));
        let event = serde_json::to_value(&summary).unwrap();
        assert_eq!(event["agent"], "pasar-makmur");
        assert_eq!(event["fees"], 3_500);
        assert_eq!(event["result"], "ok");
        let block = Block {
            header: kopnet_ledger::BlockHeader {
                chain_id: "kopnet-test".into(),
                height: 7,
                parent: Hash::ZERO,
                prev_state_root: Hash::ZERO,
                tx_root: Hash::ZERO,
                tx_count: 1,
                proposer: key_for("ksp-sejahtera").public(),
                time_ms: 1,
                evidence_root: Hash::ZERO,
            },
            txs: vec![tx],
            evidence: Vec::new(),
        };
        assert_eq!(
            block_json(&block, None, None)["txs"][0]["agent"],
            "pasar-makmur"
        );
    }

    #[test]
    fn other_transactions_have_no_agent() {
        let member = key_for("ani");
        let tx = Transaction::sign(
            TxBody {
                chain_id: "kopnet-test".into(),
                signer: member.public(),
                nonce: 1,
                action: Action::Payment {
                    to: key_for("budi").public(),
                    amount: 25_000,
                    memo: String::new(),
                    idempotency_id: [1; 16],
                },
            },
            &member,
        )
        .unwrap();
        let summary = summarize(&tx, &tx.hash(), &Ok(()), 0);
        assert_eq!(summary.agent, None);
        let event = serde_json::to_value(&summary).unwrap();
        assert!(event.get("agent").is_none(), "{event}");
        assert_eq!(tx_json(&tx, &tx.hash(), None)["agent"], Value::Null);
    }

    /// A payment request names the payer it asks (so the payer's wallet
    /// sees it in a block event) and its amount; paying or declining one
    /// names the requester; a dynamic QR request and a cancellation name
    /// nobody; a refund names its amount.
    #[test]
    fn request_actions_name_the_other_party() {
        let (ani, warung) = (key_for("ani"), key_for("warung-bu-sri"));
        let summary = |signer: &kopnet_consensus::Keypair, action: Action| {
            let tx = Transaction::sign(
                TxBody {
                    chain_id: "kopnet-test".into(),
                    signer: signer.public(),
                    nonce: 1,
                    action,
                },
                signer,
            )
            .unwrap();
            let s = summarize(&tx, &tx.hash(), &Ok(()), 0);
            (s.to, s.amount)
        };
        let request = |payer| Action::RequestPayment {
            id: [7; 16],
            payer,
            amount: 15_000,
            reference: "INV-7".into(),
            expires_at_ms: 1,
        };
        let (ani_address, warung_address) =
            (ani.public().to_address(), warung.public().to_address());
        assert_eq!(
            summary(&warung, request(Some(ani.public()))),
            (Some(ani_address), Some(15_000))
        );
        assert_eq!(summary(&warung, request(None)), (None, Some(15_000)));
        let pay = Action::PayRequest {
            requester: warung.public(),
            id: [7; 16],
            amount: 15_000,
        };
        assert_eq!(
            summary(&ani, pay),
            (Some(warung_address.clone()), Some(15_000))
        );
        let decline = Action::DeclineRequest {
            requester: warung.public(),
            id: [7; 16],
        };
        assert_eq!(summary(&ani, decline), (Some(warung_address), None));
        let cancel = Action::CancelRequest { id: [7; 16] };
        assert_eq!(summary(&warung, cancel), (None, None));
        // A refund names its amount; its payer is the payment's.
        let refund = Action::Refund {
            payment: Hash::digest("kopnet test payment", b"bakso"),
            amount: 5_000,
            memo: String::new(),
        };
        assert_eq!(summary(&warung, refund), (None, Some(5_000)));
    }

    #[test]
    fn a_cooperatives_volume_is_on_us_plus_cross() {
        let mut coop = Cooperative::new(
            CoopId::new("ksp-sejahtera").unwrap(),
            "KSP".into(),
            Some(key_for("ksp-sejahtera").public()),
            1,
            50_000_000,
        );
        coop.stats.gross_sent = 30_000;
        coop.stats.gross_received = 10_000;
        coop.stats.on_us_volume = 60_000;
        let v = coop_json(&coop, 0, 0, 2, 1);
        assert_eq!(v["on_us_volume"], 60_000);
        assert_eq!(v["cross_volume"], 40_000);
        assert_eq!(v["volume"], 100_000);
    }
}
