//! Page sizes and cursors of the list endpoints. Every list the API serves
//! is paged: `limit` is clamped to the endpoint's cap (a larger one is not
//! an error, the answer says the limit it applied) and a cursor from the
//! previous page continues it. What a request costs is therefore bounded
//! by the cap, whatever the chain's length.
//!
//! | endpoint | default | cap | cursor |
//! |---|---|---|---|
//! | `GET /v1/blocks` | 10 | [`BLOCKS_PAGE_MAX`] blocks, and at most [`BLOCKS_PAGE_TXS_MAX`] transactions (a page ends after the block that reaches it) | `from=H` (oldest first) or `before=H` (newest first) |
//! | `GET /v1/accounts/{a}/history` | 20 | [`HISTORY_PAGE_MAX`] | `before=HEIGHT:INDEX` |
//! | `GET /v1/settlement/windows` | 20 | [`WINDOWS_PAGE_MAX`] | `before=N` |
//! | `GET /v1/evidence` | 50 | [`EVIDENCE_PAGE_MAX`] | `before=HEIGHT:INDEX` |
//! | `GET /v1/proposals` | 20 | [`PROPOSALS_PAGE_MAX`] | `before=ID` |
//! | `GET /v1/cooperatives` | all | [`COOPERATIVES_PAGE_MAX`] | `after=ID` |

use super::super::{ApiError, ApiResult};
use kopnet_ledger::ledger::ChainPosition;

/// Most blocks one page of `GET /v1/blocks` holds.
pub const BLOCKS_PAGE_MAX: usize = 20;
/// Blocks a page holds when `limit` is not given.
pub const BLOCKS_PAGE_DEFAULT: usize = 10;
/// A page of blocks ends after the block that brings its transactions to
/// this many (a page always holds at least one block; one block is bounded
/// by the block size limits).
pub const BLOCKS_PAGE_TXS_MAX: usize = 2_000;
/// Most entries one page of an account's history holds.
pub const HISTORY_PAGE_MAX: usize = 100;
pub const HISTORY_PAGE_DEFAULT: usize = 20;
/// Most closed settlement windows one page holds.
pub const WINDOWS_PAGE_MAX: usize = 50;
pub const WINDOWS_PAGE_DEFAULT: usize = 20;
/// Most pieces of evidence one page holds.
pub const EVIDENCE_PAGE_MAX: usize = 100;
pub const EVIDENCE_PAGE_DEFAULT: usize = 50;
/// Most proposals one page holds.
pub const PROPOSALS_PAGE_MAX: usize = 100;
pub const PROPOSALS_PAGE_DEFAULT: usize = 20;
/// Most cooperatives one page holds (the default: every cooperative of a
/// network that governance keeps to fewer).
pub const COOPERATIVES_PAGE_MAX: usize = 200;

/// `limit` as applied: `default` when absent, clamped to `1..=max`.
pub fn clamp_limit(limit: Option<usize>, default: usize, max: usize) -> usize {
    limit.unwrap_or(default).clamp(1, max)
}

/// A `HEIGHT:INDEX` cursor, or a typed 400.
pub fn parse_position(text: Option<&str>) -> ApiResult<Option<ChainPosition>> {
    match text {
        None => Ok(None),
        Some(text) => ChainPosition::parse(text)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("bad_cursor", "before must be HEIGHT:INDEX")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_to_the_cap_and_never_zero() {
        assert_eq!(clamp_limit(None, 10, 20), 10);
        assert_eq!(clamp_limit(Some(0), 10, 20), 1);
        assert_eq!(clamp_limit(Some(7), 10, 20), 7);
        assert_eq!(clamp_limit(Some(usize::MAX), 10, 20), 20);
    }

    #[test]
    fn a_bad_cursor_is_a_typed_error() {
        assert_eq!(parse_position(None).unwrap(), None);
        assert_eq!(
            parse_position(Some("5:1")).unwrap(),
            Some(ChainPosition {
                height: 5,
                index: 1
            })
        );
        assert!(parse_position(Some("5")).is_err());
        assert!(parse_position(Some("-1:0")).is_err());
    }
}
