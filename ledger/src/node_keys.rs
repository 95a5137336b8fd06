//! A key for each job, and rotating a node's keys without downtime.
//!
//! Every cooperative has three keys, each with one job:
//!
//! * the **cooperative key** ([`Cooperative::key`]): signs the
//!   cooperative's ledger transactions (governance, registration, minting
//!   policy, settlement acknowledgements, and the rotation below). The
//!   board keeps it offline; no node needs it;
//! * the **validator key** ([`Cooperative::validator_key`]): signs the
//!   cooperative's consensus proposals and votes; it lives on the node and
//!   is what the validator set lists;
//! * the **node identity** ([`Cooperative::node_key`]): the node's libp2p
//!   key, which the other nodes' allow lists admit.
//!
//! No key is ever used twice: not by two jobs, not by two cooperatives,
//! not by a cooperative and a member account, and a key a rotation retired
//! is never accepted again (its entry in the key index,
//! [`StateKey::NodeKey`], stays). Genesis and `AddCooperative` bind all
//! three; [`rotate`] replaces the validator key, the node identity or both.
//!
//! **When a rotation takes effect.** `RotateNodeKeys`, signed by the
//! cooperative key, executes in block `h`. The validator set of a height
//! `h + 2` is the one derived from the state after block `h` (validator
//! set changes apply at `h + 2`, like voting-power changes), so the new
//! validator key signs from `h + 2` and a message signed by the old one
//! for `h + 2` or later is refused. Blocks `h + 1` is still signed by the
//! old key: the node holds both (its next key is loaded before the
//! rotation is sent) and signs with whichever the height's set contains,
//! so no height goes unsigned.
//!
//! **The node identity** cannot change under a running libp2p swarm. The
//! new identity is admitted from block `h` on, and the old one stays
//! admitted for [`NODE_KEY_GRACE_MS`] of *block time* after block `h`'s
//! time ([`Cooperative::retired_node_key`]): the operator restarts the
//! node with its new identity inside that hour, while the old connections
//! keep the node in the network, so there is no downtime. After the grace
//! period the old identity is refused by every allow list. A second node
//! identity rotation is refused while a grace period runs
//! (`node_key_rotation_pending`), so the window never shortens.

use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::types::{CoopId, Cooperative};
use kopnet_primitives::PublicKey;
use serde::{Deserialize, Serialize};

/// How long (block time) a node identity replaced by a rotation stays
/// admitted: one hour, time to restart the node with its new identity.
pub const NODE_KEY_GRACE_MS: u64 = 60 * 60 * 1_000;

/// Most rotations one cooperative may carry out. Every retired key stays
/// in the key index, so this bounds that index (two keys per rotation);
/// a cooperative that needs more is re-admitted by governance.
pub const KEY_ROTATIONS_MAX: u32 = 1_024;

/// The job of a key in the key index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyJob {
    /// Signs consensus messages.
    Validator,
    /// A node's libp2p identity.
    Node,
}

/// An entry of the key index: whose key it is (or was) and for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeKeyUse {
    pub coop: CoopId,
    pub job: KeyJob,
}

/// A node identity replaced by a rotation, admitted until `until_ms`
/// (block time, ms since the Unix epoch; exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredNodeKey {
    pub key: PublicKey,
    pub until_ms: u64,
}

/// A key that may take on a new job: a strong ed25519 key nobody uses
/// or used (`weak_key`, `key_in_use`).
pub fn check_fresh<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> Result<(), Rejection> {
    key.validate().map_err(|_| Rejection::WeakKey)?;
    if crate::member_keys::key_in_use(state, key) {
        return Err(Rejection::KeyInUse(key.to_address()));
    }
    Ok(())
}

/// Record in the key index that `key` does `job` for `coop`.
pub fn bind<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &CoopId,
    job: KeyJob,
    key: PublicKey,
) {
    state.put(
        StateKey::NodeKey(key),
        StateValue::NodeKey(NodeKeyUse {
            coop: coop.clone(),
            job,
        }),
    );
}

/// The node identities of `coop` admitted at block time `now_ms`: its
/// current one and, during the grace period, the one it replaced.
pub fn admitted_node_keys(coop: &Cooperative, now_ms: u64) -> impl Iterator<Item = PublicKey> {
    let retired = coop
        .retired_node_key
        .filter(|r| now_ms < r.until_ms)
        .map(|r| r.key);
    coop.node_key.into_iter().chain(retired)
}

/// What `RotateNodeKeys` asks for.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub validator_key: Option<PublicKey>,
    pub node_key: Option<PublicKey>,
}

/// Carry out `RotateNodeKeys` for `coop` (the signer, by its cooperative
/// key) in a block of time `time_ms`. Checked in this order, and nothing
/// changes when one fails: `no_key_to_rotate` (neither key given),
/// `key_rotations_exhausted`, `node_key_rotation_pending` (a node identity
/// replaced less than [`NODE_KEY_GRACE_MS`] ago), then each new key:
/// `weak_key`, `key_in_use` (also when both new keys are the same).
pub fn rotate<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    rotation: Rotation,
    time_ms: u64,
) -> Result<(), Rejection> {
    if rotation.validator_key.is_none() && rotation.node_key.is_none() {
        return Err(Rejection::NoKeyToRotate);
    }
    if coop.key_rotations >= KEY_ROTATIONS_MAX {
        return Err(Rejection::KeyRotationsExhausted {
            max: u64::from(KEY_ROTATIONS_MAX),
        });
    }
    if rotation.node_key.is_some() {
        if let Some(retired) = coop.retired_node_key.filter(|r| time_ms < r.until_ms) {
            return Err(Rejection::NodeKeyRotationPending {
                until_ms: retired.until_ms,
            });
        }
    }
    if rotation.validator_key.is_some() && rotation.validator_key == rotation.node_key {
        let key = rotation
            .node_key
            .map(|k| k.to_address())
            .unwrap_or_default();
        return Err(Rejection::KeyInUse(key));
    }
    // The stored record, not the signer's snapshot: nothing else written
    // in this transaction is lost.
    let mut updated = state
        .cooperative(&coop.id)
        .ok_or_else(|| Rejection::UnknownCooperative(coop.id.to_string()))?;
    if let Some(key) = rotation.validator_key {
        check_fresh(state, &key)?;
        bind(state, &coop.id, KeyJob::Validator, key);
        updated.validator_key = Some(key);
    }
    if let Some(key) = rotation.node_key {
        check_fresh(state, &key)?;
        bind(state, &coop.id, KeyJob::Node, key);
        let until_ms = time_ms
            .checked_add(NODE_KEY_GRACE_MS)
            .ok_or(Rejection::Overflow)?;
        updated.retired_node_key = updated
            .node_key
            .map(|old| RetiredNodeKey { key: old, until_ms });
        updated.node_key = Some(key);
    }
    updated.key_rotations = updated.key_rotations.saturating_add(1);
    state.put_cooperative(updated);
    Ok(())
}
