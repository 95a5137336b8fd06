//! Lookup budgets: a fixed one-minute window per key (a requesting wallet
//! at its own node, a requesting cooperative at the answering node), in a
//! map of at most [`RATE_KEYS_MAX`] keys. A full map first forgets keys
//! whose window has passed; if none has, the newcomer is refused — the
//! budget fails closed, never open.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lookups one wallet may ask of its own node per window.
pub const WALLET_LOOKUPS_PER_MINUTE: u32 = 100;
/// Lookups one cooperative's node may ask of another per window.
pub const COOP_LOOKUPS_PER_MINUTE: u32 = 1_000;
/// The window.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Most keys a budget tracks at once.
pub const RATE_KEYS_MAX: usize = 100_000;

/// A per-key budget of `limit` per [`RATE_WINDOW`].
#[derive(Debug)]
pub struct RateBudget<K: Ord> {
    limit: u32,
    keys_max: usize,
    windows: Mutex<BTreeMap<K, (Instant, u32)>>,
}

impl<K: Ord + Clone> RateBudget<K> {
    pub fn new(limit: u32, keys_max: usize) -> Self {
        RateBudget {
            limit,
            keys_max,
            windows: Mutex::new(BTreeMap::new()),
        }
    }

    /// Charge one lookup to `key` at `now`; false when over its budget.
    pub fn try_take(&self, key: &K, now: Instant) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            return false;
        };
        let expired = |start: &Instant| now.saturating_duration_since(*start) >= RATE_WINDOW;
        if !windows.contains_key(key) && windows.len() >= self.keys_max {
            windows.retain(|_, (start, _)| !expired(start));
            if windows.len() >= self.keys_max {
                return false;
            }
        }
        let entry = windows.entry(key.clone()).or_insert((now, 0));
        if expired(&entry.0) {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return false;
        }
        entry.1 = entry.1.saturating_add(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hundred_and_first_in_a_window_is_refused_then_the_next_window_opens() {
        let budget = RateBudget::new(WALLET_LOOKUPS_PER_MINUTE, 4);
        let start = Instant::now();
        for _ in 0..WALLET_LOOKUPS_PER_MINUTE {
            assert!(budget.try_take(&1u8, start));
        }
        assert!(!budget.try_take(&1u8, start + Duration::from_secs(59)));
        assert!(
            budget.try_take(&2u8, start),
            "another key has its own budget"
        );
        assert!(budget.try_take(&1u8, start + RATE_WINDOW));
    }

    #[test]
    fn a_full_map_forgets_passed_windows_and_otherwise_refuses() {
        let budget = RateBudget::new(10, 2);
        let start = Instant::now();
        assert!(budget.try_take(&1u8, start));
        assert!(budget.try_take(&2u8, start));
        assert!(!budget.try_take(&3u8, start), "full: fails closed");
        assert!(budget.try_take(&3u8, start + RATE_WINDOW));
    }
}
