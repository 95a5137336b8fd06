//! Regulators' observer nodes, registered on the ledger.
//!
//! An observer is a read-only node (a regulator's: the cooperative office,
//! OJK, Bank Indonesia, the city): it follows the chain, audits it, and
//! never signs blocks. Its **key** is its node identity (libp2p), the key
//! every allow-list admits, and it also signs the observer's own ledger
//! transactions (today only its key rotation).
//!
//! - **Who admits an observer.** Genesis lists the first ones
//!   ([`crate::Genesis::observers`]); afterwards governance adds and
//!   removes them (`GovAction::AddObserver` / `RemoveObserver`, the same
//!   vote of more than two thirds of the voting power as for a
//!   cooperative). Every node's allow-list follows the ledger: an observer
//!   is admitted from the block that adds it and disconnected from the
//!   block that removes it.
//! - **Rotation.** An observer replaces its key with
//!   `Action::RotateObserverKey`, signed by its current key: the new key
//!   is admitted from the block of the rotation, the old one stays
//!   admitted for [`NODE_KEY_GRACE_MS`] of block time (the operator
//!   restarts the node with the new identity inside that hour, as for a
//!   cooperative's node identity, [`crate::node_keys`]); then it is
//!   refused everywhere. A second rotation waits until that grace period
//!   ends (`node_key_rotation_pending`). A key whose holder may have lost
//!   it is replaced by governance instead: `RemoveObserver` then
//!   `AddObserver` with a new key.
//! - **Keys are never reused.** Every key an observer ever had stays in
//!   [`Observers::used_keys`], so no cooperative, member, teller or other
//!   observer can take it later ([`crate::member_keys::key_in_use`]), and
//!   an observer key can never be any other key.
//!
//! State: one [`StateKey::Observers`] entry holding the bounded registry
//! (at most [`OBSERVERS_MAX`] observers and [`OBSERVER_KEYS_MAX`] keys
//! ever): observers change rarely, and every allow-list reads them all.

use crate::node_keys::{RetiredNodeKey, NODE_KEY_GRACE_MS};
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use kopnet_primitives::PublicKey;
use serde::{Deserialize, Serialize};

/// Most observers registered at once.
pub const OBSERVERS_MAX: usize = 32;
/// Most keys observers may ever have had (registrations plus rotations):
/// bounds the registry, which keeps every key it ever held.
pub const OBSERVER_KEYS_MAX: usize = 1_024;
/// Longest observer name, in bytes.
pub const OBSERVER_NAME_BYTES_MAX: usize = 64;

/// A registered observer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observer {
    /// Who runs it ("OJK Purwokerto"): public, an institution's name.
    pub name: String,
    /// Its node identity now; signs its own ledger transactions.
    pub key: PublicKey,
    /// The key its last rotation replaced, admitted until its grace ends.
    pub retired_key: Option<RetiredNodeKey>,
    /// The last nonce it used.
    pub nonce: u64,
    /// The block that registered it (0: genesis).
    pub added_height: u64,
}

/// Every registered observer, in registration order, and every key an
/// observer ever had (sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observers {
    pub active: Vec<Observer>,
    pub used_keys: Vec<PublicKey>,
}

impl Observers {
    /// The observer whose current key is `key`.
    pub fn by_key(&self, key: &PublicKey) -> Option<&Observer> {
        self.active.iter().find(|o| o.key == *key)
    }

    /// Whether any observer has or had `key`.
    pub fn used(&self, key: &PublicKey) -> bool {
        self.used_keys.binary_search(key).is_ok()
    }

    /// The keys admitted at block time `now_ms`: every observer's current
    /// key and, during its grace period, the one its rotation replaced.
    pub fn admitted(&self, now_ms: u64) -> Vec<PublicKey> {
        self.active
            .iter()
            .flat_map(|o| {
                let retired = o.retired_key.filter(|r| now_ms < r.until_ms).map(|r| r.key);
                std::iter::once(o.key).chain(retired)
            })
            .collect()
    }

    fn remember(&mut self, key: PublicKey) -> Result<(), Rejection> {
        if self.used_keys.len() >= OBSERVER_KEYS_MAX {
            return Err(Rejection::KeyRotationsExhausted {
                max: OBSERVER_KEYS_MAX as u64,
            });
        }
        self.mark_used(key);
        Ok(())
    }

    fn mark_used(&mut self, key: PublicKey) {
        if let Err(at) = self.used_keys.binary_search(&key) {
            self.used_keys.insert(at, key);
        }
    }
}

/// The registry (empty when no observer was ever registered).
pub fn registry<S: StateRead + ?Sized>(state: &S) -> Observers {
    match state.get_ref(&StateKey::Observers) {
        Some(StateValue::Observers(o)) => o.clone(),
        _ => Observers::default(),
    }
}

/// The observer keys admitted at block time `now_ms` ([`Observers::admitted`],
/// without cloning the registry).
pub fn admitted<S: StateRead + ?Sized>(state: &S, now_ms: u64) -> Vec<PublicKey> {
    match state.get_ref(&StateKey::Observers) {
        Some(StateValue::Observers(o)) => o.admitted(now_ms),
        _ => Vec::new(),
    }
}

