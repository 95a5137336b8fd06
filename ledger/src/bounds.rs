//! The bounds every validator set, parameter and participant list the
//! ledger can reach is held to, so that the chain can always name its
//! signers and never meets a figure it cannot use.
//!
//! Two layers:
//!
//! * **Ceilings** (constants, never changed by anyone): what the consensus
//!   engine and every sum over voting power can take. A set of at most
//!   [`VALIDATORS_CEILING`] validators whose total is at most
//!   [`VOTING_POWER_TOTAL_CEILING`] is always a valid engine validator set
//!   (the node checks the engine's own limit against these at compile
//!   time), and no sum, quorum product or proposer stride over it comes
//!   near `u64::MAX`.
//! * **Limits** ([`ValidatorLimits`], in the genesis and changed only by
//!   governance, always within the ceilings): the network's own policy on
//!   how many validators it has and how much weight one or all of them
//!   may carry.
//!
//! Governance checks a proposal against both when it is made (a proposal
//! that would break them is rejected with a typed code and never opened)
//! and again when it executes, on the state as it is then (a proposal that
//! would break them by then fails with that code and changes nothing). The
//! genesis is held to the same rules. So every state the ledger accepts
//! names a validator set the engine can use: non-empty, at most the limit
//! in count, every power in `1..=voting_power_max`, the total within
//! `voting_power_total_max`.

use crate::rejection::Rejection;
use serde::{Deserialize, Serialize};

/// Most validators any network may have: the consensus engine's own limit
/// (`kopnet_consensus::VALIDATORS_MAX`, asserted equal or above in the
/// node), which bounds every per-round map it keeps.
pub const VALIDATORS_CEILING: u32 = 1024;
/// Most voting power the active validators may hold together, and so also
/// one validator. Far above any real weighting and far below where a sum of
/// powers or a quorum product could overflow.
pub const VOTING_POWER_TOTAL_CEILING: u64 = 1_000_000_000_000;
/// Most participants a network may ever admit (every cooperative ever
/// added, removed ones included, and the `network` pseudo-participant): the
/// participant list is read by every settlement-window close and kept in
/// the parameters.
pub const PARTICIPANTS_MAX: u32 = 1024;

/// The network's limits on its validator set (genesis, then governance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorLimits {
    /// Most validators (active cooperatives with voting power above 0).
    pub validators_max: u32,
    /// Most voting power one validator may have.
    pub voting_power_max: u64,
    /// Most voting power all validators together may have.
    pub voting_power_total_max: u64,
}

impl Default for ValidatorLimits {
    /// 100 validators of weight 1 to 1,000,000, at most 100,000,000 in all:
    /// room for every cooperative of a city to validate, weighted as finely
    /// as anyone would want, and only a vote can widen it (up to the
    /// ceilings).
    fn default() -> Self {
        ValidatorLimits {
            validators_max: 100,
            voting_power_max: 1_000_000,
            voting_power_total_max: 100_000_000,
        }
    }
}

impl ValidatorLimits {
    /// The limits themselves must be usable: each at least 1, within the
    /// ceilings, and one validator's maximum no more than the total's.
    pub fn check(&self) -> Result<(), Rejection> {
        let out = |what: String| Err(Rejection::ValidatorLimitsOutOfRange(what));
        if !(1..=VALIDATORS_CEILING).contains(&self.validators_max) {
            return out(format!(
                "validators_max must be 1 to {VALIDATORS_CEILING}, got {}",
                self.validators_max
            ));
        }
        if !(1..=VOTING_POWER_TOTAL_CEILING).contains(&self.voting_power_total_max) {
            return out(format!(
                "voting_power_total_max must be 1 to {VOTING_POWER_TOTAL_CEILING}, got {}",
                self.voting_power_total_max
            ));
        }
        if !(1..=self.voting_power_total_max).contains(&self.voting_power_max) {
            return out(format!(
                "voting_power_max must be 1 to voting_power_total_max ({}), got {}",
                self.voting_power_total_max, self.voting_power_max
            ));
        }
        Ok(())
    }

