//! The lost phone: a member's home cooperative replaces the key of an
//! account whose owner lost it, after a waiting period in which the old
//! key can still object.
//!
//! * `StartRecovery { member, new_key }` is signed by the member's home
//!   cooperative — its cooperative key or one of its tellers, after
//!   checking the member in person. The new key must be strong and used
//!   nowhere; it is reserved at once. At most one recovery per account
//!   (`recovery_pending`) and [`RECOVERIES_PENDING_MAX`] per cooperative
//!   (`too_many_recoveries`: so a stolen teller key cannot queue
//!   recoveries without end). It takes effect at `start + recovery_wait_ms`
//!   of block time (a governed parameter, [`RECOVERY_WAIT_MS_DEFAULT`]
//!   unless the genesis or governance says otherwise, within
//!   [`RECOVERY_WAIT_MS_MIN`]..=[`RECOVERY_WAIT_MS_MAX`]).
//! * During the wait nothing about the account changes: the old key still
//!   signs (payments, cash-out) and may `CancelRecovery` (unless the
//!   account is frozen); the home cooperative may cancel it too (a
//!   mistake, a member who found the phone).
//! * The first block whose time is at or past the effective time installs
//!   the new key before its own transactions run (see
//!   [`crate::ledger`]'s block start), walking the pending recoveries in
//!   order of `(effective time, address)` through
//!   [`StateKey::RecoveryDue`] — a range of the state, never a scan of the
//!   accounts — at most [`RECOVERIES_PER_BLOCK_MAX`] per block (the rest
//!   in the next block). From then on the old key is `key_replaced`.
//!
//! **What observers see**: every recovery is written, when it starts, to
//! a log in the agreed state ([`StateKey::RecoveryLog`], by sequence
//! number) and its entry says later whether it completed or was cancelled
//! and by whom. The log keeps the last [`RECOVERY_LOG_MAX`] recoveries
//! started (a bound on state); older ones remain in the chain's history
//! (the `StartRecovery` and `CancelRecovery` transactions, under the
//! member's account).

use crate::execute::ExecContext;
use crate::member_keys;
use crate::rejection::Rejection;
pub use crate::role_records::{Recovery, RecoveryRecord, RecoveryStats, RecoveryStatus, StartedBy};
use crate::state::{Overlay, State, StateKey, StateRead, StateValue};
use crate::tellers;
use crate::types::{AccountStatus, Cooperative};
use kopnet_primitives::PublicKey;

/// The shortest waiting period governance may set: 5 s (for test networks;
/// a real network keeps a day or more).
pub const RECOVERY_WAIT_MS_MIN: u64 = 5_000;
/// The longest waiting period: 30 days.
pub const RECOVERY_WAIT_MS_MAX: u64 = 30 * 24 * 60 * 60 * 1000;
/// The default waiting period: 24 hours of block time.
pub const RECOVERY_WAIT_MS_DEFAULT: u64 = 24 * 60 * 60 * 1000;
/// Most pending recoveries of one cooperative's members.
pub const RECOVERIES_PENDING_MAX: u32 = 64;
/// Most recoveries one block's start completes.
pub const RECOVERIES_PER_BLOCK_MAX: usize = 64;
/// How many recoveries the log keeps (the most recently started).
pub const RECOVERY_LOG_MAX: u64 = 1024;

/// A waiting period within its bounds.
pub fn check_wait(wait_ms: u64) -> Result<(), Rejection> {
    if (RECOVERY_WAIT_MS_MIN..=RECOVERY_WAIT_MS_MAX).contains(&wait_ms) {
        Ok(())
    } else {
        Err(Rejection::RecoveryWaitOutOfRange(format!(
            "must be {RECOVERY_WAIT_MS_MIN} to {RECOVERY_WAIT_MS_MAX} ms, got {wait_ms}"
        )))
    }
}

