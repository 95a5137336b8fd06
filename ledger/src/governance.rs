//! Governance: validator cooperatives propose and approve changes to the
//! network. An action executes in the block where approvals first reach more
//! than two thirds of the current total voting power (2/3 exactly is not
//! enough). A failed execution changes nothing but the proposal's status.
//!
//! No action may leave a network the chain cannot run. Every proposal is
//! checked when it is made — against its own bounds and the network's
//! limits ([`check_action`]) and for the validator set and participant list
//! it would leave if it executed now ([`check_outcome`]) — and rejected with
//! a typed code if it fails (it is never opened). When it executes, the
//! state may have changed since (other proposals, cooperatives removed), so
//! the action runs in a nested overlay and the whole network it leaves is
//! checked again ([`check_network`]); if that fails, the proposal is
//! `Failed` with the code and reason, and nothing else changes. The bounds
//! themselves are in [`crate::bounds`] (validator sets, participants),
//! [`crate::fees`] (fee rules), [`crate::schedule`] (settlement cut-offs)
//! and [`check_tier_limits`] (balance caps).

use crate::bounds::{self, ValidatorLimits};
use crate::fees;
use crate::legs::{self, LegKind};
use crate::node_keys::{self, KeyJob};
pub use crate::proposal::{Proposal, ProposalStatus};
use crate::rejection::Rejection;
use crate::state::{Overlay, Params, StateKey, StateRead, StateValue};
use crate::tx::GovAction;
use crate::types::{AccountId, AccountStatus, Amount, CoopId, Cooperative, TierLimits};
use kopnet_primitives::PublicKey;
use std::collections::BTreeSet;

/// Most proposals open at once.
pub const OPEN_PROPOSALS_MAX: u32 = 64;

/// Whether `signed` is strictly more than two thirds of `total`.
pub fn is_supermajority(signed: u64, total: u64) -> bool {
    u128::from(signed) * 3 > u128::from(total) * 2
}

/// Total voting power of active cooperatives and the power of `approvers`.
fn voting_power<S: StateRead + ?Sized>(state: &S, approvers: &BTreeSet<CoopId>) -> (u64, u64) {
    let mut total = 0u64;
    let mut signed = 0u64;
    for id in state.params().map(|p| p.participants).unwrap_or_default() {
        if let Some(coop) = state.cooperative(&id).filter(|c| c.active) {
            total = total.saturating_add(coop.voting_power);
            if approvers.contains(&id) {
                signed = signed.saturating_add(coop.voting_power);
            }
        }
    }
    (signed, total)
}

pub fn propose<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    proposer: &Cooperative,
    action: GovAction,
    height: u64,
    time_ms: u64,
) -> Result<u64, Rejection> {
    require_validator(proposer)?;
    check_action(state, &action)?;
    check_outcome(state, &action)?;
    let mut counters = state.counters();
    if counters.open_proposals >= OPEN_PROPOSALS_MAX {
        return Err(Rejection::TooManyProposals);
    }
    let id = counters.next_proposal;
    counters.next_proposal = id.checked_add(1).ok_or(Rejection::Overflow)?;
    counters.open_proposals = counters.open_proposals.saturating_add(1);
    state.put_counters(counters);
    let proposal = Proposal {
        id,
        proposer: proposer.id.clone(),
        action,
        approvals: BTreeSet::from([proposer.id.clone()]),
        status: ProposalStatus::Open,
        created_height: height,
    };
    decide(state, proposal, height, time_ms)?;
    Ok(id)
}

pub fn approve<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    approver: &Cooperative,
    id: u64,
    height: u64,
    time_ms: u64,
) -> Result<(), Rejection> {
    require_validator(approver)?;
    let mut proposal = state
        .proposal(id)
        .filter(|p| p.status == ProposalStatus::Open)
        .ok_or(Rejection::UnknownProposal(id))?;
    if !proposal.approvals.insert(approver.id.clone()) {
        return Err(Rejection::AlreadyApproved(id));
    }
    decide(state, proposal, height, time_ms)
}

