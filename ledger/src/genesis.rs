//! The genesis: the founding cooperatives and the initial rules.

use crate::bounds::ValidatorLimits;
use crate::fees::{default_fee_rules, FeeRule};
use crate::node_keys::{KeyJob, NodeKeyUse};
use crate::schedule::SettlementSchedule;
use crate::state::{Counters, Params, State, StateKey, StateValue};
use crate::types::{Amount, CoopId, Cooperative, TierLimits, COOP_NAME_BYTES_MAX};
use kopnet_primitives::{codec, Hash, PublicKey, CHAIN_ID_BYTES_MAX};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const GENESIS_HASH_CONTEXT: &str = "kopnet 2026 genesis v1";

/// Most cooperatives in a genesis (well inside
/// [`crate::bounds::PARTICIPANTS_MAX`], leaving room for governance to add).
pub const GENESIS_COOPERATIVES_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisCooperative {
    pub id: CoopId,
    pub name: String,
    /// The cooperative key: signs its ledger transactions (kept offline).
    pub key: PublicKey,
    pub voting_power: u64,
    pub ndc: Amount,
    /// Signs its consensus messages (on its node).
    pub validator_key: PublicKey,
    /// Its node's libp2p identity.
    pub node_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub cooperatives: Vec<GenesisCooperative>,
    pub fee_rules: Vec<FeeRule>,
    pub tier_limits: TierLimits,
    /// Net debit cap of the `network` pseudo-participant.
    pub network_ndc: Amount,
    /// When settlement windows close (default: every hour, on the hour).
    #[serde(default)]
    pub settlement: SettlementSchedule,
    /// The network's limits on its validator set (default:
    /// [`ValidatorLimits::default`]).
    #[serde(default)]
    pub validator_limits: ValidatorLimits,
    /// How long a member-key recovery waits, in ms of block time (default
    /// 24 hours; bounds in [`crate::recovery`]).
    #[serde(default = "default_recovery_wait_ms")]
    pub recovery_wait_ms: u64,
    /// The regulators' observer nodes admitted from the start
    /// ([`crate::observers`]; governance adds and removes them later).
    /// Left out of the genesis hash's bytes when empty, so a genesis
    /// without observers hashes as it did before observers were on the
    /// ledger.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observers: Vec<GenesisObserver>,
    /// What each tier may receive per month and do (default: Bank
    /// Indonesia's rules, [`crate::tiers`]).
    #[serde(default)]
    pub tier_rules: crate::tiers::TierRules,
    /// Most rupiah of one payment to a merchant (default Rp 10.000.000).
    #[serde(default = "default_qr_payment_cap")]
    pub qr_payment_cap: Amount,
    /// The daily sum of a member's cash transactions at or above which
    /// observers report it (default Rp500.000.000, [`crate::cash_reports`];
    /// a test network may set it lower). Left out of the genesis hash's
    /// bytes at the default, so a genesis that keeps it hashes as before.
    #[serde(
        default = "default_cash_report_threshold",
        skip_serializing_if = "is_default_cash_report_threshold"
    )]
    pub cash_report_threshold: Amount,
}

/// The network participant's default net debit cap: what the network fund
/// may owe the cooperatives between a settlement cut-off and the window's
/// settlement — cashback it pays ([`crate::incentives`]) and the fee shares
/// it gives back on refunds ([`crate::refunds`]) while its fee income of
/// the closed window is not settled yet.
pub const NETWORK_NDC_DEFAULT: Amount = 10_000_000;

fn default_cash_report_threshold() -> Amount {
    crate::cash_reports::CASH_REPORT_THRESHOLD_DEFAULT
}

fn is_default_cash_report_threshold(amount: &Amount) -> bool {
    *amount == crate::cash_reports::CASH_REPORT_THRESHOLD_DEFAULT
}

fn default_qr_payment_cap() -> Amount {
    crate::tiers::QR_PAYMENT_CAP_DEFAULT
}

/// An observer genesis registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisObserver {
    pub name: String,
    /// Its node identity.
    pub key: PublicKey,
}

fn default_recovery_wait_ms() -> u64 {
    crate::recovery::RECOVERY_WAIT_MS_DEFAULT
}

