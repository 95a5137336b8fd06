//! A small city for the targets that need a chain: the demo genesis (four
//! validator cooperatives and a consumer cooperative), two members and a
//! merchant, a few committed blocks with certificates signed by the
//! validators. Built once per thread, deterministically (fixed keys).
//!
//! `POST /v1/quote` is fuzzed against its ledger, catch-up pages are
//! verified against its validator set, and [`crate::seeds`] takes real
//! blocks, certificates and transactions from it.

use kopnet_consensus::{
    CommitCertificate, PublicKey, SignedVote, Validator, ValidatorSet, Vote, VoteKind,
};
use kopnet_ledger::genesis::GenesisObserver;
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::testkit::{
    demo_genesis, demo_signers, key_for, validator_key_for, DEMO_COOPERATIVES,
};
use kopnet_ledger::{
    AccountKind, Action, Block, CoopId, KycTier, Ledger, MemoryStorage, Transaction, VerifyAll,
};
use kopnet_node::genesis_file::NetworkGenesis;

/// The city's chain id.
pub const CHAIN: &str = "kopnet-fuzz";
/// Net debit cap of every cooperative.
const NDC: u64 = 100_000_000;
/// Validators among the demo cooperatives (the fifth only participates).
const VALIDATORS: usize = 4;

/// The city and what it committed.
pub struct City {
    pub genesis: NetworkGenesis,
    pub ledger: Ledger<MemoryStorage>,
    pub validators: ValidatorSet,
    /// Every committed block, from height 1, with its certificate.
    pub chain: Vec<(Block, CommitCertificate)>,
    /// Every transaction committed, in order.
    pub txs: Vec<Transaction>,
    /// A member with money (`ani`, at `ksp-sejahtera`).
    pub member: PublicKey,
    /// A merchant (`warung-bu-sri`, at `pasar-makmur`).
    pub merchant: PublicKey,
}

/// The key of a demo cooperative.
pub fn coop(slug: &str) -> PublicKey {
    key_for(slug).public()
}

fn coop_id(slug: &str) -> CoopId {
    CoopId::new(slug).unwrap_or_else(|_| CoopId::network())
}

thread_local! {
    static CITY: City = City::build();
}

/// Run `f` on this thread's city.
pub fn with_city<R>(f: impl FnOnce(&City) -> R) -> R {
    CITY.with(f)
}

impl City {
    /// The city, built from nothing. Panics only if the ledger refuses its
    /// own fixture (a bug in this file or in the ledger).
    pub fn build() -> City {
        let mut ledger_genesis = demo_genesis(CHAIN, VALIDATORS, NDC);
        ledger_genesis.observers = vec![GenesisObserver {
            name: "OJK regulator".into(),
            key: key_for("ojk-observer").public(),
        }];
        let genesis = NetworkGenesis {
            ledger: ledger_genesis.clone(),
        };
        let ledger = Ledger::open(MemoryStorage::new(), &ledger_genesis)
            .expect("the demo genesis opens a ledger");
        let validators = ValidatorSet::new(
            ledger
                .validators()
                .into_iter()
                .map(|(key, voting_power)| Validator { key, voting_power })
                .collect(),
        )
        .expect("the demo validators form a set");
        let mut signers = demo_signers();
        let member = signers.add(key_for("ani"));
        let other = signers.add(key_for("budi"));
        let merchant = signers.add(key_for("warung-bu-sri"));
        let mut city = City {
            genesis,
            ledger,
            validators,
            chain: Vec::new(),
            txs: Vec::new(),
            member,
            merchant,
        };
        let home = coop("ksp-sejahtera");
        let market = coop("pasar-makmur");
        let register = |member, kind, tier| Action::RegisterMember { member, kind, tier };
        let steps: Vec<Vec<(PublicKey, Action)>> = vec![
            vec![
                (
                    home,
                    register(member, AccountKind::Member, KycTier::Registered),
                ),
                (
                    home,
                    register(other, AccountKind::Member, KycTier::Registered),
                ),
                (
                    market,
                    register(merchant, AccountKind::Merchant, KycTier::Business),
                ),
            ],
            vec![
                (
                    home,
                    Action::Mint {
                        member,
                        amount: 500_000,
                    },
                ),
                (
                    home,
                    Action::Mint {
                        member: other,
                        amount: 20_000,
                    },
                ),
            ],
            vec![
                (
                    member,
                    Action::Payment {
                        to: merchant,
                        amount: 25_000,
                        memo: "bakso".into(),
                        idempotency_id: [7; 16],
                    },
                ),
                (
                    member,
                    Action::CashOut {
                        agent: coop_id("angkot-maju"),
                        amount: 10_000,
                    },
                ),
                (
                    coop("taksi-bersama"),
                    Action::CashIn {
                        agent: coop_id("taksi-bersama"),
                        member: other,
                        amount: 5_000,
                    },
                ),
            ],
        ];
        for step in steps {
            let txs: Vec<Transaction> = step
                .into_iter()
                .map(|(signer, action)| signers.sign(CHAIN, &signer, action))
                .collect();
            city.commit(txs);
        }
        city
    }

    /// Put `txs` in the next block, commit it and sign its certificate.
    fn commit(&mut self, txs: Vec<Transaction>) {
        let proposer = validator_key_for(DEMO_COOPERATIVES[0].0).public();
        let (block, skipped) =
            self.ledger
                .build_block(&txs, proposer, BlockLimits::default(), &VerifyAll);
        assert!(
            skipped.is_empty(),
            "the city's fixture was refused: {skipped:?}"
        );
        self.ledger
            .apply_block(&block, &VerifyAll, Vec::new())
            .expect("the city's block applies");
        let precommits: Vec<SignedVote> = DEMO_COOPERATIVES[..VALIDATORS]
            .iter()
            .map(|(slug, _)| {
                let key = validator_key_for(slug);
                let vote = Vote {
                    height: block.header.height,
                    round: 0,
                    kind: VoteKind::Precommit,
                    value_id: Some(block.hash()),
                    validator: key.public(),
                };
                SignedVote::sign(CHAIN, &key, vote).expect("a vote encodes")
            })
            .collect();
        let certificate =
            CommitCertificate::from_precommits(block.header.height, 0, block.hash(), &precommits);
        self.txs.extend(txs);
        self.chain.push((block, certificate));
    }
}
