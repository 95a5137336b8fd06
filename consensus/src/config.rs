//! Engine configuration: chain id, timeouts, bounds.

use crate::quorum::QuorumRule;
use crate::state_machine::TimeoutStep;
use crate::types::Round;
use kopnet_primitives::CHAIN_ID_BYTES_MAX;
use serde::{Deserialize, Serialize};

/// Per-step timeouts. A timeout in round `r` lasts `base + r * delta_ms`, so
/// rounds get longer until messages get through after the network stabilises.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TimeoutConfig {
    pub propose_ms: u64,
    pub prevote_ms: u64,
    pub precommit_ms: u64,
    /// Added per round to each of the three above.
    pub delta_ms: u64,
    /// When no transactions arrive, the longest wait before round 0 of a
    /// height starts anyway (and the proposer proposes an empty block).
    pub empty_block_interval_ms: u64,
    /// When transactions are waiting, the shortest time from the start of
    /// a height (the commit of the one before, as this node saw it) to its
    /// round 0: a busy network makes at most one block per interval, so
    /// the work every block costs whatever it holds (votes and their
    /// signatures, the safety record's fsync, the store's commit) is not
    /// paid for a handful of transactions. 0: round 0 starts as soon as
    /// transactions are there. Like CometBFT's `timeout_commit`.
    pub block_interval_min_ms: u64,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            propose_ms: 3_000,
            prevote_ms: 1_000,
            precommit_ms: 1_000,
            delta_ms: 500,
            empty_block_interval_ms: 5_000,
            block_interval_min_ms: 0,
        }
    }
}

impl TimeoutConfig {
    /// How long the timeout of `step` lasts in `round`.
    pub fn duration_ms(&self, step: TimeoutStep, round: Round) -> u64 {
        let base = match step {
            TimeoutStep::EmptyBlock => return self.empty_block_interval_ms,
            TimeoutStep::BlockInterval => return self.block_interval_min_ms,
            TimeoutStep::Propose => self.propose_ms,
            TimeoutStep::Prevote => self.prevote_ms,
            TimeoutStep::Precommit => self.precommit_ms,
        };
        base.saturating_add(self.delta_ms.saturating_mul(u64::from(round)))
    }
}

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("chain id is empty")]
    EmptyChainId,
    #[error("chain id is {len} bytes, more than {CHAIN_ID_BYTES_MAX}")]
    ChainIdTooLong { len: usize },
}

/// Everything the engine needs besides its key and the validator set.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EngineConfig {
    chain_id: String,
    pub timeouts: TimeoutConfig,
    /// The largest proposal value accepted from the network, in bytes.
    pub value_bytes_max: usize,
    /// Messages buffered for the next height while this one finishes.
    pub future_messages_max: usize,
    /// Test-only: the quorum threshold. Anything but the default is unsafe.
    #[doc(hidden)]
    pub quorum_rule: QuorumRule,
}

impl EngineConfig {
    pub fn new(chain_id: &str) -> Result<Self, ConfigError> {
        if chain_id.is_empty() {
            return Err(ConfigError::EmptyChainId);
        }
        if chain_id.len() > CHAIN_ID_BYTES_MAX {
            return Err(ConfigError::ChainIdTooLong {
                len: chain_id.len(),
            });
        }
        Ok(EngineConfig {
            chain_id: chain_id.to_string(),
            timeouts: TimeoutConfig::default(),
            value_bytes_max: 4 * 1024 * 1024,
            future_messages_max: 1024,
            quorum_rule: QuorumRule::Bft,
        })
    }

    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Bytes the next height's buffer may hold: two proposals of the
    /// largest value (round 0 and one more) and every vote slot.
    pub fn future_bytes_max(&self) -> usize {
        self.value_bytes_max.saturating_mul(2).saturating_add(
            self.future_messages_max
                .saturating_mul(crate::future::MESSAGE_OVERHEAD_BYTES),
        )
    }
}
