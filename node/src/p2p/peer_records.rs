//! What the networking layer remembers about each peer: its budget, its
//! penalty and its ban. A bounded table; pure (the clock is an argument).
//!
//! A peer over budget, or reported for an [`Offence`], collects penalty
//! points that fade over time. Reaching the threshold bans it: for
//! [`PeerLimits::ban_duration_min`] the first time, doubling for every ban
//! still remembered ([`PeerLimits::ban_repeat_window`] after the last one
//! ended), at most [`PeerLimits::ban_duration_max`]. A lifted ban starts
//! the peer with a fresh budget and no penalty.

use super::config::PeerLimits;
use super::offence::Offence;
use super::peer_budget::{BudgetRates, PeerBudget};
use super::peer_score::{ban_duration, Penalty};
use libp2p::PeerId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Whether one inbound message or request may go on to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charge {
    Allowed,
    /// Over budget: drop it, and strike the peer.
    OverBudget,
    /// The peer is banned: drop it quietly.
    Banned,
    /// The table is full of banned peers: drop it quietly.
    Untracked,
}

/// The outcome of one strike against a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strike {
    /// Counted; the peer now holds `points`.
    Recorded { points: u64 },
    /// Counted, and the peer reached the threshold: it is banned for `duration`.
    Banned { points: u64, duration: Duration },
    /// The peer is banned already; nothing counted.
    AlreadyBanned,
    /// The table is full of banned peers; nothing counted.
    Untracked,
}

#[derive(Debug, Clone)]
struct Record {
    budget: PeerBudget,
    penalty: Penalty,
    banned_until: Option<Instant>,
    /// Bans still remembered for doubling the next one.
    bans_remembered: u32,
    last_ban_end: Option<Instant>,
    last_seen: Instant,
}

#[derive(Debug)]
pub(crate) struct PeerRecords {
    limits: PeerLimits,
    records: HashMap<PeerId, Record>,
}

impl PeerRecords {
    pub(crate) fn new(limits: PeerLimits) -> PeerRecords {
        PeerRecords {
            limits,
            records: HashMap::new(),
        }
    }

    fn rates(&self) -> BudgetRates {
        BudgetRates {
            messages_per_s: self.limits.messages_per_s,
            bytes_per_s: self.limits.bytes_per_s,
            burst: self.limits.burst,
        }
    }

    /// The peer's record, created on first sight. When the table is full the
    /// least recently seen peer that is not banned makes room; `None` if all
    /// are banned.
    fn record(&mut self, peer: PeerId, now: Instant) -> Option<&mut Record> {
        if !self.records.contains_key(&peer) {
            if self.records.len() >= self.limits.peers_tracked_max {
                let oldest = self
                    .records
                    .iter()
                    .filter(|(_, record)| record.banned_until.is_none())
                    .min_by_key(|(_, record)| record.last_seen)
                    .map(|(peer, _)| *peer)?;
                self.records.remove(&oldest);
            }
            let record = Record {
                budget: PeerBudget::new(self.rates(), now),
                penalty: Penalty::new(now),
                banned_until: None,
                bans_remembered: 0,
                last_ban_end: None,
                last_seen: now,
            };
            self.records.insert(peer, record);
        }
        let record = self.records.get_mut(&peer)?;
        record.last_seen = record.last_seen.max(now);
        Some(record)
    }

    /// Charge one inbound message or request of `bytes` to `peer`.
    pub(crate) fn charge(&mut self, peer: PeerId, bytes: usize, now: Instant) -> Charge {
        let Some(record) = self.record(peer, now) else {
            return Charge::Untracked;
        };
        if record.banned_until.is_some() {
            Charge::Banned
        } else if record.budget.charge(bytes, now) {
            Charge::Allowed
        } else {
            Charge::OverBudget
        }
    }

