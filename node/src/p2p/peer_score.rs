//! A peer's penalty, which decays over time, and how long a ban lasts.
//!
//! Pure: the clock is an argument. The penalty is kept in milli-points so
//! linear decay over elapsed milliseconds is exact integer arithmetic.

use std::time::{Duration, Instant};

/// Penalty points that fade linearly at `decay_points_per_s`.
#[derive(Debug, Clone)]
pub(crate) struct Penalty {
    milli_points: u64,
    at: Instant,
}

impl Penalty {
    pub(crate) fn new(now: Instant) -> Penalty {
        Penalty {
            milli_points: 0,
            at: now,
        }
    }

    fn decay(&mut self, decay_points_per_s: u64, now: Instant) {
        let elapsed_ms = now.saturating_duration_since(self.at).as_millis();
        // points/s × ms = milli-points.
        let faded = elapsed_ms.saturating_mul(u128::from(decay_points_per_s));
        let faded = u64::try_from(faded).unwrap_or(u64::MAX);
        self.milli_points = self.milli_points.saturating_sub(faded);
        self.at = self.at.max(now);
    }

    /// Add `points` (after decaying to `now`); returns the whole points now held.
    pub(crate) fn add(&mut self, points: u64, decay_points_per_s: u64, now: Instant) -> u64 {
        self.decay(decay_points_per_s, now);
        self.milli_points = self
            .milli_points
            .saturating_add(points.saturating_mul(1_000));
        self.milli_points / 1_000
    }

    /// Whole points held at `now`.
    #[cfg(test)]
    pub(crate) fn points(&self, decay_points_per_s: u64, now: Instant) -> u64 {
        let mut copy = self.clone();
        copy.decay(decay_points_per_s, now);
        copy.milli_points / 1_000
    }
}

/// The length of a peer's ban after `repeats` earlier bans (still
/// remembered): `min` doubled per repeat, at most `max`.
pub(crate) fn ban_duration(min: Duration, max: Duration, repeats: u32) -> Duration {
    let factor = 2u32.checked_pow(repeats).unwrap_or(u32::MAX);
    min.checked_mul(factor).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_adds_up_and_decays_linearly_to_zero() {
        let t0 = Instant::now();
        let mut penalty = Penalty::new(t0);
        assert_eq!(penalty.add(20, 2, t0), 20);
        assert_eq!(penalty.add(20, 2, t0), 40);
        // 2 points per second: 5 s later 10 points have faded.
        assert_eq!(penalty.points(2, t0 + Duration::from_secs(5)), 30);
        // Half a second fades one point exactly (milli-point precision).
        assert_eq!(penalty.points(2, t0 + Duration::from_millis(500)), 39);
        assert_eq!(penalty.add(1, 2, t0 + Duration::from_secs(5)), 31);
        // Never below zero, however long it rests.
        assert_eq!(penalty.points(2, t0 + Duration::from_secs(3600)), 0);
        assert_eq!(penalty.add(5, 2, t0 + Duration::from_secs(3600)), 5);
    }

    #[test]
    fn huge_penalties_saturate() {
        let t0 = Instant::now();
        let mut penalty = Penalty::new(t0);
        assert_eq!(penalty.add(u64::MAX, 0, t0), u64::MAX / 1_000);
        assert_eq!(penalty.add(u64::MAX, 0, t0), u64::MAX / 1_000);
        assert_eq!(penalty.points(u64::MAX, t0 + Duration::from_secs(1)), 0);
    }

    #[test]
    fn bans_double_per_repeat_up_to_the_cap() {
        let (min, max) = (Duration::from_secs(60), Duration::from_secs(600));
        let lengths: Vec<u64> = (0..6)
            .map(|repeats| ban_duration(min, max, repeats).as_secs())
            .collect();
        assert_eq!(lengths, [60, 120, 240, 480, 600, 600]);
        assert_eq!(ban_duration(min, max, u32::MAX), max);
    }
}
