//! Property tests over random transaction sequences, checked against a plain
//! reference model of the money rules, on sled and in memory at once.
//!
//! After every block: Σ balances = Σ minted − Σ burned, positions sum to zero
//! (open window, every closed window, unsettled sums), no balance above its
//! cap, no NDC breach, replays are not admitted, the sled-backed and the
//! in-memory ledger have the same state root, and balances, positions, fees
//! and every result code equal the model's.

mod common;
use common::*;
use kopnet_consensus::PublicKey;
use kopnet_ledger::invariants;
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::testkit::DEMO_COOPERATIVES;
use kopnet_ledger::{
    AccountId, AccountKind, Action, Ledger, MemoryStorage, Rejection, SledStorage, Transaction,
    VerifyAll,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const MEMBERS: usize = 8;
const COOPS: usize = 5;
const NETWORK: usize = COOPS;
const NDC: u64 = 3_000_000;
const CAP_MEMBER: u64 = 10_000_000;
const CAP_MERCHANT: u64 = 100_000_000;

fn member_home(m: usize) -> usize {
    m % COOPS
}
fn is_merchant(m: usize) -> bool {
    m >= 6
}
fn member_name(m: usize) -> String {
    format!("member-{m}")
}

#[derive(Debug, Clone)]
enum Op {
    Mint {
        member: usize,
        amount: u64,
        by_home: bool,
    },
    Burn {
        member: usize,
        amount: u64,
    },
    Pay {
        from: usize,
        to: usize,
        amount: u64,
        idem: u8,
    },
    CashIn {
        agent: usize,
        member: usize,
        amount: u64,
    },
    CashOut {
        member: usize,
        agent: usize,
        amount: u64,
    },
    Close {
        by: usize,
        window_offset: u8,
    },
    /// `Close` with its window number resolved when signed.
    CloseAt {
        by: usize,
        window: u64,
    },
    Ack {
        coop: usize,
        window: u8,
    },
    Replay {
        index: usize,
    },
}

fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        6 => 1u64..200_000,
        3 => 200_000u64..4_000_000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let m = 0..MEMBERS;
    let c = 0..COOPS;
    prop_oneof![
        3 => (m.clone(), amount(), prop::bool::weighted(0.9))
            .prop_map(|(member, amount, by_home)| Op::Mint { member, amount, by_home }),
        1 => (m.clone(), amount()).prop_map(|(member, amount)| Op::Burn { member, amount }),
        8 => (m.clone(), m.clone(), amount(), 0u8..6)
            .prop_map(|(from, to, amount, idem)| Op::Pay { from, to, amount, idem }),
        2 => (c.clone(), m.clone(), amount())
            .prop_map(|(agent, member, amount)| Op::CashIn { agent, member, amount }),
        2 => (m.clone(), c.clone(), amount())
            .prop_map(|(member, agent, amount)| Op::CashOut { member, agent, amount }),
        1 => (c.clone(), 0u8..3).prop_map(|(by, window_offset)| Op::Close { by, window_offset }),
        2 => (c.clone(), 0u8..4).prop_map(|(coop, window)| Op::Ack { coop, window }),
        1 => (0usize..1000).prop_map(|index| Op::Replay { index }),
    ]
}

// ---------------------------------------------------------------- the model

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Acct {
    M(usize),
    Fee(usize),
    Float(usize),
    Net,
}

#[derive(Debug, Clone)]
struct ModelWindow {
    positions: BTreeMap<usize, i128>,
    acked: BTreeSet<usize>,
    settled: bool,
}

#[derive(Debug, Clone, Default)]
struct Model {
    balances: BTreeMap<Acct, u64>,
    position: [i128; COOPS + 1],
    unsettled: [i128; COOPS + 1],
    idem: BTreeMap<(usize, u8), (usize, u64)>,
    windows: Vec<ModelWindow>,
}

impl Model {
    fn home(&self, a: Acct) -> usize {
        match a {
            Acct::M(m) => member_home(m),
            Acct::Fee(c) | Acct::Float(c) => c,
            Acct::Net => NETWORK,
        }
    }

    fn bal(&self, a: Acct) -> u64 {
        self.balances.get(&a).copied().unwrap_or(0)
    }

