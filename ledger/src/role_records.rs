//! The records tellers and member-key recoveries keep in the state: plain
//! data, in a module of its own so that [`crate::state`] stores them
//! without importing the rules that change them ([`crate::tellers`],
//! [`crate::recovery`]; the modules form no cycle).

use crate::types::{Amount, CoopId};
use kopnet_primitives::PublicKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// WIB (Western Indonesia Time) is UTC+7: a teller's day starts at 00:00 WIB.
pub const WIB_OFFSET_MS: u64 = 7 * 60 * 60 * 1000;
pub(crate) const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// A teller key's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Teller {
    /// The cooperative whose counter the teller works at.
    pub coop: CoopId,
    pub name: String,
    /// Most rupiah of Mint, Burn and CashIn per WIB day; `None`: no cap.
    pub daily_limit: Option<Amount>,
    /// The last nonce this teller used.
    pub nonce: u64,
    /// The WIB day (days since 1970-01-01 WIB) `used_today` counts.
    pub day: u64,
    /// Rupiah of Mint, Burn and CashIn on `day`.
    pub used_today: Amount,
    pub active: bool,
    pub added_height: u64,
    pub removed_height: Option<u64>,
}

impl Teller {
    /// What the teller has used on the WIB day of `time_ms` (0 on a new day).
    pub fn used_on(&self, time_ms: u64) -> Amount {
        if self.day == wib_day(time_ms) {
            self.used_today
        } else {
            0
        }
    }
}

/// A cooperative's roles: its tellers, and how many of its members'
/// recoveries are pending (bounded by [`crate::recovery::RECOVERIES_PENDING_MAX`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoopRoles {
    pub tellers: BTreeSet<PublicKey>,
    pub removed_tellers: BTreeSet<PublicKey>,
    pub recoveries_pending: u32,
}

/// The WIB calendar day of a block time.
pub fn wib_day(time_ms: u64) -> u64 {
    time_ms.saturating_add(WIB_OFFSET_MS) / DAY_MS
}

/// Who started a recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedBy {
    pub coop: CoopId,
    /// The teller who signed it; `None` when the cooperative key did.
    pub teller: Option<PublicKey>,
}

/// A recovery of the account at `member`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    pub member: PublicKey,
    pub new_key: PublicKey,
    pub started_by: StartedBy,
    pub started_height: u64,
    pub started_ms: u64,
    /// The block time from which it takes effect.
    pub effective_ms: u64,
    /// Its sequence number in the log.
    pub log: u64,
}

/// How a recovery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecoveryStatus {
    Pending,
    Completed {
        height: u64,
        time_ms: u64,
    },
    /// Cancelled by the key `by` (the member's, or its cooperative's or a
    /// teller's).
    Cancelled {
        height: u64,
        time_ms: u64,
        by: PublicKey,
    },
}

/// One entry of the recovery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryRecord {
    pub recovery: Recovery,
    pub status: RecoveryStatus,
}

/// The recovery log's next sequence number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryStats {
    pub next_log: u64,
}
