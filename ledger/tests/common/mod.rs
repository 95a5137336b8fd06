//! Shared test harness: a demo city ledger and helpers to run blocks.
#![allow(dead_code)]

pub mod counting;
pub mod format_11;

use kopnet_ledger::ledger::{BlockContext, BlockLimits};
use kopnet_ledger::testkit::{demo_genesis, demo_signers, key_for, Signers};
use kopnet_ledger::{
    AccountKind, Action, CoopId, Genesis, KycTier, Ledger, Rejection, Storage, Transaction,
    VerifyAll,
};
use kopnet_primitives::{Hash, Keypair, PublicKey};

pub const CHAIN: &str = "kopnet-test";

pub struct Harness<S: Storage> {
    pub ledger: Ledger<S>,
    pub signers: Signers,
    pub genesis: Genesis,
}

pub fn coop(slug: &str) -> PublicKey {
    key_for(slug).public()
}

pub fn id(slug: &str) -> CoopId {
    CoopId::new(slug).unwrap()
}

impl<S: Storage> Harness<S> {
    pub fn new(store: S, ndc: u64) -> Self {
        let genesis = demo_genesis(CHAIN, 4, ndc);
        Self::with_genesis(store, genesis)
    }

    pub fn with_genesis(store: S, genesis: Genesis) -> Self {
        let ledger = Ledger::open(store, &genesis).unwrap();
        Harness {
            ledger,
            signers: demo_signers(),
            genesis,
        }
    }

    /// A member key named `name` (deterministic).
    pub fn member_key(&mut self, name: &str) -> PublicKey {
        self.signers.add(key_for(name))
    }

    pub fn sign(&mut self, signer: &PublicKey, action: Action) -> Transaction {
        self.signers.sign(CHAIN, signer, action)
    }

    /// Put `txs` in one block and apply it; every tx must be admitted.
    pub fn block(&mut self, txs: Vec<Transaction>) -> Vec<Result<(), Rejection>> {
        let proposer = coop("ksp-sejahtera");
        let (block, skipped) =
            self.ledger
                .build_block(&txs, proposer, BlockLimits::default(), &VerifyAll);
        assert!(skipped.is_empty(), "not admitted: {skipped:?}");
        let outcome = self.ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
        let totals = self.ledger.check_invariants().unwrap();
        // The per-block check (figures moved by the block's writes) agrees
        // with the full pass, and the figures with a fresh scan.
        assert_eq!(self.ledger.check_block_invariants(), Ok(totals));
        assert_eq!(
            self.ledger.figures(),
            &kopnet_ledger::figures::Figures::of(self.ledger.state().iter())
        );
        outcome.results.into_iter().map(|(_, r)| r).collect()
    }

    /// Put `txs` in one block with header time `time_ms` (at least the
    /// parent's + 1) and apply it, validated as a peer would.
    pub fn block_at(&mut self, time_ms: u64, txs: Vec<Transaction>) -> Vec<Result<(), Rejection>> {
        let context = BlockContext {
            proposer: coop("ksp-sejahtera"),
            time_ms,
            evidence: Vec::new(),
        };
        let (executed, skipped) =
            self.ledger
                .build_executed_block(&txs, context, BlockLimits::default(), &VerifyAll);
        assert!(skipped.is_empty(), "not admitted: {skipped:?}");
        let block = executed.into_block();
        let outcome = self.ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
        self.ledger.check_invariants().unwrap();
        outcome.results.into_iter().map(|(_, r)| r).collect()
    }

    /// Let the block clock reach the settlement schedule's next cut-off: an
    /// empty block at that time, which closes the open window if anything
    /// happened in it. Returns the number of the window it closed.
    pub fn cut_off(&mut self) -> Option<u64> {
        let schedule = self.ledger.params().unwrap().settlement;
        let time = schedule
            .next_cutoff_after(self.ledger.last_block_time_ms())
            .unwrap();
        let open = self.ledger.counters().open_window;
        self.block_at(time, vec![]);
        (self.ledger.counters().open_window > open).then_some(open)
    }

    /// [`Harness::cut_off`] for a window that must close: its number.
    pub fn close_window(&mut self) -> u64 {
        self.cut_off()
            .expect("the open window had activity and closes")
    }

    /// One transaction in its own block.
    pub fn run(&mut self, signer: &PublicKey, action: Action) -> Result<(), Rejection> {
        let tx = self.sign(signer, action);
        self.block(vec![tx]).remove(0)
    }

    /// Register a member at `home` and mint `amount` for it.
    pub fn member(&mut self, name: &str, home: &str, kind: AccountKind, amount: u64) -> PublicKey {
        let key = self.member_key(name);
        let tier = match kind {
            AccountKind::Member => KycTier::Registered,
            AccountKind::Merchant => KycTier::Business,
        };
        self.run(
            &coop(home),
            Action::RegisterMember {
                member: key,
                kind,
                tier,
            },
        )
        .unwrap();
        if amount > 0 {
            self.run(
                &coop(home),
                Action::Mint {
                    member: key,
                    amount,
                },
            )
            .unwrap();
        }
        key
    }

    pub fn balance(&self, key: &PublicKey) -> u64 {
        self.ledger.member(key).unwrap().balance
    }

    pub fn position(&self, slug: &str) -> i128 {
        self.coop_record(slug).position
    }

    pub fn coop_record(&self, slug: &str) -> kopnet_ledger::types::Cooperative {
        self.ledger
            .cooperatives()
            .into_iter()
            .find(|c| c.id.as_str() == slug)
            .unwrap()
    }

    pub fn fee_balance(&self, slug: &str) -> u64 {
        use kopnet_ledger::state::StateRead;
        self.ledger
            .state()
            .internal_balance(&kopnet_ledger::AccountId::Fee(id(slug)))
    }
}

pub fn pay(to: PublicKey, amount: u64, idem: u8) -> Action {
    Action::Payment {
        to,
        amount,
        memo: String::new(),
        idempotency_id: [idem; 16],
    }
}

pub fn keypair(name: &str) -> Keypair {
    key_for(name)
}

pub fn zero_hash() -> Hash {
    Hash::ZERO
}

/// Take a snapshot of `ledger` (its store) and import it into a new
/// memory store against `ledger`'s root: the imported ledger (the importer
/// checks every day's records against its chain).
pub fn snapshot_round_trip(
    ledger: &Ledger<kopnet_ledger::MemoryStorage>,
    genesis: &Genesis,
) -> Ledger<kopnet_ledger::MemoryStorage> {
    use kopnet_ledger::snapshot::{self, Capture, Importer};
    let capture = Capture::of(ledger).unwrap();
    let mut chunks = Vec::new();
    let manifest = snapshot::export(&capture, ledger.storage(), &mut |bytes| {
        chunks.push(bytes.to_vec());
        Ok(())
    })
    .unwrap();
    let mut importer = Importer::new(
        kopnet_ledger::MemoryStorage::new(),
        genesis,
        manifest,
        ledger.state_root(),
    )
    .unwrap();
    for (index, chunk) in chunks.iter().enumerate() {
        importer.chunk(index, chunk).unwrap();
    }
    let imported = importer.finish(genesis).unwrap();
    assert_eq!(imported.state_root(), ledger.state_root());
    imported
}
