//! One transaction inside a block: admission, then execution as one
//! undoable unit on the block's overlay. The proposer and every validator
//! run this same rule, so a block built by one is accepted by the others.

use super::Ledger;
use crate::execute::{self, ExecContext};
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue, Touched};
use crate::storage::Storage;
use crate::tx::Transaction;
use crate::types::Amount;
use kopnet_primitives::{Hash, PublicKey};

/// Decides whether a transaction's signature is good. Nodes verify each
/// signature once (in the mempool) and answer from a cache here.
pub trait SignatureCheck {
    fn is_valid(&self, tx_hash: &Hash, tx: &Transaction) -> bool;
}

/// Verifies every signature (for audits, catch-up and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyAll;

impl SignatureCheck for VerifyAll {
    fn is_valid(&self, _tx_hash: &Hash, tx: &Transaction) -> bool {
        tx.verify_signature().is_ok()
    }
}

/// One admitted transaction's execution.
pub(super) struct Ran {
    pub(super) result: Result<(), Rejection>,
    /// Member accounts the execution changed (none if it was rejected).
    pub(super) changed: Vec<PublicKey>,
    /// Fees charged (0 if it was rejected).
    pub(super) fees: Amount,
}

impl<S: Storage> Ledger<S> {
    /// Admit and execute one transaction on `overlay`, in the block at
    /// `height` whose header time is `time_ms`. `Err` means the
    /// transaction could not be admitted; `Ok` holds its execution result and
    /// the member accounts it changed.
    /// Admission follows the precedence in [`crate::rejection`]: format and
    /// chain, then the signature, then signer and nonce.
    pub(super) fn run_tx<B: StateRead + ?Sized>(
        &self,
        overlay: &mut Overlay<'_, B>,
        tx: &Transaction,
        hash: Hash,
        (height, time_ms): (u64, u64),
        sigs: &dyn SignatureCheck,
    ) -> Result<Ran, Rejection> {
        execute::check_stateless(&self.chain_id, tx)?;
        if !sigs.is_valid(&hash, tx) {
            return Err(Rejection::BadSignature);
        }
        let signer = execute::find_signer(&*overlay, tx)?;
        let ctx = ExecContext {
            height,
            time_ms,
            tx_hash: hash,
        };
        let (result, touched) =
            overlay.undoable(|overlay| execute::execute(overlay, &signer, &tx.body.action, ctx));
        let mut changed = Vec::new();
        let mut fees = 0;
        if result.is_ok() {
            changed = touched
                .iter()
                .filter_map(|(key, _)| match key {
                    StateKey::Member(member) => Some(*member),
                    _ => None,
                })
                .collect();
            // In key order, each once (the history index's order).
            changed.sort_unstable();
            changed.dedup();
            fees = fees_charged(overlay, &touched);
        }
        // A member's account is in its history whatever key signed for it
        // (the index also lists the signing key, which may not be the
        // account's address).
        if let execute::Signer::Member(address, _) = &signer {
            changed.push(*address);
        }
        execute::bump_nonce(overlay, &signer, tx.body.nonce);
        Ok(Ran {
            result,
            changed,
            fees,
        })
    }
}

/// The fees a transaction charged: what its fee legs added to the
/// participants' `fees_earned` (only fee legs add to it; closing a window
/// resets it, which charges nothing). `touched` are the entries it changed
/// on `overlay` (see [`Overlay::undoable`]).
fn fees_charged<B: StateRead + ?Sized>(overlay: &Overlay<'_, B>, touched: &[Touched]) -> Amount {
    let mut total: Amount = 0;
    for (index, entry) in touched.iter().enumerate() {
        let key = &entry.0;
        if !matches!(key, StateKey::Cooperative(_))
            || touched.iter().take(index).any(|(k, _)| k == key)
        {
            continue;
        }
        let Some(StateValue::Cooperative(after)) = overlay.get_ref(key) else {
            continue;
        };
        let earlier = match overlay.before(entry) {
            Some(StateValue::Cooperative(c)) => c.stats.fees_earned,
            _ => 0,
        };
        let added = after.stats.fees_earned.saturating_sub(earlier);
        // A display figure: saturate rather than fail a committed block.
        total = total.checked_add(added).unwrap_or(Amount::MAX);
    }
    total
}
