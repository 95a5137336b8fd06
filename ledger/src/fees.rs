//! Fee rules: data set by governance, turned into extra transfer legs.
//!
//! A rule applies to one kind of transaction in one scope (on-us: payer and
//! payee homed at the same cooperative; cross: different cooperatives), for
//! payments to merchants optionally to some merchant classes only
//! ([`MerchantClass`]), and to principals in a band (`band_min ..=
//! band_max`, both inclusive); it moves `fee = clamp(fixed + floor(amount *
//! bps / 10_000), min, max)` from one party to another. Rounding is always
//! down, so every node computes the same rupiah.
//!
//! **The merchant discount rate (MDR)** is the sum of the rules that apply
//! to a payment to a merchant: each rule is one share of it, paid by the
//! merchant (`Payee`) to the payer's cooperative (the issuer), the
//! merchant's cooperative (the acquirer) or the network fund. The payer pays
//! no surcharge. On-us payments follow the same schedule (issuer and
//! acquirer are then the same cooperative and receive both shares). The
//! defaults ([`default_fee_rules`]) follow QRIS's MDR by merchant class
//! (Bank Indonesia, PADG 24/2022 and the December 2023 change for micro
//! merchants), split issuer : acquirer : network about 3 : 3 : 1:
//!
//! | class | MDR | issuer | acquirer | network |
//! |---|---|---|---|---|
//! | micro, up to Rp500.000 | 0 % | – | – | – |
//! | micro, above Rp500.000 | 0,3 % | 0,13 % | 0,13 % | 0,04 % |
//! | small, medium, large | 0,7 % | 0,3 % | 0,3 % | 0,1 % |
//! | fuel, public service | 0,4 % | 0,17 % | 0,17 % | 0,06 % |
//! | education | 0,6 % | 0,26 % | 0,26 % | 0,08 % |
//! | government (aid, taxes), donations | 0 % | – | – | – |
//!
//! Each share rounds down on its own, so a payment's MDR may be up to Rp 2
//! below the rate times the amount, never above; a micro merchant's payment
//! of exactly Rp500.000 is free, one of Rp500.001 pays 0,3 % of the whole
//! amount (Rp650 + Rp650 + Rp200 = Rp1.500).

use crate::rejection::Rejection;
use crate::tx::FEE_RULES_MAX;
use crate::types::{Amount, MerchantClass};
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
    /// The merchant classes the rule applies to (payments to merchants
    /// only); empty: every class.
    #[serde(default)]
    pub classes: Vec<MerchantClass>,
    /// The smallest principal the rule applies to.
    #[serde(default)]
    pub band_min: Amount,
    /// The largest principal the rule applies to; `None`: no upper end.
    #[serde(default)]
    pub band_max: Option<Amount>,
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

/// What selects the fee rules of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeCase {
    pub kind: FeeKind,
    /// Whether the two cooperatives involved differ.
    pub cross: bool,
    /// The merchant's class (payments to merchants only).
    pub class: Option<MerchantClass>,
    /// The principal.
    pub amount: Amount,
}

