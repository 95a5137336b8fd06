//! CPU cost of executing payments the way a validator does: the measurement
//! behind "Executing payments (issue 21)" in BENCHMARKS.md.
//!
//! ```text
//! cargo run --release -p kopnet-ledger --example execute_cost [BLOCKS] [TXS_PER_BLOCK]
//! ```
//!
//! (defaults: 20 blocks of 500 transactions). An in-memory ledger with the
//! five demo cooperatives, 200 funded members and 10 merchants at each,
//! then `BLOCKS` blocks of a fixed pseudo-random mix: on-us member
//! payments (35 %), cross-cooperative member payments (25 %), on-us
//! merchant payments (10 %), cross-cooperative merchant payments, which
//! pay the default fees (20 %), and cash-in at another cooperative's
//! counter, which pays the agent's fee (10 %). Each block is built by the
//! proposer (not measured), then checked with `validate_block` and written
//! with `apply_executed`: what a validator does with a proposal. The
//! signature check answers from a stand-in cache (every signature is good),
//! as a node's does, so signatures cost nothing here.
//!
//! Only `measured_validate` and `measured_apply` do the measured work, so
//! callgrind counts them alone:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='*measured*' \
//!     target/release/examples/execute_cost 20 500
//! valgrind --tool=callgrind --toggle-collect='*measured_validate*' \
//!     target/release/examples/execute_cost 20 500
//! ```
//!
//! Divide the `Collected` instructions by the transactions it prints. It
//! also prints the final state root and a digest of every result and fee:
//! a change that makes execution cheaper must leave both as they were.

use kopnet_ledger::ledger::{BlockOutcome, ExecutedBlock};
use kopnet_ledger::testkit::{
    build_all, demo_genesis, key_for, TrustedSignatures as Trusted, DEMO_COOPERATIVES,
};
use kopnet_ledger::{
    AccountKind, Action, Block, CoopId, KycTier, Ledger, MemoryStorage, Transaction, TxBody,
};
use kopnet_primitives::{Hash, PublicKey, Signature};
use std::collections::BTreeMap;
use std::time::Instant;

