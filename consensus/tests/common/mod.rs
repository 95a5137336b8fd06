//! What the engine's integration tests share: deterministic keys, a set of
//! equal voting power, and a safety store in memory.

// Each test binary uses a part of this.
#![allow(dead_code)]

use kopnet_consensus::{Keypair, SafetyRecord, SafetyStore, Validator, ValidatorSet};
use std::convert::Infallible;

/// `n` keys from the seeds `[1; 32]`, `[2; 32]`, ...
pub fn keys(n: u8) -> Vec<Keypair> {
    (1..=n).map(|i| Keypair::from_seed([i; 32])).collect()
}

/// A validator set of `keys`, each with voting power 1.
pub fn equal_set(keys: &[Keypair]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                key: k.public(),
                voting_power: 1,
            })
            .collect(),
    )
    .unwrap()
}

/// A safety store that keeps the last record in memory.
#[derive(Default)]
pub struct MemoryStore(pub Option<SafetyRecord>);

impl SafetyStore for MemoryStore {
    type Error = Infallible;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Infallible> {
        self.0 = Some(record.clone());
        Ok(())
    }
}
