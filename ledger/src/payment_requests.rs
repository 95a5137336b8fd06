//! Request to pay: a merchant, an angkot driver or a member asks for a
//! payment (an amount, a reference, an expiry), addressed to one member or
//! shown as a dynamic QR code; the payer approves or declines it with one
//! tap, and no request is ever paid twice.
//!
//! **Actions** (all signed by member or merchant accounts):
//!
//! * `RequestPayment { id, payer, amount, reference, expires_at_ms }`: the
//!   signer (the *requester*, by its address) opens request `id`, a
//!   [`RequestId`] it chooses; a request is named by `(requester, id)`.
//!   `payer: Some(p)` addresses it to account `p` (its wallet lists it);
//!   `payer: None` is a dynamic QR code that any member account but the
//!   requester may pay, once. Format (`malformed`): an amount of at least
//!   Rp 1, a reference of at most [`REFERENCE_BYTES_MAX`] bytes (a memo's
//!   length). Then, in this order: `account_frozen` (the requester),
//!   `unknown_account` / `self_payment` (the addressed payer),
//!   `request_expiry_out_of_range` (the expiry must be after the block
//!   time and at most [`REQUEST_LIFETIME_MAX_MS`] after it),
//!   `request_exists` (the id names a record still kept, open or ended),
//!   `too_many_requests` (the requester has [`OPEN_PER_REQUESTER_MAX`]
//!   open requests), `too_many_requests_to_payer` (the payer has
//!   [`OPEN_PER_PAYER_MAX`] open requests addressed to it: nobody can
//!   flood a member's wallet; the member frees a slot by declining).
//! * `PayRequest { requester, id, amount }`, signed by the payer:
//!   `unknown_request`; `not_authorized` (addressed to someone else);
//!   `request_already_paid`, `request_closed` (declined or cancelled),
//!   `request_expired` (the block time is at or past its expiry);
//!   `request_amount_mismatch` (`amount` must equal the request's: the
//!   payer's explicit consent to the figure shown). Then it is an ordinary
//!   payment from the signer to the requester, run by the very function
//!   that runs `Payment` ([`crate::execute`]), with the same fees, tier
//!   caps, balance and net debit cap rules and codes (`self_payment` for a
//!   requester paying its own QR code). Its memo is the reference
//!   (truncated to [`MEMO_BYTES_MAX`] bytes at a character boundary: today
//!   the two limits are equal) and its idempotency id is
//!   [`idempotency_id`]`(requester, id)`: the first 16 bytes of a
//!   domain-separated blake3 hash of the pair. The request is then `Paid`
//!   (by whom, the transaction, the block time).
//! * `DeclineRequest { requester, id }`, signed by the addressed payer
//!   (`not_authorized` for anyone else and for a dynamic QR code), and
//!   `CancelRequest { id }`, signed by the requester: `unknown_request`,
//!   then the request must be open (`request_already_paid`,
//!   `request_closed`, `request_expired`).
//!
//! **Paid twice is impossible while the record exists**: a paid request
//! stays `Paid` and every later `PayRequest` is `request_already_paid`.
//! A record is removed [`ENDED_KEPT_MS`] (24 hours) of block time after it
//! ended (paid, declined, cancelled, or expired: its expiry), so the
//! requester sees the outcome. From then on `(requester, id)` is free, and
//! a new request with the same id is a new request that can be paid. The
//! derived idempotency id still protects a payer within the idempotency
//! window ([`crate::idempotency`]: a record lives at least 24 and less
//! than 48 hours): the same payer paying a request of the same
//! `(requester, id)` again inside it is refused `duplicate` (or
//! `exists_with_different_*`). Requesters should choose fresh random ids;
//! reusing one is legitimate only after the old record is gone, and a
//! payer who paid the old one may have to wait out its idempotency record.
//!
//! **State** (bounded): the record, [`StateKey::PaymentRequest`]`(requester,
//! id)`; while it is open and addressed, [`StateKey::RequestTo`]`(payer,
//! requester, id)` so the payer's wallet lists it (at most
//! [`OPEN_PER_PAYER_MAX`] per payer); the open counts of an account,
//! [`StateKey::RequestCounts`] (removed at zero); and the due index
//! [`StateKey::RequestDue`]`(time, requester, id)`: an open request is due
//! at its expiry, an ended one at its removal time. At most
//! [`OPEN_PER_REQUESTER_MAX`] requests of one requester are open; the
//! ended ones are gone 24 hours after they ended, so the records grow with
//! the requests of the last day (one transaction each), never without end.
//!
//! **At the start of a block** (after recoveries, see
//! [`crate::ledger`]'s block start), the due index is walked in order of
//! `(time, requester, id)` up to the block time — a range of the state,
//! never a scan of the records — at most [`DUE_PER_BLOCK_MAX`] entries per
//! block (the rest in the next): an open request due is `Expired` (its
//! payer's index entry and the open counts go, its removal is due 24 hours
//! after its expiry); an ended one is removed. A request past its expiry
//! whose entry was not yet walked is refused `request_expired` all the
//! same (execution compares the block time with the expiry), but still
//! counts as open until the walk reaches it.