const CHAIN: &str = "kopnet-execute-cost";
const MEMBERS_PER_COOP: usize = 200;
const MERCHANTS_PER_COOP: usize = 10;
const MEMBER_FUNDS: u64 = 3_000_000;
/// Ten minutes past an hour of day 20,000: no settlement cut-off falls
/// among the blocks (a block a second), so every block does the same work.
const START_MS: u64 = 20_000 * 86_400_000 + 10 * 60 * 1_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A fixed pseudo-random sequence (splitmix64): the same blocks every run.
struct Sequence(u64);
impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn amount(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// The keys of the network, and every signer's next nonce.
struct City {
    coops: Vec<(CoopId, PublicKey)>,
    /// Members and merchants by cooperative index.
    members: Vec<Vec<PublicKey>>,
    merchants: Vec<Vec<PublicKey>>,
    nonces: BTreeMap<PublicKey, u64>,
}

impl City {
    fn new() -> Result<City> {
        let mut coops = Vec::new();
        let mut members = Vec::new();
        let mut merchants = Vec::new();
        for (slug, _) in DEMO_COOPERATIVES {
            coops.push((CoopId::new(slug)?, key_for(slug).public()));
            members.push(
                (0..MEMBERS_PER_COOP)
                    .map(|i| key_for(&format!("{slug}/member-{i}")).public())
                    .collect(),
            );
            merchants.push(
                (0..MERCHANTS_PER_COOP)
                    .map(|i| key_for(&format!("{slug}/merchant-{i}")).public())
                    .collect(),
            );
        }
        Ok(City {
            coops,
            members,
            merchants,
            nonces: BTreeMap::new(),
        })
    }

    /// `action` signed by `signer` with its next nonce (the signature is
    /// filler: see [`TrustedSignatures`](kopnet_ledger::testkit::TrustedSignatures)).
    fn tx(&mut self, signer: PublicKey, action: Action) -> Transaction {
        let nonce = self.nonces.entry(signer).or_insert(0);
        *nonce += 1;
        Transaction {
            body: TxBody {
                chain_id: CHAIN.into(),
                signer,
                nonce: *nonce,
                action,
            },
            signature: Signature([7; 64]),
        }
    }

    /// Each cooperative registers and funds its members and registers its
    /// merchants.
    fn setup(&mut self) -> Vec<Transaction> {
        let mut txs = Vec::new();
        for c in 0..self.coops.len() {
            let coop = self.coops[c].1;
            for member in self.members[c].clone() {
                let register = Action::RegisterMember {
                    member,
                    kind: AccountKind::Member,
                    tier: KycTier::Registered,
                };
                txs.push(self.tx(coop, register));
                let mint = Action::Mint {
                    member,
                    amount: MEMBER_FUNDS,
                };
                txs.push(self.tx(coop, mint));
            }
            for member in self.merchants[c].clone() {
                let register = Action::RegisterMember {
                    member,
                    kind: AccountKind::Merchant,
                    tier: KycTier::Business,
                };
                txs.push(self.tx(coop, register));
            }
        }
        txs
    }

    /// Transaction `serial` of the mix.
    fn mixed_tx(&mut self, seq: &mut Sequence, serial: u64) -> Transaction {
        let coops = self.coops.len();
        let home = seq.below(coops);
        let other = (home + 1 + seq.below(coops - 1)) % coops;
        let payer = self.members[home][seq.below(MEMBERS_PER_COOP)];
        let roll = seq.below(100);
        if roll >= 90 {
            // Cash-in at another cooperative's counter, signed by the agent.
            let (agent, agent_key) = self.coops[other].clone();
            let action = Action::CashIn {
                agent,
                member: payer,
                amount: seq.amount(50_000, 200_000),
            };
            return self.tx(agent_key, action);
        }
        let (to, memo) = match roll {
            0..=34 => (self.other_member(seq, home, &payer), String::new()),
            35..=59 => (self.other_member(seq, other, &payer), String::new()),
            60..=69 => (self.merchant(seq, home), format!("struk {serial}")),
            _ => (self.merchant(seq, other), format!("struk {serial}")),
        };
        let action = Action::Payment {
            to,
            amount: seq.amount(1_000, 50_000),
            memo,
            idempotency_id: u128::from(serial).to_le_bytes(),
        };
        self.tx(payer, action)
    }

    fn other_member(&self, seq: &mut Sequence, coop: usize, not: &PublicKey) -> PublicKey {
        loop {
            let member = self.members[coop][seq.below(MEMBERS_PER_COOP)];
            if member != *not {
                return member;
            }
        }
    }

    fn merchant(&self, seq: &mut Sequence, coop: usize) -> PublicKey {
        self.merchants[coop][seq.below(MERCHANTS_PER_COOP)]
    }
}

/// The proposer's block of `txs` at `time_ms` (not measured); every
/// transaction must be admitted.
fn propose(ledger: &Ledger<MemoryStorage>, txs: &[Transaction], time_ms: u64) -> Result<Block> {
    Ok(build_all(ledger, txs, time_ms)?.into_block())
}

/// A validator's check of a proposed block: header and every transaction.
#[inline(never)]
fn measured_validate(ledger: &Ledger<MemoryStorage>, block: &Block) -> Result<ExecutedBlock> {
    Ok(ledger.validate_block(block, &Trusted)?)
}

/// Writing the decided block from its execution.
#[inline(never)]
fn measured_apply(
    ledger: &mut Ledger<MemoryStorage>,
    executed: ExecutedBlock,
) -> Result<BlockOutcome> {
    Ok(ledger.apply_executed(executed, vec![], |_| vec![])?)
}

/// A hash in full, as hex.
fn hex(hash: &Hash) -> String {
    hash.0.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<std::result::Result<_, _>>()?;
    let blocks = args.first().copied().unwrap_or(20);
    let per_block = args.get(1).copied().unwrap_or(500);

    let mut ledger = Ledger::open(MemoryStorage::new(), &demo_genesis(CHAIN, 4, 500_000_000))?;
    let mut city = City::new()?;
    let mut time_ms = START_MS;
    for chunk in city.setup().chunks(2_000) {
        let block = propose(&ledger, chunk, time_ms)?;
        let executed = ledger.validate_block(&block, &Trusted)?;
        ledger.apply_executed(executed, vec![], |_| vec![])?;
        time_ms += 1_000;
    }

    let mut seq = Sequence(21);
    let mut serial = 0u64;
    let (mut txs_run, mut failed) = (0u64, 0u64);
    let mut results_digest = Hash::digest("execute_cost results", b"");
    let (mut validate_time, mut apply_time) = (0.0f64, 0.0f64);
    for _ in 0..blocks {
        let txs: Vec<Transaction> = (0..per_block)
            .map(|_| {
                serial += 1;
                city.mixed_tx(&mut seq, serial)
            })
            .collect();
        let block = propose(&ledger, &txs, time_ms)?;
        let started = Instant::now();
        let executed = measured_validate(&ledger, &block)?;
        let validated = Instant::now();
        let outcome = measured_apply(&mut ledger, executed)?;
        validate_time += (validated - started).as_secs_f64();
        apply_time += validated.elapsed().as_secs_f64();
        for ((hash, result), fee) in outcome.results.iter().zip(&outcome.fees) {
            txs_run += 1;
            let code = match result {
                Ok(()) => "ok".to_string(),
                Err(reason) => {
                    failed += 1;
                    reason.code().to_string()
                }
            };
            let line = format!("{hash:?} {code} {fee}");
            results_digest = Hash::digest_parts(
                "execute_cost results",
                &[&results_digest.0, line.as_bytes()],
            );
        }
        time_ms += 1_000;
    }

    println!(
        "{blocks} blocks x {per_block}: {txs_run} transactions ({failed} rejected), height {}",
        ledger.height()
    );
    println!("state root   {}", hex(&ledger.state_root()));
    println!("results hash {}", hex(&results_digest));
    let per_tx = |seconds: f64| seconds * 1e6 / txs_run.max(1) as f64;
    println!(
        "wall clock per transaction (indicative only): validate {:.2} us, apply {:.2} us",
        per_tx(validate_time),
        per_tx(apply_time)
    );
    Ok(())
}
