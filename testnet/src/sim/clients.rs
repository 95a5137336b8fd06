//! The clients: cooperative operators and members' wallets, one seeded
//! source of signed transactions for the whole run.
//!
//! Each signer (a cooperative or a member) has a bounded queue of actions
//! and at most `IN_FLIGHT_MAX` signed, uncommitted transactions with
//! consecutive nonces. A client submits a transaction to its home node (a
//! cooperative to its own node, a member to its home cooperative's); that
//! node passes it to its peers over the simulated network, so drops and
//! partitions decide which pools hold it. A transaction not committed after
//! `RESUBMIT_MS` is resubmitted, byte for byte, to a random node (the home
//! node may be crashed, partitioned or silent). Clients read committed
//! state (nonces, registrations, windows, proposals) from the honest node
//! with the longest chain, as a wallet would ask a node's API.
//!
//! Cooperatives first register their members and a merchant and mint their
//! opening balances; then the mix is payments within and across
//! cooperatives (members and merchants), cash-in and cash-out at any
//! cooperative's counter, acknowledgements of the settlement windows the
//! schedule closed (every node closes them at the same block; no client
//! can), and the governance plan's proposals and approvals.

use super::config::timing;
use super::governance::{Governance, Note};
use super::node::SimLedger;
use super::stats::LedgerCounts;
use super::world::World;
use kopnet_consensus::Keypair;
use kopnet_ledger::{Action, Transaction, TxBody};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Signed, uncommitted transactions per signer.
pub const IN_FLIGHT_MAX: usize = 4;
/// Unsigned actions waiting per signer.
pub const QUEUE_MAX: usize = 8;
/// Opening balance minted for each member and merchant.
pub const OPENING_BALANCE: u64 = 2_000_000;

struct InFlight {
    tx: Transaction,
    sent_ms: u64,
}

struct Signer {
    keypair: Keypair,
    /// The node this signer submits to first.
    home: usize,
    queue: VecDeque<Action>,
    in_flight: VecDeque<InFlight>,
}

/// A transaction for a node.
pub struct Submission {
    pub node: usize,
    pub tx: Transaction,
    pub resubmit: bool,
}

pub struct Clients {
    /// Cooperatives (by node index), then members (in world order).
    signers: Vec<Signer>,
    coops: usize,
    genesis_coops: usize,
    governance: Governance,
    idempotency: u128,
    pub counts: LedgerCounts,
}

impl Clients {
    pub fn new(world: &World, governance: Governance) -> Self {
        let mut signers: Vec<Signer> = world
            .coops
            .iter()
            .enumerate()
            .map(|(i, c)| Signer {
                keypair: c.keypair.clone(),
                home: i,
                queue: VecDeque::new(),
                in_flight: VecDeque::new(),
            })
            .collect();
        for m in &world.members {
            let member = m.keypair.public();
            let coop = &mut signers[m.home].queue;
            coop.push_back(Action::RegisterMember {
                member,
                kind: m.kind,
                tier: m.tier,
            });
            coop.push_back(Action::Mint {
                member,
                amount: OPENING_BALANCE,
            });
        }
        let coops = signers.len();
        signers.extend(world.members.iter().map(|m| Signer {
            keypair: m.keypair.clone(),
            home: m.home,
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
        }));
        Clients {
            signers,
            coops,
            genesis_coops: world.genesis.cooperatives.len(),
            governance,
            idempotency: 0,
            counts: LedgerCounts::default(),
        }
    }

    pub fn governance(&self) -> &Governance {
        &self.governance
    }

