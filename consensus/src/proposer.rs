//! Deterministic proposer selection, weighted by voting power.
//!
//! Picture the total power `P` as `P` slots, validator `i` (in key order)
//! owning a contiguous run of `voting_power_i` slots. For `(height, round)`
//! the slot is `s = (height + round) mod P`, spread over the ring by a stride
//! `K` coprime with `P` (close to `0.618 P`): the proposer owns slot
//! `(s * K) mod P`. Because `s -> s * K mod P` is a permutation, over any `P`
//! consecutive heights every validator proposes exactly `voting_power` times,
//! and the stride interleaves turns instead of giving a heavy validator a long
//! run. It needs no state carried between heights, so a restarted or syncing
//! node computes the same proposer as everyone else. Changing round moves to
//! the next slot, so a failed proposer is skipped.

use crate::types::{Height, Round};
use crate::validator_set::{Validator, ValidatorSet};

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// The stride for total power `total`: the first value coprime with `total`
/// at or above `0.618 * total`.
fn stride(total: u128) -> u128 {
    let start = (total * 618 / 1000).max(1);
    // Coprime numbers are dense; the search is bounded by `total` regardless.
    (start..start + total)
        .find(|k| gcd(*k, total) == 1)
        .unwrap_or(1)
}

/// The proposer of `(height, round)` in `set`. Always `Some` for a valid
/// (non-empty) set.
pub fn proposer(set: &ValidatorSet, height: Height, round: Round) -> Option<&Validator> {
    let total = u128::from(set.total_power().max(1));
    let slot = (u128::from(height) + u128::from(round)) % total;
    let mut target = slot * stride(total) % total;
    for validator in set.validators() {
        let power = u128::from(validator.voting_power);
        if target < power {
            return Some(validator);
        }
        target -= power;
    }
    set.validators().first()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use std::collections::BTreeMap;

    fn set(powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            powers
                .iter()
                .enumerate()
                .map(|(i, &p)| Validator {
                    key: Keypair::from_seed([i as u8 + 1; 32]).public(),
                    voting_power: p,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn turns_are_proportional_to_power() {
        for powers in [
            &[1, 1, 1, 1][..],
            &[1, 2, 3, 4],
            &[10, 1, 1],
            &[5, 7, 11, 13, 2],
        ] {
            let set = set(powers);
            let total = set.total_power();
            let mut turns: BTreeMap<_, u64> = BTreeMap::new();
            for height in 1..=total {
                *turns
                    .entry(proposer(&set, height, 0).unwrap().key)
                    .or_default() += 1;
            }
            for v in set.validators() {
                assert_eq!(turns.get(&v.key).copied().unwrap_or(0), v.voting_power);
            }
        }
    }

    #[test]
    fn deterministic_and_round_changes_proposer() {
        let set = set(&[1, 1, 1, 1]);
        assert_eq!(proposer(&set, 7, 2), proposer(&set, 7, 2));
        assert_ne!(
            proposer(&set, 7, 0).unwrap().key,
            proposer(&set, 7, 1).unwrap().key
        );
    }
}