use crate::execute::{self, ExecContext, IdempotentTransfer as PaymentOrder};
use crate::rejection::Rejection;
pub use crate::request_records::{
    counts, request, requests_by, requests_to, ListedRequest, PaymentRequest, RequestCounts,
    RequestId, RequestStatus, REQUESTS_PAGE_MAX,
};
use crate::state::{Overlay, State, StateKey, StateRead, StateValue};
use crate::tx::{Action, IdempotencyId, MEMO_BYTES_MAX};
use crate::types::{AccountStatus, Amount, MemberAccount};
use kopnet_primitives::{Hash, PublicKey};

/// Longest reference, in bytes (a payment memo's length).
pub const REFERENCE_BYTES_MAX: usize = MEMO_BYTES_MAX;
/// Latest expiry: 7 days of block time after the block that opens it.
pub const REQUEST_LIFETIME_MAX_MS: u64 = 7 * 24 * 60 * 60 * 1000;
/// How long an ended request's record is kept: 24 hours of block time.
pub const ENDED_KEPT_MS: u64 = 24 * 60 * 60 * 1000;
/// Most open requests one requester may have.
pub const OPEN_PER_REQUESTER_MAX: u32 = 64;
/// Most open requests addressed to one payer.
pub const OPEN_PER_PAYER_MAX: u32 = 64;
/// Most due-index entries one block's start handles (expiries and
/// removals). A request needs at most two (its expiry, then its removal)
/// and a block opens at most [`crate::block::BLOCK_TXS_MAX`] of them, so a
/// block start handling twice that always keeps up with the requests
/// opened, even at full load; after a stall (blocks hours apart) a
/// backlog is worked off over the next blocks, oldest first.
pub const DUE_PER_BLOCK_MAX: usize = 2 * crate::block::BLOCK_TXS_MAX;

const IDEMPOTENCY_CONTEXT: &str = "kopnet 2026 payment request idempotency v1";

/// The idempotency id of the payment that pays request `(requester, id)`:
/// the first 16 bytes of `blake3` under the context
/// `"kopnet 2026 payment request idempotency v1"` of the length-prefixed
/// requester address and id. Deterministic, so a wallet can compute it
/// (and the payer's idempotency record then names the payment).
pub fn idempotency_id(requester: &PublicKey, id: &RequestId) -> IdempotencyId {
    let hash = Hash::digest_parts(IDEMPOTENCY_CONTEXT, &[&requester.0, &id[..]]);
    let mut out = [0u8; 16];
    for (slot, byte) in out.iter_mut().zip(hash.0.iter()) {
        *slot = *byte;
    }
    out
}

