//! Per-client-address rate limits: a token bucket per address and class
//! (writes, heavy reads), refilled at `per_second` up to `burst`.
//!
//! The table is bounded (`rate_addresses_max`): when it is full, the
//! address first seen longest ago is forgotten. Forgetting an address only
//! ever gives it a full bucket again, never less, so an attacker with many
//! addresses can at most get every one of them its own budget (as it
//! would with a table that never forgets), and cannot grow the node's
//! memory. Arithmetic is in integer micro-tokens with saturation.

use crate::config::HttpConfig;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Micro-tokens per token.
const MICROS: u128 = 1_000_000;

/// A refused request: when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRefusal {
    pub retry_after_s: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    micro_tokens: u128,
    at: Instant,
}

#[derive(Debug, Default)]
struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    /// Addresses in the order first seen (for forgetting when full).
    order: VecDeque<IpAddr>,
}

/// One class's buckets.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: u128,
    burst_micro: u128,
    addresses_max: usize,
    table: Mutex<Table>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32, addresses_max: usize) -> Self {
        RateLimiter {
            per_second: u128::from(per_second.max(1)),
            burst_micro: u128::from(burst.max(1)).saturating_mul(MICROS),
            addresses_max: addresses_max.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Take `cost` tokens from `address`'s bucket at `now`, or say when
    /// they will be there. A cost above the burst is charged as the burst.
    pub fn take(&self, address: IpAddr, cost: u32, now: Instant) -> Result<(), RateRefusal> {
        let cost_micro = u128::from(cost)
            .saturating_mul(MICROS)
            .min(self.burst_micro);
        // A poisoned lock lets the request through: a limiter must never
        // be the reason the node stops answering.
        let Ok(mut table) = self.table.lock() else {
            return Ok(());
        };
        if !table.buckets.contains_key(&address) {
            while table.buckets.len() >= self.addresses_max {
                match table.order.pop_front() {
                    Some(old) => {
                        table.buckets.remove(&old);
                    }
                    None => break,
                }
            }
            table.order.push_back(address);
            table.buckets.insert(
                address,
                Bucket {
                    micro_tokens: self.burst_micro,
                    at: now,
                },
            );
        }
        let Some(bucket) = table.buckets.get_mut(&address) else {
            return Ok(());
        };
        let elapsed_us = now.saturating_duration_since(bucket.at).as_micros();
        let refill = elapsed_us.saturating_mul(self.per_second);
        bucket.micro_tokens = bucket
            .micro_tokens
            .saturating_add(refill)
            .min(self.burst_micro);
        bucket.at = now;
        if bucket.micro_tokens >= cost_micro {
            bucket.micro_tokens = bucket.micro_tokens.saturating_sub(cost_micro);
            return Ok(());
        }
        let missing = cost_micro.saturating_sub(bucket.micro_tokens);
        // Whole seconds until the missing tokens have come in, rounded up.
        let per_second_micro = self.per_second.saturating_mul(MICROS);
        let secs = missing.div_ceil(per_second_micro).max(1);
        Err(RateRefusal {
            retry_after_s: u64::try_from(secs).unwrap_or(u64::MAX),
        })
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.table.lock().map(|t| t.buckets.len()).unwrap_or(0)
    }
}

/// What a request is charged as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Transactions submitted (charged per transaction).
    Writes,
    /// Requests that scan, decode blocks or hold a stream open.
    HeavyReads,
}

/// The node's two limiters.
#[derive(Debug)]
pub struct RateLimits {
    writes: RateLimiter,
    heavy_reads: RateLimiter,
}

impl RateLimits {
    pub fn new(config: &HttpConfig) -> Self {
        RateLimits {
            writes: RateLimiter::new(
                config.writes_per_second,
                config.writes_burst,
                config.rate_addresses_max,
            ),
            heavy_reads: RateLimiter::new(
                config.heavy_reads_per_second,
                config.heavy_reads_burst,
                config.rate_addresses_max,
            ),
        }
    }

    /// Charge `cost` of `class` to `address` (no address: not limited).
    pub fn charge(
        &self,
        class: RateClass,
        address: Option<IpAddr>,
        cost: u32,
    ) -> Result<(), RateRefusal> {
        let Some(address) = address else {
            return Ok(());
        };
        let limiter = match class {
            RateClass::Writes => &self.writes,
            RateClass::HeavyReads => &self.heavy_reads,
        };
        limiter.take(address, cost, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_until_refilled() {
        let limiter = RateLimiter::new(2, 4, 16);
        let t0 = Instant::now();
        let a = ip("10.0.0.1");
        for _ in 0..4 {
            assert!(limiter.take(a, 1, t0).is_ok());
        }
        let refused = limiter.take(a, 1, t0).unwrap_err();
        assert_eq!(refused.retry_after_s, 1);
        // Another address has its own bucket.
        assert!(limiter.take(ip("10.0.0.2"), 4, t0).is_ok());
        // Half a second at 2/s brings one token back.
        let later = t0 + Duration::from_millis(500);
        assert!(limiter.take(a, 1, later).is_ok());
        assert!(limiter.take(a, 1, later).is_err());
        // A cost of 4 with none left: 2 s at 2/s.
        assert_eq!(limiter.take(a, 4, later).unwrap_err().retry_after_s, 2);
        // Never more than the burst, however long the pause.
        let much_later = t0 + Duration::from_secs(3_600);
        assert!(limiter.take(a, 4, much_later).is_ok());
        assert!(limiter.take(a, 1, much_later).is_err());
    }

    #[test]
    fn a_cost_above_the_burst_is_charged_as_the_burst() {
        let limiter = RateLimiter::new(1, 3, 16);
        let t0 = Instant::now();
        assert!(limiter.take(ip("10.0.0.1"), 100, t0).is_ok());
        assert!(limiter.take(ip("10.0.0.1"), 1, t0).is_err());
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_address_seen_first() {
        let limiter = RateLimiter::new(1, 1, 3);
        let t0 = Instant::now();
        for n in 0..1_000u32 {
            let address = IpAddr::from(n.to_be_bytes());
            assert!(limiter.take(address, 1, t0).is_ok());
            assert!(limiter.tracked() <= 3);
        }
        // The three seen last are still remembered (and empty).
        assert!(limiter
            .take(IpAddr::from(999u32.to_be_bytes()), 1, t0)
            .is_err());
        // One forgotten long ago starts with a full bucket again.
        assert!(limiter
            .take(IpAddr::from(0u32.to_be_bytes()), 1, t0)
            .is_ok());
        assert_eq!(limiter.tracked(), 3);
    }
}
