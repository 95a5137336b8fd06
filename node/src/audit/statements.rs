//! Per-cooperative settlement and fee statements for a period.
//!
//! - **Settlement**: the windows whose closing block's time is in the
//!   period, from the ledger's own records ([`SettlementWindow`]): how many
//!   the cooperative took part in, the sum of its net positions (+ owed
//!   to it, − owed by it), its gross volumes, the fees those windows
//!   credited to it (`fees_earned`, exact), and how many it has not
//!   acknowledged yet.
//! - **Fees by kind**: each successful transaction of the period run
//!   through the fee rules in force when the report is made, each fee
//!   leg credited to the cooperative it goes to (payer's or payee's home,
//!   the counter, the network fund): `payment_to_member`,
//!   `payment_to_merchant` (the MDR, also split by merchant class in
//!   `mdr_by_class`), `cash_in`, `cash_out`. If governance changed the fee
//!   rules within the period these are estimates; the windows'
//!   `fees_earned` is exact. `mdr_to_date_by_class` is the ledger's
//!   running total since the cooperative joined.

use super::{AuditTx, Directory, TxKind, STATEMENT_WINDOWS_MAX};
use kopnet_ledger::fees::{FeeCase, FeeKind, FeeParty, FeeRule};
use kopnet_ledger::settlement_window::SettlementWindow;
use kopnet_ledger::types::{AccountKind, CoopId, Cooperative, Position};
use serde::Serialize;
use std::collections::BTreeMap;

/// One cooperative's statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoopStatement {
    pub cooperative: String,
    /// Windows closed in the period with this cooperative in them.
    pub windows_closed: u64,
    /// Their numbers' range, if any.
    pub first_window: Option<u64>,
    pub last_window: Option<u64>,
    /// Sum of its net positions in them (+ owed to it, − owed by it).
    pub net_position: Position,
    pub gross_sent: u128,
    pub gross_received: u128,
    pub on_us_volume: u128,
    /// Fees those windows credited to it (exact).
    pub fees_earned: u128,
    /// Of those windows, how many it still has to acknowledge.
    pub unacknowledged: u64,
    /// Fees it earned by transaction kind (fee rules in force now).
    pub fees_by_kind: BTreeMap<&'static str, u128>,
    /// Its MDR income of the period by merchant class.
    pub mdr_by_class: BTreeMap<&'static str, u128>,
    /// Its MDR income since it joined, by merchant class (the ledger's).
    pub mdr_to_date_by_class: BTreeMap<&'static str, u128>,
}

/// The report's third part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statements {
    pub cooperatives: Vec<CoopStatement>,
    /// Windows closed in the period (all cooperatives).
    pub windows: u64,
    /// Whether more windows closed than were read ([`STATEMENT_WINDOWS_MAX`]).
    pub cut: bool,
}

