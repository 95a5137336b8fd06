//! Accounts outlive keys: a member account's address never changes, the
//! key that signs for it can.
//!
//! A member account is stored, paid and shown under its address (the key
//! it was registered with). [`MemberAccount::key`] is the key that signs
//! for it now; at registration the two are the same. A key that is not its
//! account's address is found through [`StateKey::MemberKey`] (key →
//! address), so resolving a signer is two point lookups, never a scan.
//!
//! * `RotateMemberKey { new_key }`, signed by the current key, replaces
//!   it at once. Refused for a frozen account (`account_frozen`: a frozen
//!   account's key does nothing) and while a recovery is pending
//!   (`recovery_pending`: cancel it first).
//! * A recovery ([`crate::recovery`]) replaces it after a waiting period.
//!
//! After a replacement the old key is refused at admission with
//! `key_replaced` (it names the account, so a wallet can tell its owner
//! why). Index entries are never removed, so a key that ever signed for an
//! account can never sign for another one (nor become a cooperative or
//! teller key): every new key must be strong (`weak_key`) and used nowhere
//! ([`key_in_use`], else `account_exists`). Nonces belong to the account,
//! not to the key: the new key continues the account's sequence.

use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::types::{AccountStatus, MemberAccount};
use crate::{recovery, tellers};
use kopnet_primitives::PublicKey;

/// The account a key that is not an address signs (or signed) for.
pub fn member_by_key<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> Option<PublicKey> {
    match state.get_ref(&StateKey::MemberKey(*key)) {
        Some(StateValue::MemberKey(address)) => Some(*address),
        _ => None,
    }
}

/// Whether `key` is used anywhere: a cooperative key, a validator key or
/// node identity (now or before), a teller, a member address, a member's
/// current or former key, a key a pending recovery will install, or an
/// observer's key (now or before).
pub fn key_in_use<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> bool {
    state.coop_by_key(key).is_some()
        || state.member(key).is_some()
        || member_by_key(state, key).is_some()
        || tellers::teller(state, key).is_some()
        || recovery::reserved(state, key).is_some()
        || state.node_key_use(key).is_some()
        || crate::observers::key_used(state, key)
}

/// The account `key` signs for now, as `(address, account)`: `Ok(None)`
/// when no account ever had the key, `key_replaced` when it had but has
/// another key now.
pub fn resolve<S: StateRead + ?Sized>(
    state: &S,
    key: &PublicKey,
) -> Result<Option<(PublicKey, MemberAccount)>, Rejection> {
    let (address, account) = match state.member(key) {
        Some(account) => (*key, account),
        None => match member_by_key(state, key) {
            Some(address) => {
                let account = state.member(&address).ok_or(Rejection::UnknownSigner)?;
                (address, account)
            }
            None => return Ok(None),
        },
    };
    if account.key != *key {
        return Err(Rejection::KeyReplaced(address.to_address()));
    }
    Ok(Some((address, account)))
}

/// Make `new_key` the key of the account at `address` (the caller checked
/// that it is strong and unused).
pub fn install<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    address: &PublicKey,
    mut account: MemberAccount,
    new_key: &PublicKey,
) {
    account.key = *new_key;
    state.put_member(*address, account);
    if new_key != address {
        state.put(
            StateKey::MemberKey(*new_key),
            StateValue::MemberKey(*address),
        );
    }
}

/// A new key for an account must be strong and used nowhere.
pub fn check_new_key<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> Result<(), Rejection> {
    key.validate().map_err(|_| Rejection::WeakKey)?;
    if key_in_use(state, key) {
        return Err(Rejection::AccountExists);
    }
    Ok(())
}

/// `RotateMemberKey`, signed by the account's current key.
pub fn rotate<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    address: &PublicKey,
    new_key: &PublicKey,
) -> Result<(), Rejection> {
    let account = state
        .member(address)
        .ok_or_else(|| Rejection::UnknownAccount(address.to_address()))?;
    if account.status == AccountStatus::Frozen {
        return Err(Rejection::AccountFrozen(address.to_address()));
    }
    if recovery::pending(state, address).is_some() {
        return Err(Rejection::RecoveryPending(address.to_address()));
    }
    check_new_key(state, new_key)?;
    install(state, address, account, new_key);
    Ok(())
}
