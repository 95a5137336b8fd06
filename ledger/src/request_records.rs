//! The records payment requests keep in the state, and the reads wallets
//! list them with: plain data, in a module of its own so that
//! [`crate::state`] stores them without importing the rules that change
//! them ([`crate::payment_requests`]; the modules form no cycle).

use crate::state::{State, StateKey, StateRead, StateValue};
use crate::types::Amount;
use kopnet_primitives::{Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// A request's id, chosen by its requester (unique among the requester's
/// records still kept).
pub type RequestId = [u8; 16];

/// Most requests one page of a listing returns.
pub const REQUESTS_PAGE_MAX: usize = 100;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestStatus {
    /// Open until its expiry (past it, it is expired even before the
    /// block start marks it so).
    Open,
    Paid {
        by: PublicKey,
        tx: Hash,
        time_ms: u64,
    },
    Declined {
        time_ms: u64,
    },
    Cancelled {
        time_ms: u64,
    },
    /// Marked at a block start once its expiry was reached; `time_ms` is
    /// the expiry.
    Expired {
        time_ms: u64,
    },
}

/// A payment request's record, under `(requester, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub amount: Amount,
    pub reference: String,
    /// The addressed payer; `None` for a dynamic QR code.
    pub payer: Option<PublicKey>,
    pub created_height: u64,
    pub created_ms: u64,
    pub expires_at_ms: u64,
    pub status: RequestStatus,
}

impl PaymentRequest {
    /// Whether it can still be paid, declined or cancelled at `time_ms`.
    pub fn is_open_at(&self, time_ms: u64) -> bool {
        self.status == RequestStatus::Open && time_ms < self.expires_at_ms
    }

    /// When it ended (paid, declined, cancelled, expired), if it did by
    /// `time_ms`.
    pub fn ended_ms(&self, time_ms: u64) -> Option<u64> {
        match self.status {
            RequestStatus::Open if time_ms >= self.expires_at_ms => Some(self.expires_at_ms),
            RequestStatus::Open => None,
            RequestStatus::Paid { time_ms, .. }
            | RequestStatus::Declined { time_ms }
            | RequestStatus::Cancelled { time_ms }
            | RequestStatus::Expired { time_ms } => Some(time_ms),
        }
    }
}

/// An account's open requests: made by it, and addressed to it. Kept only
/// while one of them is above zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    pub open_made: u32,
    pub open_to: u32,
}

/// Request `(requester, id)`, if its record is kept.
pub fn request<S: StateRead + ?Sized>(
    state: &S,
    requester: &PublicKey,
    id: &RequestId,
) -> Option<PaymentRequest> {
    match state.get_ref(&StateKey::PaymentRequest(*requester, *id)) {
        Some(StateValue::PaymentRequest(r)) => Some(r.clone()),
        _ => None,
    }
}

/// The open counts of `account`.
pub fn counts<S: StateRead + ?Sized>(state: &S, account: &PublicKey) -> RequestCounts {
    match state.get_ref(&StateKey::RequestCounts(*account)) {
        Some(StateValue::RequestCounts(c)) => *c,
        _ => RequestCounts::default(),
    }
}

/// A request as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRequest {
    pub requester: PublicKey,
    pub id: RequestId,
    pub request: PaymentRequest,
}

/// The open requests addressed to `payer` as of block time `now_ms`: those
/// still open first, soonest expiry first, then those past their expiry
/// that no block start has marked yet; at most `limit` (at most
/// [`REQUESTS_PAGE_MAX`]). The payer's index holds at most
/// [`crate::payment_requests::OPEN_PER_PAYER_MAX`] entries, so this reads
/// a bounded range.
pub fn requests_to(
    state: &State,
    payer: &PublicKey,
    now_ms: u64,
    limit: usize,
) -> Vec<ListedRequest> {
    let first = StateKey::RequestTo(*payer, PublicKey([0; 32]), [0; 16]);
    let last = StateKey::RequestTo(*payer, PublicKey([0xff; 32]), [0xff; 16]);
    let mut out: Vec<ListedRequest> = state
        .range(first..=last)
        .filter_map(|(key, _)| match key {
            StateKey::RequestTo(_, requester, id) => Some(ListedRequest {
                requester: *requester,
                id: *id,
                request: request(state, requester, id)?,
            }),
            _ => None,
        })
        .collect();
    out.sort_by_key(|r| {
        let open = r.request.is_open_at(now_ms);
        (!open, r.request.expires_at_ms, r.requester, r.id)
    });
    out.truncate(limit.min(REQUESTS_PAGE_MAX));
    out
}

/// The kept requests of `requester` (open and ended), in id order: up to
/// `limit` (at most [`REQUESTS_PAGE_MAX`]) with ids after `after` if
/// given (the last id of the previous page).
pub fn requests_by(
    state: &State,
    requester: &PublicKey,
    after: Option<RequestId>,
    limit: usize,
) -> Vec<ListedRequest> {
    use std::ops::Bound;
    let start = match after {
        Some(id) => Bound::Excluded(StateKey::PaymentRequest(*requester, id)),
        None => Bound::Included(StateKey::PaymentRequest(*requester, [0; 16])),
    };
    let end = Bound::Included(StateKey::PaymentRequest(*requester, [0xff; 16]));
    state
        .range((start, end))
        .filter_map(|(key, value)| match (key, value) {
            (StateKey::PaymentRequest(requester, id), StateValue::PaymentRequest(r)) => {
                Some(ListedRequest {
                    requester: *requester,
                    id: *id,
                    request: r.clone(),
                })
            }
            _ => None,
        })
        .take(limit.min(REQUESTS_PAGE_MAX))
        .collect()
}