fn require_validator(coop: &Cooperative) -> Result<(), Rejection> {
    if coop.voting_power == 0 || !coop.active {
        return Err(Rejection::NotAuthorized(
            "only validator cooperatives take part in governance".into(),
        ));
    }
    Ok(())
}

/// Store the proposal, executing it first if it has a supermajority.
fn decide<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    mut proposal: Proposal,
    height: u64,
    time_ms: u64,
) -> Result<(), Rejection> {
    let (signed, total) = voting_power(state, &proposal.approvals);
    if is_supermajority(signed, total) {
        let mut nested = Overlay::new(&*state);
        let result = execute(&mut nested, &proposal.action, height, time_ms)
            .and_then(|()| check_network(&nested));
        let writes = nested.into_writes();
        proposal.status = match result {
            Ok(()) => {
                state.merge(writes);
                ProposalStatus::Executed { height }
            }
            Err(reason) => ProposalStatus::Failed {
                height,
                code: reason.code().to_string(),
                reason: reason.to_string(),
            },
        };
        let mut counters = state.counters();
        counters.open_proposals = counters.open_proposals.saturating_sub(1);
        state.put_counters(counters);
    }
    state.put_proposal(proposal);
    Ok(())
}

/// The action against its own bounds and the network's limits of today:
/// what can be said of it without knowing what else the network holds.
pub fn check_action<S: StateRead + ?Sized>(state: &S, action: &GovAction) -> Result<(), Rejection> {
    let params = state.params_ref().ok_or(Rejection::Overflow)?;
    match action {
        GovAction::AddCooperative { voting_power, .. }
        | GovAction::SetVotingPower { voting_power, .. } => {
            params.validator_limits.check_power(*voting_power)
        }
        GovAction::SetFeeRules { rules } => fees::check_rules(rules),
        GovAction::SetTierLimit { tier, cap } => {
            let mut limits = params.tier_limits;
            limits.set(*tier, *cap);
            check_tier_limits(&limits)
        }
        GovAction::SetSettlementSchedule { schedule } => {
            schedule.check().map_err(Rejection::ScheduleOutOfRange)
        }
        GovAction::SetValidatorLimits { limits } => limits.check(),
        GovAction::SetRecoveryWait { wait_ms } => crate::recovery::check_wait(*wait_ms),
        GovAction::SetTierRule { tier, rule } => {
            let mut rules = params.tier_rules;
            rules.set(*tier, *rule);
            rules.check()
        }
        GovAction::SetQrPaymentCap { cap } => crate::tiers::check_qr_payment_cap(*cap),
        GovAction::CreateIncentive { terms } => {
            terms.check_format()?;
            let count = crate::incentives::programmes(state).programmes.len();
            if count >= crate::incentives::PROGRAMMES_MAX {
                return Err(Rejection::TooManyIncentives {
                    max: crate::incentives::PROGRAMMES_MAX as u64,
                });
            }
            Ok(())
        }
        GovAction::EndIncentive { id } => {
            let all = crate::incentives::programmes(state);
            match all
                .programmes
                .iter()
                .any(|p| p.id == *id && p.ended_at_ms.is_none())
            {
                true => Ok(()),
                false => Err(Rejection::UnknownIncentive(*id)),
            }
        }
        GovAction::SetRefundPeriod { period_ms } => crate::refunds::check_period(*period_ms),
        GovAction::SetCashReportThreshold { amount } => {
            crate::cash_reports::check_threshold(*amount)
        }
        GovAction::ScheduleUpgrade { version, .. } => {
            crate::upgrades::check_schedule(params, *version)
        }
        GovAction::CancelUpgrade => match params.upgrade {
            Some(_) => Ok(()),
            None => Err(Rejection::NoUpgradeScheduled),
        },
        GovAction::RemoveCooperative { .. }
        | GovAction::AddObserver { .. }
        | GovAction::RemoveObserver { .. }
        | GovAction::SetNetDebitCap { .. }
        | GovAction::Freeze { .. }
        | GovAction::Unfreeze { .. }
        | GovAction::FundIncentive { .. } => Ok(()),
    }
}

