//! The phone-number directory's HTTP side ([`crate::personal`] holds the
//! store, the rules and the network side):
//!
//! | route | who may | what |
//! |---|---|---|
//! | `PUT /v1/directory/members/{address}` | home cooperative key or its active teller (signed) | record/replace name, phone, NIK |
//! | `GET /v1/directory/members/{address}` | the same, and the member itself (signed) | the record |
//! | `DELETE /v1/directory/members/{address}/phone` | home cooperative or teller | unlink the phone |
//! | `DELETE /v1/directory/members/{address}` | home cooperative or teller | erase the record |
//! | `POST /v1/directory/lookup` | a member wallet homed at this node's cooperative (signed) | address, masked name, cooperative |
//! | `GET /v1/directory/export?after=&limit=` | this node's own key only (signed) | every record, page by page, for `kopnet node backup` |
//!
//! There is deliberately no route that lists records or numbers to anyone
//! but the node itself (whose home holds the store anyway).

pub(super) mod export;
pub(super) mod lookup;
pub(super) mod members;

use super::queries::committed;
use super::signed_request::Caller;
use super::{ApiError, ApiState};
use crate::personal::home;
use axum::http::StatusCode;
use kopnet_consensus::PublicKey;
use kopnet_ledger::CoopId;

/// The signer of a request that must be signed (the signature itself was
/// checked by the extractor, [`super::signed_request`]).
fn signer(caller: Caller) -> Result<PublicKey, ApiError> {
    match caller {
        Caller::Signed(key) => Ok(key),
        Caller::Anonymous => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signature_required",
            "this endpoint answers only signed requests",
        )),
    }
}

/// This node's own cooperative, or 403 on an observer.
fn own_cooperative(state: &ApiState) -> Result<CoopId, ApiError> {
    home::own_cooperative(&committed(state), &state.node.node_key).ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "not_a_cooperative_node",
            "this node serves no cooperative: it keeps no personal data",
        )
    })
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn store_error(e: crate::personal::StoreError) -> ApiError {
    use crate::personal::StoreError;
    match e {
        StoreError::NotFound => ApiError::not_found("no_record", e.to_string()),
        StoreError::PhoneTaken => ApiError::new(StatusCode::CONFLICT, "phone_taken", e.to_string()),
        StoreError::Full => ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "directory_full",
            e.to_string(),
        ),
        StoreError::Io(_) | StoreError::Corrupt(_) => ApiError::internal(e.to_string()),
    }
}