/// Format rules of `RequestPayment` that need no state.
pub fn check_format(amount: Amount, reference: &str) -> Result<(), Rejection> {
    if amount == 0 {
        return Err(Rejection::Malformed(
            "a payment request is for at least Rp 1".to_string(),
        ));
    }
    if reference.len() > REFERENCE_BYTES_MAX {
        return Err(Rejection::Malformed(
            "request reference longer than 64 bytes".to_string(),
        ));
    }
    Ok(())
}

fn put_counts<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    account: &PublicKey,
    counts: RequestCounts,
) {
    let key = StateKey::RequestCounts(*account);
    if counts == RequestCounts::default() {
        state.delete(key);
    } else {
        state.put(key, StateValue::RequestCounts(counts));
    }
}

/// Carry out a request action signed by the member account at `address`
/// (the dispatcher in [`crate::execute`] sends only these four here).
pub fn execute<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    address: &PublicKey,
    account: &MemberAccount,
    action: &Action,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    match action {
        Action::RequestPayment {
            id,
            payer,
            amount,
            reference,
            expires_at_ms,
        } => {
            if account.status == AccountStatus::Frozen {
                return Err(Rejection::AccountFrozen(address.to_address()));
            }
            let record = PaymentRequest {
                amount: *amount,
                reference: reference.clone(),
                payer: *payer,
                created_height: ctx.height,
                created_ms: ctx.time_ms,
                expires_at_ms: *expires_at_ms,
                status: RequestStatus::Open,
            };
            open(state, address, id, record)
        }
        Action::PayRequest {
            requester,
            id,
            amount,
        } => pay(state, address, requester, id, *amount, ctx),
        Action::DeclineRequest { requester, id } => decline(state, address, requester, id, ctx),
        Action::CancelRequest { id } => cancel(state, address, id, ctx),
        _ => Err(Rejection::InvalidAction(
            "not a payment request action".into(),
        )),
    }
}

/// `RequestPayment`: open `record` as `(requester, id)`.
fn open<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    requester: &PublicKey,
    id: &RequestId,
    record: PaymentRequest,
) -> Result<(), Rejection> {
    check_format(record.amount, &record.reference)?;
    if let Some(payer) = &record.payer {
        if state.member_ref(payer).is_none() {
            return Err(Rejection::UnknownAccount(payer.to_address()));
        }
        if payer == requester {
            return Err(Rejection::SelfPayment);
        }
    }
    let now = record.created_ms;
    let latest = now
        .checked_add(REQUEST_LIFETIME_MAX_MS)
        .ok_or(Rejection::Overflow)?;
    if record.expires_at_ms <= now || record.expires_at_ms > latest {
        return Err(Rejection::RequestExpiryOutOfRange(format!(
            "must be after the block time {now} and at most {latest} ms, got {}",
            record.expires_at_ms
        )));
    }
    if request(state, requester, id).is_some() {
        return Err(Rejection::RequestExists(hex(id)));
    }
    let mut made = counts(state, requester);
    if made.open_made >= OPEN_PER_REQUESTER_MAX {
        return Err(Rejection::TooManyRequests {
            max: u64::from(OPEN_PER_REQUESTER_MAX),
        });
    }
    made.open_made = made.open_made.saturating_add(1);
    if let Some(payer) = &record.payer {
        let mut to = counts(state, payer);
        if to.open_to >= OPEN_PER_PAYER_MAX {
            return Err(Rejection::TooManyRequestsToPayer {
                max: u64::from(OPEN_PER_PAYER_MAX),
            });
        }
        to.open_to = to.open_to.saturating_add(1);
        put_counts(state, payer, to);
        state.put(
            StateKey::RequestTo(*payer, *requester, *id),
            StateValue::RequestTo,
        );
    }
    put_counts(state, requester, made);
    state.put(
        StateKey::RequestDue(record.expires_at_ms, *requester, *id),
        StateValue::RequestDue,
    );
    state.put(
        StateKey::PaymentRequest(*requester, *id),
        StateValue::PaymentRequest(record),
    );
    Ok(())
}

