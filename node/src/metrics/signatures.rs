//! Who signed the commit certificates this node stored, per validator:
//! `kopnet_validator_signatures_total` and
//! `kopnet_validator_missed_signatures_total`, labelled with the
//! validator's key and its cooperative.
//!
//! # What a missed signature means here
//!
//! A certificate holds the precommits this node (or, for a block caught up,
//! the peer it came from) had collected when the block was decided: more
//! than 2/3 of the voting power, not necessarily all of it. A validator
//! whose precommit arrived a moment after the decision is "missed" in that
//! certificate although it is live; with four equal validators one of them
//! is often missed. So one miss says nothing; a validator that appears in
//! *no* certificate over minutes of commits, while it stays in the set, is
//! not signing (the `KopnetValidatorNotSigning` alert, README "Monitoring a
//! node"). A validator's own node always counts its own precommit when it
//! sent one before the decision, so across every node's metrics a live
//! validator never has zero signatures for long.
//!
//! Bounded: one entry per validator key seen, at most
//! [`VALIDATOR_SERIES_MAX`]; past that, keys no longer in the current set
//! are forgotten (their series disappear, as Prometheus expects of a
//! validator that left).

use kopnet_consensus::{CommitCertificate, PublicKey, ValidatorSet};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Validator keys whose counts are kept: twice the most validators a set can
/// hold, so a whole set can be replaced once (key rotations) before old
/// keys are dropped.
pub const VALIDATOR_SERIES_MAX: usize = 2 * kopnet_ledger::bounds::VALIDATORS_CEILING as usize;

/// One validator's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidatorTally {
    /// The cooperative whose validator key this is (empty if none names it).
    pub coop: String,
    /// Certificates of heights it was a validator of that hold its precommit.
    pub signed: u64,
    /// Certificates of heights it was a validator of that do not.
    pub missed: u64,
}

/// Counts per validator key.
#[derive(Debug, Default)]
pub struct Signatures {
    tallies: BTreeMap<PublicKey, ValidatorTally>,
}

impl Signatures {
    /// Count `certificate` against `set`, the validator set of its height;
    /// `coop_of` names each validator's cooperative.
    pub fn note(
        &mut self,
        certificate: &CommitCertificate,
        set: &ValidatorSet,
        coop_of: impl Fn(&PublicKey) -> Option<String>,
    ) {
        // Signatures are sorted by key (`CommitCertificate::from_precommits`).
        let signed = |key: &PublicKey| {
            certificate
                .signatures
                .binary_search_by(|s| s.validator.cmp(key))
                .is_ok()
        };
        for validator in set.validators() {
            let tally = self.tallies.entry(validator.key).or_default();
            if let Some(coop) = coop_of(&validator.key) {
                tally.coop = coop;
            }
            if signed(&validator.key) {
                tally.signed = tally.signed.saturating_add(1);
            } else {
                tally.missed = tally.missed.saturating_add(1);
            }
        }
        if self.tallies.len() > VALIDATOR_SERIES_MAX {
            let current: Vec<&PublicKey> = set.validators().iter().map(|v| &v.key).collect();
            self.tallies.retain(|key, _| current.contains(&key));
        }
    }

    pub fn tallies(&self) -> &BTreeMap<PublicKey, ValidatorTally> {
        &self.tallies
    }

    /// Both counters in Prometheus' text format (header lines even when no
    /// certificate was counted yet).
    pub fn render(&self, out: &mut String) {
        type Count = fn(&ValidatorTally) -> u64;
        let series: [(&str, &str, Count); 2] = [
            (
                "kopnet_validator_signatures_total",
                "Commit certificates stored here that hold this validator's precommit (heights it validated).",
                |t| t.signed,
            ),
            (
                "kopnet_validator_missed_signatures_total",
                "Commit certificates stored here without this validator's precommit although it was in the height's set (a late precommit counts too: see the README).",
                |t| t.missed,
            ),
        ];
        for (name, help, value) in series {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (key, tally) in &self.tallies {
                let _ = writeln!(
                    out,
                    "{name}{{validator=\"{}\",coop=\"{}\"}} {}",
                    key.to_address(),
                    tally.coop,
                    value(tally)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_consensus::{Hash, Keypair, SignedVote, Validator, Vote, VoteKind};

    fn set(keys: &[&Keypair]) -> ValidatorSet {
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

    fn certificate(height: u64, signers: &[&Keypair]) -> CommitCertificate {
        let value = Hash::digest("test", b"block");
        let votes: Vec<SignedVote> = signers
            .iter()
            .map(|k| {
                let vote = Vote {
                    height,
                    round: 0,
                    kind: VoteKind::Precommit,
                    value_id: Some(value),
                    validator: k.public(),
                };
                SignedVote::sign("kopnet-test", k, vote).unwrap()
            })
            .collect();
        CommitCertificate::from_precommits(height, 0, value, &votes)
    }

    #[test]
    fn each_validator_of_the_height_counts_signed_or_missed() {
        let [a, b, c, d] = [1u8, 2, 3, 4].map(|i| Keypair::from_seed([i; 32]));
        let four = set(&[&a, &b, &c, &d]);
        let mut s = Signatures::default();
        let coop = |k: &PublicKey| (*k == a.public()).then(|| "ksp-sejahtera".to_string());
        s.note(&certificate(1, &[&a, &b, &c]), &four, coop);
        s.note(&certificate(2, &[&a, &b, &d]), &four, coop);
        s.note(&certificate(3, &[&a, &c, &d]), &four, coop);
        let counts = |k: &Keypair| {
            let t = &s.tallies()[&k.public()];
            (t.signed, t.missed)
        };
        assert_eq!(counts(&a), (3, 0));
        assert_eq!(counts(&b), (2, 1));
        assert_eq!(counts(&d), (2, 1));
        assert_eq!(s.tallies()[&a.public()].coop, "ksp-sejahtera");
        let text = {
            let mut out = String::new();
            s.render(&mut out);
            out
        };
        assert!(text.contains(&format!(
            "kopnet_validator_missed_signatures_total{{validator=\"{}\",coop=\"\"}} 1",
            b.public().to_address()
        )));
        assert!(text.contains(&format!(
            "kopnet_validator_signatures_total{{validator=\"{}\",coop=\"ksp-sejahtera\"}} 3",
            a.public().to_address()
        )));
    }

    #[test]
    fn a_validator_outside_the_set_is_not_counted_and_old_keys_are_bounded() {
        let [a, b, outsider] = [1u8, 2, 3].map(|i| Keypair::from_seed([i; 32]));
        let mut s = Signatures::default();
        s.note(&certificate(1, &[&a, &b]), &set(&[&a, &b]), |_| None);
        assert!(!s.tallies().contains_key(&outsider.public()));
        // Sets of fresh keys, one after another: only the current set's keys
        // survive once the bound is passed.
        for i in 0..(VALIDATOR_SERIES_MAX as u64 + 1) {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i + 100).to_le_bytes());
            let fresh = Keypair::from_seed(seed);
            s.note(&certificate(i + 2, &[&fresh]), &set(&[&fresh]), |_| None);
            assert!(s.tallies().len() <= VALIDATOR_SERIES_MAX);
        }
        assert!(
            !s.tallies().contains_key(&a.public()),
            "a key long out of the set is forgotten"
        );
    }
}