/// A genesis that cannot start a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("chain_id must be 1-32 bytes")]
    ChainId,
    #[error("cooperatives: at least one with voting power, at most 256")]
    CooperativeCount,
    #[error("cooperative {0}: duplicate id")]
    DuplicateId(String),
    /// A cooperative, validator or node key used twice anywhere in the
    /// genesis (one key never does two jobs), or weak.
    #[error("cooperative {0}: key used twice or weak")]
    BadKey(String),
    #[error("cooperative {0}: name must be 1-64 bytes")]
    Name(String),
    #[error("cooperative id \"network\" is reserved")]
    Reserved,
    #[error("fee rule {index}: {reason}")]
    FeeRule { index: usize, reason: String },
    #[error("total voting power is more than the limit of {max}")]
    Power { max: u64 },
    #[error("cooperative {id}: voting power {voting_power} is more than the limit of {max}")]
    VotingPower {
        id: String,
        voting_power: u64,
        max: u64,
    },
    #[error("{count} validators, more than the limit of {max}")]
    ValidatorCount { count: usize, max: u32 },
    #[error("validator limits: {0}")]
    ValidatorLimits(String),
    #[error("settlement schedule: {0}")]
    Schedule(String),
    #[error("tier limits: {0}")]
    TierLimits(String),
    #[error("recovery wait: {0}")]
    RecoveryWait(String),
    /// An observer's name breaks its format, its key is weak or used by
    /// anyone else in the genesis, or there are too many observers.
    #[error("observer {0}: {1}")]
    Observer(String, String),
}

impl Genesis {
    /// A genesis with the default fee rules and tier limits.
    pub fn new(chain_id: &str, cooperatives: Vec<GenesisCooperative>) -> Genesis {
        Genesis {
            chain_id: chain_id.to_string(),
            cooperatives,
            fee_rules: default_fee_rules(),
            tier_limits: TierLimits::default(),
            network_ndc: NETWORK_NDC_DEFAULT,
            settlement: SettlementSchedule::default(),
            validator_limits: ValidatorLimits::default(),
            recovery_wait_ms: default_recovery_wait_ms(),
            observers: Vec::new(),
            tier_rules: crate::tiers::TierRules::default(),
            qr_payment_cap: default_qr_payment_cap(),
            cash_report_threshold: default_cash_report_threshold(),
        }
    }

    pub fn hash(&self) -> Hash {
        match codec::encode(self) {
            Ok(bytes) => Hash::digest(GENESIS_HASH_CONTEXT, &bytes),
            Err(_) => Hash::ZERO,
        }
    }

