//! Tellers: keys a cooperative registers for its counter staff, so the
//! cooperative key (governance, teller management, minting policy) never
//! has to sit on a teller PC.
//!
//! The cooperative key adds a teller (`AddTeller`: a strong key no account,
//! cooperative or teller uses, a name of 1-64 bytes, an optional daily
//! limit) and removes one (`RemoveTeller`, for good: the key is never
//! usable again and stays reserved, so old transactions keep their
//! teller's name). A teller signs with its own key and has its own nonce
//! sequence, so tellers never compete for one.
//!
//! **What a teller may sign**, always as its own cooperative:
//! `RegisterMember`, `RegisterMerchant`, `SetMerchantClass`,
//! `SetMemberTier` (after checking the member's identity in person), `Mint`
//! and `Burn` for the cooperative's own members,
//! `CashIn` at its own counter, and `StartRecovery` / `CancelRecovery` for
//! a member of its cooperative (the teller is who checks the member in
//! person), and `Refund` of a payment to one of its cooperative's
//! merchants ([`crate::refunds`]; not counted against the daily limit,
//! which caps e-money created or paid out at the counter, while a refund
//! only moves it back). Everything else — governance (`Propose`, `Approve`),
//! settlement acknowledgements, teller management, payments — is
//! `not_authorized`; another cooperative's counter or member is
//! `not_authorized` exactly as for the cooperative key.
//!
//! **Daily limit**: the rupiah of a teller's successful `Mint`, `Burn` and
//! `CashIn` of one calendar day in WIB (UTC+7, from the block time) may not
//! pass its `daily_limit`; the transaction that would pass it is
//! `teller_daily_limit` (its nonce is used, nothing else changes). The
//! action's own rules are checked first, so a transaction that breaks one
//! reports that code. `used_today` is kept even without a limit, for the
//! cooperative's view.
//!
//! **Bounds**: at most [`TELLERS_ACTIVE_MAX`] active tellers and
//! [`TELLERS_EVER_MAX`] teller keys ever per cooperative (a removed
//! teller's record is kept for history).

use crate::execute::{self, ExecContext, Signer};
use crate::rejection::Rejection;
pub use crate::role_records::{wib_day, CoopRoles, Teller, WIB_OFFSET_MS};
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::tx::Action;
use crate::types::{Amount, CoopId, Cooperative};
use crate::{member_keys, recovery};
use kopnet_primitives::PublicKey;

/// Longest teller name, in bytes.
pub const TELLER_NAME_BYTES_MAX: usize = 64;
/// Most active tellers one cooperative may have.
pub const TELLERS_ACTIVE_MAX: usize = 64;
/// Most teller keys one cooperative may ever register (active and removed).
pub const TELLERS_EVER_MAX: usize = 1024;

/// Format rules of `AddTeller` that need no state.
pub fn check_format(name: &str, daily_limit: Option<Amount>) -> Result<(), Rejection> {
    if name.trim().is_empty() || name.len() > TELLER_NAME_BYTES_MAX {
        return Err(Rejection::Malformed(
            "teller name must be 1-64 bytes".to_string(),
        ));
    }
    if daily_limit == Some(0) {
        return Err(Rejection::Malformed(
            "a teller's daily limit must be at least Rp 1 (leave it out for no limit)".to_string(),
        ));
    }
    Ok(())
}

pub fn teller<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> Option<Teller> {
    match state.get_ref(&StateKey::Teller(*key)) {
        Some(StateValue::Teller(t)) => Some(t.clone()),
        _ => None,
    }
}

pub fn roles<S: StateRead + ?Sized>(state: &S, coop: &CoopId) -> CoopRoles {
    match state.get_ref(&StateKey::CoopRoles(coop.clone())) {
        Some(StateValue::CoopRoles(r)) => r.clone(),
        _ => CoopRoles::default(),
    }
}

pub fn put_teller<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, key: PublicKey, t: Teller) {
    state.put(StateKey::Teller(key), StateValue::Teller(t));
}

pub fn put_roles<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, coop: &CoopId, r: CoopRoles) {
    state.put(StateKey::CoopRoles(coop.clone()), StateValue::CoopRoles(r));
}

