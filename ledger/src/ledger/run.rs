//! One transaction inside a block: admission, then execution in a nested
//! overlay. The proposer and every validator run this same rule, so a block
//! built by one is accepted by the others.

use super::Ledger;
use crate::execute::{self, ExecContext};
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::storage::Storage;
use crate::tx::Transaction;
use crate::types::Amount;
use kopnet_primitives::{Hash, PublicKey};
use std::collections::BTreeMap;

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
        let mut nested = Overlay::new(&*overlay);
        let result = execute::execute(&mut nested, &signer, &tx.body.action, ctx);
        let writes = nested.into_writes();
        let mut changed = Vec::new();
        let mut fees = 0;
        if result.is_ok() {
            changed = writes
                .keys()
                .filter_map(|key| match key {
                    StateKey::Member(member) => Some(*member),
                    _ => None,
                })
                .collect();
            fees = fees_charged(&*overlay, &writes);
            overlay.merge(writes);
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

/// The fees a transaction's writes charged: what its fee legs added to the
/// participants' `fees_earned` (only fee legs add to it; closing a window
/// resets it, which charges nothing).
fn fees_charged<B: StateRead + ?Sized>(
    before: &B,
    writes: &BTreeMap<StateKey, Option<StateValue>>,
) -> Amount {
    let mut total: Amount = 0;
    for (key, value) in writes {
        let (StateKey::Cooperative(id), Some(StateValue::Cooperative(after))) = (key, value) else {
            continue;
        };
        let earlier = match before.get_ref(&StateKey::Cooperative(id.clone())) {
            Some(StateValue::Cooperative(c)) => c.stats.fees_earned,
            _ => 0,
        };
        let added = after.stats.fees_earned.saturating_sub(earlier);
        // A display figure: saturate rather than fail a committed block.
        total = total.checked_add(added).unwrap_or(Amount::MAX);
    }
    total
}
