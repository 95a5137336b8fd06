//! Votes of the current height, counted by voting power.
//!
//! Bounded: one vote per validator per (round, kind), for rounds up to
//! `current round + ROUNDS_AHEAD_MAX`; a validator set has at most
//! [`crate::validator_set::VALIDATORS_MAX`] members. Rounds below the current
//! one are kept, because a later proposal may re-propose a value locked in an
//! earlier round (paper line 28); they only grow as fast as rounds time out.

use crate::crypto::{Hash, PublicKey};
use crate::evidence::Evidence;
use crate::quorum::{is_one_third_plus, QuorumRule};
use crate::types::{Round, SignedVote, VoteKind};
use std::collections::{BTreeMap, BTreeSet};

/// How many rounds past the current one votes are stored for.
pub const ROUNDS_AHEAD_MAX: Round = 16;

/// How many different values one validator's votes are counted for in one
/// (round, kind). An equivocating validator's vote for `v` is still a vote for
/// `v` (the paper counts messages): a correct process that saw a polka must be
/// able to prove it to the others. More than this are dropped, except
/// votes for nil or for a value we hold a proposal of
/// ([`VoteKeeper::add_proposed`]).
pub const VALUES_PER_VALIDATOR_MAX: usize = 2;

/// How many different values one validator's votes are counted for in one
/// (round, kind) when the later ones are for nil or for a proposed value.
/// Without this room, a flooder's two signed votes for values nobody
/// proposed took both places and its real vote was dropped: a polka that
/// included it could then never be proved to this validator, and the
/// validators locked on it stalled the height for ever (simulator,
/// `--validators 7 --byzantine 2 --unrestricted-flood --seed 26`). A vote
/// dropped for want of room counts when it comes again after its value's
/// proposal (hosts re-gossip the proof of a lock).
pub const PROPOSED_VALUES_PER_VALIDATOR_MAX: usize = 8;

/// The votes of one kind in one round.
#[derive(Clone, Debug, Default)]
struct Tally {
    /// Each validator's votes, first one first; distinct values only.
    votes: BTreeMap<PublicKey, Vec<SignedVote>>,
    power_by_value: BTreeMap<Option<Hash>, u64>,
    power_total: u64,
}

/// What adding a vote did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new vote was counted.
    Added,
    /// The same vote was already counted.
    Duplicate,
    /// The validator already voted differently: the first vote stays counted
    /// and the pair is evidence.
    Conflict(Box<Evidence>),
}

/// All votes of one height.
#[derive(Clone, Debug, Default)]
pub struct VoteKeeper {
    rounds: BTreeMap<(Round, VoteKind), Tally>,
}

impl VoteKeeper {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether exactly this signed vote is already stored.
    pub fn contains(&self, vote: &SignedVote) -> bool {
        let v = &vote.vote;
        self.rounds
            .get(&(v.round, v.kind))
            .and_then(|t| t.votes.get(&v.validator))
            .is_some_and(|votes| votes.contains(vote))
    }

    /// Count `vote` with `power`. The caller has checked height, membership,
    /// signature and the round window. A validator counts once towards the
    /// total of a (round, kind), and once for each value it voted.
    pub fn add(&mut self, vote: SignedVote, power: u64) -> AddOutcome {
        self.add_within(vote, power, VALUES_PER_VALIDATOR_MAX)
    }

    /// [`VoteKeeper::add`] for a vote for nil or for a value we hold a
    /// proposal of: counted even past [`VALUES_PER_VALIDATOR_MAX`] values of
    /// its validator, up to [`PROPOSED_VALUES_PER_VALIDATOR_MAX`].
    pub fn add_proposed(&mut self, vote: SignedVote, power: u64) -> AddOutcome {
        self.add_within(vote, power, PROPOSED_VALUES_PER_VALIDATOR_MAX)
    }

    fn add_within(&mut self, vote: SignedVote, power: u64, values_max: usize) -> AddOutcome {
        let v = &vote.vote;
        let tally = self.rounds.entry((v.round, v.kind)).or_default();
        let votes = tally.votes.entry(v.validator).or_default();
        if votes.iter().any(|e| e.vote.value_id == v.value_id) {
            return AddOutcome::Duplicate;
        }
        let first = votes.first().cloned();
        if first.is_none() {
            tally.power_total = tally.power_total.saturating_add(power);
        }
        if votes.len() < values_max {
            let slot = tally.power_by_value.entry(v.value_id).or_default();
            *slot = slot.saturating_add(power);
            votes.push(vote.clone());
        }
        match first {
            None => AddOutcome::Added,
            Some(first) => AddOutcome::Conflict(Box::new(Evidence::DuplicateVote {
                first,
                second: vote,
            })),
        }
    }

