//! Page sizes and cursors of the list endpoints. Every list the API serves
//! is paged: `limit` is clamped to the endpoint's cap (a larger one is not
//! an error, the answer says the limit it applied) and a cursor from the
//! previous page continues it. What a request costs is therefore bounded
//! by the cap, whatever the chain's length.
//!
//! Defaults and caps are `[pages]` keys of config.toml ([`PagesConfig`]);
//! the constants below are their defaults, and each key has a ceiling
//! ([`PagesConfig::validate`]) so that no configuration makes one request
//! unbounded.
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
use crate::config::{field, ConfigError};
use kopnet_ledger::ledger::ChainPosition;
use serde::{Deserialize, Serialize};

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

/// `[pages]` of config.toml: each list endpoint's page size when `limit`
/// is not given (`*_default`) and its cap (`*_max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagesConfig {
    pub blocks_default: usize,
    pub blocks_max: usize,
    /// A page of blocks ends after the block that brings its transactions
    /// to this many.
    pub blocks_txs_max: usize,
    pub history_default: usize,
    pub history_max: usize,
    pub windows_default: usize,
    pub windows_max: usize,
    pub evidence_default: usize,
    pub evidence_max: usize,
    pub proposals_default: usize,
    pub proposals_max: usize,
    /// Also the page size when `limit` is not given.
    pub cooperatives_max: usize,
}

impl Default for PagesConfig {
    fn default() -> Self {
        PagesConfig {
            blocks_default: BLOCKS_PAGE_DEFAULT,
            blocks_max: BLOCKS_PAGE_MAX,
            blocks_txs_max: BLOCKS_PAGE_TXS_MAX,
            history_default: HISTORY_PAGE_DEFAULT,
            history_max: HISTORY_PAGE_MAX,
            windows_default: WINDOWS_PAGE_DEFAULT,
            windows_max: WINDOWS_PAGE_MAX,
            evidence_default: EVIDENCE_PAGE_DEFAULT,
            evidence_max: EVIDENCE_PAGE_MAX,
            proposals_default: PROPOSALS_PAGE_DEFAULT,
            proposals_max: PROPOSALS_PAGE_MAX,
            cooperatives_max: COOPERATIVES_PAGE_MAX,
        }
    }
}

/// The most any `*_max` of `[pages]` may be (entries of one page).
pub const PAGE_CEILING: usize = 1_000;
/// The most blocks a page of `GET /v1/blocks` may hold, whatever the
/// configuration (each is read and encoded with its transactions).
pub const BLOCKS_PAGE_CEILING: usize = 100;
/// The most transactions a page of blocks may reach (four full blocks of
/// the protocol's largest).
pub const BLOCKS_PAGE_TXS_CEILING: usize = 80_000;

impl PagesConfig {
    /// Every `*_default` in `1..=*_max`, every `*_max` under its ceiling.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let pairs: [(&'static str, usize, &'static str, usize, usize); 5] = [
            (
                "pages.blocks_default",
                self.blocks_default,
                "pages.blocks_max",
                self.blocks_max,
                BLOCKS_PAGE_CEILING,
            ),
            (
                "pages.history_default",
                self.history_default,
                "pages.history_max",
                self.history_max,
                PAGE_CEILING,
            ),
            (
                "pages.windows_default",
                self.windows_default,
                "pages.windows_max",
                self.windows_max,
                PAGE_CEILING,
            ),
            (
                "pages.evidence_default",
                self.evidence_default,
                "pages.evidence_max",
                self.evidence_max,
                PAGE_CEILING,
            ),
            (
                "pages.proposals_default",
                self.proposals_default,
                "pages.proposals_max",
                self.proposals_max,
                PAGE_CEILING,
            ),
        ];
        for (default_name, default, max_name, max, ceiling) in pairs {
            if !(1..=ceiling).contains(&max) {
                return Err(field(max_name, format!("must be between 1 and {ceiling}")));
            }
            if !(1..=max).contains(&default) {
                return Err(field(
                    default_name,
                    format!("must be between 1 and {max_name}"),
                ));
            }
        }
        if !(1..=PAGE_CEILING).contains(&self.cooperatives_max) {
            return Err(field(
                "pages.cooperatives_max",
                format!("must be between 1 and {PAGE_CEILING}"),
            ));
        }
        if !(1..=BLOCKS_PAGE_TXS_CEILING).contains(&self.blocks_txs_max) {
            return Err(field(
                "pages.blocks_txs_max",
                format!("must be between 1 and {BLOCKS_PAGE_TXS_CEILING}"),
            ));
        }
        Ok(())
    }
}

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
    fn page_settings_are_validated_and_name_the_bad_key() {
        assert_eq!(PagesConfig::default().validate(), Ok(()));
        let too_big = PagesConfig {
            history_max: PAGE_CEILING + 1,
            ..PagesConfig::default()
        };
        assert!(matches!(
            too_big.validate(),
            Err(ConfigError::Field {
                field: "pages.history_max",
                ..
            })
        ));
        let default_over_cap = PagesConfig {
            blocks_default: 30,
            blocks_max: 20,
            ..PagesConfig::default()
        };
        assert!(matches!(
            default_over_cap.validate(),
            Err(ConfigError::Field {
                field: "pages.blocks_default",
                ..
            })
        ));
        let zero = PagesConfig {
            cooperatives_max: 0,
            ..PagesConfig::default()
        };
        assert!(matches!(
            zero.validate(),
            Err(ConfigError::Field {
                field: "pages.cooperatives_max",
                ..
            })
        ));
    }

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
