//! Storage faults (`kopnet-sim --storage-faults`): what can go wrong with a
//! node's disk, drawn from the seed.
//!
//! Each node's ledger store is a [`kopnet_ledger::storage::FaultyStorage`]
//! over memory and its safety record a
//! [`kopnet_consensus::safety_faults::FaultySafetyStore`]: a commit is
//! *apply, then flush*, a save is *write, then sync*. A run with storage
//! faults schedules up to [`STORAGE_FAULTS_MAX`] of them at random times in
//! the fault window, each with a restart of the node later in the window:
//!
//! - the store refuses a write ([`StorageFault::FailWrite`]), fails a flush
//!   after applying the batch ([`StorageFault::FailFlush`]), or fills up
//!   ([`StorageFault::DiskFull`]: the batch that needs more room is applied
//!   and its flush fails);
//! - the safety record's save fails ([`SafetyFault::FailSave`]) or it is
//!   written and its sync fails ([`SafetyFault::FailSync`]);
//! - the machine loses power at once ([`DiskFault::PowerCut`]).
//!
//! A fault is armed at its time and fires at the node's k-th write after
//! it. The host must then fail stop: return an error from the call that
//! hit the fault (the simulator crashes the node); a host call that returns
//! `Ok` after a fault fired is a violation, as is a host error with no fault
//! fired. The node then goes down in one of two ways, drawn: a **power
//! cut** (what was applied but not flushed, and a record written but not
//! synced, are lost) or a **process exit** (the machine stays up and writes
//! them out after all — after a failed flush nothing promises either way).
//! At restart the store must hold every block the node had committed
//! (`Violation::CommittedLost` otherwise), and at most the one block whose
//! flush failed besides, if it was written back.
//!
//! The draws come from their own generator, seeded from the run's seed, so
//! a seed's network, crashes, partitions and Byzantine behaviour are drawn
//! the same with and without `--storage-faults` (until a storage fault
//! changes what happens), and a run without them is unchanged.

use kopnet_consensus::safety_faults::{SafetyFault, SafetyFaultFired};
use kopnet_ledger::storage::{FiredFault, StorageFault};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Most storage faults scheduled in one run.
pub const STORAGE_FAULTS_MAX: usize = 3;
/// A full disk has room for at most this many more bytes when armed (a
/// simulated block's batch is a few KiB).
pub const DISK_BYTES_LEFT_MAX: u64 = 32 * 1024;
/// A store fault fires at one of the next this many commits.
pub const COMMITS_BEFORE_FAULT_MAX: u64 = 2;
/// A safety fault fires at one of the next this many saves (a validator
/// saves several times a height).
pub const SAVES_BEFORE_FAULT_MAX: u64 = 8;

/// Mixed into the seed for the storage faults' own generator.
const STREAM: u64 = 0x5354_4f52_4147_4521; // "STORAGE!"

/// One storage fault for a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFault {
    /// In the ledger store.
    Store(StorageFault),
    /// In the safety record's store.
    Safety(SafetyFault),
    /// The machine loses power now.
    PowerCut,
}

/// A storage fault that fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fired {
    Store(FiredFault),
    Safety(SafetyFaultFired),
}

/// How a node that failed stop goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Down {
    /// Unflushed and unsynced data is lost.
    PowerCut,
    /// The process exits; the machine writes unflushed data out.
    ProcessExit,
}

/// The storage faults' generator for `seed`.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ STREAM)
}

/// One fault, each kind alike likely.
pub fn draw(rng: &mut ChaCha8Rng) -> DiskFault {
    match rng.gen_range(0..6) {
        0 => DiskFault::Store(StorageFault::FailWrite {
            after_commits: rng.gen_range(0..=COMMITS_BEFORE_FAULT_MAX),
        }),
        1 => DiskFault::Store(StorageFault::FailFlush {
            after_commits: rng.gen_range(0..=COMMITS_BEFORE_FAULT_MAX),
        }),
        2 => DiskFault::Store(StorageFault::DiskFull {
            bytes_left: rng.gen_range(0..=DISK_BYTES_LEFT_MAX),
        }),
        3 => DiskFault::Safety(SafetyFault::FailSave {
            after_saves: rng.gen_range(0..=SAVES_BEFORE_FAULT_MAX),
        }),
        4 => DiskFault::Safety(SafetyFault::FailSync {
            after_saves: rng.gen_range(0..=SAVES_BEFORE_FAULT_MAX),
        }),
        _ => DiskFault::PowerCut,
    }
}

/// How a node that failed stop goes down, each way alike likely.
pub fn down(rng: &mut ChaCha8Rng) -> Down {
    if rng.gen_bool(0.5) {
        Down::PowerCut
    } else {
        Down::ProcessExit
    }
}

/// What became of a node's unflushed data as it went down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tails {
    pub batches_lost: u64,
    pub record_lost: bool,
    pub batches_written_back: u64,
    pub record_written_back: bool,
}
