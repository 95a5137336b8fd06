//! The shell's pending consensus timers ([`super::Effect::Schedule`]),
//! bounded: past [`TIMERS_MAX`] the timer of the lowest height and round
//! (the oldest work) is dropped. Pure: the shell reads the clock and asks
//! for what is due.

use kopnet_consensus::{Height, Round, TimeoutStep};
use std::collections::BTreeMap;

/// Most timers pending at once.
pub const TIMERS_MAX: usize = 1_024;

/// A timer's payload: what to hand back to [`super::Host::on_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub height: Height,
    pub round: Round,
    pub step: TimeoutStep,
}

/// Pending timers by (deadline, insertion order).
#[derive(Debug, Default)]
pub struct Timers {
    pending: BTreeMap<(u64, u64), Timer>,
    seq: u64,
}

impl Timers {
    pub fn schedule(&mut self, deadline_ms: u64, timer: Timer) {
        self.seq = self.seq.wrapping_add(1);
        self.pending.insert((deadline_ms, self.seq), timer);
        while self.pending.len() > TIMERS_MAX {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, t)| (t.height, t.round))
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.pending.remove(&k);
                }
                None => break,
            }
        }
    }

    /// The earliest deadline, if any.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.pending.keys().next().map(|(deadline, _)| *deadline)
    }

    /// Remove and return the timers due at `now_ms`, earliest first.
    pub fn take_due(&mut self, now_ms: u64) -> Vec<Timer> {
        let later = self.pending.split_off(&(now_ms.saturating_add(1), 0));
        let due = std::mem::replace(&mut self.pending, later);
        due.into_values().collect()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(height: Height, round: Round) -> Timer {
        Timer {
            height,
            round,
            step: TimeoutStep::Propose,
        }
    }

    #[test]
    fn due_timers_come_out_in_deadline_order_and_only_once() {
        let mut timers = Timers::default();
        timers.schedule(30, timer(1, 2));
        timers.schedule(10, timer(1, 0));
        timers.schedule(20, timer(1, 1));
        assert_eq!(timers.next_deadline_ms(), Some(10));
        assert_eq!(timers.take_due(20), vec![timer(1, 0), timer(1, 1)]);
        assert!(timers.take_due(20).is_empty());
        assert_eq!(timers.take_due(30), vec![timer(1, 2)]);
        assert!(timers.is_empty());
    }

    #[test]
    fn past_the_bound_the_oldest_work_is_dropped() {
        let mut timers = Timers::default();
        for i in 0..TIMERS_MAX as u64 {
            timers.schedule(1_000 + i, timer(10, 0));
        }
        timers.schedule(5_000, timer(3, 0));
        assert_eq!(timers.len(), TIMERS_MAX);
        // The height-3 timer was the oldest work: it is the one dropped.
        let due = timers.take_due(u64::MAX);
        assert!(due.iter().all(|t| t.height == 10));
    }
}
