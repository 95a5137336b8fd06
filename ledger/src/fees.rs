//! Fee rules: data set by governance, turned into extra transfer legs.
//!
//! A rule applies to one kind of transaction in one scope (on-us: payer and
//! payee homed at the same cooperative; cross: different cooperatives) and
//! moves `fee = clamp(fixed + floor(amount * bps / 10_000), min, max)` from one
//! party to another. Rounding is always down, so every node computes the same
//! rupiah.

use crate::rejection::Rejection;
use crate::tx::FEE_RULES_MAX;
use crate::types::Amount;
use serde::{Deserialize, Serialize};

/// The transaction kinds fees can apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FeeKind {
    /// A payment to an account of kind `member`.
    PaymentToMember,
    /// A payment to a merchant.
    PaymentToMerchant,
    CashIn,
    CashOut,
}

/// Whether the two cooperatives involved are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeeScope {
    OnUs,
    Cross,
    Any,
}

impl FeeScope {
    fn matches(self, cross: bool) -> bool {
        match self {
            FeeScope::OnUs => !cross,
            FeeScope::Cross => cross,
            FeeScope::Any => true,
        }
    }
}

/// Who pays or receives a fee leg.
///
/// For payments: payer = the paying member, payee = the receiving account.
/// For cash-in and cash-out: payer = the member; `Payee` is not allowed.
/// `AgentCoop` is only allowed for cash-in and cash-out (the counter cooperative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeeParty {
    Payer,
    Payee,
    PayerCoop,
    PayeeCoop,
    AgentCoop,
    NetworkFund,
}

/// One fee leg, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRule {
    pub kind: FeeKind,
    pub scope: FeeScope,
    pub from: FeeParty,
    pub to: FeeParty,
    /// Basis points of the principal (1 bp = 0.01 %).
    pub bps: u32,
    pub fixed: Amount,
    pub min: Amount,
    /// `None` means no upper bound.
    pub max: Option<Amount>,
}

/// Largest basis points a rule may charge (10 %).
pub const FEE_BPS_MAX: u32 = 1_000;
/// Largest fixed fee, minimum or maximum a rule may name (Rp 10.000.000,
/// the registered tier's default balance cap): a rule past it could only
/// make every transaction of its kind fail.
pub const FEE_AMOUNT_MAX: Amount = 10_000_000;

impl FeeRule {
    pub fn applies(&self, kind: FeeKind, cross: bool) -> bool {
        self.kind == kind && self.scope.matches(cross)
    }

    /// The fee in rupiah for a principal of `amount`, or `None` on overflow.
    pub fn fee(&self, amount: Amount) -> Option<Amount> {
        let proportional = u128::from(amount)
            .checked_mul(u128::from(self.bps))?
            .checked_div(10_000)?;
        let raw = u128::from(self.fixed).checked_add(proportional)?;
        let raw = Amount::try_from(raw).ok()?;
        let raw = raw.max(self.min);
        Some(match self.max {
            Some(max) => raw.min(max),
            None => raw,
        })
    }

    /// Check the rule is meaningful for its kind.
    pub fn validate(&self) -> Result<(), String> {
        let cash = matches!(self.kind, FeeKind::CashIn | FeeKind::CashOut);
        let uses = |p: FeeParty| self.from == p || self.to == p;
        if self.from == self.to {
            return Err("fee rule pays itself".into());
        }
        if cash && uses(FeeParty::Payee) {
            return Err("cash fees cannot name the payee".into());
        }
        if cash && uses(FeeParty::PayeeCoop) {
            return Err("cash fees cannot name the payee's cooperative".into());
        }
        if !cash && uses(FeeParty::AgentCoop) {
            return Err("payment fees cannot name an agent cooperative".into());
        }
        if self.bps > FEE_BPS_MAX {
            return Err(format!("bps above {FEE_BPS_MAX}"));
        }
        let amounts = [Some(self.fixed), Some(self.min), self.max];
        if amounts.into_iter().flatten().any(|a| a > FEE_AMOUNT_MAX) {
            return Err(format!(
                "fixed, min and max must be at most {FEE_AMOUNT_MAX}"
            ));
        }
        if matches!(self.max, Some(max) if max < self.min) {
            return Err("max below min".into());
        }
        Ok(())
    }
}