/// The validator set and participant list the action would leave if it
/// executed on `state` now. Actions on a cooperative that does not exist
/// (yet) are left to execution, which reports `unknown_cooperative`.
pub fn check_outcome<S: StateRead + ?Sized>(
    state: &S,
    action: &GovAction,
) -> Result<(), Rejection> {
    let params = state.params_ref().ok_or(Rejection::Overflow)?;
    let mut powers = active_powers(state);
    let limits = match action {
        GovAction::AddCooperative {
            id, voting_power, ..
        } => {
            bounds::check_participants(params.participants.len().saturating_add(1))?;
            powers.push((id.clone(), *voting_power));
            params.validator_limits
        }
        GovAction::SetVotingPower { id, voting_power } => {
            match powers.iter_mut().find(|(c, _)| c == id) {
                Some((_, power)) => *power = *voting_power,
                None => return Ok(()),
            }
            params.validator_limits
        }
        GovAction::RemoveCooperative { id } => {
            powers.retain(|(c, _)| c != id);
            params.validator_limits
        }
        GovAction::SetValidatorLimits { limits } => *limits,
        _ => return Ok(()),
    };
    limits.check_set(powers.into_iter().map(|(_, p)| p))
}

/// Everything the parameters and validators must always satisfy: checked
/// on the state an executing proposal leaves, before its writes are kept.
pub fn check_network<S: StateRead + ?Sized>(state: &S) -> Result<(), Rejection> {
    let params = state.params_ref().ok_or(Rejection::Overflow)?;
    check_params(params)?;
    params
        .validator_limits
        .check_set(active_powers(state).into_iter().map(|(_, p)| p))
}

/// The parameters on their own: limits within the ceilings, the participant
/// list within its bound, fee rules usable, tier caps in order, the
/// settlement schedule within its bounds.
pub fn check_params(params: &Params) -> Result<(), Rejection> {
    params.validator_limits.check()?;
    bounds::check_participants(params.participants.len())?;
    fees::check_rules(&params.fee_rules)?;
    check_tier_limits(&params.tier_limits)?;
    params.tier_rules.check()?;
    crate::tiers::check_qr_payment_cap(params.qr_payment_cap)?;
    crate::recovery::check_wait(params.recovery_wait_ms)?;
    crate::refunds::check_period(params.refund_period_ms)?;
    crate::cash_reports::check_threshold(params.cash_report_threshold)?;
    params
        .settlement
        .check()
        .map_err(Rejection::ScheduleOutOfRange)
}

/// Balance caps rise with the tier: a better-identified account never has a
/// lower cap than a less identified one (basic ≤ registered ≤ business).
pub fn check_tier_limits(limits: &TierLimits) -> Result<(), Rejection> {
    if limits.basic > limits.registered || limits.registered > limits.business {
        return Err(Rejection::TierLimitOutOfRange(format!(
            "caps must rise with the tier: basic {} ≤ registered {} ≤ business {}",
            limits.basic, limits.registered, limits.business
        )));
    }
    Ok(())
}

/// The active cooperatives and their voting power (0 for those that do not
/// validate), in participant order.
fn active_powers<S: StateRead + ?Sized>(state: &S) -> Vec<(CoopId, u64)> {
    let Some(params) = state.params_ref() else {
        return Vec::new();
    };
    params
        .participants
        .iter()
        .filter_map(|id| state.cooperative(id))
        .filter(|c| c.active && !c.id.is_network())
        .map(|c| (c.id, c.voting_power))
        .collect()
}