/// `AddTeller`, signed by the cooperative key.
pub fn add<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    key: &PublicKey,
    name: &str,
    daily_limit: Option<Amount>,
    height: u64,
) -> Result<(), Rejection> {
    check_format(name, daily_limit)?;
    key.validate().map_err(|_| Rejection::WeakKey)?;
    if member_keys::key_in_use(state, key) {
        return Err(Rejection::AccountExists);
    }
    let mut roles = roles(state, &coop.id);
    let ever = roles
        .tellers
        .len()
        .saturating_add(roles.removed_tellers.len());
    if roles.tellers.len() >= TELLERS_ACTIVE_MAX {
        return Err(Rejection::TooManyTellers {
            max: TELLERS_ACTIVE_MAX as u64,
        });
    }
    if ever >= TELLERS_EVER_MAX {
        return Err(Rejection::TooManyTellers {
            max: TELLERS_EVER_MAX as u64,
        });
    }
    roles.tellers.insert(*key);
    put_roles(state, &coop.id, roles);
    let record = Teller {
        coop: coop.id.clone(),
        name: name.to_string(),
        daily_limit,
        nonce: 0,
        day: 0,
        used_today: 0,
        active: true,
        added_height: height,
        removed_height: None,
    };
    put_teller(state, *key, record);
    Ok(())
}

/// `RemoveTeller`, signed by the cooperative key: the teller's key is
/// refused from the next transaction on (`teller_removed`).
pub fn remove<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    key: &PublicKey,
    height: u64,
) -> Result<(), Rejection> {
    let mut record = teller(state, key)
        .filter(|t| t.coop == coop.id && t.active)
        .ok_or_else(|| Rejection::UnknownTeller(key.to_address()))?;
    record.active = false;
    record.removed_height = Some(height);
    put_teller(state, *key, record);
    let mut roles = roles(state, &coop.id);
    roles.tellers.remove(key);
    roles.removed_tellers.insert(*key);
    put_roles(state, &coop.id, roles);
    Ok(())
}

/// Carry out `action` signed by teller `key` of `coop`: the counter
/// actions run as the cooperative's own, then count against the limit.
pub fn execute<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    key: &PublicKey,
    coop: &Cooperative,
    action: &Action,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let as_coop = Signer::Cooperative(coop.clone());
    match action {
        Action::RegisterMember { .. }
        | Action::RegisterMerchant { .. }
        | Action::SetMerchantClass { .. }
        | Action::SetMemberTier { .. } => execute::execute(state, &as_coop, action, ctx),
        Action::Mint { amount, .. }
        | Action::Burn { amount, .. }
        | Action::CashIn { amount, .. } => {
            execute::execute(state, &as_coop, action, ctx)?;
            count_against_limit(state, key, *amount, ctx.time_ms)
        }
        Action::StartRecovery { member, new_key } => {
            let by = recovery::StartedBy {
                coop: coop.id.clone(),
                teller: Some(*key),
            };
            recovery::start(state, by, member, new_key, ctx)
        }
        Action::CancelRecovery { member } => {
            recovery::cancel_by_coop(state, coop, *key, member, ctx)
        }
        Action::Refund { .. } => execute::execute(state, &as_coop, action, ctx),
        _ => Err(Rejection::NotAuthorized(
            "a teller may only register members and merchants, set their tier and class, mint, \
             burn, cash in, start or cancel recoveries and refund merchant payments at its own \
             cooperative's counter"
                .into(),
        )),
    }
}

/// Add `amount` to the teller's use of the day, refusing to pass its limit.
fn count_against_limit<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    key: &PublicKey,
    amount: Amount,
    time_ms: u64,
) -> Result<(), Rejection> {
    let mut record = teller(state, key).ok_or(Rejection::UnknownSigner)?;
    let used = record.used_on(time_ms);
    let after = used.checked_add(amount).ok_or(Rejection::Overflow)?;
    if let Some(limit) = record.daily_limit {
        if after > limit {
            return Err(Rejection::TellerDailyLimit {
                limit,
                used,
                amount,
            });
        }
    }
    record.day = wib_day(time_ms);
    record.used_today = after;
    put_teller(state, *key, record);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role_records::DAY_MS;

    #[test]
    fn the_wib_day_turns_at_midnight_wib() {
        // 2026-01-01T16:59:59.999Z is 23:59:59.999 WIB on 1 January;
        // one millisecond later it is 2 January in Jakarta.
        let before = 1_767_286_799_999;
        assert_eq!(wib_day(before) + 1, wib_day(before + 1));
        assert_eq!(wib_day(0), 0);
        assert_eq!(wib_day(DAY_MS - WIB_OFFSET_MS), 1);
        assert_eq!(wib_day(u64::MAX), u64::MAX / DAY_MS);
    }

    #[test]
    fn teller_names_and_limits_have_a_format() {
        assert!(check_format("Loket 1", None).is_ok());
        assert!(check_format("Loket 1", Some(1)).is_ok());
        for (name, limit) in [("", None), ("  ", None), ("Loket", Some(0))] {
            assert_eq!(
                check_format(name, limit).unwrap_err().code(),
                "malformed",
                "{name:?} {limit:?}"
            );
        }
        assert!(check_format(&"x".repeat(64), None).is_ok());
        assert!(check_format(&"x".repeat(65), None).is_err());
    }
}
