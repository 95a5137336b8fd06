//! Token buckets: how many messages and bytes one peer may send us.
//!
//! Pure: the clock is an argument. Levels are kept in nano-tokens
//! (tokens × 10⁹) so refilling at `rate` tokens per second over an elapsed
//! number of nanoseconds is one exact integer product.

use std::time::{Duration, Instant};

const NANOS_PER_TOKEN: u128 = 1_000_000_000;

/// One token bucket: refills at `rate_per_s`, holds at most `burst` worth of
/// refill, starts full.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate_per_s: u64,
    capacity_nanotokens: u128,
    level_nanotokens: u128,
    at: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate_per_s: u64, burst: Duration, now: Instant) -> TokenBucket {
        let capacity_nanotokens = u128::from(rate_per_s).saturating_mul(burst.as_nanos());
        TokenBucket {
            rate_per_s,
            capacity_nanotokens,
            level_nanotokens: capacity_nanotokens,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed_ns = now.saturating_duration_since(self.at).as_nanos();
        let added = elapsed_ns.saturating_mul(u128::from(self.rate_per_s));
        self.level_nanotokens = self
            .level_nanotokens
            .saturating_add(added)
            .min(self.capacity_nanotokens);
        // A clock that went backwards (it cannot, for `Instant`) refills nothing.
        self.at = self.at.max(now);
    }

    fn has(&self, tokens: u64) -> bool {
        self.level_nanotokens >= cost(tokens)
    }

    fn take(&mut self, tokens: u64) {
        self.level_nanotokens = self.level_nanotokens.saturating_sub(cost(tokens));
    }

    /// Whole tokens available at the last refill.
    #[cfg(test)]
    pub(crate) fn tokens(&self) -> u64 {
        u64::try_from(self.level_nanotokens / NANOS_PER_TOKEN).unwrap_or(u64::MAX)
    }
}

fn cost(tokens: u64) -> u128 {
    u128::from(tokens).saturating_mul(NANOS_PER_TOKEN)
}

/// The rates of a [`PeerBudget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetRates {
    pub(crate) messages_per_s: u64,
    pub(crate) bytes_per_s: u64,
    pub(crate) burst: Duration,
}

/// A peer's budget: one message bucket and one byte bucket. A message passes
/// only if both have room; then it is taken from both.
#[derive(Debug, Clone)]
pub(crate) struct PeerBudget {
    messages: TokenBucket,
    bytes: TokenBucket,
}

impl PeerBudget {
    pub(crate) fn new(rates: BudgetRates, now: Instant) -> PeerBudget {
        PeerBudget {
            messages: TokenBucket::new(rates.messages_per_s, rates.burst, now),
            bytes: TokenBucket::new(rates.bytes_per_s, rates.burst, now),
        }
    }

    /// Charge one message of `bytes`; `false` (and nothing taken) when over budget.
    pub(crate) fn charge(&mut self, bytes: usize, now: Instant) -> bool {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.messages.refill(now);
        self.bytes.refill(now);
        if !self.messages.has(1) || !self.bytes.has(bytes) {
            return false;
        }
        self.messages.take(1);
        self.bytes.take(bytes);
        true
    }

    /// (messages, bytes) available at the last charge.
    #[cfg(test)]
    pub(crate) fn available(&self) -> (u64, u64) {
        (self.messages.tokens(), self.bytes.tokens())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: BudgetRates = BudgetRates {
        messages_per_s: 10,
        bytes_per_s: 1_000,
        burst: Duration::from_secs(2),
    };

    #[test]
    fn a_fresh_budget_allows_the_burst_then_refuses() {
        let t0 = Instant::now();
        let mut budget = PeerBudget::new(RATES, t0);
        for i in 0..20 {
            assert!(budget.charge(1, t0), "message {i} is within the burst");
        }
        assert!(!budget.charge(1, t0), "the 21st message at once is over");
        assert_eq!(budget.available(), (0, 1_980));
    }

    #[test]
    fn the_bucket_refills_at_its_rate_and_never_beyond_the_burst() {
        let t0 = Instant::now();
        let mut budget = PeerBudget::new(RATES, t0);
        for _ in 0..20 {
            assert!(budget.charge(0, t0));
        }
        // 10 messages per second: after 100 ms exactly one more.
        let t1 = t0 + Duration::from_millis(100);
        assert!(budget.charge(0, t1));
        assert!(!budget.charge(0, t1));
        // 50 ms later: half a token, not enough.
        assert!(!budget.charge(0, t1 + Duration::from_millis(50)));
        assert!(budget.charge(0, t1 + Duration::from_millis(100)));
        // An hour later the bucket holds the burst, not an hour of refill.
        let later = t1 + Duration::from_secs(3600);
        for _ in 0..20 {
            assert!(budget.charge(0, later));
        }
        assert!(!budget.charge(0, later));
    }

    #[test]
    fn bytes_are_budgeted_separately_and_a_refused_message_takes_nothing() {
        let t0 = Instant::now();
        let mut budget = PeerBudget::new(RATES, t0);
        assert!(budget.charge(1_500, t0));
        // 500 bytes left: a 600-byte message is refused and takes no message token.
        assert!(!budget.charge(600, t0));
        assert_eq!(budget.available(), (19, 500));
        assert!(budget.charge(500, t0));
        assert!(!budget.charge(1, t0));
        // One second refills 1,000 bytes.
        assert!(budget.charge(1_000, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn absurd_sizes_and_rates_saturate_instead_of_overflowing() {
        let t0 = Instant::now();
        let rates = BudgetRates {
            messages_per_s: u64::MAX,
            bytes_per_s: u64::MAX,
            burst: Duration::MAX,
        };
        let mut budget = PeerBudget::new(rates, t0);
        assert!(budget.charge(usize::MAX, t0 + Duration::from_secs(1)));
        let mut small = PeerBudget::new(RATES, t0);
        assert!(!small.charge(usize::MAX, t0 + Duration::from_secs(3600)));
    }
}
