//! The demo's cashback programme: at setup the cooperatives vote it in
//! (the first cooperative proposes `CreateIncentive`, every other one
//! approves; the driver holds every cooperative key), and the run reports
//! what it paid (`GET /v1/incentives`).
//!
//! [`DEMO_CASHBACK`]: 1 % of every payment to a merchant of another
//! cooperative (any class), at most Rp5.000 per member per month, a budget
//! of Rp5.000.000, ending 30 days of block time after setup. The ledger
//! pays it from the network fund (fed by the network's share of the fees),
//! within the network's net debit cap (`network_ndc` in the genesis: the
//! default, [`kopnet_ledger::genesis::NETWORK_NDC_DEFAULT`], lets the fund
//! pay between a cut-off and its settlement), in the payment's block.
//!
//! The budgets ([`super::budget`]) count, for every payment that may earn
//! it, the most it can pay the payer ([`CashbackTerms::most`]) on the
//! payer's `high` bound and incoming money, so no top-up is planned past a
//! cap because of cashback.

use super::incoming::wall_clock_ms;
use super::{Traffic, TrafficError};
use kopnet_ledger::incentives::IncentiveTerms;
use kopnet_ledger::{Action, GovAction};
use serde_json::{json, Value};
use std::time::Duration;

/// What the driver knows of a live programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashbackTerms {
    /// Cashback in basis points of the payment.
    pub bps: u32,
    /// Most cashback per member per month.
    pub member_monthly_cap: u64,
    /// Only payments to another cooperative's merchant earn it.
    pub cross_only: bool,
}

/// The programme `kopnet testnet up` and the bench vote in.
pub const DEMO_CASHBACK: CashbackTerms = CashbackTerms {
    bps: 100,
    member_monthly_cap: 5_000,
    cross_only: true,
};
/// Its name on the ledger.
const DEMO_CASHBACK_NAME: &str = "Cashback belanja lintas koperasi";
/// Its budget: Rp5.000.000.
const DEMO_CASHBACK_BUDGET: u64 = 5_000_000;
/// It ends this long after setup (block time ≈ wall clock): 30 days.
const DEMO_CASHBACK_LASTS_MS: u64 = 30 * 24 * 60 * 60 * 1_000;
/// How long the proposal and each approval get to commit.
const VOTE_COMMIT_TIMEOUT: Duration = Duration::from_secs(60);

impl CashbackTerms {
    /// The most cashback a payment of `amount` to a merchant may earn its
    /// payer (`cross`: the merchant is homed at another cooperative).
    pub fn most(&self, amount: u64, cross: bool) -> u64 {
        if self.cross_only && !cross {
            return 0;
        }
        let earned = u128::from(amount) * u128::from(self.bps) / 10_000;
        u64::try_from(earned)
            .unwrap_or(u64::MAX)
            .min(self.member_monthly_cap)
    }

    /// The terms proposed, ending at `ends_at_ms`.
    fn incentive(&self, ends_at_ms: u64) -> IncentiveTerms {
        IncentiveTerms {
            name: DEMO_CASHBACK_NAME.to_string(),
            bps: self.bps,
            member_monthly_cap: self.member_monthly_cap,
            budget: DEMO_CASHBACK_BUDGET,
            ends_at_ms,
            cross_only: self.cross_only,
            classes: Vec::new(),
        }
    }
}