    /// One client tick against the committed state of `ledger`: what to
    /// submit where, and governance notes for the trace.
    pub fn tick(
        &mut self,
        now_ms: u64,
        ledger: &SimLedger,
        world: &World,
        nodes: usize,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<Submission>, Vec<Note>) {
        for _ in 0..rng.gen_range(0..=3) {
            if let Some((signer, action)) = self.intent(ledger, world, rng) {
                let queue = &mut self.signers[signer].queue;
                if queue.len() < QUEUE_MAX {
                    queue.push_back(action);
                }
            }
        }
        let mut notes = Vec::new();
        if now_ms >= timing::GOVERNANCE_START_MS {
            let (actions, more) = self.governance.tick(ledger, world, rng);
            notes = more;
            for (coop, action) in actions {
                // Governance is rare: not bounded by QUEUE_MAX.
                self.signers[coop].queue.push_back(action);
            }
        }
        let mut out = Vec::new();
        for signer in &mut self.signers {
            let Ok(next) = ledger.next_nonce(&signer.keypair.public()) else {
                continue; // not registered (or not active) yet
            };
            while signer
                .in_flight
                .front()
                .is_some_and(|f| f.tx.body.nonce < next)
            {
                signer.in_flight.pop_front();
            }
            for f in &mut signer.in_flight {
                if now_ms >= f.sent_ms + timing::RESUBMIT_MS {
                    f.sent_ms = now_ms;
                    self.counts.txs_resubmitted += 1;
                    out.push(Submission {
                        node: rng.gen_range(0..nodes),
                        tx: f.tx.clone(),
                        resubmit: true,
                    });
                }
            }
            while signer.in_flight.len() < IN_FLIGHT_MAX {
                let Some(action) = signer.queue.pop_front() else {
                    break;
                };
                let nonce = signer
                    .in_flight
                    .back()
                    .map_or(next, |f| f.tx.body.nonce + 1);
                let body = TxBody {
                    chain_id: ledger.chain_id().to_string(),
                    signer: signer.keypair.public(),
                    nonce,
                    action,
                };
                let Ok(tx) = Transaction::sign(body, &signer.keypair) else {
                    continue;
                };
                self.counts.txs_signed += 1;
                out.push(Submission {
                    node: signer.home,
                    tx: tx.clone(),
                    resubmit: false,
                });
                signer.in_flight.push_back(InFlight {
                    tx,
                    sent_ms: now_ms,
                });
            }
        }
        (out, notes)
    }

    /// One seeded piece of everyday traffic: (signer index, action).
    fn intent(
        &mut self,
        ledger: &SimLedger,
        world: &World,
        rng: &mut ChaCha8Rng,
    ) -> Option<(usize, Action)> {
        let registered: Vec<usize> = (self.coops..self.signers.len())
            .filter(|&s| ledger.member(&self.signers[s].keypair.public()).is_some())
            .collect();
        if registered.is_empty() {
            return None;
        }
        let pick = |rng: &mut ChaCha8Rng| registered[rng.gen_range(0..registered.len())];
        let agent = rng.gen_range(0..self.genesis_coops);
        let agent_id = world.coops[agent].id.clone();
        match rng.gen_range(0..100) {
            0..=54 => {
                let payer = pick(rng);
                let payee = pick(rng);
                if payer == payee {
                    return None;
                }
                self.idempotency += 1;
                Some((
                    payer,
                    Action::Payment {
                        to: self.signers[payee].keypair.public(),
                        amount: rng.gen_range(1_000..=300_000),
                        memo: String::new(),
                        idempotency_id: self.idempotency.to_le_bytes(),
                    },
                ))
            }
            55..=67 => {
                let member = self.signers[pick(rng)].keypair.public();
                Some((
                    agent,
                    Action::CashIn {
                        agent: agent_id.clone(),
                        member,
                        amount: rng.gen_range(10_000..=500_000),
                    },
                ))
            }
            68..=82 => Some((
                pick(rng),
                Action::CashOut {
                    agent: agent_id.clone(),
                    amount: rng.gen_range(5_000..=200_000),
                },
            )),
            _ => {
                // Acknowledge an unsettled window this cooperative owes.
                let window = ledger.windows().into_iter().find(|w| {
                    !w.settled
                        && !w.acknowledged.contains(&agent_id)
                        && w.required_acks().any(|id| *id == agent_id)
                })?;
                Some((
                    agent,
                    Action::AcknowledgeSettlement {
                        window: window.number,
                    },
                ))
            }
        }
    }
}