    /// Power that voted `value` (None = nil) in `(round, kind)`.
    pub fn power_for(&self, round: Round, kind: VoteKind, value: Option<Hash>) -> u64 {
        self.rounds
            .get(&(round, kind))
            .and_then(|t| t.power_by_value.get(&value))
            .copied()
            .unwrap_or(0)
    }

    /// Power that voted anything in `(round, kind)`.
    pub fn power_any(&self, round: Round, kind: VoteKind) -> u64 {
        self.rounds.get(&(round, kind)).map_or(0, |t| t.power_total)
    }

    /// Whether `value` has a quorum in `(round, kind)`.
    pub fn has_quorum_for(
        &self,
        rule: QuorumRule,
        total: u64,
        round: Round,
        kind: VoteKind,
        value: Option<Hash>,
    ) -> bool {
        rule.is_quorum(self.power_for(round, kind, value), total)
    }

    /// Whether votes of any values together have a quorum in `(round, kind)`.
    pub fn has_quorum_any(
        &self,
        rule: QuorumRule,
        total: u64,
        round: Round,
        kind: VoteKind,
    ) -> bool {
        rule.is_quorum(self.power_any(round, kind), total)
    }

    /// The highest round above `above` in which validators holding more than
    /// 1/3 of the power sent some vote (paper line 55: f+1 messages).
    pub fn skip_round(
        &self,
        above: Round,
        total: u64,
        power_of: impl Fn(&PublicKey) -> u64,
    ) -> Option<Round> {
        let mut rounds: BTreeSet<Round> = BTreeSet::new();
        for (round, _) in self.rounds.keys() {
            if *round > above {
                rounds.insert(*round);
            }
        }
        rounds.into_iter().rev().find(|&round| {
            let mut voters: BTreeSet<PublicKey> = BTreeSet::new();
            for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                if let Some(t) = self.rounds.get(&(round, kind)) {
                    voters.extend(t.votes.keys().copied());
                }
            }
            let power = voters
                .iter()
                .fold(0u64, |sum, key| sum.saturating_add(power_of(key)));
            is_one_third_plus(power, total)
        })
    }

    /// The precommits for `value` in `round`, in key order.
    pub fn precommits_for(&self, round: Round, value: Hash) -> Vec<&SignedVote> {
        self.votes_for(round, VoteKind::Precommit, Some(value))
    }

    /// All votes of `(round, kind)`, in key order.
    pub fn votes(&self, round: Round, kind: VoteKind) -> Vec<&SignedVote> {
        self.rounds
            .get(&(round, kind))
            .map(|t| t.votes.values().flatten().collect())
            .unwrap_or_default()
    }

    /// The votes of `(round, kind)` for `value`, in key order (at most one
    /// per validator).
    pub fn votes_for(&self, round: Round, kind: VoteKind, value: Option<Hash>) -> Vec<&SignedVote> {
        self.rounds
            .get(&(round, kind))
            .map(|t| {
                t.votes
                    .values()
                    .flatten()
                    .filter(|v| v.vote.value_id == value)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rounds with a precommit quorum for some value, with that value.
    pub fn decided_candidates(&self, rule: QuorumRule, total: u64) -> Vec<(Round, Hash)> {
        let mut out = Vec::new();
        for ((round, kind), tally) in &self.rounds {
            if *kind != VoteKind::Precommit {
                continue;
            }
            for (value, power) in &tally.power_by_value {
                if let Some(id) = value {
                    if rule.is_quorum(*power, total) {
                        out.push((*round, *id));
                    }
                }
            }
        }
        out
    }

    /// Number of stored votes (for bounds checks in tests).
    pub fn len(&self) -> usize {
        self.rounds
            .values()
            .flat_map(|t| t.votes.values())
            .map(Vec::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;
    use crate::types::Vote;
    use crate::validator_set::{Validator, ValidatorSet};

    const CHAIN: &str = "test-chain";

    fn keys(n: u8) -> Vec<Keypair> {
        (1..=n).map(|i| Keypair::from_seed([i; 32])).collect()
    }

    fn vote(k: &Keypair, round: Round, kind: VoteKind, value: Option<Hash>) -> SignedVote {
        SignedVote::sign(
            CHAIN,
            k,
            Vote {
                height: 1,
                round,
                kind,
                value_id: value,
                validator: k.public(),
            },
        )
        .unwrap()
    }

    /// Table: powers of the validators, which of them vote for value A,
    /// whether A has a quorum, whether the voters are "f+1".
    #[test]
    fn quorum_with_unequal_power() {
        let a = Some(Hash::digest("test", b"A"));
        let ks = keys(4);
        #[allow(clippy::type_complexity)]
        let table: &[(&[u64], &[usize], bool, bool)] = &[
            (&[1, 1, 1, 1], &[0, 1, 2], true, true),
            (&[1, 1, 1, 1], &[0, 1], false, true),
            (&[1, 1, 1, 1], &[0], false, false),
            (&[2, 1, 1, 2], &[0, 3], false, true), // 4 of 6 = exactly 2/3
            (&[2, 1, 1, 2], &[0, 3, 1], true, true), // 5 of 6
            (&[1, 1, 1, 3], &[3], false, true),    // 3 of 6 is > 1/3
            (&[1, 1, 2, 2], &[2], false, false),   // 2 of 6 = exactly 1/3
            (&[10, 1, 1, 1], &[0], true, true),    // one heavy validator
            (&[3, 3, 3, 1], &[0, 1], false, true), // 6 of 10
            (&[3, 3, 3, 1], &[0, 1, 3], true, true), // 7 of 10
        ];
        for (powers, voters, quorum, third) in table {
            let set = ValidatorSet::new(
                ks.iter()
                    .zip(powers.iter())
                    .map(|(k, &p)| Validator {
                        key: k.public(),
                        voting_power: p,
                    })
                    .collect(),
            )
            .unwrap();
            let total = set.total_power();
            let mut keeper = VoteKeeper::new();
            for &i in *voters {
                let k = &ks[i];
                keeper.add(vote(k, 0, VoteKind::Prevote, a), set.power_of(&k.public()));
            }
            // A nil vote from a non-voter must not count for A.
            let others: Vec<usize> = (0..4).filter(|i| !voters.contains(i)).collect();
            if let Some(&i) = others.first() {
                let k = &ks[i];
                keeper.add(
                    vote(k, 0, VoteKind::Prevote, None),
                    set.power_of(&k.public()),
                );
            }
            assert_eq!(
                keeper.has_quorum_for(QuorumRule::Bft, total, 0, VoteKind::Prevote, a),
                *quorum,
                "powers {powers:?} voters {voters:?}"
            );
            assert_eq!(
                is_one_third_plus(keeper.power_for(0, VoteKind::Prevote, a), total),
                *third,
                "powers {powers:?} voters {voters:?}"
            );
            assert!(!keeper.has_quorum_for(QuorumRule::Bft, total, 0, VoteKind::Precommit, a));
        }
    }

    #[test]
    fn duplicates_and_conflicts() {
        let ks = keys(1);
        let a = Some(Hash::digest("test", b"A"));
        let mut keeper = VoteKeeper::new();
        assert_eq!(
            keeper.add(vote(&ks[0], 0, VoteKind::Prevote, a), 1),
            AddOutcome::Added
        );
        assert_eq!(
            keeper.add(vote(&ks[0], 0, VoteKind::Prevote, a), 1),
            AddOutcome::Duplicate
        );
        let outcome = keeper.add(vote(&ks[0], 0, VoteKind::Prevote, None), 1);
        assert!(matches!(outcome, AddOutcome::Conflict(_)));
        // The validator counts once towards the total, and once per value.
        assert_eq!(keeper.power_any(0, VoteKind::Prevote), 1);
        assert_eq!(keeper.power_for(0, VoteKind::Prevote, None), 1);
        assert_eq!(keeper.power_for(0, VoteKind::Prevote, a), 1);
        assert_eq!(keeper.len(), 2);
        // A third value is evidence too, but no longer stored or counted.
        let b = Some(Hash::digest("test", b"B"));
        assert!(matches!(
            keeper.add(vote(&ks[0], 0, VoteKind::Prevote, b), 1),
            AddOutcome::Conflict(_)
        ));
        assert_eq!(keeper.power_for(0, VoteKind::Prevote, b), 0);
        assert_eq!(keeper.len(), 2);
        // A vote for a proposed value still counts past the two, up to the
        // hard bound; then it is dropped too.
        assert!(matches!(
            keeper.add_proposed(vote(&ks[0], 0, VoteKind::Prevote, b), 1),
            AddOutcome::Conflict(_)
        ));
        assert_eq!(keeper.power_for(0, VoteKind::Prevote, b), 1);
        for i in 3..=PROPOSED_VALUES_PER_VALIDATOR_MAX + 2 {
            let c = Some(Hash::digest("test", &i.to_be_bytes()));
            let _ = keeper.add_proposed(vote(&ks[0], 0, VoteKind::Prevote, c), 1);
        }
        assert_eq!(keeper.len(), PROPOSED_VALUES_PER_VALIDATOR_MAX);
        assert_eq!(keeper.power_any(0, VoteKind::Prevote), 1);
    }

    #[test]
    fn skip_round_needs_more_than_one_third() {
        let ks = keys(4);
        let mut keeper = VoteKeeper::new();
        keeper.add(vote(&ks[0], 3, VoteKind::Prevote, None), 1);
        assert_eq!(keeper.skip_round(0, 4, |_| 1), None);
        keeper.add(vote(&ks[1], 3, VoteKind::Precommit, None), 1);
        assert_eq!(keeper.skip_round(0, 4, |_| 1), Some(3));
        assert_eq!(keeper.skip_round(3, 4, |_| 1), None);
    }
}