/// A whole list of rules as governance installs it: at most
/// [`FEE_RULES_MAX`] rules, each valid (`invalid_fee_rule` names the first
/// that is not).
pub fn check_rules(rules: &[FeeRule]) -> Result<(), Rejection> {
    if rules.len() > FEE_RULES_MAX {
        return Err(Rejection::InvalidFeeRule {
            index: u64::try_from(FEE_RULES_MAX).unwrap_or(u64::MAX),
            reason: format!("more than {FEE_RULES_MAX} rules"),
        });
    }
    for (index, rule) in rules.iter().enumerate() {
        rule.validate()
            .map_err(|reason| Rejection::InvalidFeeRule {
                index: u64::try_from(index).unwrap_or(u64::MAX),
                reason,
            })?;
    }
    Ok(())
}

/// The defaults that tell the story:
/// * cross-cooperative merchant payment: 0.7 % merchant discount (like QRIS),
///   0.3 % to each cooperative and 0.1 % to the network fund;
/// * cash-out at another cooperative's counter: Rp 2.500 to the agent and
///   Rp 1.000 to the member's home cooperative;
/// * cash-in at another cooperative's counter: Rp 1.000 to the agent;
/// * on-us payments and member-to-member payments: free.
pub fn default_fee_rules() -> Vec<FeeRule> {
    let rule = |kind, scope, from, to, bps, fixed| FeeRule {
        kind,
        scope,
        from,
        to,
        bps,
        fixed,
        min: 0,
        max: None,
    };
    use FeeKind::*;
    use FeeParty::*;
    vec![
        rule(PaymentToMerchant, FeeScope::Cross, Payee, PayeeCoop, 30, 0),
        rule(PaymentToMerchant, FeeScope::Cross, Payee, PayerCoop, 30, 0),
        rule(
            PaymentToMerchant,
            FeeScope::Cross,
            Payee,
            NetworkFund,
            10,
            0,
        ),
        rule(CashOut, FeeScope::Cross, Payer, AgentCoop, 0, 2_500),
        rule(CashOut, FeeScope::Cross, Payer, PayerCoop, 0, 1_000),
        rule(CashIn, FeeScope::Cross, Payer, AgentCoop, 0, 1_000),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_down_and_clamps() {
        let mut rule = default_fee_rules()[0].clone();
        assert_eq!(rule.fee(25_000), Some(75));
        assert_eq!(rule.fee(333), Some(0)); // 0.999 rounds down
        rule.min = 10;
        rule.max = Some(50);
        assert_eq!(rule.fee(333), Some(10));
        assert_eq!(rule.fee(25_000), Some(50));
        rule.fixed = u64::MAX;
        rule.max = None;
        assert_eq!(rule.fee(u64::MAX), None);
    }

    #[test]
    fn defaults_validate() {
        for rule in default_fee_rules() {
            rule.validate().unwrap();
        }
        check_rules(&default_fee_rules()).unwrap();
    }

    #[test]
    fn unusable_rules_are_refused_with_their_index() {
        let mut rules = default_fee_rules();
        rules[2].fixed = FEE_AMOUNT_MAX + 1;
        let err = check_rules(&rules).unwrap_err();
        assert_eq!(err.code(), "invalid_fee_rule");
        assert!(matches!(err, Rejection::InvalidFeeRule { index: 2, .. }));
        rules[2].fixed = 0;
        rules[3].max = Some(u64::MAX);
        assert!(check_rules(&rules).is_err());
        let too_many = vec![default_fee_rules()[0].clone(); FEE_RULES_MAX + 1];
        assert_eq!(
            check_rules(&too_many).unwrap_err().code(),
            "invalid_fee_rule"
        );
    }
}