/// The statements of `cooperatives` from the period's closed `windows`
/// and transactions.
pub fn statements(
    cooperatives: &[Cooperative],
    windows: &[SettlementWindow],
    windows_cut: bool,
    txs: &[AuditTx],
    directory: &Directory,
    rules: &[FeeRule],
) -> Statements {
    let mut out: BTreeMap<CoopId, CoopStatement> = cooperatives
        .iter()
        .map(|c| {
            let statement = CoopStatement {
                cooperative: c.id.to_string(),
                mdr_to_date_by_class: c
                    .mdr_income
                    .iter()
                    .map(|(class, amount)| (class.name(), u128::from(*amount)))
                    .collect(),
                ..CoopStatement::default()
            };
            (c.id.clone(), statement)
        })
        .collect();
    for window in windows.iter().take(STATEMENT_WINDOWS_MAX) {
        for (id, entry) in &window.entries {
            let Some(s) = out.get_mut(id) else { continue };
            s.windows_closed = s.windows_closed.saturating_add(1);
            s.first_window = Some(
                s.first_window
                    .map_or(window.number, |f| f.min(window.number)),
            );
            s.last_window = Some(
                s.last_window
                    .map_or(window.number, |l| l.max(window.number)),
            );
            s.net_position = s.net_position.saturating_add(entry.position);
            s.gross_sent = s
                .gross_sent
                .saturating_add(u128::from(entry.stats.gross_sent));
            s.gross_received = s
                .gross_received
                .saturating_add(u128::from(entry.stats.gross_received));
            s.on_us_volume = s
                .on_us_volume
                .saturating_add(u128::from(entry.stats.on_us_volume));
            s.fees_earned = s
                .fees_earned
                .saturating_add(u128::from(entry.stats.fees_earned));
            let owes_ack = entry.position != 0 && !id.is_network();
            if owes_ack && !window.acknowledged.contains(id) {
                s.unacknowledged = s.unacknowledged.saturating_add(1);
            }
        }
    }
    for tx in txs {
        for (coop, kind, class, fee) in fee_legs(tx, directory, rules) {
            let Some(s) = out.get_mut(&coop) else {
                continue;
            };
            let by_kind = s.fees_by_kind.entry(kind_name(kind)).or_default();
            *by_kind = by_kind.saturating_add(u128::from(fee));
            if let Some(class) = class {
                let by_class = s.mdr_by_class.entry(class).or_default();
                *by_class = by_class.saturating_add(u128::from(fee));
            }
        }
    }
    Statements {
        cooperatives: out.into_values().collect(),
        windows: u64::try_from(windows.len()).unwrap_or(u64::MAX),
        cut: windows_cut || windows.len() > STATEMENT_WINDOWS_MAX,
    }
}

fn kind_name(kind: FeeKind) -> &'static str {
    match kind {
        FeeKind::PaymentToMember => "payment_to_member",
        FeeKind::PaymentToMerchant => "payment_to_merchant",
        FeeKind::CashIn => "cash_in",
        FeeKind::CashOut => "cash_out",
    }
}

/// The fee legs `rules` give `tx` that reach a cooperative (or the network
/// fund): `(recipient, kind, merchant class for MDR, rupiah)`.
fn fee_legs(
    tx: &AuditTx,
    directory: &Directory,
    rules: &[FeeRule],
) -> Vec<(CoopId, FeeKind, Option<&'static str>, u64)> {
    let home = |key: Option<kopnet_consensus::PublicKey>| {
        key.and_then(|k| directory.get(&k)).map(|a| a.home.clone())
    };
    let agent = tx.counter.as_ref().map(|c| c.coop.clone());
    let (kind, payer_coop, payee_coop, class) = match tx.kind {
        TxKind::Payment => {
            let payee = tx.to.and_then(|k| directory.get(&k));
            match payee.map(|p| p.kind) {
                Some(AccountKind::Merchant) => (
                    FeeKind::PaymentToMerchant,
                    home(tx.from),
                    home(tx.to),
                    payee.and_then(|p| p.class),
                ),
                _ => (FeeKind::PaymentToMember, home(tx.from), home(tx.to), None),
            }
        }
        TxKind::CashIn => (FeeKind::CashIn, home(tx.to), None, None),
        TxKind::CashOut => (FeeKind::CashOut, home(tx.from), None, None),
        _ => return Vec::new(),
    };
    let cross = match kind {
        FeeKind::CashIn | FeeKind::CashOut => payer_coop != agent,
        _ => payer_coop != payee_coop,
    };
    let case = FeeCase {
        kind,
        cross,
        class,
        amount: tx.amount,
    };
    let mut legs = Vec::new();
    for rule in rules.iter().filter(|r| r.applies(&case)) {
        let recipient = match rule.to {
            FeeParty::PayerCoop => payer_coop.clone(),
            FeeParty::PayeeCoop => payee_coop.clone(),
            FeeParty::AgentCoop => agent.clone(),
            FeeParty::NetworkFund => Some(CoopId::network()),
            FeeParty::Payer | FeeParty::Payee => None,
        };
        let (Some(recipient), Some(fee)) = (recipient, rule.fee(tx.amount)) else {
            continue;
        };
        if fee > 0 {
            let class = (kind == FeeKind::PaymentToMerchant)
                .then(|| class.map(|c| c.name()))
                .flatten();
            legs.push((recipient, kind, class, fee));
        }
    }
    legs
}