    /// Count `offence` against `peer`; ban it when its penalty reaches the threshold.
    pub(crate) fn penalise(&mut self, peer: PeerId, offence: Offence, now: Instant) -> Strike {
        let limits = self.limits;
        let Some(record) = self.record(peer, now) else {
            return Strike::Untracked;
        };
        if record.banned_until.is_some() {
            return Strike::AlreadyBanned;
        }
        let points = record
            .penalty
            .add(offence.points(), limits.penalty_decay_points_per_s, now);
        if points < limits.ban_penalty_points {
            return Strike::Recorded { points };
        }
        let remembered = record
            .last_ban_end
            .is_some_and(|end| now.saturating_duration_since(end) < limits.ban_repeat_window);
        if !remembered {
            record.bans_remembered = 0;
        }
        let duration = ban_duration(
            limits.ban_duration_min,
            limits.ban_duration_max,
            record.bans_remembered,
        );
        // `check` bounds the ban length, so this cannot overflow an Instant.
        let until = now.checked_add(duration).unwrap_or(now);
        record.banned_until = Some(until);
        record.last_ban_end = Some(until);
        record.bans_remembered = record.bans_remembered.saturating_add(1);
        Strike::Banned { points, duration }
    }

    pub(crate) fn is_banned(&self, peer: &PeerId) -> bool {
        self.records
            .get(peer)
            .is_some_and(|record| record.banned_until.is_some())
    }

    pub(crate) fn banned_count(&self) -> usize {
        self.records
            .values()
            .filter(|record| record.banned_until.is_some())
            .count()
    }

    /// Lift every ban that has run out; the peers start afresh.
    pub(crate) fn lift_expired(&mut self, now: Instant) -> Vec<PeerId> {
        let rates = self.rates();
        let mut lifted = Vec::new();
        for (peer, record) in &mut self.records {
            if record.banned_until.is_some_and(|until| until <= now) {
                record.banned_until = None;
                record.budget = PeerBudget::new(rates, now);
                record.penalty = Penalty::new(now);
                lifted.push(*peer);
            }
        }
        lifted
    }