fn existing<S: StateRead + ?Sized>(state: &S, id: &CoopId) -> Result<Cooperative, Rejection> {
    state
        .cooperative(id)
        .filter(|c| c.active && !c.id.is_network())
        .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))
}

/// Carry out an approved action on `state`. The caller runs it in a nested
/// overlay, checks the network it leaves and keeps the writes only if both
/// succeed.
fn execute<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    action: &GovAction,
    height: u64,
    time_ms: u64,
) -> Result<(), Rejection> {
    check_action(state, action)?;
    match action {
        GovAction::AddCooperative {
            id,
            name,
            key,
            voting_power,
            ndc,
            validator_key,
            node_key,
        } => {
            let keys = NewCoopKeys {
                key: *key,
                validator_key: *validator_key,
                node_key: *node_key,
            };
            add_cooperative(state, id, name, keys, *voting_power, *ndc)
        }
        GovAction::RemoveCooperative { id } => remove_cooperative(state, id),
        GovAction::SetVotingPower { id, voting_power } => {
            let mut coop = existing(state, id)?;
            coop.voting_power = *voting_power;
            state.put_cooperative(coop);
            Ok(())
        }
        GovAction::SetNetDebitCap { id, ndc } => {
            // The network fund's cap too: how much cashback it may owe the
            // cooperatives before settlement ([`crate::incentives`]).
            let mut coop = match id.is_network() {
                true => state
                    .cooperative(id)
                    .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))?,
                false => existing(state, id)?,
            };
            coop.ndc = *ndc;
            state.put_cooperative(coop);
            Ok(())
        }
        GovAction::SetFeeRules { rules } => update_params(state, |p| p.fee_rules = rules.clone()),
        GovAction::SetTierLimit { tier, cap } => {
            update_params(state, |p| p.tier_limits.set(*tier, *cap))
        }
        GovAction::Freeze { member } => set_member_status(state, member, AccountStatus::Frozen),
        GovAction::Unfreeze { member } => set_member_status(state, member, AccountStatus::Active),
        GovAction::FundIncentive { member, amount } => fund_incentive(state, member, *amount),
        GovAction::SetSettlementSchedule { schedule } => {
            update_params(state, |p| p.settlement = *schedule)
        }
        GovAction::SetValidatorLimits { limits } => {
            let limits: ValidatorLimits = *limits;
            update_params(state, |p| p.validator_limits = limits)
        }
        GovAction::SetRecoveryWait { wait_ms } => {
            update_params(state, |p| p.recovery_wait_ms = *wait_ms)
        }
        GovAction::AddObserver { name, key } => crate::observers::add(state, name, key, height),
        GovAction::RemoveObserver { key } => crate::observers::remove(state, key),
        GovAction::SetTierRule { tier, rule } => {
            update_params(state, |p| p.tier_rules.set(*tier, *rule))
        }
        GovAction::SetQrPaymentCap { cap } => update_params(state, |p| p.qr_payment_cap = *cap),
        GovAction::CreateIncentive { terms } => crate::incentives::create(state, terms, time_ms),
        GovAction::EndIncentive { id } => crate::incentives::end(state, *id, time_ms),
        GovAction::SetRefundPeriod { period_ms } => {
            update_params(state, |p| p.refund_period_ms = *period_ms)
        }
        GovAction::ScheduleUpgrade {
            version,
            height: at_height,
        } => crate::upgrades::schedule(state, *version, *at_height, height),
        GovAction::CancelUpgrade => crate::upgrades::cancel(state),
        GovAction::SetCashReportThreshold { amount } => {
            update_params(state, |p| p.cash_report_threshold = *amount)
        }
    }
}

/// Change the parameters with `change`.
fn update_params<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    change: impl FnOnce(&mut Params),
) -> Result<(), Rejection> {
    let mut params = state.params().ok_or(Rejection::Overflow)?;
    change(&mut params);
    state.put_params(params);
    Ok(())
}

