//! The host over a store and a safety record that fail on purpose
//! ([`FaultyStorage`], [`FaultySafetyStore`]): every kind of failed write,
//! flush or sync returns the error (fail-stop), the host's memory never
//! runs ahead of what is durable, and a host reopened on what the disk
//! kept — after a power cut that lost the unflushed tail, or after the
//! tail was written back — resumes and commits.

use super::tests::{config_for, Shell};
use super::*;
use kopnet_consensus::safety_faults::{FaultySafetyStore, SafetyFault};
use kopnet_consensus::Hash;
use kopnet_consensus::{SignPosition, SignStep, VoteKind};
use kopnet_ledger::storage::{FaultyStorage, FiredFault, StorageFault};
use kopnet_ledger::{testkit, MemoryStorage};
use std::convert::Infallible;

const CHAIN: &str = "kopnet-storage-faults";

type Store = Arc<FaultyStorage<MemoryStorage>>;
type Safety = FaultySafetyStore<Disk>;

/// The safety record's "disk": clones share it.
#[derive(Clone, Default)]
struct Disk(Arc<Mutex<Option<SafetyRecord>>>);

impl SafetyStore for Disk {
    type Error = Infallible;
    fn persist(&mut self, record: &SafetyRecord) -> Result<(), Infallible> {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(record.clone());
        }
        Ok(())
    }
}

impl Disk {
    fn record(&self) -> Option<SafetyRecord> {
        self.0.lock().unwrap().clone()
    }
}

/// Where a message was signed.
fn position(message: &Message) -> SignPosition {
    match message {
        Message::Proposal(p) => SignPosition {
            height: p.proposal.height,
            round: p.proposal.round,
            step: SignStep::Proposal,
        },
        Message::Vote(v) => SignPosition {
            height: v.vote.height,
            round: v.vote.round,
            step: match v.vote.kind {
                VoteKind::Prevote => SignStep::Prevote,
                VoteKind::Precommit => SignStep::Precommit,
            },
        },
    }
}

/// One validator's node: its store and safety record, and the host when up.
struct Node {
    store: Store,
    safety: Safety,
    host: Option<Host<Store, Safety>>,
    shell: Shell,
}

fn genesis() -> Genesis {
    testkit::demo_genesis(CHAIN, 1, 1_000_000)
}

impl Node {
    fn new() -> Self {
        Node {
            store: Arc::new(FaultyStorage::new(MemoryStorage::new(), u64::MAX)),
            safety: FaultySafetyStore::new(Disk::default()),
            host: None,
            shell: Shell::new(),
        }
    }

    /// Open a host on what the disk holds, as the binary starts, and start it.
    fn start(&mut self) {
        let record = self.safety.inner().record();
        let mut host = Host::open(
            self.store.clone(),
            &genesis(),
            testkit::validator_key_for("ksp-sejahtera"),
            self.safety.clone(),
            record,
            config_for(CHAIN),
        )
        .unwrap();
        self.shell.take(host.start(self.shell.now_ms).unwrap());
        self.host = Some(host);
    }

    fn host(&mut self) -> &mut Host<Store, Safety> {
        self.host.as_mut().unwrap()
    }

    fn run_until(&mut self, height: u64) -> Result<(), HostError> {
        let host = self.host.as_mut().unwrap();
        self.shell.run_until(host, height)
    }

    /// The host's committed height and state root (memory).
    fn in_memory(&mut self) -> (u64, Hash) {
        let ledger = self.host().state().ledger.read().unwrap();
        (ledger.height(), ledger.state_root())
    }

    /// What a ledger opened on the disk alone (without the unflushed tail)
    /// finds: the durable state.
    fn durable(&self) -> (u64, Hash) {
        let ledger = Ledger::open(self.store.inner().clone(), &genesis()).unwrap();
        (ledger.height(), ledger.state_root())
    }

    /// The process stops; the machine loses power (the unflushed tail is
    /// lost) or not (it is written back). The disk is repaired.
    fn go_down(&mut self, power_cut: bool) {
        self.host = None;
        if power_cut {
            self.store.power_cut();
            self.safety.power_cut();
        } else {
            self.store.write_back().unwrap();
            self.safety.write_back().unwrap();
        }
        self.store.repair();
        self.safety.repair();
        let now_ms = self.shell.now_ms;
        self.shell = Shell::new();
        self.shell.now_ms = now_ms;
    }
}