/// The pending recovery of the account at `address`.
pub fn pending<S: StateRead + ?Sized>(state: &S, address: &PublicKey) -> Option<Recovery> {
    match state.get_ref(&StateKey::Recovery(*address)) {
        Some(StateValue::Recovery(r)) => Some(r.clone()),
        _ => None,
    }
}

/// The account a pending recovery will give `key` to.
pub fn reserved<S: StateRead + ?Sized>(state: &S, key: &PublicKey) -> Option<PublicKey> {
    match state.get_ref(&StateKey::RecoveryKey(*key)) {
        Some(StateValue::RecoveryKey(address)) => Some(*address),
        _ => None,
    }
}

pub fn stats<S: StateRead + ?Sized>(state: &S) -> RecoveryStats {
    match state.get_ref(&StateKey::RecoveryStats) {
        Some(StateValue::RecoveryStats(s)) => *s,
        _ => RecoveryStats::default(),
    }
}

/// Entry `seq` of the log, if it is still kept.
pub fn log_entry<S: StateRead + ?Sized>(state: &S, seq: u64) -> Option<RecoveryRecord> {
    match state.get_ref(&StateKey::RecoveryLog(seq)) {
        Some(StateValue::RecoveryLog(r)) => Some(r.clone()),
        _ => None,
    }
}

/// `StartRecovery`, signed by the member's home cooperative (its key or a
/// teller, `by`).
pub fn start<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    by: StartedBy,
    member: &PublicKey,
    new_key: &PublicKey,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let account = state
        .member(member)
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    if account.home != by.coop {
        return Err(Rejection::NotAuthorized(
            "only the member's home cooperative can start a recovery".into(),
        ));
    }
    if pending(state, member).is_some() {
        return Err(Rejection::RecoveryPending(member.to_address()));
    }
    member_keys::check_new_key(state, new_key)?;
    let mut roles = tellers::roles(state, &by.coop);
    if roles.recoveries_pending >= RECOVERIES_PENDING_MAX {
        return Err(Rejection::TooManyRecoveries {
            max: u64::from(RECOVERIES_PENDING_MAX),
        });
    }
    roles.recoveries_pending = roles.recoveries_pending.saturating_add(1);
    let wait = state
        .params_ref()
        .ok_or(Rejection::Overflow)?
        .recovery_wait_ms;
    let effective_ms = ctx.time_ms.checked_add(wait).ok_or(Rejection::Overflow)?;
    let mut stats = stats(state);
    let seq = stats.next_log;
    stats.next_log = seq.checked_add(1).ok_or(Rejection::Overflow)?;
    let coop = by.coop.clone();
    let recovery = Recovery {
        member: *member,
        new_key: *new_key,
        started_by: by,
        started_height: ctx.height,
        started_ms: ctx.time_ms,
        effective_ms,
        log: seq,
    };
    tellers::put_roles(state, &coop, roles);
    state.put(StateKey::RecoveryStats, StateValue::RecoveryStats(stats));
    if let Some(old) = seq.checked_sub(RECOVERY_LOG_MAX) {
        state.delete(StateKey::RecoveryLog(old));
    }
    let record = RecoveryRecord {
        recovery: recovery.clone(),
        status: RecoveryStatus::Pending,
    };
    state.put(StateKey::RecoveryLog(seq), StateValue::RecoveryLog(record));
    state.put(
        StateKey::RecoveryKey(*new_key),
        StateValue::RecoveryKey(*member),
    );
    state.put(
        StateKey::RecoveryDue(effective_ms, *member),
        StateValue::RecoveryDue,
    );
    state.put(StateKey::Recovery(*member), StateValue::Recovery(recovery));
    Ok(())
}

/// `CancelRecovery` signed by a member's current key: only its own.
pub fn cancel_by_member<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    address: &PublicKey,
    key: PublicKey,
    member: &PublicKey,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    if member != address {
        return Err(Rejection::NotAuthorized(
            "a member can cancel only its own account's recovery".into(),
        ));
    }
    let account = state
        .member(address)
        .ok_or_else(|| Rejection::UnknownAccount(address.to_address()))?;
    if account.status == AccountStatus::Frozen {
        return Err(Rejection::AccountFrozen(address.to_address()));
    }
    cancel(state, member, key, ctx)
}