/// The three keys of a cooperative `AddCooperative` admits.
struct NewCoopKeys {
    key: PublicKey,
    validator_key: PublicKey,
    node_key: PublicKey,
}

/// Admit a new cooperative: three strong, distinct keys nobody uses or used
/// (cooperative key: `account_exists` as before; validator key and node
/// identity: `key_in_use`), an unused id; it joins the participants (kept
/// sorted) and is found by its cooperative key.
fn add_cooperative<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    id: &CoopId,
    name: &str,
    keys: NewCoopKeys,
    voting_power: u64,
    ndc: Amount,
) -> Result<(), Rejection> {
    let key = &keys.key;
    for k in [&keys.key, &keys.validator_key, &keys.node_key] {
        k.validate().map_err(|_| Rejection::WeakKey)?;
    }
    if state.cooperative(id).is_some() {
        return Err(Rejection::InvalidAction(
            "cooperative id already used".to_string(),
        ));
    }
    if crate::member_keys::key_in_use(state, key) {
        return Err(Rejection::AccountExists);
    }
    for k in [keys.validator_key, keys.node_key] {
        node_keys::check_fresh(state, &k)?;
    }
    if keys.validator_key == keys.node_key
        || keys.key == keys.validator_key
        || keys.key == keys.node_key
    {
        return Err(Rejection::KeyInUse(keys.node_key.to_address()));
    }
    update_params(state, |p| {
        p.participants.push(id.clone());
        p.participants.sort();
    })?;
    state.put(StateKey::CoopKey(*key), StateValue::CoopKey(id.clone()));
    node_keys::bind(state, id, KeyJob::Validator, keys.validator_key);
    node_keys::bind(state, id, KeyJob::Node, keys.node_key);
    let mut coop = Cooperative::new(id.clone(), name.to_string(), Some(*key), voting_power, ndc);
    coop.validator_key = Some(keys.validator_key);
    coop.node_key = Some(keys.node_key);
    state.put_cooperative(coop);
    Ok(())
}

/// Retire a cooperative with nothing left to settle; its power goes to zero
/// (the network must keep some validator: [`check_network`]).
fn remove_cooperative<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    id: &CoopId,
) -> Result<(), Rejection> {
    let mut coop = existing(state, id)?;
    if coop.position != 0 || coop.unsettled != 0 || coop.unsettled_debit != 0 {
        return Err(Rejection::InvalidAction(
            "cooperative still has an unsettled position".to_string(),
        ));
    }
    coop.active = false;
    coop.voting_power = 0;
    state.put_cooperative(coop);
    Ok(())
}

/// Freeze or unfreeze a member account.
fn set_member_status<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    member: &PublicKey,
    status: AccountStatus,
) -> Result<(), Rejection> {
    let mut account = state
        .member(member)
        .ok_or_else(|| Rejection::UnknownAccount(member.to_address()))?;
    account.status = status;
    state.put_member(*member, account);
    Ok(())
}

/// Pay a member an incentive out of the network fund.
fn fund_incentive<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    member: &PublicKey,
    amount: Amount,
) -> Result<(), Rejection> {
    if amount == 0 {
        return Err(Rejection::ZeroAmount);
    }
    legs::transfer(
        state,
        &AccountId::NetworkFund,
        &AccountId::Member(*member),
        amount,
        LegKind::Principal,
    )
}

#[cfg(test)]
mod tests {
    use super::is_supermajority;

    #[test]
    fn supermajority_is_strict() {
        // (signed, total, expected)
        let cases = [
            (2, 3, false), // exactly 2/3
            (3, 4, true),
            (2, 4, false),
            (67, 100, true),
            (66, 100, false),
            (200, 300, false),
            (201, 300, true),
            (0, 0, false),
            (u64::MAX, u64::MAX, true),
        ];
        for (signed, total, expected) in cases {
            assert_eq!(
                is_supermajority(signed, total),
                expected,
                "{signed}/{total}"
            );
        }
    }
}
