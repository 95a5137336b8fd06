//! Governance: validator cooperatives propose and approve changes to the
//! network. An action executes in the block where approvals first reach more
//! than two thirds of the current total voting power (2/3 exactly is not
//! enough). A failed execution changes nothing but the proposal's status.

use crate::legs::{self, LegKind};
pub use crate::proposal::{Proposal, ProposalStatus};
use crate::rejection::Rejection;
use crate::state::{Overlay, StateKey, StateRead, StateValue};
use crate::tx::GovAction;
use crate::types::{AccountId, AccountStatus, Amount, CoopId, Cooperative};
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
) -> Result<u64, Rejection> {
    require_validator(proposer)?;
    if let GovAction::SetFeeRules { rules } = &action {
        for rule in rules {
            rule.validate().map_err(Rejection::InvalidAction)?;
        }
    }
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
    decide(state, proposal, height)?;
    Ok(id)
}

pub fn approve<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    approver: &Cooperative,
    id: u64,
    height: u64,
) -> Result<(), Rejection> {
    require_validator(approver)?;
    let mut proposal = state
        .proposal(id)
        .filter(|p| p.status == ProposalStatus::Open)
        .ok_or(Rejection::UnknownProposal(id))?;
    if !proposal.approvals.insert(approver.id.clone()) {
        return Err(Rejection::AlreadyApproved(id));
    }
    decide(state, proposal, height)
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
) -> Result<(), Rejection> {
    let (signed, total) = voting_power(state, &proposal.approvals);
    if is_supermajority(signed, total) {
        let mut nested = Overlay::new(&*state);
        let result = execute(&mut nested, &proposal.action);
        let writes = nested.into_writes();
        proposal.status = match result {
            Ok(()) => {
                state.merge(writes);
                ProposalStatus::Executed { height }
            }
            Err(reason) => ProposalStatus::Failed {
                height,
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

fn existing<S: StateRead + ?Sized>(state: &S, id: &CoopId) -> Result<Cooperative, Rejection> {
    state
        .cooperative(id)
        .filter(|c| c.active && !c.id.is_network())
        .ok_or_else(|| Rejection::UnknownCooperative(id.to_string()))
}

/// Carry out an approved action on `state`. The caller runs it in a nested
/// overlay and keeps the writes only on success.
fn execute<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    action: &GovAction,
) -> Result<(), Rejection> {
    match action {
        GovAction::AddCooperative {
            id,
            name,
            key,
            voting_power,
            ndc,
        } => {
            add_cooperative(state, id, name, key, *voting_power, *ndc)?;
            require_valid_power(state)
        }
        GovAction::RemoveCooperative { id } => remove_cooperative(state, id),
        GovAction::SetVotingPower { id, voting_power } => {
            let mut coop = existing(state, id)?;
            coop.voting_power = *voting_power;
            state.put_cooperative(coop);
            require_valid_power(state)
        }
        GovAction::SetNetDebitCap { id, ndc } => {
            let mut coop = existing(state, id)?;
            coop.ndc = *ndc;
            state.put_cooperative(coop);
            Ok(())
        }
        GovAction::SetFeeRules { rules } => {
            for rule in rules {
                rule.validate().map_err(Rejection::InvalidAction)?;
            }
            let mut params = state.params().ok_or(Rejection::Overflow)?;
            params.fee_rules = rules.clone();
            state.put_params(params);
            Ok(())
        }
        GovAction::SetTierLimit { tier, cap } => {
            let mut params = state.params().ok_or(Rejection::Overflow)?;
            params.tier_limits.set(*tier, *cap);
            state.put_params(params);
            Ok(())
        }
        GovAction::Freeze { member } => set_member_status(state, member, AccountStatus::Frozen),
        GovAction::Unfreeze { member } => set_member_status(state, member, AccountStatus::Active),
        GovAction::FundIncentive { member, amount } => fund_incentive(state, member, *amount),
    }
}

/// Admit a new cooperative: a strong key no account uses, an unused id; it
/// joins the participants (kept sorted) and is found by its key.
fn add_cooperative<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    id: &CoopId,
    name: &str,
    key: &PublicKey,
    voting_power: u64,
    ndc: Amount,
) -> Result<(), Rejection> {
    key.validate().map_err(|_| Rejection::WeakKey)?;
    if state.cooperative(id).is_some() {
        return Err(Rejection::InvalidAction(
            "cooperative id already used".to_string(),
        ));
    }
    if state.coop_by_key(key).is_some() || state.member(key).is_some() {
        return Err(Rejection::AccountExists);
    }
    let mut params = state.params().ok_or(Rejection::Overflow)?;
    params.participants.push(id.clone());
    params.participants.sort();
    state.put_params(params);
    state.put(StateKey::CoopKey(*key), StateValue::CoopKey(id.clone()));
    state.put_cooperative(Cooperative::new(
        id.clone(),
        name.to_string(),
        Some(*key),
        voting_power,
        ndc,
    ));
    Ok(())
}

/// Retire a cooperative with nothing left to settle; its power goes to zero
/// and the network must keep some validator.
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
    require_valid_power(state)
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

/// The validator set an action leaves must be one the chain can sign
/// with: at least one validator, and a total voting power within
/// [`VOTING_POWER_TOTAL_MAX`](crate::types::VOTING_POWER_TOTAL_MAX).
fn require_valid_power<S: StateRead + ?Sized>(state: &S) -> Result<(), Rejection> {
    let total: u128 = state
        .params()
        .map(|p| p.participants)
        .unwrap_or_default()
        .iter()
        .filter_map(|id| state.cooperative(id))
        .filter(|c| c.active)
        .map(|c| u128::from(c.voting_power))
        .sum();
    if total == 0 {
        return Err(Rejection::InvalidAction(
            "the network must keep at least one validator".into(),
        ));
    }
    let max = crate::types::VOTING_POWER_TOTAL_MAX;
    if total > u128::from(max) {
        return Err(Rejection::InvalidAction(format!(
            "total voting power would be {total}, more than {max}"
        )));
    }
    Ok(())
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
