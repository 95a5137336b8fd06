//! Snapshots of the agreed state, and how a node that receives one checks
//! it before it keeps anything.
//!
//! A snapshot at height `h` is everything a ledger needs to go on from
//! block `h + 1` as if it had executed blocks `1..=h`:
//!
//! - every entry of the state map (accounts, cooperatives, windows,
//!   proposals, parameters, the day commitments of the records below);
//! - the live payment idempotency records, each day's in the order of its
//!   hash chain ([`crate::idempotency`]);
//! - the live merchant payment records kept for refunds, likewise
//!   ([`crate::refunds`]);
//! - and the chain position: height, the hash and time of block `h`, the
//!   state root.
//!
//! It is a [`Manifest`] and a list of chunks of at most [`CHUNK_BYTES_MAX`]
//! bytes each. The manifest names each chunk by its hash, so a node fetching
//! chunks from several peers checks each one as it arrives and asks another
//! peer for one that does not match.
//!
//! **What makes it true.** Nothing in a snapshot is believed because a
//! peer sent it. The node that imports it ([`Importer`]) is given the
//! state root it must reach — the `prev_state_root` of block `h + 1`'s
//! header, which the node has tied to a block hash it trusts (see the
//! node's state sync) — and:
//!
//! 1. rebuilds the state tree from the state entries and refuses the
//!    snapshot unless the root is that root;
//! 2. then, with the day commitments now known to be the chain's,
//!    recomputes each day's hash chain over the records in the order given
//!    and refuses the snapshot unless every day's count and chain match.
//!
//! So the entries must come first ([`Item`] order is checked), and a record
//! can only be checked once its day's commitment is. The import writes to a
//! store of its own; on any refusal the caller throws that store away.
//!
//! **What it leaves out**, because nothing the ledger agrees on reads it:
//! blocks and their indexes (a node that starts from a snapshot has none
//! below `h + 1` and says so, like a pruned node), the daily figures of the
//! city index and the members' last active days (they start again at the
//! snapshot), and committed evidence. Evidence is the one gap: a block may
//! not carry evidence of an offence already on the chain, and a node that
//! started from a snapshot does not know the offences committed in the
//! [`crate::evidence::EVIDENCE_AGE_MAX`] blocks before it. Honest proposers
//! never repeat evidence, so this matters only when a faulty proposer does;
//! the README's "Operating a node" says so.

mod export;
mod import;

pub use export::{export, export_bounded, Capture, DAY_RECORDS_IN_MEMORY_MAX};
pub use import::Importer;

use crate::refunds::MerchantPayment;
use crate::state::IdempotencyRecord;
use crate::tx::IdempotencyId;
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// The layout of manifests and chunks this version writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;
/// Largest encoded chunk.
pub const CHUNK_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most chunks in one snapshot (16 GiB of state at most).
pub const CHUNKS_MAX: usize = 4_096;
/// Largest encoded manifest (its chunk list dominates).
pub const MANIFEST_BYTES_MAX: usize = 256 * 1024;

const CHUNK_CONTEXT: &str = "kopnet 2026 snapshot chunk v1";
const MANIFEST_CONTEXT: &str = "kopnet 2026 snapshot manifest v1";

/// A chunk, by the hash of its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    pub hash: Hash,
    pub bytes: u32,
}

/// What a snapshot is of, and its chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub chain_id: String,
    pub genesis_hash: Hash,
    pub height: u64,
    /// Hash of block `height`'s header.
    pub block_hash: Hash,
    /// Block `height`'s time.
    pub block_time_ms: u64,
    /// The state root after block `height`.
    pub state_root: Hash,
    pub chunks: Vec<ChunkRef>,
}

impl Manifest {
    /// The manifest's identity (a hash of its encoding).
    pub fn id(&self) -> Hash {
        match codec::encode(self) {
            Ok(bytes) => Hash::digest(MANIFEST_CONTEXT, &bytes),
            Err(_) => Hash::ZERO,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        codec::encode(self).map_err(|e| SnapshotError::Encode(e.to_string()))
    }

    /// Decode a manifest received from elsewhere: bounded, and checked for
    /// the bounds every later step relies on.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, SnapshotError> {
        let manifest: Manifest = codec::decode_bounded(bytes, MANIFEST_BYTES_MAX)
            .map_err(|e| SnapshotError::Decode(format!("manifest: {e}")))?;
        if manifest.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format {
                found: manifest.format,
            });
        }
        if manifest.chunks.is_empty() || manifest.chunks.len() > CHUNKS_MAX {
            return Err(SnapshotError::Decode(format!(
                "manifest lists {} chunks (1 to {CHUNKS_MAX})",
                manifest.chunks.len()
            )));
        }
        if let Some(big) = manifest
            .chunks
            .iter()
            .find(|c| c.bytes as usize > CHUNK_BYTES_MAX || c.bytes == 0)
        {
            return Err(SnapshotError::Decode(format!(
                "manifest lists a chunk of {} bytes (1 to {CHUNK_BYTES_MAX})",
                big.bytes
            )));
        }
        Ok(manifest)
    }

    /// All chunks' bytes together.
    pub fn total_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| u64::from(c.bytes)).sum()
    }
}

/// The hash a manifest names a chunk by.
pub fn chunk_hash(bytes: &[u8]) -> Hash {
    Hash::digest(CHUNK_CONTEXT, bytes)
}

/// One thing in a chunk. In a snapshot, every `State` item comes first (in
/// key order), then the `Idempotency` records (by day, each day's in chain
/// order), then the `MerchantPayment` records (likewise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// A state map entry: the encoded [`crate::state::StateKey`] and
    /// [`crate::state::StateValue`], as the state tree hashes them.
    State {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Idempotency {
        day: u64,
        payer: PublicKey,
        id: IdempotencyId,
        record: IdempotencyRecord,
    },
    MerchantPayment {
        tx: Hash,
        record: MerchantPayment,
    },
}

/// A chunk: a run of items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub items: Vec<Item>,
}

/// Why a snapshot could not be made or was refused. A refused snapshot
/// left nothing behind but the importer's own store.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("snapshot format {found} is not this version's ({SNAPSHOT_FORMAT})")]
    Format { found: u32 },
    #[error("snapshot does not decode: {0}")]
    Decode(String),
    #[error("cannot encode snapshot: {0}")]
    Encode(String),
    #[error("snapshot is of chain {found}, not {expected}")]
    OtherChain { found: String, expected: String },
    #[error(
        "snapshot claims state root {claimed}, but the chain's root at its height is {certified}"
    )]
    NotCertified { claimed: Hash, certified: Hash },
    #[error("chunk {index} does not match the manifest (hash or size)")]
    ChunkMismatch { index: usize },
    #[error("chunk {index} arrived out of order (expected chunk {expected})")]
    ChunkOrder { index: usize, expected: usize },
    #[error("snapshot content is wrong: {0}")]
    Content(String),
    #[error("the state entries give root {computed}, not the certified {certified}")]
    WrongRoot { computed: Hash, certified: Hash },
    #[error("the records of day {day} do not match the day's commitment: {reason}")]
    WrongRecords { day: u64, reason: String },
    #[error("the snapshot ended early: {0}")]
    Incomplete(String),
    #[error(
        "records of day {day} were kept before store format 9 and have no place in their \
         day's chain: snapshots can be taken once that day has expired"
    )]
    UnsequencedRecords { day: u64 },
    #[error("the ledger moved on while the snapshot was taken: {0}")]
    Moved(String),
}