impl Traffic {
    /// Vote in [`DEMO_CASHBACK`]: the first cooperative proposes, every
    /// other approves (an approval after the programme passed, or by a
    /// cooperative without voting power, is refused and changes nothing);
    /// then the programme must be live. Every cooperative's nonces start
    /// again from its node's view afterwards.
    pub(super) async fn vote_in_cashback(&mut self) -> Result<(), TrafficError> {
        let first = self.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        let proposals = first
            .node
            .get("/v1/proposals?limit=1")
            .await
            .map_err(|e| first.node_error(e))?;
        let proposal = proposals["next_id"].as_u64().unwrap_or(0);
        let terms = DEMO_CASHBACK.incentive(wall_clock_ms().saturating_add(DEMO_CASHBACK_LASTS_MS));
        let propose = Action::Propose {
            action: GovAction::CreateIncentive { terms },
        };
        self.vote(0, propose, true).await?;
        for c in 1..self.coops.len() {
            if self.cashback_live().await? {
                break;
            }
            self.vote(c, Action::Approve { proposal }, false).await?;
        }
        for coop in &self.coops {
            coop.resync_from_node().await?;
            coop.idle()?;
        }
        if !self.cashback_live().await? {
            return Err(TrafficError::SetupRejected {
                coop: first.id.to_string(),
                hash: format!("proposal {proposal}"),
                code: "cashback programme not live".into(),
            });
        }
        self.cashback = Some(DEMO_CASHBACK);
        Ok(())
    }

    /// Sign `action` with cooperative `c`'s key, submit and wait for it;
    /// with `must`, anything but applied is an error.
    async fn vote(&self, c: usize, action: Action, must: bool) -> Result<(), TrafficError> {
        let coop = self.coops.get(c).ok_or(TrafficError::NoSuchCoop(c))?;
        let tx = self
            .sign_coop(c, action)
            .ok_or_else(|| TrafficError::Sign {
                coop: coop.id.to_string(),
            })?;
        let hash = match coop.node.submit(&tx).await {
            Ok(hash) => hash,
            Err(_) if !must => return Ok(()),
            Err(e) => return Err(coop.node_error(e)),
        };
        let outcome = coop
            .node
            .wait(&hash, VOTE_COMMIT_TIMEOUT)
            .await
            .map_err(|e| coop.node_error(e))?;
        if must && !outcome.ok() {
            return Err(TrafficError::SetupRejected {
                coop: coop.id.to_string(),
                hash: hash.to_hex(),
                code: outcome.code,
            });
        }
        Ok(())
    }

    /// Whether the demo's programme is on the ledger and paying.
    async fn cashback_live(&self) -> Result<bool, TrafficError> {
        let list = self.incentives().await?;
        Ok(list["programmes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == DEMO_CASHBACK_NAME && p["live"] == true))
    }

    async fn incentives(&self) -> Result<Value, TrafficError> {
        let coop = self.coops.first().ok_or(TrafficError::NoSuchCoop(0))?;
        coop.node
            .get("/v1/incentives")
            .await
            .map_err(|e| coop.node_error(e))
    }

    /// What every cashback programme paid so far, as the summary shows it:
    /// `{"programmes", "payments", "paid", "members_reached"}`.
    pub async fn cashback_summary(&self) -> Result<Value, TrafficError> {
        let list = self.incentives().await?;
        let programmes = list["programmes"].as_array().cloned().unwrap_or_default();
        let sum = |field: &str| -> u64 {
            programmes
                .iter()
                .map(|p| p[field].as_u64().unwrap_or(0))
                .fold(0u64, u64::saturating_add)
        };
        Ok(json!({
            "programmes": programmes.len(),
            "payments": sum("payments"),
            "paid": sum("paid"),
            "members_reached": sum("members_reached"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_cashback_follows_the_rate_the_cap_and_the_scope() {
        // 1 % of Rp150.000, rounded down like the ledger's.
        assert_eq!(DEMO_CASHBACK.most(150_000, true), 1_500);
        assert_eq!(DEMO_CASHBACK.most(150_099, true), 1_500);
        // Never above the member's monthly cap.
        assert_eq!(DEMO_CASHBACK.most(2_000_000, true), 5_000);
        // On-us payments do not earn it.
        assert_eq!(DEMO_CASHBACK.most(150_000, false), 0);
        let terms = DEMO_CASHBACK.incentive(1_000);
        assert_eq!(terms.check_format(), Ok(()));
        assert_eq!(terms.budget, 5_000_000);
    }
}
