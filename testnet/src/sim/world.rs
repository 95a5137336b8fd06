//! The simulated cooperative city, drawn from the seed: one cooperative per
//! node (the genesis validators, with unequal voting power), a standby
//! cooperative whose node runs from the start as a non-validator and may be
//! voted in by governance, members and a merchant at every genesis
//! cooperative, and the genesis every node opens its ledger from.

use kopnet_consensus::{Hash, Keypair, PublicKey};
use kopnet_ledger::schedule::{SettlementSchedule, SETTLEMENT_PERIOD_MS_MIN};
use kopnet_ledger::{AccountKind, CoopId, Genesis, GenesisCooperative, KycTier};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub const CHAIN_ID: &str = "kopnet-sim";
/// Genesis voting power is drawn from `1..=POWER_MAX`.
pub const POWER_MAX: u64 = 8;
/// Members per genesis cooperative (the last one is a merchant).
pub const MEMBERS_PER_COOP: usize = 3;
/// Net debit cap of every cooperative.
pub const NDC: u64 = 50_000_000;

/// A cooperative and the node that runs it (same index).
#[derive(Clone, Debug)]
pub struct CoopSpec {
    pub id: CoopId,
    /// The cooperative key: signs its ledger transactions.
    pub keypair: Keypair,
    /// Its validator key: what its node signs consensus messages with.
    pub validator: Keypair,
    /// Its node identity (bound in the ledger; the simulated network
    /// needs no allow list).
    pub node: Keypair,
}

/// A member (or merchant) account and its home cooperative's index.
#[derive(Clone, Debug)]
pub struct MemberSpec {
    pub keypair: Keypair,
    pub home: usize,
    pub kind: AccountKind,
    pub tier: KycTier,
}

#[derive(Clone, Debug)]
pub struct World {
    pub genesis: Genesis,
    /// By node index; the standby cooperative (if any) is last.
    pub coops: Vec<CoopSpec>,
    /// Genesis voting power by node index (0 for the standby).
    pub powers: Vec<u64>,
    /// Node indices of the Byzantine validators (sorted).
    pub byzantine: Vec<usize>,
    pub standby: Option<usize>,
    pub members: Vec<MemberSpec>,
}

fn key(context: &str, seed: u64, a: u64, b: u64) -> Keypair {
    let h = Hash::digest_parts(
        context,
        &[&seed.to_le_bytes(), &a.to_le_bytes(), &b.to_le_bytes()],
    );
    Keypair::from_seed(h.0)
}

fn coop_id(index: usize) -> CoopId {
    // "coop-N" always satisfies the slug rules.
    CoopId::new(&format!("coop-{index}")).unwrap_or_else(|_| CoopId::network())
}

/// Voting powers with the Byzantine total strictly below a third of the
/// total: drawn, then the largest Byzantine power is lowered until it holds
/// (with every Byzantine power at 1 it always does, as `3f < n`).
pub fn draw_powers(rng: &mut ChaCha8Rng, validators: usize, byzantine: &[usize]) -> Vec<u64> {
    let mut powers: Vec<u64> = (0..validators)
        .map(|_| rng.gen_range(1..=POWER_MAX))
        .collect();
    loop {
        let byz: u64 = byzantine.iter().map(|&i| powers[i]).sum();
        let total: u64 = powers.iter().sum();
        if 3 * byz < total {
            return powers;
        }
        let heaviest = byzantine
            .iter()
            .copied()
            .filter(|&i| powers[i] > 1)
            .max_by_key(|&i| (powers[i], std::cmp::Reverse(i)));
        match heaviest {
            Some(i) => powers[i] -= 1,
            // Unreachable while 3 * byzantine < validators (checked by callers).
            None => return powers,
        }
    }
}

impl World {
    pub fn new(
        rng: &mut ChaCha8Rng,
        seed: u64,
        validators: usize,
        byzantine: usize,
        standby: bool,
    ) -> World {
        let nodes = validators + usize::from(standby);
        let coops: Vec<CoopSpec> = (0..nodes)
            .map(|i| CoopSpec {
                id: coop_id(i),
                keypair: key("kopnet sim key", seed, i as u64, 0),
                validator: key("kopnet sim validator key", seed, i as u64, 0),
                node: key("kopnet sim node key", seed, i as u64, 0),
            })
            .collect();
        let mut indices: Vec<usize> = (0..validators).collect();
        indices.shuffle(rng);
        let mut byzantine: Vec<usize> = indices.into_iter().take(byzantine).collect();
        byzantine.sort_unstable();
        let mut powers = draw_powers(rng, validators, &byzantine);
        let genesis_coops = coops
            .iter()
            .take(validators)
            .zip(&powers)
            .map(|(c, &power)| GenesisCooperative {
                id: c.id.clone(),
                name: format!("Koperasi {}", c.id),
                key: c.keypair.public(),
                voting_power: power,
                ndc: NDC,
                validator_key: c.validator.public(),
                node_key: c.node.public(),
            })
            .collect();
        let members = (0..validators)
            .flat_map(|home| {
                (0..MEMBERS_PER_COOP).map(move |j| {
                    let merchant = j + 1 == MEMBERS_PER_COOP;
                    MemberSpec {
                        keypair: key("kopnet sim member key", seed, home as u64, j as u64),
                        home,
                        kind: if merchant {
                            AccountKind::Merchant
                        } else {
                            AccountKind::Member
                        },
                        tier: if merchant {
                            KycTier::Business
                        } else {
                            KycTier::Registered
                        },
                    }
                })
            })
            .collect();
        if standby {
            powers.push(0);
        }
        let mut genesis = Genesis::new(CHAIN_ID, genesis_coops);
        // Windows close on the schedule at every node's same block: often
        // enough that a run closes and settles several.
        genesis.settlement = SettlementSchedule::every(SETTLEMENT_PERIOD_MS_MIN);
        World {
            genesis,
            coops,
            powers,
            byzantine,
            standby: standby.then_some(validators),
            members,
        }
    }

    pub fn nodes(&self) -> usize {
        self.coops.len()
    }

    pub fn is_byzantine(&self, node: usize) -> bool {
        self.byzantine.binary_search(&node).is_ok()
    }

    /// Keys of the Byzantine validators.
    pub fn byzantine_keys(&self) -> Vec<PublicKey> {
        self.byzantine
            .iter()
            .map(|&i| self.coops[i].validator.public())
            .collect()
    }

    /// The node index of the cooperative with this id.
    pub fn coop_index(&self, id: &CoopId) -> Option<usize> {
        self.coops.iter().position(|c| &c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn byzantine_power_stays_below_a_third() {
        for seed in 0..500u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for (n, f) in [(4usize, 1usize), (7, 2), (10, 3)] {
                let byz: Vec<usize> = (0..f).collect();
                let powers = draw_powers(&mut rng, n, &byz);
                let b: u64 = byz.iter().map(|&i| powers[i]).sum();
                let t: u64 = powers.iter().sum();
                assert!(3 * b < t, "seed {seed}: {powers:?}");
                assert!(powers.iter().all(|&p| (1..=POWER_MAX).contains(&p)));
            }
        }
    }

    #[test]
    fn genesis_is_valid() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let world = World::new(&mut rng, 3, 4, 1, true);
        world.genesis.validate().unwrap();
        assert_eq!(world.nodes(), 5);
        assert_eq!(world.powers[4], 0);
        assert_eq!(world.members.len(), 4 * MEMBERS_PER_COOP);
    }
}