impl FeeRule {
    /// Whether the rule applies to `case`.
    pub fn applies(&self, case: &FeeCase) -> bool {
        self.kind == case.kind
            && self.scope.matches(case.cross)
            && (self.classes.is_empty()
                || case
                    .class
                    .is_some_and(|class| self.classes.contains(&class)))
            && case.amount >= self.band_min
            && self.band_max.is_none_or(|max| case.amount <= max)
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
        if !self.classes.is_empty() && self.kind != FeeKind::PaymentToMerchant {
            return Err("merchant classes apply to payments to merchants only".into());
        }
        let distinct: std::collections::BTreeSet<_> = self.classes.iter().collect();
        if distinct.len() != self.classes.len() {
            return Err("a merchant class named twice".into());
        }
        if matches!(self.band_max, Some(max) if max < self.band_min) {
            return Err("band_max below band_min".into());
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
/// * payments to merchants, on-us and across cooperatives: QRIS's MDR by
///   merchant class (the table in the module doc), paid by the merchant;
/// * cash-out at another cooperative's counter: Rp 2.500 to the agent and
///   Rp 1.000 to the member's home cooperative;
/// * cash-in at another cooperative's counter: Rp 1.000 to the agent;
/// * member-to-member payments: free.
pub fn default_fee_rules() -> Vec<FeeRule> {
    use FeeKind::*;
    use FeeParty::*;
    use MerchantClass::*;
    let cash = |kind, from, to, fixed| FeeRule {
        kind,
        scope: FeeScope::Cross,
        classes: Vec::new(),
        band_min: 0,
        band_max: None,
        from,
        to,
        bps: 0,
        fixed,
        min: 0,
        max: None,
    };
    // One MDR: the issuer's, the acquirer's and the network's shares.
    let mdr = |classes: &[MerchantClass], band_min, shares: [u32; 3]| {
        [PayerCoop, PayeeCoop, NetworkFund]
            .into_iter()
            .zip(shares)
            .map(move |(to, bps)| FeeRule {
                kind: PaymentToMerchant,
                scope: FeeScope::Any,
                classes: classes.to_vec(),
                band_min,
                band_max: None,
                from: Payee,
                to,
                bps,
                fixed: 0,
                min: 0,
                max: None,
            })
            .collect::<Vec<_>>()
    };
    let mut rules = Vec::new();
    rules.extend(mdr(&[Micro], MICRO_FREE_UP_TO + 1, [13, 13, 4]));
    rules.extend(mdr(&[Small, Medium, Large], 0, [30, 30, 10]));
    rules.extend(mdr(&[Fuel, PublicService], 0, [17, 17, 6]));
    rules.extend(mdr(&[Education], 0, [26, 26, 8]));
    rules.push(cash(CashOut, Payer, AgentCoop, 2_500));
    rules.push(cash(CashOut, Payer, PayerCoop, 1_000));
    rules.push(cash(CashIn, Payer, AgentCoop, 1_000));
    rules
}

/// Payments to micro merchants up to this amount pay no MDR (QRIS, from
/// December 2023).
pub const MICRO_FREE_UP_TO: Amount = 500_000;

/// The fee a rule list takes for `case`: `(paid by the payer and its
/// cooperative, paid by the payee)`, or `None` on overflow.
pub fn fee_totals(rules: &[FeeRule], case: &FeeCase) -> Option<(Amount, Amount)> {
    let (mut payer, mut payee): (Amount, Amount) = (0, 0);
    for rule in rules.iter().filter(|r| r.applies(case)) {
        let fee = rule.fee(case.amount)?;
        match rule.from {
            FeeParty::Payer | FeeParty::PayerCoop => payer = payer.checked_add(fee)?,
            FeeParty::Payee | FeeParty::PayeeCoop => payee = payee.checked_add(fee)?,
            FeeParty::AgentCoop | FeeParty::NetworkFund => {}
        }
    }
    Some((payer, payee))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_down_and_clamps() {
        // The small-merchant issuer share: 30 bps.
        let mut rule = default_fee_rules()[3].clone();
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
    fn each_class_and_band_pays_its_mdr() {
        let rules = default_fee_rules();
        let merchant = |class, amount| {
            fee_totals(
                &rules,
                &FeeCase {
                    kind: FeeKind::PaymentToMerchant,
                    cross: true,
                    class: Some(class),
                    amount,
                },
            )
            .unwrap()
        };
        use MerchantClass::*;
        // Rp 1.000.000 at 0,7 %: 3.000 + 3.000 + 1.000.
        for class in [Small, Medium, Large] {
            assert_eq!(merchant(class, 1_000_000), (0, 7_000));
        }
        // Micro: free up to Rp 500.000, then 0,3 % of the whole amount.
        assert_eq!(merchant(Micro, 500_000), (0, 0));
        // 500.001 * 13 / 10.000 = 650.0013 -> 650 (twice); * 4 -> 200.
        assert_eq!(merchant(Micro, 500_001), (0, 1_500));
        // Fuel and public service 0,4 %: 1.700 + 1.700 + 600.
        assert_eq!(merchant(Fuel, 1_000_000), (0, 4_000));
        assert_eq!(merchant(PublicService, 1_000_000), (0, 4_000));
        // Education 0,6 %: 2.600 + 2.600 + 800.
        assert_eq!(merchant(Education, 1_000_000), (0, 6_000));
        assert_eq!(merchant(Government, 1_000_000), (0, 0));
        assert_eq!(merchant(Donation, 1_000_000), (0, 0));
        // On-us follows the same schedule.
        let on_us = FeeCase {
            kind: FeeKind::PaymentToMerchant,
            cross: false,
            class: Some(Small),
            amount: 1_000_000,
        };
        assert_eq!(fee_totals(&rules, &on_us), Some((0, 7_000)));
        // A member-to-member payment is free.
        let to_member = FeeCase {
            kind: FeeKind::PaymentToMember,
            cross: true,
            class: None,
            amount: 1_000_000,
        };
        assert_eq!(fee_totals(&rules, &to_member), Some((0, 0)));
    }

    #[test]
    fn classes_and_bands_are_checked() {
        let mut rule = default_fee_rules()[0].clone();
        rule.classes = vec![MerchantClass::Micro, MerchantClass::Micro];
        assert!(rule.validate().is_err());
        rule.classes = vec![MerchantClass::Micro];
        rule.band_max = Some(rule.band_min - 1);
        assert!(rule.validate().is_err());
        let mut cash = default_fee_rules().pop().unwrap();
        cash.classes = vec![MerchantClass::Small];
        assert!(cash.validate().is_err());
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