    fn credit(&mut self, to: Acct, amount: u64) -> Result<(), &'static str> {
        let new = self.bal(to) + amount;
        if let Acct::M(m) = to {
            let cap = if is_merchant(m) {
                CAP_MERCHANT
            } else {
                CAP_MEMBER
            };
            if new > cap {
                return Err("balance_cap_exceeded");
            }
        }
        self.balances.insert(to, new);
        Ok(())
    }

    fn transfer(&mut self, from: Acct, to: Acct, amount: u64) -> Result<(), &'static str> {
        if amount == 0 {
            return Ok(());
        }
        let have = self.bal(from);
        if have < amount {
            return Err("insufficient_funds");
        }
        self.balances.insert(from, have - amount);
        self.credit(to, amount)?;
        let (x, y) = (self.home(from), self.home(to));
        if x != y {
            let a = i128::from(amount);
            let ndc = if x == NETWORK { 0 } else { i128::from(NDC) };
            if self.position[x] - a + self.unsettled[x] < -ndc {
                return Err("net_debit_cap_exceeded");
            }
            self.position[x] -= a;
            self.position[y] += a;
        }
        Ok(())
    }

    fn fee(amount: u64, bps: u64) -> u64 {
        amount * bps / 10_000
    }

    /// Apply one operation; `Err(code)` leaves the model unchanged.
    fn apply(&mut self, op: &Op) -> Result<(), &'static str> {
        let mut next = self.clone();
        let result = next.apply_inner(op);
        if result.is_ok() {
            *self = next;
        }
        result
    }

    fn apply_inner(&mut self, op: &Op) -> Result<(), &'static str> {
        match *op {
            Op::Mint {
                member,
                amount,
                by_home,
            } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                if !by_home {
                    return Err("not_authorized");
                }
                self.credit(Acct::M(member), amount)
            }
            Op::Burn { member, amount } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                let have = self.bal(Acct::M(member));
                if have < amount {
                    return Err("insufficient_funds");
                }
                self.balances.insert(Acct::M(member), have - amount);
                Ok(())
            }
            Op::Pay {
                from,
                to,
                amount,
                idem,
            } => {
                if let Some(&(first_to, first_amount)) = self.idem.get(&(from, idem)) {
                    return Err(if first_to != to {
                        "exists_with_different_payee"
                    } else if first_amount != amount {
                        "exists_with_different_amount"
                    } else {
                        "duplicate"
                    });
                }
                if amount == 0 {
                    return Err("zero_amount");
                }
                if from == to {
                    return Err("self_payment");
                }
                self.transfer(Acct::M(from), Acct::M(to), amount)?;
                let (x, y) = (member_home(from), member_home(to));
                if is_merchant(to) && x != y {
                    self.transfer(Acct::M(to), Acct::Fee(y), Self::fee(amount, 30))?;
                    self.transfer(Acct::M(to), Acct::Fee(x), Self::fee(amount, 30))?;
                    self.transfer(Acct::M(to), Acct::Net, Self::fee(amount, 10))?;
                }
                self.idem.insert((from, idem), (to, amount));
                Ok(())
            }
            Op::CashIn {
                agent,
                member,
                amount,
            } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                self.credit(Acct::Float(agent), amount)?;
                self.transfer(Acct::Float(agent), Acct::M(member), amount)?;
                if member_home(member) != agent {
                    self.transfer(Acct::M(member), Acct::Fee(agent), 1_000)?;
                }
                Ok(())
            }
            Op::CashOut {
                member,
                agent,
                amount,
            } => {
                if amount == 0 {
                    return Err("zero_amount");
                }
                self.transfer(Acct::M(member), Acct::Float(agent), amount)?;
                let home = member_home(member);
                if home != agent {
                    self.transfer(Acct::M(member), Acct::Fee(agent), 2_500)?;
                    self.transfer(Acct::M(member), Acct::Fee(home), 1_000)?;
                }
                let have = self.bal(Acct::Float(agent));
                self.balances.insert(Acct::Float(agent), have - amount);
                Ok(())
            }
            Op::Close { .. } => unreachable!("resolved to CloseAt when signed"),
            Op::CloseAt { window, .. } => {
                if window != self.windows.len() as u64 {
                    return Err("window_not_open");
                }
                let mut positions = BTreeMap::new();
                for p in 0..=COOPS {
                    if self.position[p] != 0 {
                        positions.insert(p, self.position[p]);
                    }
                    self.unsettled[p] += self.position[p];
                    self.position[p] = 0;
                }
                let mut window = ModelWindow {
                    positions,
                    acked: BTreeSet::new(),
                    settled: false,
                };
                if window.positions.keys().all(|p| *p == NETWORK) {
                    self.settle(&mut window);
                }
                self.windows.push(window);
                Ok(())
            }
            Op::Ack { coop, window } => {
                let mut w = self
                    .windows
                    .get(usize::from(window))
                    .cloned()
                    .ok_or("unknown_window")?;
                if w.settled || !w.positions.contains_key(&coop) || !w.acked.insert(coop) {
                    return Err("nothing_to_acknowledge");
                }
                if w.positions
                    .keys()
                    .all(|p| *p == NETWORK || w.acked.contains(p))
                {
                    self.settle(&mut w);
                }
                self.windows[usize::from(window)] = w;
                Ok(())
            }
            Op::Replay { .. } => unreachable!("replays never reach execution"),
        }
    }

    fn settle(&mut self, window: &mut ModelWindow) {
        for (p, pos) in &window.positions {
            self.unsettled[*p] -= pos;
        }
        window.settled = true;
    }
}

