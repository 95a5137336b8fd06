//! Finding a damaged store before it is trusted, and naming where.
//!
//! sled checks its own log with CRCs, but what it does on a bad one is to
//! treat it as the torn end of the log: everything after it is dropped and
//! the store opens at an earlier point, or empty, with no error. And a
//! record whose bytes changed before sled checksummed them (a bad cable, a
//! bad RAM stick, a bug) reads back as if nothing happened. So the node
//! checks what sled cannot:
//!
//! * **At every start** ([`at_start`]; fast — the tip only, never the whole
//!   history): a store that existed but opens empty, or whose height is
//!   below what the validator's safety record says it signed (sled dropped
//!   committed blocks), is refused; the tip block must decode, hash to what
//!   its commit certificate signs, have its transactions and evidence
//!   under the header's roots, chain to its parent (through the hash index)
//!   and to the stored state root of the height before; the certificate
//!   must carry signatures of more than 2/3 of that height's validator set;
//!   the ledger's last-block records must agree with the tip. The ledger
//!   itself checks, when it opens, that the stored state hashes to the
//!   stored root at the tip. A failure stops the node with one line naming
//!   the store and the height ([`Damage`]).
//! * **Offline**, `kopnet node check --home DIR` ([`check_home`]): the same
//!   for every height from 1 to the tip, where each block's parent link is
//!   checked against the previous block itself, every certificate against
//!   the validator set that a *replay* of the chain gives (and the stored
//!   set must equal it), and every state root by re-executing every block
//!   from genesis (signatures included) and comparing with the stored root
//!   of each height; then the stored state against the tip's root, and the
//!   safety record. The first bad height is reported. It works on a copy
//!   of the store taken under a shared lock (a running node holds sled's
//!   exclusive lock, so a running node is refused), so it never writes to
//!   the node's files: opening a sled directory can itself write (recovery).
//!
//! The store's layout version ([`kopnet_ledger::keys::STORE_FORMAT`]) is
//! checked first: a store of another format is refused, saying what to do.
//! Each checked block's transaction index (`keys::block_txs`: results,
//! fees, sizes) must list the block's transactions at the offsets they have
//! in the stored block, since the API reads one transaction out of the
//! block through it; the offline check also compares its results and fees
//! with the re-execution and finds each transaction's place under its hash.
//!
//! Not checked: the history and evidence indexes (the API reads them; a
//! damaged one gives a wrong answer for one query, not a wrong chain), and,
//! for an observer (it has no safety
//! record), a store that sled cut back to an earlier non-empty point: that
//! one looks like a node that stopped earlier and catches up.
//!
//! A store deliberately deleted for a resync (README, "Recovering a damaged
//! node") opens fresh; when the safety record says the validator had signed
//! further, the start records that height in the store
//! ([`RESYNC_BELOW_KEY`]), so the catch-up below it is not taken for lost
//! blocks. A store restored from an older backup (or one cut back that the
//! operator keeps) gets the same mark from `kopnet node accept-older-store`
//! ([`accept_older_store`]).

mod accept;
mod block;
mod full;
mod home;
mod replay_store;
mod startup;

pub use accept::{accept_older_store, Accepted};
pub use full::{check_store, StoreReport};
pub use home::{check_home, HomeCheckError, HomeReport, SafetyProblem, SafetyState};
pub use startup::{at_start, store_exists, StartCheckError, StartFacts};

use kopnet_consensus::{CertificateError, Hash};

/// Host-data key: the safety record's height when the store was created
/// fresh for a resync; below it, a ledger behind the record is expected.
pub const RESYNC_BELOW_KEY: &[u8] = b"resync_below";

/// What is wrong at one height of a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "the store exists but holds no chain, not even genesis, while the safety record shows \
         this node had opened it (sled drops everything after a damaged record)"
    )]
    Emptied,
    #[error(
        "the store ends at height {ledger_height}, but the safety record shows this validator \
         signed at height {record_height}: committed blocks were lost (sled drops everything \
         after a damaged record)"
    )]
    BehindSafetyRecord {
        ledger_height: u64,
        record_height: u64,
    },
    #[error("the store was made for another genesis")]
    Genesis,
    #[error(
        "the store is in store format {}, this kopnet reads format {expected}: move \
         data/ledger aside and start the node to resync it from peers",
        found.map_or_else(|| "1".to_string(), |f| f.to_string())
    )]
    StoreFormat { found: Option<u64>, expected: u64 },
    #[error("sled cannot open it: {0}")]
    Unopenable(String),
    #[error("the {what} cannot be read: {reason}")]
    Unreadable { what: &'static str, reason: String },
    #[error("the {what} is missing")]
    Missing { what: &'static str },
    #[error("the {what} does not decode: {reason}")]
    Undecodable { what: &'static str, reason: String },
    #[error("the {what} says height {found}")]
    WrongHeight { what: &'static str, found: u64 },
    #[error("the block is for chain {found:?}")]
    WrongChain { found: String },
    #[error("the block's parent is {found}, but the block before it hashes to {expected}")]
    ParentLink { expected: Hash, found: Hash },
    #[error("the block's parent {parent} is not the block of height {expected_height}")]
    ParentUnknown { parent: Hash, expected_height: u64 },
    #[error("the block-hash index sends {hash} to {found:?}")]
    HashIndex { hash: Hash, found: Option<u64> },
    #[error("the block hashes to {stored}, but its commit certificate signs {signed}")]
    NotCertified { stored: Hash, signed: Hash },
    #[error("the commit certificate does not verify: {0}")]
    Certificate(CertificateError),
    #[error("the block's transactions do not match its header's transaction root")]
    TxRoot,
    #[error("the block's evidence does not match its header's evidence root")]
    EvidenceRoot,
    #[error("the block's transaction index {0}")]
    TxIndex(String),
    #[error("the block says the state root before it is {header}, but the store holds {stored}")]
    PrevStateRoot { header: Hash, stored: Hash },
    #[error("the stored validator set differs from the one the chain gives")]
    ValidatorSet,
    #[error("the block does not re-execute: {0}")]
    Reexecution(String),
    #[error("the stored state root is {stored}, re-executing the chain gives {replayed}")]
    StateRoot { stored: Hash, replayed: Hash },
    #[error("the stored state does not match the state root: {0}")]
    State(String),
    #[error("the ledger's {what} does not match the block at the tip")]
    Meta { what: &'static str },
    /// The whole-store check replays the chain from genesis: a store that
    /// holds blocks from `base` on only (pruned, or started from a
    /// snapshot) cannot be checked that way.
    #[error(
        "the store holds blocks from height {base} on only (pruned): the whole-store check \
         replays from genesis and needs an archive node's store"
    )]
    Pruned { base: u64 },
}

/// A damaged store: where, at which height, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub path: String,
    /// The first bad height; `None` when sled cannot open the store at all
    /// (no height can be read then).
    pub height: Option<u64>,
    pub problem: Problem,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the ledger store {} is damaged", self.path)?;
        if let Some(height) = self.height {
            write!(f, " at height {height}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for Damage {}

/// A [`Problem`] at a height, before the path is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub height: u64,
    pub problem: Problem,
}

impl Fault {
    pub(crate) fn at(height: u64, problem: Problem) -> Fault {
        Fault { height, problem }
    }

    pub(crate) fn in_store(self, path: &std::path::Path) -> Damage {
        Damage {
            path: path.display().to_string(),
            height: Some(self.height),
            problem: self.problem,
        }
    }
}

#[cfg(test)]
mod tests;
