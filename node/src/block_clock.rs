//! The clock block headers are stamped and checked with.
//!
//! A real node uses its wall clock. A fault-injection build may run a
//! faster one (`KOPNET_BLOCK_CLOCK=EPOCH_MS:SPEEDUP`): block time is
//! `EPOCH + (now - EPOCH) × SPEEDUP`, the same on every node of one host
//! that is given the same variable, so a ten-minute bench passes days of
//! block time — days expire the payment records kept by day, and a
//! pruning node's disk use can be seen to turn over
//! (`kopnet bench --block-clock-speedup`). Only block headers' time runs
//! fast: consensus timeouts keep the real clock. A build without fault
//! injection refuses the variable.

/// The variable a fault-injection build reads.
pub const BLOCK_CLOCK_ENV: &str = "KOPNET_BLOCK_CLOCK";
/// The fastest block clock allowed.
pub const SPEEDUP_MAX: u64 = 100_000;

/// How block time follows the node's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockClock {
    #[default]
    Real,
    /// `epoch_ms + (now − epoch_ms) × speedup`.
    Fast { epoch_ms: u64, speedup: u64 },
}

impl BlockClock {
    /// Block time at the node's time `now_ms`.
    pub fn at(&self, now_ms: u64) -> u64 {
        match *self {
            BlockClock::Real => now_ms,
            BlockClock::Fast { epoch_ms, speedup } => {
                epoch_ms.saturating_add(now_ms.saturating_sub(epoch_ms).saturating_mul(speedup))
            }
        }
    }

    /// `EPOCH_MS:SPEEDUP`, as the variable holds it.
    pub fn parse(text: &str) -> Result<BlockClock, String> {
        let bad = || format!("{BLOCK_CLOCK_ENV}={text:?}: expected EPOCH_MS:SPEEDUP");
        let (epoch, speedup) = text.trim().split_once(':').ok_or_else(bad)?;
        let epoch_ms: u64 = epoch.parse().map_err(|_| bad())?;
        let speedup: u64 = speedup.parse().map_err(|_| bad())?;
        if !(1..=SPEEDUP_MAX).contains(&speedup) {
            return Err(format!(
                "{BLOCK_CLOCK_ENV}: speedup {speedup} is not between 1 and {SPEEDUP_MAX}"
            ));
        }
        Ok(BlockClock::Fast { epoch_ms, speedup })
    }

    /// The clock this process runs: the variable's in a fault-injection
    /// build, else the real one.
    pub fn from_env() -> Result<BlockClock, String> {
        #[cfg(feature = "fault-injection")]
        if let Some(text) = std::env::var(BLOCK_CLOCK_ENV)
            .ok()
            .filter(|v| !v.is_empty())
        {
            return BlockClock::parse(&text);
        }
        Ok(BlockClock::Real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_runs_from_its_epoch_and_refuses_nonsense() {
        assert_eq!(BlockClock::Real.at(1_234), 1_234);
        let fast = BlockClock::parse("1000:60").unwrap();
        assert_eq!(fast.at(1_000), 1_000);
        assert_eq!(fast.at(1_001), 1_060);
        assert_eq!(fast.at(2_000), 61_000);
        assert_eq!(fast.at(999), 1_000, "never before its epoch");
        for bad in ["", "1000", "x:2", "1000:0", "1000:100001", "1000:-1"] {
            assert!(BlockClock::parse(bad).is_err(), "{bad}");
        }
    }
}
