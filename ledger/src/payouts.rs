//! Bulk payouts: a cooperative pays many members at once from its own
//! funds — the year-end surplus share (SHU), angkot drivers' wages, social
//! aid.
//!
//! The ledger's part is one line: `Payout { member, amount, reference }`,
//! signed by the cooperative key (a board decision, not a teller's). The
//! cooperative brings the money, as for cash deposited at its own counter:
//! the amount is minted into the cooperative's float and moved from there
//! to the member by an ordinary leg. So every rule of a credit holds per
//! line: the member's tier balance cap and monthly incoming cap, a frozen
//! account, and, for a member homed at another cooperative, the payer
//! cooperative's net debit cap (it owes the member's cooperative the
//! money, settled like any cross-cooperative leg). No fee is charged.
//!
//! A payout file becomes one transaction per line, signed in one go with
//! consecutive nonces (`kopnet coop payout --file`); each line is applied
//! or rejected on its own with its reason, so one bad line does not stop
//! the others. The reference (at most [`PAYOUT_REFERENCE_BYTES_MAX`] bytes)
//! names the batch and line in the member's history.
//!
//! **Sending a file twice pays nobody twice** (within the idempotency
//! window): each line carries an idempotency id (the CLI derives it from
//! the file's bytes and the line number) checked and recorded like a
//! payment's, with the cooperative key as the payer
//! ([`crate::idempotency`]): the line is then `duplicate`. The checks
//! run in the payment's order: the idempotency codes first, then
//! `zero_amount`, `unknown_account`, then the legs'.

use crate::legs;
use crate::rejection::Rejection;
use crate::state::{Overlay, StateRead};
use crate::types::{AccountId, Amount, Cooperative};
use kopnet_primitives::PublicKey;

/// Longest payout reference, in bytes.
pub const PAYOUT_REFERENCE_BYTES_MAX: usize = 64;

/// The reference's format rule.
pub fn check_reference(reference: &str) -> Result<(), Rejection> {
    if reference.len() > PAYOUT_REFERENCE_BYTES_MAX {
        return Err(Rejection::Malformed(
            "payout reference longer than 64 bytes".into(),
        ));
    }
    Ok(())
}

/// Pay `amount` to `member` from `coop`'s own funds.
pub fn pay<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    member: &PublicKey,
    amount: Amount,
) -> Result<(), Rejection> {
    if amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    if state.member_ref(member).is_none() {
        return Err(Rejection::UnknownAccount(member.to_address()));
    }
    legs::deposit_at(state, &coop.id, &AccountId::Member(*member), amount)
}