/// `CancelRecovery` signed by a cooperative (key `key`: its own or a
/// teller's): only for its own members.
pub fn cancel_by_coop<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    coop: &Cooperative,
    key: PublicKey,
    member: &PublicKey,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let account = state
        .member(member)
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    if account.home != coop.id {
        return Err(Rejection::NotAuthorized(
            "only the member's home cooperative can cancel its recovery".into(),
        ));
    }
    cancel(state, member, key, ctx)
}

fn cancel<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    member: &PublicKey,
    by: PublicKey,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let recovery =
        pending(state, member).ok_or_else(|| Rejection::NoRecoveryPending(member.to_address()))?;
    let status = RecoveryStatus::Cancelled {
        height: ctx.height,
        time_ms: ctx.time_ms,
        by,
    };
    finish(state, &recovery, status);
    Ok(())
}

/// Remove a pending recovery and record how it ended.
fn finish<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    recovery: &Recovery,
    status: RecoveryStatus,
) {
    let coop = &recovery.started_by.coop;
    let mut roles = tellers::roles(state, coop);
    roles.recoveries_pending = roles.recoveries_pending.saturating_sub(1);
    tellers::put_roles(state, coop, roles);
    state.delete(StateKey::Recovery(recovery.member));
    state.delete(StateKey::RecoveryDue(
        recovery.effective_ms,
        recovery.member,
    ));
    state.delete(StateKey::RecoveryKey(recovery.new_key));
    if let Some(mut record) = log_entry(state, recovery.log) {
        record.status = status;
        state.put(
            StateKey::RecoveryLog(recovery.log),
            StateValue::RecoveryLog(record),
        );
    }
}

/// At the start of block `height` (time `time_ms`): install the new key
/// of every recovery due by then, oldest first, at most
/// [`RECOVERIES_PER_BLOCK_MAX`]. `committed` is the state before the
/// block (recoveries started in this block are never due in it: the wait
/// is at least [`RECOVERY_WAIT_MS_MIN`]). Returns how many completed.
pub fn complete_due<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    committed: &State,
    height: u64,
    time_ms: u64,
) -> usize {
    let first = StateKey::RecoveryDue(0, PublicKey([0; 32]));
    let last = StateKey::RecoveryDue(time_ms, PublicKey([0xff; 32]));
    let due: Vec<(u64, PublicKey)> = committed
        .range(first..=last)
        .filter_map(|(key, _)| match key {
            StateKey::RecoveryDue(at, member) => Some((*at, *member)),
            _ => None,
        })
        .take(RECOVERIES_PER_BLOCK_MAX)
        .collect();
    let mut completed = 0;
    for (at, member) in due {
        let found = pending(state, &member).filter(|r| r.effective_ms == at);
        let (Some(recovery), Some(account)) = (found, state.member(&member)) else {
            // An index entry with no recovery behind it (never written so):
            // dropped, so it cannot hold up the ones after it.
            state.delete(StateKey::RecoveryDue(at, member));
            continue;
        };
        finish(
            state,
            &recovery,
            RecoveryStatus::Completed { height, time_ms },
        );
        member_keys::install(state, &member, account, &recovery.new_key);
        completed += 1;
    }
    completed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_period_has_bounds() {
        assert!(check_wait(RECOVERY_WAIT_MS_DEFAULT).is_ok());
        assert!(check_wait(RECOVERY_WAIT_MS_MIN).is_ok());
        assert!(check_wait(RECOVERY_WAIT_MS_MAX).is_ok());
        for bad in [0, RECOVERY_WAIT_MS_MIN - 1, RECOVERY_WAIT_MS_MAX + 1] {
            assert_eq!(
                check_wait(bad).unwrap_err().code(),
                "recovery_wait_out_of_range"
            );
        }
    }
}
