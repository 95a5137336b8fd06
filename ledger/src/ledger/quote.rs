//! Quotes: what a transaction would do, computed on the committed state
//! without signing or committing, to show a member the fee before they
//! confirm.

use super::payment_records::BlockBase;
use super::Ledger;
use crate::execute::{self, ExecContext};
use crate::legs;
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateValue};
use crate::storage::Storage;
use crate::tx::{Action, Transaction, TxBody};
use crate::types::AccountId;
use crate::{idempotency, refunds};
use kopnet_primitives::{Hash, PublicKey, Signature};

/// What a transaction would do, computed without signing or committing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Balance changes by account, in account order.
    pub deltas: Vec<(AccountId, i128)>,
    /// What the signer pays beyond the principal (fees), if it is a member.
    pub signer_fees: u64,
    /// What the payee receives after fees taken from it (payments and
    /// paid requests only).
    pub payee_receives: Option<u64>,
    /// Cashback the incentive programmes would pay the signer
    /// ([`crate::incentives`]).
    pub cashback: u64,
    /// Who receives the fees, and how much each: the cooperatives' fee
    /// accounts and the network fund (before the fund pays any cashback).
    pub fee_split: Vec<(AccountId, u64)>,
}

impl<S: Storage> Ledger<S> {
    /// The next block's start, then `action` by `signer`, on `base`.
    fn quote_run<'b>(
        &self,
        base: &'b BlockBase<'_>,
        signer: &execute::Signer,
        action: &Action,
        ctx: ExecContext,
    ) -> Result<Overlay<'b, BlockBase<'b>>, Rejection> {
        let time_ms = ctx.time_ms;
        let mut overlay = Overlay::new(base);
        idempotency::expire(&mut overlay, &self.state.idempotency_days(), time_ms);
        crate::tiers::begin_block(&mut overlay, time_ms);
        refunds::expire(&mut overlay, &self.state, time_ms);
        execute::execute(&mut overlay, signer, action, ctx)?;
        Ok(overlay)
    }

    /// Dry-run `action` as `signer` against the committed state: the rejection
    /// it would get, or the balance changes and fees it would cause. Used to
    /// show a member the fee before they confirm.
    pub fn quote(&self, signer: &PublicKey, action: &Action) -> Result<Quote, Rejection> {
        let nonce = self.next_nonce(signer)?;
        let tx = Transaction {
            body: TxBody {
                chain_id: self.chain_id.clone(),
                signer: *signer,
                nonce,
                action: action.clone(),
            },
            signature: Signature([0; 64]),
        };
        let admitted = execute::admit(&self.state, &self.chain_id, &tx)?;
        // As the next block would see it at its earliest time; a store that
        // cannot be read quotes as if the id were unused (a quote is advice:
        // the block checks it again).
        let time_ms = self.last_block_time_ms.saturating_add(1);
        let mut base = self
            .block_base([&tx], time_ms)
            .unwrap_or_else(|_| BlockBase::without_records(&self.state));
        let ctx = ExecContext {
            height: self.height.saturating_add(1),
            time_ms,
            tx_hash: Hash::ZERO,
        };
        let first = self.quote_run(&base, &admitted, action, ctx);
        // The payer's record under its account, not its key (see
        // `BlockBase`): run again once it is looked up.
        let overlay = if base.missed_any() {
            drop(first);
            let _ = self.fetch_missed(&mut base, time_ms);
            self.quote_run(&base, &admitted, action, ctx)?
        } else {
            first?
        };
        let mut deltas = Vec::new();
        for (key, value) in overlay.writes() {
            let (account, after) = match (key, value) {
                (StateKey::Member(k), Some(StateValue::Member(m))) => {
                    (AccountId::Member(*k), m.balance)
                }
                (StateKey::Balance(a), Some(StateValue::Balance(b))) => (a.clone(), *b),
                _ => continue,
            };
            let before = legs::balance_of(&self.state, &account).unwrap_or(0);
            let delta = i128::from(after) - i128::from(before);
            if delta != 0 {
                deltas.push((account, delta));
            }
        }
        let delta_of = |a: &AccountId| {
            deltas
                .iter()
                .find(|(k, _)| k == a)
                .map(|(_, d)| *d)
                .unwrap_or(0)
        };
        let principal = match action {
            Action::Payment { amount, .. }
            | Action::CashOut { amount, .. }
            | Action::PayRequest { amount, .. }
            | Action::Refund { amount, .. } => i128::from(*amount),
            _ => 0,
        };
        let paid = |programmes: crate::incentives::Programmes| {
            programmes
                .programmes
                .iter()
                .fold(0u64, |sum, p| sum.saturating_add(p.paid))
        };
        let cashback = paid(crate::incentives::programmes(&overlay))
            .saturating_sub(paid(crate::incentives::programmes(&self.state)));
        let fee_split = deltas
            .iter()
            .filter_map(|(account, delta)| match account {
                AccountId::Fee(_) => Some((account.clone(), u64::try_from(*delta).ok()?)),
                AccountId::NetworkFund => {
                    let earned = delta.checked_add(i128::from(cashback))?;
                    Some((account.clone(), u64::try_from(earned).ok()?))
                }
                AccountId::Member(_) | AccountId::Float(_) => None,
            })
            .filter(|(_, fee)| *fee > 0)
            .collect();
        let signer_delta = delta_of(&AccountId::Member(*signer)) - i128::from(cashback);
        let signer_fees = u64::try_from((-signer_delta - principal).max(0)).unwrap_or(0);
        let payee_receives = match action {
            Action::Payment { to, .. } | Action::PayRequest { requester: to, .. } => {
                u64::try_from(delta_of(&AccountId::Member(*to)).max(0)).ok()
            }
            _ => None,
        };
        Ok(Quote {
            deltas,
            signer_fees,
            payee_receives,
            cashback,
            fee_split,
        })
    }
}
