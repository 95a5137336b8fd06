//! The validators of one height and their voting power.
//!
//! The host supplies the set for every height. Rule: a validator-set change
//! committed in block `h` takes effect at height `h + VALIDATOR_SET_CHANGE_DELAY`
//! (`h + 2`), so every node knows the set of the next height while it is still
//! deciding the current one. The engine itself just uses the set it is given.
//! Validators with voting power 0 are observers and are not in the set.

use crate::crypto::PublicKey;
use crate::types::Height;
use serde::{Deserialize, Serialize};

/// Heights between committing a set change and the set taking effect.
pub const VALIDATOR_SET_CHANGE_DELAY: u64 = 2;

/// The first height at which a change committed in block `committed_in` is used.
pub fn effective_height(committed_in: Height) -> Option<Height> {
    committed_in.checked_add(VALIDATOR_SET_CHANGE_DELAY)
}

/// The largest number of validators in a set (bounds every per-round map).
pub const VALIDATORS_MAX: usize = 1024;

/// One validator: a signing key and its (non-zero) voting power.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Validator {
    pub key: PublicKey,
    pub voting_power: u64,
}

/// Why a validator set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    #[error("validator set is empty")]
    Empty,
    #[error("validator set has {count} validators, more than the limit of {VALIDATORS_MAX}")]
    TooMany { count: usize },
    #[error("validator {key} has zero voting power (observers are not validators)")]
    ZeroPower { key: PublicKey },
    #[error("validator {key} appears twice")]
    Duplicate { key: PublicKey },
    #[error("total voting power overflows u64")]
    PowerOverflow,
}

/// A non-empty set of validators sorted by key, with a non-zero total power
/// that fits in `u64`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

impl ValidatorSet {
    /// Build a set; order of the input does not matter.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if validators.len() > VALIDATORS_MAX {
            return Err(ValidatorSetError::TooMany {
                count: validators.len(),
            });
        }
        validators.sort_by_key(|v| v.key);
        let mut total: u64 = 0;
        let mut previous: Option<PublicKey> = None;
        for validator in &validators {
            if validator.voting_power == 0 {
                return Err(ValidatorSetError::ZeroPower { key: validator.key });
            }
            if previous == Some(validator.key) {
                return Err(ValidatorSetError::Duplicate { key: validator.key });
            }
            previous = Some(validator.key);
            total = total
                .checked_add(validator.voting_power)
                .ok_or(ValidatorSetError::PowerOverflow)?;
        }
        Ok(ValidatorSet {
            validators,
            total_power: total,
        })
    }

    /// Validators in key order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// The validator with `key`, if it is in the set.
    pub fn get(&self, key: &PublicKey) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.key.cmp(key))
            .ok()
            .and_then(|index| self.validators.get(index))
    }

    /// Voting power of `key`, 0 if it is not a validator.
    pub fn power_of(&self, key: &PublicKey) -> u64 {
        self.get(key).map_or(0, |v| v.voting_power)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;

    fn key(seed: u8) -> PublicKey {
        Keypair::from_seed([seed; 32]).public()
    }

    #[test]
    fn sorted_and_checked() {
        let set = ValidatorSet::new(vec![
            Validator {
                key: key(2),
                voting_power: 5,
            },
            Validator {
                key: key(1),
                voting_power: 7,
            },
        ])
        .unwrap();
        assert_eq!(set.total_power(), 12);
        assert!(set.validators()[0].key < set.validators()[1].key);
        assert_eq!(set.power_of(&key(1)), 7);
        assert_eq!(set.power_of(&key(9)), 0);
    }

    #[test]
    fn rejects_bad_sets() {
        assert_eq!(ValidatorSet::new(vec![]), Err(ValidatorSetError::Empty));
        assert_eq!(
            ValidatorSet::new(vec![Validator {
                key: key(1),
                voting_power: 0
            }]),
            Err(ValidatorSetError::ZeroPower { key: key(1) })
        );
        assert_eq!(
            ValidatorSet::new(vec![
                Validator {
                    key: key(1),
                    voting_power: 1
                },
                Validator {
                    key: key(1),
                    voting_power: 2
                },
            ]),
            Err(ValidatorSetError::Duplicate { key: key(1) })
        );
        assert_eq!(
            ValidatorSet::new(vec![
                Validator {
                    key: key(1),
                    voting_power: u64::MAX
                },
                Validator {
                    key: key(2),
                    voting_power: 1
                },
            ]),
            Err(ValidatorSetError::PowerOverflow)
        );
    }

    #[test]
    fn change_delay() {
        assert_eq!(effective_height(10), Some(12));
        assert_eq!(effective_height(u64::MAX), None);
    }
}