    /// Every rule a genesis must keep; the same bounds governance keeps
    /// afterwards (see [`crate::bounds`]).
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id.is_empty() || self.chain_id.len() > CHAIN_ID_BYTES_MAX {
            return Err(GenesisError::ChainId);
        }
        let count = self.cooperatives.len();
        if count == 0 || count > GENESIS_COOPERATIVES_MAX {
            return Err(GenesisError::CooperativeCount);
        }
        let limits = self.validator_limits;
        limits
            .check()
            .map_err(|e| GenesisError::ValidatorLimits(e.to_string()))?;
        self.settlement.check().map_err(GenesisError::Schedule)?;
        crate::recovery::check_wait(self.recovery_wait_ms)
            .map_err(|e| GenesisError::RecoveryWait(e.to_string()))?;
        crate::governance::check_tier_limits(&self.tier_limits)
            .map_err(|e| GenesisError::TierLimits(e.to_string()))?;
        self.tier_rules
            .check()
            .map_err(|e| GenesisError::TierLimits(e.to_string()))?;
        crate::tiers::check_qr_payment_cap(self.qr_payment_cap)
            .map_err(|e| GenesisError::TierLimits(e.to_string()))?;
        crate::cash_reports::check_threshold(self.cash_report_threshold)
            .map_err(|e| GenesisError::TierLimits(e.to_string()))?;
        let mut ids = BTreeSet::new();
        let mut keys = BTreeSet::new();
        let mut power = 0u64;
        let mut validators = 0usize;
        for coop in &self.cooperatives {
            let id = coop.id.to_string();
            if coop.id.is_network() {
                return Err(GenesisError::Reserved);
            }
            if !ids.insert(coop.id.clone()) {
                return Err(GenesisError::DuplicateId(id));
            }
            for key in [coop.key, coop.validator_key, coop.node_key] {
                if !keys.insert(key) || key.validate().is_err() {
                    return Err(GenesisError::BadKey(id));
                }
            }
            if coop.name.is_empty() || coop.name.len() > COOP_NAME_BYTES_MAX {
                return Err(GenesisError::Name(id));
            }
            if coop.voting_power > limits.voting_power_max {
                return Err(GenesisError::VotingPower {
                    id,
                    voting_power: coop.voting_power,
                    max: limits.voting_power_max,
                });
            }
            validators += usize::from(coop.voting_power > 0);
            let max = limits.voting_power_total_max;
            power = power
                .checked_add(coop.voting_power)
                .filter(|total| *total <= max)
                .ok_or(GenesisError::Power { max })?;
        }
        if power == 0 {
            return Err(GenesisError::CooperativeCount);
        }
        if self.observers.len() > crate::observers::OBSERVERS_MAX {
            return Err(GenesisError::Observer(
                format!("#{}", self.observers.len()),
                format!("at most {} observers", crate::observers::OBSERVERS_MAX),
            ));
        }
        for observer in &self.observers {
            let bad = |why: String| GenesisError::Observer(observer.name.clone(), why);
            crate::observers::check_name_format(&observer.name).map_err(|e| bad(e.to_string()))?;
            if observer.key.validate().is_err() {
                return Err(bad("weak key".into()));
            }
            if !keys.insert(observer.key) {
                return Err(bad("key used twice".into()));
            }
        }
        let validators_max = limits.validators_max;
        if u32::try_from(validators).map_or(true, |v| v > validators_max) {
            return Err(GenesisError::ValidatorCount {
                count: validators,
                max: validators_max,
            });
        }
        if self.fee_rules.len() > crate::tx::FEE_RULES_MAX {
            return Err(GenesisError::FeeRule {
                index: crate::tx::FEE_RULES_MAX,
                reason: format!("more than {} rules", crate::tx::FEE_RULES_MAX),
            });
        }
        for (index, rule) in self.fee_rules.iter().enumerate() {
            rule.validate()
                .map_err(|reason| GenesisError::FeeRule { index, reason })?;
        }
        Ok(())
    }

    /// The state at height 0.
    pub fn initial_state(&self) -> Result<State, GenesisError> {
        self.validate()?;
        let mut state = State::default();
        let mut participants: Vec<CoopId> =
            self.cooperatives.iter().map(|c| c.id.clone()).collect();
        participants.push(CoopId::network());
        participants.sort();
        state.insert(
            StateKey::Params,
            StateValue::Params(Params {
                chain_id: self.chain_id.clone(),
                fee_rules: self.fee_rules.clone(),
                tier_limits: self.tier_limits,
                participants,
                settlement: self.settlement,
                validator_limits: self.validator_limits,
                recovery_wait_ms: self.recovery_wait_ms,
                tier_rules: self.tier_rules,
                qr_payment_cap: self.qr_payment_cap,
                refund_period_ms: crate::refunds::REFUND_PERIOD_MS_DEFAULT,
                cash_report_threshold: self.cash_report_threshold,
                protocol_version: crate::upgrades::GENESIS_PROTOCOL_VERSION,
                upgrade: None,
            }),
        );
        state.insert(
            StateKey::Counters,
            StateValue::Counters(Counters::default()),
        );
        let network = Cooperative::new(
            CoopId::network(),
            "kopnet network fund".into(),
            None,
            0,
            self.network_ndc,
        );
        state.insert(
            StateKey::Cooperative(network.id.clone()),
            StateValue::Cooperative(network),
        );
        if !self.observers.is_empty() {
            state.insert(
                StateKey::Observers,
                StateValue::Observers(crate::observers::at_genesis(&self.observers)),
            );
        }
        for coop in &self.cooperatives {
            state.insert(
                StateKey::CoopKey(coop.key),
                StateValue::CoopKey(coop.id.clone()),
            );
            for (job, key) in [
                (KeyJob::Validator, coop.validator_key),
                (KeyJob::Node, coop.node_key),
            ] {
                state.insert(
                    StateKey::NodeKey(key),
                    StateValue::NodeKey(NodeKeyUse {
                        coop: coop.id.clone(),
                        job,
                    }),
                );
            }
            let mut record = Cooperative::new(
                coop.id.clone(),
                coop.name.clone(),
                Some(coop.key),
                coop.voting_power,
                coop.ndc,
            );
            record.validator_key = Some(coop.validator_key);
            record.node_key = Some(coop.node_key);
            state.insert(
                StateKey::Cooperative(coop.id.clone()),
                StateValue::Cooperative(record),
            );
        }
        Ok(state)
    }
}