    /// Drop everything known about `peer` (it left the allow-list).
    pub(crate) fn forget(&mut self, peer: &PeerId) {
        self.records.remove(peer);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PeerLimits {
        PeerLimits {
            messages_per_s: 10,
            bytes_per_s: 1_000_000,
            burst: Duration::from_secs(1),
            ban_penalty_points: 100,
            penalty_decay_points_per_s: 2,
            ban_duration_min: Duration::from_secs(60),
            ban_duration_max: Duration::from_secs(600),
            ban_repeat_window: Duration::from_secs(3600),
            peers_tracked_max: 4,
            ..PeerLimits::default()
        }
    }

    /// Strike `peer` with invalid gossip (20 points) until it is banned.
    fn ban(records: &mut PeerRecords, peer: PeerId, now: Instant) -> Duration {
        for _ in 0..4 {
            assert!(matches!(
                records.penalise(peer, Offence::InvalidGossip, now),
                Strike::Recorded { .. }
            ));
        }
        match records.penalise(peer, Offence::InvalidGossip, now) {
            Strike::Banned { points, duration } => {
                assert_eq!(points, 100);
                duration
            }
            other => panic!("expected a ban, got {other:?}"),
        }
    }

    #[test]
    fn over_budget_messages_are_refused_and_strikes_ban_at_the_threshold() {
        let t0 = Instant::now();
        let mut records = PeerRecords::new(limits());
        let peer = PeerId::random();
        for _ in 0..10 {
            assert_eq!(records.charge(peer, 10, t0), Charge::Allowed);
        }
        assert_eq!(records.charge(peer, 10, t0), Charge::OverBudget);
        // 99 over-budget strikes of one point each: not yet.
        for expected in 1..100 {
            assert_eq!(
                records.penalise(peer, Offence::OverBudget, t0),
                Strike::Recorded { points: expected }
            );
        }
        assert!(!records.is_banned(&peer));
        assert_eq!(
            records.penalise(peer, Offence::OverBudget, t0),
            Strike::Banned {
                points: 100,
                duration: Duration::from_secs(60)
            }
        );
        assert!(records.is_banned(&peer));
        assert_eq!(records.banned_count(), 1);
        assert_eq!(records.charge(peer, 10, t0), Charge::Banned);
        assert_eq!(
            records.penalise(peer, Offence::InvalidGossip, t0),
            Strike::AlreadyBanned
        );
    }

    #[test]
    fn a_penalty_that_decays_in_time_never_bans() {
        let t0 = Instant::now();
        let mut records = PeerRecords::new(limits());
        let peer = PeerId::random();
        // One invalid message every 10 s: 20 points in, 20 faded out.
        for i in 0..100u64 {
            let now = t0 + Duration::from_secs(10 * i);
            assert_eq!(
                records.penalise(peer, Offence::InvalidGossip, now),
                Strike::Recorded { points: 20 }
            );
        }
        assert!(!records.is_banned(&peer));
    }

    #[test]
    fn a_ban_expires_then_repeats_double_and_are_forgotten_in_time() {
        let t0 = Instant::now();
        let mut records = PeerRecords::new(limits());
        let peer = PeerId::random();
        assert_eq!(ban(&mut records, peer, t0), Duration::from_secs(60));
        assert!(records
            .lift_expired(t0 + Duration::from_secs(59))
            .is_empty());
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(records.lift_expired(t1), vec![peer]);
        assert!(!records.is_banned(&peer));
        assert_eq!(records.banned_count(), 0);
        // Back with a fresh budget and no penalty.
        assert_eq!(records.charge(peer, 10, t1), Charge::Allowed);
        assert_eq!(
            records.penalise(peer, Offence::BadSyncPage, t1),
            Strike::Recorded {
                points: Offence::BadSyncPage.points()
            }
        );
        // Banned again soon (once that penalty has faded): twice as long,
        // then four times.
        let t2 = t1 + Duration::from_secs(30);
        assert_eq!(ban(&mut records, peer, t2), Duration::from_secs(120));
        let t3 = t2 + Duration::from_secs(120);
        assert_eq!(records.lift_expired(t3), vec![peer]);
        assert_eq!(ban(&mut records, peer, t3), Duration::from_secs(240));
        // Well behaved for longer than the window after it ended: back to the minimum.
        let t4 = t3 + Duration::from_secs(240) + Duration::from_secs(3600);
        assert_eq!(records.lift_expired(t4), vec![peer]);
        assert_eq!(ban(&mut records, peer, t4), Duration::from_secs(60));
    }

    #[test]
    fn the_table_is_bounded_and_never_evicts_a_banned_peer() {
        let t0 = Instant::now();
        let mut records = PeerRecords::new(limits());
        let banned: Vec<PeerId> = (0..3).map(|_| PeerId::random()).collect();
        for peer in &banned {
            ban(&mut records, *peer, t0);
        }
        // The fourth slot is shared by whoever came last.
        for i in 0..10u64 {
            let now = t0 + Duration::from_millis(i);
            assert_eq!(records.charge(PeerId::random(), 1, now), Charge::Allowed);
            assert_eq!(records.len(), 4);
        }
        assert!(banned.iter().all(|peer| records.is_banned(peer)));
        // The whole table banned: a newcomer is refused, not tracked.
        let fourth = PeerId::random();
        ban(&mut records, fourth, t0);
        assert_eq!(records.banned_count(), 4);
        assert_eq!(records.charge(PeerId::random(), 1, t0), Charge::Untracked);
        assert_eq!(
            records.penalise(PeerId::random(), Offence::OverBudget, t0),
            Strike::Untracked
        );
        records.forget(&fourth);
        assert_eq!(records.banned_count(), 3);
        assert_eq!(records.charge(PeerId::random(), 1, t0), Charge::Allowed);
    }
}
