//! Merchants' public display names, set by their home cooperative.
//!
//! A payment QR code carries a merchant name (EMVCo field 59), but anyone
//! can print a code with any name on it: a thief's code saying "Warung Bu
//! Sri" pays the thief. So the wallet's confirm screen shows the name the
//! *ledger* holds for the payee, and warns when the code's name differs.
//! That name is set here, by [`Action::SetMerchantName`](crate::Action),
//! signed by the merchant's home cooperative (its cooperative key), which
//! checked the business when it registered it.
//!
//! Rules:
//! - only merchant accounts ([`AccountKind::Merchant`]) have a public name.
//!   A merchant's name is public business data, like the name over a shop
//!   door; a *member's* name is personal data and never goes on the ledger
//!   (every node and every observer can read the whole state);
//! - only the merchant's home cooperative may set or clear it, signing with
//!   its cooperative key, and only for a merchant. Checked in this order:
//!   a signer that is not a cooperative is `not_authorized`; a merchant
//!   address without an account is `unknown_account`; a cooperative that is
//!   not the account's home is `not_authorized`; a member (not merchant)
//!   account is `invalid_action`;
//! - the name is 1 to [`MERCHANT_NAME_BYTES_MAX`] characters of printable
//!   ASCII without leading or trailing spaces (`malformed` otherwise, before
//!   the transaction reaches a block): the same alphabet and length as the
//!   QR code's field 59, so a merchant prints exactly its ledger name, and no
//!   look-alike Unicode letters can imitate another merchant's name;
//! - an empty name removes the entry (a merchant that closes or renames
//!   itself without a new name yet).
//!
//! State: one [`StateKey::MerchantName`] entry per named merchant, so the
//! entries are bounded by the number of merchant accounts.

use crate::execute::Signer;
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::types::{AccountKind, Cooperative};
use kopnet_primitives::PublicKey;

/// Longest merchant display name, in bytes (= characters: printable ASCII),
/// the length of the EMVCo merchant-name field.
pub const MERCHANT_NAME_BYTES_MAX: usize = 25;

/// The format rule of a merchant name (checked statelessly, see
/// [`crate::tx::Transaction::check_format`]): empty (remove), or 1 to
/// [`MERCHANT_NAME_BYTES_MAX`] printable ASCII characters, not starting or
/// ending with a space.
pub fn check_name_format(name: &str) -> Result<(), Rejection> {
    let malformed = |what: &str| Err(Rejection::Malformed(what.to_string()));
    if name.is_empty() {
        return Ok(());
    }
    if name.len() > MERCHANT_NAME_BYTES_MAX {
        return malformed("merchant name longer than 25 characters");
    }
    if !name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return malformed("merchant name must be printable ASCII");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return malformed("merchant name must not start or end with a space");
    }
    Ok(())
}

/// The public display name of `merchant`, if its cooperative set one.
pub fn merchant_name<S: StateRead + ?Sized>(state: &S, merchant: &PublicKey) -> Option<String> {
    match state.get_ref(&StateKey::MerchantName(*merchant)) {
        Some(StateValue::MerchantName(name)) => Some(name.clone()),
        _ => None,
    }
}

/// Execute `SetMerchantName` signed by `signer` (rules in the module docs).
pub fn set<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    signer: &Signer,
    merchant: &PublicKey,
    name: &str,
) -> Result<(), Rejection> {
    let coop: &Cooperative = match signer {
        Signer::Cooperative(coop) => coop,
        _ => {
            return Err(Rejection::NotAuthorized(
                "a merchant's name is set by its home cooperative".into(),
            ))
        }
    };
    let account = state
        .member(merchant)
        .ok_or_else(|| Rejection::UnknownAccount(merchant.to_address()))?;
    if account.home != coop.id {
        return Err(Rejection::NotAuthorized(
            "only the merchant's home cooperative can set its name".into(),
        ));
    }
    if account.kind != AccountKind::Merchant {
        return Err(Rejection::InvalidAction(
            "only merchant accounts have a public name; member names stay off the ledger".into(),
        ));
    }
    let key = StateKey::MerchantName(*merchant);
    if name.is_empty() {
        state.delete(key);
    } else {
        state.put(key, StateValue::MerchantName(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_format() {
        for ok in ["", "Warung Bu Sri", "A", &"x".repeat(25), "Toko 99 & Co."] {
            assert_eq!(check_name_format(ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "x".repeat(26),
            "Warung\nBu Sri".into(),
            "Warung Bu Sr\u{ec}".into(),
            " Warung".into(),
            "Warung ".into(),
            "W\u{430}rung".into(),
        ] {
            assert!(
                matches!(check_name_format(&bad), Err(Rejection::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