/// A store fault strikes at the next block: the host returns the error
/// for that height, and its memory is exactly the durable state.
fn fail_at_next_block(node: &mut Node, fault: StorageFault) -> (u64, Hash) {
    node.start();
    node.run_until(2).unwrap();
    let before = node.in_memory();
    node.store.arm(fault);
    let error = node.run_until(before.0 + 5).unwrap_err();
    let failed_at = node.host().height() + 1;
    assert!(
        matches!(error, HostError::Store { height, .. } if height == failed_at),
        "{error}"
    );
    assert!(node.store.fired().is_some());
    assert_eq!(
        node.in_memory(),
        node.durable(),
        "memory did not run ahead of the disk"
    );
    node.in_memory()
}

#[test]
fn every_failed_store_write_stops_the_host_with_memory_as_on_disk_and_it_resumes() {
    let faults = [
        (
            StorageFault::FailWrite { after_commits: 1 },
            FiredFault::WriteRefused,
        ),
        (
            StorageFault::FailFlush { after_commits: 0 },
            FiredFault::FlushFailed,
        ),
        (
            StorageFault::FailFlush { after_commits: 2 },
            FiredFault::FlushFailed,
        ),
        (
            StorageFault::DiskFull { bytes_left: 2_000 },
            FiredFault::DiskFull,
        ),
    ];
    for (fault, fired) in faults {
        let mut node = Node::new();
        let stopped = fail_at_next_block(&mut node, fault);
        assert_eq!(node.store.fired(), Some(fired));
        // A flush that failed left the block applied: readers of the store
        // see one batch more than the host holds. That is why the host
        // stops instead of running on.
        let tail = usize::from(fired != FiredFault::WriteRefused);
        assert_eq!(node.store.unflushed(), tail, "{fault:?}");
        // Power cut: the tail is gone; the node restarts on the durable
        // state and commits on.
        node.go_down(true);
        assert_eq!(node.durable(), stopped);
        node.start();
        assert_eq!(node.in_memory(), stopped, "{fault:?}");
        node.run_until(stopped.0 + 2).unwrap();
        assert!(node
            .shell
            .committed
            .iter()
            .any(|c| c.outcome.height == stopped.0 + 1));
    }
}

#[test]
fn a_block_whose_flush_failed_may_reach_the_disk_and_the_restart_takes_it() {
    let mut node = Node::new();
    let stopped = fail_at_next_block(&mut node, StorageFault::FailFlush { after_commits: 1 });
    // The process exits and the machine writes the tail out after all.
    node.go_down(false);
    let (height, _) = node.durable();
    assert_eq!(height, stopped.0 + 1, "the decided block reached the disk");
    node.start();
    let host = node.host();
    assert_eq!(host.height(), stopped.0 + 1);
    {
        let ledger = host.state().ledger.read().unwrap();
        // With its certificate and the set for two heights on: the batch
        // was whole.
        assert!(chain_store::certificate(&ledger, height).unwrap().is_some());
        assert!(chain_store::validator_set(&ledger, height + 2).is_ok());
        ledger.check_invariants().unwrap();
    }
    node.run_until(height + 2).unwrap();
}

#[test]
fn a_safety_record_that_cannot_be_saved_or_synced_stops_the_host_and_nothing_unsaved_is_sent() {
    for fault in [
        SafetyFault::FailSave { after_saves: 0 },
        SafetyFault::FailSync { after_saves: 0 },
        SafetyFault::FailSync { after_saves: 3 },
    ] {
        for power_cut in [true, false] {
            let mut node = Node::new();
            node.start();
            node.run_until(2).unwrap();
            node.safety.arm(fault);
            let error = node.run_until(10).unwrap_err();
            assert!(matches!(error, HostError::Persist(_)), "{error}");
            let saved = node.safety.inner().record().unwrap();
            let stopped = node.in_memory();
            assert_eq!(stopped, node.durable());
            // Persist, then send: every message sent was signed at or
            // below the last position on disk.
            assert!(node.shell.broadcasts > 0);
            let (last, _) = saved.last_signed.unwrap();
            for message in &node.shell.sent {
                assert!(
                    position(message) <= last,
                    "{message:?} sent, {last:?} saved"
                );
            }
            node.go_down(power_cut);
            let record = node.safety.inner().record().unwrap();
            let synced_failed = matches!(fault, SafetyFault::FailSync { .. });
            if synced_failed && !power_cut {
                // The unsynced record reached the disk after all.
                assert_ne!(record, saved, "{fault:?}");
            } else {
                assert_eq!(record, saved, "{fault:?} power cut {power_cut}");
            }
            // Restarted on whichever record the disk holds, it commits on.
            node.start();
            node.run_until(stopped.0 + 2).unwrap();
        }
    }
}