#[cfg(test)]
mod tests {
    use super::super::testing::{coop, key, member, tx};
    use super::super::{Counter, TxKind::*};
    use super::*;
    use kopnet_ledger::fees::default_fee_rules;
    use kopnet_ledger::settlement_window::WindowEntry;
    use kopnet_ledger::types::{MerchantClass, WindowStats};

    #[test]
    fn windows_and_fees_add_up_per_cooperative() {
        let coops = vec![
            Cooperative::new(coop("ksp-a"), "A".into(), None, 1, 0),
            Cooperative::new(coop("ksp-b"), "B".into(), None, 1, 0),
            Cooperative::new(CoopId::network(), "network".into(), None, 0, 0),
        ];
        let entry = |position, fees| WindowEntry {
            position,
            stats: WindowStats {
                gross_sent: 10,
                gross_received: 20,
                fees_earned: fees,
                on_us_volume: 5,
            },
            bilateral: BTreeMap::new(),
        };
        let window = |number, acked: bool| SettlementWindow {
            number,
            closed_at_height: number,
            closed_at_ms: number,
            entries: BTreeMap::from([(coop("ksp-a"), entry(-7, 3)), (coop("ksp-b"), entry(7, 1))]),
            acknowledged: if acked {
                [coop("ksp-a"), coop("ksp-b")].into()
            } else {
                Default::default()
            },
            settled: acked,
        };
        let mut shop = member("ksp-b");
        shop.kind = AccountKind::Merchant;
        shop.class = Some(MerchantClass::Small);
        let directory = Directory::from([(key(1), member("ksp-a")), (key(2), shop)]);
        let mut cash_out = tx(CashOut, Some(1), None, 100_000, 5);
        cash_out.counter = Some(Counter {
            coop: coop("ksp-b"),
            teller: None,
        });
        let txs = vec![tx(Payment, Some(1), Some(2), 1_000_000, 1), cash_out];
        let s = statements(
            &coops,
            &[window(3, true), window(4, false)],
            false,
            &txs,
            &directory,
            &default_fee_rules(),
        );
        let a = &s.cooperatives[0];
        let b = &s.cooperatives[1];
        assert_eq!(
            (a.cooperative.as_str(), b.cooperative.as_str()),
            ("ksp-a", "ksp-b")
        );
        assert_eq!(
            (a.windows_closed, a.first_window, a.last_window),
            (2, Some(3), Some(4))
        );
        assert_eq!((a.net_position, b.net_position), (-14, 14));
        assert_eq!((a.fees_earned, b.fees_earned), (6, 2));
        assert_eq!((a.unacknowledged, b.unacknowledged), (1, 1));
        // The small merchant's 0,7 % MDR of Rp1.000.000: 0,3 % to the
        // issuer (ksp-a), 0,3 % to the acquirer (ksp-b), 0,1 % network.
        assert_eq!(a.mdr_by_class.get("small"), Some(&3_000));
        assert_eq!(b.mdr_by_class.get("small"), Some(&3_000));
        assert_eq!(s.cooperatives[2].mdr_by_class.get("small"), Some(&1_000));
        // The cash-out at another counter: Rp2.500 to the agent, Rp1.000
        // to the home cooperative.
        assert_eq!(b.fees_by_kind.get("cash_out"), Some(&2_500));
        assert_eq!(a.fees_by_kind.get("cash_out"), Some(&1_000));
        assert_eq!(s.windows, 2);
    }
}