/// Whether `key` is or was an observer's key (no clone of the registry).
pub fn key_used<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> bool {
    match state.get_ref(&StateKey::Observers) {
        Some(StateValue::Observers(o)) => o.used(key),
        _ => false,
    }
}

/// The observer whose current key is `key`.
pub fn observer<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> Option<Observer> {
    match state.get_ref(&StateKey::Observers) {
        Some(StateValue::Observers(o)) => o.by_key(key).cloned(),
        _ => None,
    }
}

fn put<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, observers: Observers) {
    state.put(StateKey::Observers, StateValue::Observers(observers));
}

/// The format rule of an observer name (stateless): 1 to
/// [`OBSERVER_NAME_BYTES_MAX`] bytes, no control characters, no leading
/// or trailing space.
pub fn check_name_format(name: &str) -> Result<(), Rejection> {
    let malformed = |what: &str| Err(Rejection::Malformed(what.to_string()));
    if name.is_empty() || name.len() > OBSERVER_NAME_BYTES_MAX {
        return malformed("observer name must be 1 to 64 bytes");
    }
    if name.chars().any(char::is_control) {
        return malformed("observer name must not hold control characters");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return malformed("observer name must not start or end with a space");
    }
    Ok(())
}

/// The registry genesis starts with (the caller validated the entries).
pub fn at_genesis(entries: &[crate::genesis::GenesisObserver]) -> Observers {
    let mut observers = Observers::default();
    for entry in entries {
        observers.active.push(Observer {
            name: entry.name.clone(),
            key: entry.key,
            retired_key: None,
            nonce: 0,
            added_height: 0,
        });
        // Genesis holds at most OBSERVERS_MAX keys: far inside the bound.
        observers.mark_used(entry.key);
    }
    observers
}

/// Execute `AddObserver` (governance). In order: `too_many_observers`,
/// `weak_key`, `key_in_use`.
pub fn add<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    name: &str,
    key: &PublicKey,
    height: u64,
) -> Result<(), Rejection> {
    let mut observers = registry(state);
    if observers.active.len() >= OBSERVERS_MAX {
        return Err(Rejection::TooManyObservers {
            max: OBSERVERS_MAX as u64,
        });
    }
    crate::node_keys::check_fresh(state, key)?;
    observers.remember(*key)?;
    observers.active.push(Observer {
        name: name.to_string(),
        key: *key,
        retired_key: None,
        nonce: 0,
        added_height: height,
    });
    put(state, observers);
    Ok(())
}

/// Execute `RemoveObserver` (governance): the observer whose current key
/// is `key` is disconnected at once, its retired key too. Its keys stay
/// used. `unknown_observer` when no observer has that key now.
pub fn remove<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    key: &PublicKey,
) -> Result<(), Rejection> {
    let mut observers = registry(state);
    let before = observers.active.len();
    observers.active.retain(|o| o.key != *key);
    if observers.active.len() == before {
        return Err(Rejection::UnknownObserver(key.to_address()));
    }
    put(state, observers);
    Ok(())
}

/// Execute `RotateObserverKey` signed by the observer's current key
/// `signer`, in a block of time `time_ms`. In order:
/// `node_key_rotation_pending`, `weak_key`, `key_in_use`,
/// `key_rotations_exhausted`.
pub fn rotate<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    signer: &PublicKey,
    new_key: &PublicKey,
    time_ms: u64,
) -> Result<(), Rejection> {
    let mut observers = registry(state);
    let unknown = || Rejection::UnknownObserver(signer.to_address());
    let pending = observers
        .by_key(signer)
        .ok_or_else(unknown)?
        .retired_key
        .filter(|r| time_ms < r.until_ms);
    if let Some(retired) = pending {
        return Err(Rejection::NodeKeyRotationPending {
            until_ms: retired.until_ms,
        });
    }
    crate::node_keys::check_fresh(state, new_key)?;
    observers.remember(*new_key)?;
    let until_ms = time_ms
        .checked_add(NODE_KEY_GRACE_MS)
        .ok_or(Rejection::Overflow)?;
    let observer = observers
        .active
        .iter_mut()
        .find(|o| o.key == *signer)
        .ok_or_else(unknown)?;
    observer.retired_key = Some(RetiredNodeKey {
        key: observer.key,
        until_ms,
    });
    observer.key = *new_key;
    put(state, observers);
    Ok(())
}

/// Record that the observer that signed with `key` used `nonce` (found by
/// the key its rotation, in this very transaction, may have retired).
pub fn bump_nonce<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, key: &PublicKey, nonce: u64) {
    let mut observers = registry(state);
    let signed = |o: &Observer| o.key == *key || o.retired_key.is_some_and(|r| r.key == *key);
    if let Some(o) = observers.active.iter_mut().find(|o| signed(o)) {
        o.nonce = nonce;
        put(state, observers);
    }
}