/// `PayRequest`, signed by `payer`.
fn pay<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    payer: &PublicKey,
    requester: &PublicKey,
    id: &RequestId,
    amount: Amount,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let record = request(state, requester, id).ok_or_else(|| Rejection::UnknownRequest(hex(id)))?;
    if record.payer.is_some_and(|p| &p != payer) {
        return Err(Rejection::NotAuthorized(
            "this request is addressed to another account".into(),
        ));
    }
    check_open(&record, ctx.time_ms)?;
    if amount != record.amount {
        return Err(Rejection::RequestAmountMismatch {
            requested: record.amount,
            offered: amount,
        });
    }
    let idempotency_id = idempotency_id(requester, id);
    let payment = PaymentOrder {
        payer: *payer,
        to: *requester,
        amount,
        memo: memo_of(&record.reference),
        idempotency_id: &idempotency_id,
    };
    execute::pay(state, payment, ctx)?;
    let status = RequestStatus::Paid {
        by: *payer,
        tx: ctx.tx_hash,
        time_ms: ctx.time_ms,
    };
    end(state, requester, id, record, status, ctx.time_ms);
    Ok(())
}

/// `DeclineRequest`, signed by `payer`: only the addressed payer.
fn decline<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    payer: &PublicKey,
    requester: &PublicKey,
    id: &RequestId,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let record = request(state, requester, id).ok_or_else(|| Rejection::UnknownRequest(hex(id)))?;
    if record.payer.as_ref() != Some(payer) {
        return Err(Rejection::NotAuthorized(
            "only the account a request is addressed to can decline it".into(),
        ));
    }
    check_open(&record, ctx.time_ms)?;
    let status = RequestStatus::Declined {
        time_ms: ctx.time_ms,
    };
    end(state, requester, id, record, status, ctx.time_ms);
    Ok(())
}

/// `CancelRequest`, signed by the requester.
fn cancel<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    requester: &PublicKey,
    id: &RequestId,
    ctx: ExecContext,
) -> Result<(), Rejection> {
    let record = request(state, requester, id).ok_or_else(|| Rejection::UnknownRequest(hex(id)))?;
    check_open(&record, ctx.time_ms)?;
    let status = RequestStatus::Cancelled {
        time_ms: ctx.time_ms,
    };
    end(state, requester, id, record, status, ctx.time_ms);
    Ok(())
}

/// End the open request `(requester, id)` at `time_ms` with `status`: it
/// leaves its payer's list and the open counts, and its removal is due
/// [`ENDED_KEPT_MS`] later.
fn end<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    requester: &PublicKey,
    id: &RequestId,
    mut record: PaymentRequest,
    status: RequestStatus,
    time_ms: u64,
) {
    let mut made = counts(state, requester);
    made.open_made = made.open_made.saturating_sub(1);
    put_counts(state, requester, made);
    if let Some(payer) = &record.payer {
        let mut to = counts(state, payer);
        to.open_to = to.open_to.saturating_sub(1);
        put_counts(state, payer, to);
        state.delete(StateKey::RequestTo(*payer, *requester, *id));
    }
    // Block times are far below `u64::MAX`; saturating keeps this total.
    let remove_at = time_ms.saturating_add(ENDED_KEPT_MS);
    state.delete(StateKey::RequestDue(record.expires_at_ms, *requester, *id));
    state.put(
        StateKey::RequestDue(remove_at, *requester, *id),
        StateValue::RequestDue,
    );
    record.status = status;
    state.put(
        StateKey::PaymentRequest(*requester, *id),
        StateValue::PaymentRequest(record),
    );
}