// ---------------------------------------------------------------- the driver

fn coop_slug(c: usize) -> &'static str {
    DEMO_COOPERATIVES[c].0
}

struct Run {
    memory: Harness<MemoryStorage>,
    sled: Ledger<SledStorage>,
    _dir: tempfile::TempDir,
    model: Model,
    members: Vec<PublicKey>,
    sent: Vec<Transaction>,
}

impl Run {
    fn new() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let mut memory = Harness::new(MemoryStorage::new(), NDC);
        let sled_store = SledStorage::open(dir.path(), 8 * 1024 * 1024).unwrap();
        let sled = Ledger::open(sled_store, &memory.genesis).unwrap();
        let mut members = Vec::new();
        let mut txs = Vec::new();
        for m in 0..MEMBERS {
            let key = memory.member_key(&member_name(m));
            members.push(key);
            let kind = if is_merchant(m) {
                AccountKind::Merchant
            } else {
                AccountKind::Member
            };
            let tier = if is_merchant(m) {
                kopnet_ledger::KycTier::Business
            } else {
                kopnet_ledger::KycTier::Registered
            };
            txs.push(memory.sign(
                &coop(coop_slug(member_home(m))),
                Action::RegisterMember {
                    member: key,
                    kind,
                    tier,
                },
            ));
        }
        let mut run = Run {
            memory,
            sled,
            _dir: dir,
            model: Model::default(),
            members,
            sent: vec![],
        };
        let results = run.apply(txs, &[]);
        assert!(results.iter().all(|r| r.is_ok()));
        run
    }

    fn tx_for(&mut self, op: &Op) -> (Transaction, Op) {
        let op = match *op {
            Op::Close { by, window_offset } => Op::CloseAt {
                by,
                window: self.memory.ledger.counters().open_window + u64::from(window_offset),
            },
            ref other => other.clone(),
        };
        (self.sign_op(&op), op)
    }

    fn sign_op(&mut self, op: &Op) -> Transaction {
        let h = &mut self.memory;
        let m = &self.members;
        match *op {
            Op::Mint {
                member,
                amount,
                by_home,
            } => {
                let home = member_home(member);
                let signer = if by_home { home } else { (home + 1) % COOPS };
                h.sign(
                    &coop(coop_slug(signer)),
                    Action::Mint {
                        member: m[member],
                        amount,
                    },
                )
            }
            Op::Burn { member, amount } => h.sign(
                &coop(coop_slug(member_home(member))),
                Action::Burn {
                    member: m[member],
                    amount,
                },
            ),
            Op::Pay {
                from,
                to,
                amount,
                idem,
            } => h.sign(&m[from], pay(m[to], amount, idem)),
            Op::CashIn {
                agent,
                member,
                amount,
            } => h.sign(
                &coop(coop_slug(agent)),
                Action::CashIn {
                    agent: id(coop_slug(agent)),
                    member: m[member],
                    amount,
                },
            ),
            Op::CashOut {
                member,
                agent,
                amount,
            } => h.sign(
                &m[member],
                Action::CashOut {
                    agent: id(coop_slug(agent)),
                    amount,
                },
            ),
            Op::CloseAt { by, window } => h.sign(
                &coop(coop_slug(by)),
                Action::CloseSettlementWindow { window },
            ),
            Op::Close { .. } => unreachable!(),
            Op::Ack { coop: c, window } => h.sign(
                &coop(coop_slug(c)),
                Action::AcknowledgeSettlement {
                    window: u64::from(window),
                },
            ),
            Op::Replay { .. } => unreachable!(),
        }
    }

    /// Build one block from `txs` on the in-memory ledger, apply it to both
    /// ledgers and the model, and check everything.
    fn apply(&mut self, txs: Vec<Transaction>, ops: &[Op]) -> Vec<Result<(), Rejection>> {
        let (block, skipped) = self.memory.ledger.build_block(
            &txs,
            coop("ksp-sejahtera"),
            BlockLimits::default(),
            &VerifyAll,
        );
        for (_, reason) in &skipped {
            assert_eq!(reason.code(), "stale_nonce", "only replays are skipped");
        }
        assert_eq!(block.txs.len(), txs.len() - skipped.len());
        // The in-memory ledger applies from its validation cache, sled
        // executes afresh: both must reach the same root.
        self.memory
            .ledger
            .validate_block(&block, &VerifyAll)
            .unwrap();
        let a = self
            .memory
            .ledger
            .apply_block(&block, &VerifyAll, vec![])
            .unwrap();
        let b = self.sled.apply_block(&block, &VerifyAll, vec![]).unwrap();
        assert_eq!(a.state_root, b.state_root, "sled and memory disagree");
        assert_eq!(a.results, b.results);
        let results: Vec<_> = a.results.into_iter().map(|(_, r)| r).collect();
        let mut executed = ops.iter().filter(|op| !matches!(op, Op::Replay { .. }));
        for result in &results {
            let Some(op) = executed.next() else { break };
            let expected = self.model.apply(op);
            let got = result.as_ref().map_err(Rejection::code).map(|_| ());
            assert_eq!(got, expected, "op {op:?}");
        }
        self.sent.extend(block.txs);
        self.check();
        results
    }

    fn check(&self) {
        let state = self.memory.ledger.state();
        invariants::check(state).unwrap();
        invariants::check_caps(state).unwrap();
        for (m, key) in self.members.iter().enumerate() {
            assert_eq!(
                self.memory.balance(key),
                self.model.bal(Acct::M(m)),
                "member {m}"
            );
        }
        for c in 0..COOPS {
            let slug = coop_slug(c);
            let record = self.memory.coop_record(slug);
            assert_eq!(record.position, self.model.position[c], "{slug} position");
            assert_eq!(
                record.unsettled, self.model.unsettled[c],
                "{slug} unsettled"
            );
            assert_eq!(self.memory.fee_balance(slug), self.model.bal(Acct::Fee(c)));
        }
        let net = self.memory.coop_record("network");
        assert_eq!(net.position, self.model.position[NETWORK]);
        assert_eq!(
            state.internal_balance(&AccountId::NetworkFund),
            self.model.bal(Acct::Net)
        );
    }
}

