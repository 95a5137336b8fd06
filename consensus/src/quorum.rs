//! Quorum arithmetic, in integers only.
//!
//! With total voting power `n` and at most `f` faulty power where `3f < n`:
//! a *quorum* is signed power `p` with `3p > 2n` (the paper's `2f + 1`), and
//! *one third plus* is `3p > n` (the paper's `f + 1`: at least one honest
//! signer). Exactly 2/3 is not a quorum; exactly 1/3 is not `f + 1`. Products
//! are computed in `u128`, so no sum of `u64` powers can overflow.

use serde::{Deserialize, Serialize};

/// Which threshold the engine uses to count a quorum.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub enum QuorumRule {
    /// More than 2/3 of the total power: the only safe rule.
    #[default]
    Bft,
    /// More than 1/3 of the total power. Deliberately broken: it exists so the
    /// simulator can show that it catches a wrong quorum rule. Never use it.
    #[doc(hidden)]
    UnsafeOneThird,
}

impl QuorumRule {
    /// Whether `signed` out of `total` power is a quorum under this rule.
    pub fn is_quorum(self, signed: u64, total: u64) -> bool {
        match self {
            QuorumRule::Bft => is_quorum(signed, total),
            QuorumRule::UnsafeOneThird => is_one_third_plus(signed, total),
        }
    }
}

/// `3 * signed > 2 * total`: more than two thirds.
pub fn is_quorum(signed: u64, total: u64) -> bool {
    3 * u128::from(signed) > 2 * u128::from(total)
}

/// `3 * signed > total`: more than one third (at least one honest signer).
pub fn is_one_third_plus(signed: u64, total: u64) -> bool {
    3 * u128::from(signed) > u128::from(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_table() {
        // (signed, total, quorum, one_third_plus)
        let table: &[(u64, u64, bool, bool)] = &[
            (0, 1, false, false),
            (1, 1, true, true),
            (2, 3, false, true), // exactly 2/3 is not a quorum
            (3, 3, true, true),
            (1, 3, false, false), // exactly 1/3 is not f+1
            (3, 4, true, true),
            (2, 4, false, true),
            (1, 4, false, false),
            (5, 7, true, true),
            (4, 6, false, true),  // 2/3 exactly again
            (2, 6, false, false), // 1/3 exactly again
            (67, 100, true, true),
            (66, 100, false, true),
            (34, 100, false, true),
            (33, 100, false, false),
            (u64::MAX, u64::MAX, true, true),
            (u64::MAX / 3 * 2, u64::MAX, false, true),
        ];
        for &(signed, total, quorum, third) in table {
            assert_eq!(is_quorum(signed, total), quorum, "quorum {signed}/{total}");
            assert_eq!(
                is_one_third_plus(signed, total),
                third,
                "f+1 {signed}/{total}"
            );
            assert_eq!(QuorumRule::Bft.is_quorum(signed, total), quorum);
            assert_eq!(QuorumRule::UnsafeOneThird.is_quorum(signed, total), third);
        }
    }
}