    /// One validator's new voting power: 0 (stops validating) or up to
    /// `voting_power_max`.
    pub fn check_power(&self, voting_power: u64) -> Result<(), Rejection> {
        if voting_power > self.voting_power_max {
            return Err(Rejection::VotingPowerOutOfRange {
                voting_power,
                max: self.voting_power_max,
            });
        }
        Ok(())
    }

    /// A whole validator set, given as the voting powers of the active
    /// cooperatives (zeros are participants that do not validate and are
    /// skipped). Reported in this order: a power out of range, too many
    /// validators, a total too high, no validator at all.
    pub fn check_set(&self, powers: impl IntoIterator<Item = u64>) -> Result<(), Rejection> {
        let mut count: u64 = 0;
        let mut total: u128 = 0;
        for power in powers.into_iter().filter(|p| *p > 0) {
            self.check_power(power)?;
            count = count.saturating_add(1);
            total = total.saturating_add(u128::from(power));
        }
        if count > u64::from(self.validators_max) {
            return Err(Rejection::ValidatorCountExceeded {
                count,
                max: u64::from(self.validators_max),
            });
        }
        if total > u128::from(self.voting_power_total_max) {
            return Err(Rejection::TotalVotingPowerExceeded {
                // Every power is within the limit (checked above) and there
                // are at most PARTICIPANTS_MAX of them: this fits.
                total: u64::try_from(total).unwrap_or(u64::MAX),
                max: self.voting_power_total_max,
            });
        }
        if count == 0 {
            return Err(Rejection::NoValidatorLeft);
        }
        Ok(())
    }
}

/// The participant list may grow to `count` entries.
pub fn check_participants(count: usize) -> Result<(), Rejection> {
    if u64::try_from(count).map_or(true, |c| c > u64::from(PARTICIPANTS_MAX)) {
        return Err(Rejection::CooperativeCountExceeded {
            max: u64::from(PARTICIPANTS_MAX),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(validators_max: u32, each: u64, total: u64) -> ValidatorLimits {
        ValidatorLimits {
            validators_max,
            voting_power_max: each,
            voting_power_total_max: total,
        }
    }

    #[test]
    fn default_limits_are_within_the_ceilings() {
        ValidatorLimits::default().check().unwrap();
        limits(VALIDATORS_CEILING, 1, VOTING_POWER_TOTAL_CEILING)
            .check()
            .unwrap();
    }

    #[test]
    fn limits_out_of_range_are_refused() {
        for bad in [
            limits(0, 1, 1),
            limits(VALIDATORS_CEILING + 1, 1, 1),
            limits(4, 0, 10),
            limits(4, 11, 10),
            limits(4, 1, 0),
            limits(4, 1, VOTING_POWER_TOTAL_CEILING + 1),
            limits(4, u64::MAX, u64::MAX),
        ] {
            assert_eq!(
                bad.check().unwrap_err().code(),
                "validator_limits_out_of_range",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sets_are_checked_in_order() {
        let l = limits(3, 10, 25);
        l.check_set([1, 10, 0, 0, 10]).unwrap();
        let code = |powers: &[u64]| l.check_set(powers.iter().copied()).unwrap_err().code();
        assert_eq!(code(&[1, 11]), "voting_power_out_of_range");
        assert_eq!(code(&[1, u64::MAX]), "voting_power_out_of_range");
        assert_eq!(code(&[1, 1, 1, 1]), "validator_count_exceeded");
        assert_eq!(code(&[10, 10, 6]), "total_voting_power_exceeded");
        assert_eq!(code(&[0, 0]), "no_validator_left");
        assert_eq!(code(&[]), "no_validator_left");
        // A power out of range is reported before the count.
        assert_eq!(code(&[1, 1, 1, 11]), "voting_power_out_of_range");
    }

    #[test]
    fn participants_are_bounded() {
        check_participants(PARTICIPANTS_MAX as usize).unwrap();
        assert_eq!(
            check_participants(PARTICIPANTS_MAX as usize + 1)
                .unwrap_err()
                .code(),
            "cooperative_count_exceeded"
        );
    }
}