fn blocks() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..8), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_every_invariant(blocks in blocks()) {
        let mut run = Run::new();
        for ops in blocks {
            let mut txs = Vec::new();
            let mut resolved = Vec::new();
            for op in &ops {
                match op {
                    Op::Replay { index } => {
                        if !run.sent.is_empty() {
                            txs.push(run.sent[index % run.sent.len()].clone());
                        }
                    }
                    other => {
                        let (tx, op) = run.tx_for(other);
                        txs.push(tx);
                        resolved.push(op);
                    }
                }
            }
            run.apply(txs, &resolved);
        }
        // Reopening the sled store gives back the same state.
        let root = run.sled.state_root();
        let height = run.sled.height();
        let genesis = run.memory.genesis.clone();
        let Run { sled, _dir: dir, .. } = run;
        drop(sled);
        let store = SledStorage::open(dir.path(), 1 << 20).unwrap();
        let reopened = Ledger::open(store, &genesis).unwrap();
        prop_assert_eq!(reopened.state_root(), root);
        prop_assert_eq!(reopened.height(), height);
    }
}

#[test]
fn same_blocks_same_root_at_every_height_on_both_stores() {
    // A fixed sequence, so the property also holds without proptest's luck.
    let mut run = Run::new();
    let ops = vec![
        Op::Mint {
            member: 0,
            amount: 500_000,
            by_home: true,
        },
        Op::Mint {
            member: 1,
            amount: 500_000,
            by_home: true,
        },
        Op::Pay {
            from: 0,
            to: 7,
            amount: 100_000,
            idem: 1,
        },
        Op::Pay {
            from: 1,
            to: 6,
            amount: 50_000,
            idem: 1,
        },
        Op::CashOut {
            member: 0,
            agent: 3,
            amount: 20_000,
        },
        Op::CashIn {
            agent: 2,
            member: 1,
            amount: 10_000,
        },
        Op::Close {
            by: 1,
            window_offset: 0,
        },
    ];
    for op in ops {
        let (tx, op) = run.tx_for(&op);
        let result = run.apply(vec![tx], &[op]);
        assert!(result[0].is_ok());
        let h = run.memory.ledger.height();
        assert_eq!(
            run.memory.ledger.state_root_at(h).unwrap(),
            run.sled.state_root_at(h).unwrap()
        );
    }
}