/// At the start of a block at `time_ms`: expire the open requests due by
/// then and remove the ended ones due by then, in order of `(time,
/// requester, id)`, at most [`DUE_PER_BLOCK_MAX`]. `committed` is the state
/// before the block (its own transactions have not run yet). Returns how
/// many entries were handled.
pub fn process_due<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    committed: &State,
    time_ms: u64,
) -> usize {
    let first = StateKey::RequestDue(0, PublicKey([0; 32]), [0; 16]);
    let last = StateKey::RequestDue(time_ms, PublicKey([0xff; 32]), [0xff; 16]);
    let due: Vec<(u64, PublicKey, RequestId)> = committed
        .range(first..=last)
        .filter_map(|(key, _)| match key {
            StateKey::RequestDue(at, requester, id) => Some((*at, *requester, *id)),
            _ => None,
        })
        .take(DUE_PER_BLOCK_MAX)
        .collect();
    let handled = due.len();
    for (at, requester, id) in due {
        state.delete(StateKey::RequestDue(at, requester, id));
        let Some(record) = request(state, &requester, &id) else {
            // An entry with no record behind it (never written so): dropped.
            continue;
        };
        if record.status == RequestStatus::Open && at == record.expires_at_ms {
            let expired = RequestStatus::Expired { time_ms: at };
            end(state, &requester, &id, record, expired, at);
        } else {
            state.delete(StateKey::PaymentRequest(requester, id));
        }
    }
    handled
}

/// Why `record` cannot be acted on at `time_ms`, if it cannot.
fn check_open(record: &PaymentRequest, time_ms: u64) -> Result<(), Rejection> {
    match &record.status {
        RequestStatus::Paid { tx, .. } => Err(Rejection::RequestAlreadyPaid { tx: *tx }),
        RequestStatus::Declined { .. } => Err(Rejection::RequestClosed("declined".into())),
        RequestStatus::Cancelled { .. } => Err(Rejection::RequestClosed("cancelled".into())),
        RequestStatus::Expired { time_ms } => Err(Rejection::RequestExpired {
            expired_at_ms: *time_ms,
        }),
        RequestStatus::Open if time_ms >= record.expires_at_ms => Err(Rejection::RequestExpired {
            expired_at_ms: record.expires_at_ms,
        }),
        RequestStatus::Open => Ok(()),
    }
}

/// The memo of the payment that pays a request: its reference, cut to
/// [`MEMO_BYTES_MAX`] bytes at a character boundary.
fn memo_of(reference: &str) -> &str {
    let mut end = reference.len().min(MEMO_BYTES_MAX);
    while !reference.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    reference.get(..end).unwrap_or_default()
}

fn hex(id: &RequestId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idempotency_id_depends_on_requester_and_id() {
        let a = PublicKey([1; 32]);
        let b = PublicKey([2; 32]);
        let id = [7; 16];
        assert_eq!(idempotency_id(&a, &id), idempotency_id(&a, &id));
        assert_ne!(idempotency_id(&a, &id), idempotency_id(&b, &id));
        assert_ne!(idempotency_id(&a, &id), idempotency_id(&a, &[8; 16]));
        let full = Hash::digest_parts(IDEMPOTENCY_CONTEXT, &[&a.0, &id[..]]);
        assert_eq!(idempotency_id(&a, &id)[..], full.0[..16]);
    }

    #[test]
    fn requests_have_a_format() {
        assert!(check_format(1, "").is_ok());
        assert!(check_format(1, &"x".repeat(64)).is_ok());
        assert_eq!(check_format(0, "").unwrap_err().code(), "malformed");
        assert_eq!(
            check_format(1, &"x".repeat(65)).unwrap_err().code(),
            "malformed"
        );
    }

    #[test]
    fn the_memo_is_cut_at_a_character_boundary() {
        assert_eq!(memo_of("angkot 12"), "angkot 12");
        let long = format!("{}é", "x".repeat(63));
        assert_eq!(long.len(), 65);
        assert_eq!(memo_of(&long), "x".repeat(63));
    }
}
