//! Seeded governance: validator-set changes (a new voting power, the standby
//! cooperative joining, and leaving again) proposed and approved by the
//! cooperatives through the ledger's Propose / Approve, one change at a
//! time. Every planned step keeps the Byzantine power strictly below a
//! third of the total (the checker verifies it again for every height).

use super::node::SimLedger;
use super::world::{World, NDC, POWER_MAX};
use kopnet_ledger::governance::ProposalStatus;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::{Action, GovAction};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A planned change, by node index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    SetPower { node: usize, power: u64 },
    Add { node: usize, power: u64 },
    Remove { node: usize },
}

impl Change {
    pub fn action(&self, world: &World) -> GovAction {
        match *self {
            Change::SetPower { node, power } => GovAction::SetVotingPower {
                id: world.coops[node].id.clone(),
                voting_power: power,
            },
            Change::Add { node, power } => {
                let coop = &world.coops[node];
                GovAction::AddCooperative {
                    id: coop.id.clone(),
                    name: format!("Koperasi {}", coop.id),
                    key: coop.keypair.public(),
                    voting_power: power,
                    ndc: NDC,
                    validator_key: coop.validator.public(),
                    node_key: coop.node.public(),
                }
            }
            Change::Remove { node } => GovAction::RemoveCooperative {
                id: world.coops[node].id.clone(),
            },
        }
    }

    fn apply(&self, powers: &mut [u64]) {
        match *self {
            Change::SetPower { node, power } | Change::Add { node, power } => powers[node] = power,
            Change::Remove { node } => powers[node] = 0,
        }
    }
}

/// Byzantine power strictly below a third of the total.
pub fn byzantine_below_third(powers: &[u64], world: &World) -> bool {
    let byz: u64 = world.byzantine.iter().map(|&i| powers[i]).sum();
    let total: u64 = powers.iter().sum();
    3 * byz < total
}

/// Draw the changes of a run (possibly none).
pub fn plan(rng: &mut ChaCha8Rng, world: &World) -> Vec<Change> {
    let mut powers = world.powers.clone();
    let mut wanted = Vec::new();
    if rng.gen_bool(0.6) {
        wanted.push(None); // a power change, drawn against the powers then
    }
    if let Some(standby) = world.standby {
        if rng.gen_bool(0.7) {
            let power = rng.gen_range(1..=POWER_MAX);
            wanted.push(Some(Change::Add {
                node: standby,
                power,
            }));
            if rng.gen_bool(0.3) {
                wanted.push(None);
            }
            if rng.gen_bool(0.5) {
                wanted.push(Some(Change::Remove { node: standby }));
            }
        }
    }
    let mut steps = Vec::new();
    for want in wanted {
        let change = match want {
            Some(change) => Some(change),
            None => power_change(rng, &powers, world),
        };
        let Some(change) = change else { continue };
        let mut after = powers.clone();
        change.apply(&mut after);
        if after.iter().any(|&p| p > 0) && byzantine_below_third(&after, world) {
            powers = after;
            steps.push(change);
        }
    }
    steps
}

/// A new power for one current validator that keeps the Byzantine bound.
fn power_change(rng: &mut ChaCha8Rng, powers: &[u64], world: &World) -> Option<Change> {
    let validators: Vec<usize> = (0..powers.len()).filter(|&i| powers[i] > 0).collect();
    let node = *validators.choose(rng)?;
    let old = powers[node];
    let drawn = rng.gen_range(1..=POWER_MAX);
    let fallback = if world.is_byzantine(node) {
        old.saturating_sub(1)
    } else {
        old + 1
    };
    [drawn, fallback]
        .into_iter()
        .filter(|&p| p >= 1 && p != old)
        .find(|&p| {
            let mut after = powers.to_vec();
            after[node] = p;
            byzantine_below_third(&after, world)
        })
        .map(|power| Change::SetPower { node, power })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    Idle,
    /// Propose sent; the proposal will have an id at or above `first_id`.
    Proposed {
        proposer: usize,
        first_id: u64,
    },
    Approving {
        id: u64,
    },
}

/// Carries the plan out, one change at a time, watching a ledger.
pub struct Governance {
    steps: Vec<Change>,
    next: usize,
    stage: Stage,
    pub executed: u64,
}

/// One governance event, for the trace.
pub type Note = String;

impl Governance {
    pub fn new(steps: Vec<Change>) -> Self {
        Governance {
            steps,
            next: 0,
            stage: Stage::Idle,
            executed: 0,
        }
    }

    pub fn steps(&self) -> &[Change] {
        &self.steps
    }

    /// Actions to sign now, by signing cooperative (node index), and what
    /// happened.
    pub fn tick(
        &mut self,
        ledger: &SimLedger,
        world: &World,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<(usize, Action)>, Vec<Note>) {
        let Some(change) = self.steps.get(self.next).cloned() else {
            return (vec![], vec![]);
        };
        let wanted = change.action(world);
        let validators: Vec<usize> = ledger
            .validators()
            .iter()
            .filter_map(|(key, _)| {
                world
                    .coops
                    .iter()
                    .position(|c| c.validator.public() == *key)
            })
            .collect();
        match self.stage.clone() {
            Stage::Idle => {
                let Some(&proposer) = validators.choose(rng) else {
                    return (vec![], vec![]);
                };
                self.stage = Stage::Proposed {
                    proposer,
                    first_id: ledger.counters().next_proposal,
                };
                let note = format!("coop {proposer} proposes {change:?}");
                (
                    vec![(proposer, Action::Propose { action: wanted })],
                    vec![note],
                )
            }
            Stage::Proposed { proposer, first_id } => {
                let found = (first_id..ledger.counters().next_proposal)
                    .filter_map(|id| ledger.state().proposal(id))
                    .find(|p| p.action == wanted);
                let Some(proposal) = found else {
                    return (vec![], vec![]);
                };
                if proposal.status != ProposalStatus::Open {
                    return (vec![], self.finish(&proposal.status, proposal.id));
                }
                self.stage = Stage::Approving { id: proposal.id };
                let approvals = validators
                    .into_iter()
                    .filter(|&v| v != proposer)
                    .map(|v| {
                        (
                            v,
                            Action::Approve {
                                proposal: proposal.id,
                            },
                        )
                    })
                    .collect();
                (
                    approvals,
                    vec![format!("proposal {} open, approvals sent", proposal.id)],
                )
            }
            Stage::Approving { id } => match ledger.state().proposal(id) {
                Some(p) if p.status != ProposalStatus::Open => (vec![], self.finish(&p.status, id)),
                _ => (vec![], vec![]),
            },
        }
    }

    fn finish(&mut self, status: &ProposalStatus, id: u64) -> Vec<Note> {
        if matches!(status, ProposalStatus::Executed { .. }) {
            self.executed += 1;
        }
        self.next += 1;
        self.stage = Stage::Idle;
        vec![format!("proposal {id}: {status:?}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn plans_keep_byzantine_power_below_a_third() {
        let mut kinds = [0u32; 3];
        for seed in 0..300u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let world = World::new(&mut rng, seed, 4, 1, true);
            let mut powers = world.powers.clone();
            for change in plan(&mut rng, &world) {
                change.apply(&mut powers);
                assert!(byzantine_below_third(&powers, &world), "seed {seed}");
                kinds[match change {
                    Change::SetPower { .. } => 0,
                    Change::Add { .. } => 1,
                    Change::Remove { .. } => 2,
                }] += 1;
            }
        }
        assert!(kinds.iter().all(|&k| k > 0), "{kinds:?}");
    }
}
