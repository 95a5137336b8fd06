//! The storage key layout. One keyspace, split by a one-byte prefix, so that a
//! block's writes go to the store in a single atomic batch.
//!
//! | prefix | key                         | value                     |
//! |--------|-----------------------------|---------------------------|
//! | `S`    | encoded `StateKey`          | encoded `StateValue`      |
//! | `I`    | day (u64 BE), payer, id     | encoded `IdempotencyRecord` |
//! | `B`    | height (u64 BE)             | encoded block             |
//! | `K`    | block hash                  | height (u64 BE)           |
//! | `R`    | height (u64 BE)             | state root after it       |
//! | `T`    | tx hash                     | encoded `TxRecord`        |
//! | `Y`    | tx hash                     | encoded transaction (written since the read path's change; older homes find it in its block) |
//! | `H`    | member key, height, index   | tx hash                   |
//! | `E`    | block height, index         | encoded `CommittedEvidence` |
//! | `O`    | offender, height, round, kind, step | block height (u64 BE) |
//! | `X`    | host-chosen key             | host data (certificates)  |
//! | `M`    | meta name                   | genesis hash, height, ... |

use crate::tx::IdempotencyId;
use kopnet_primitives::{Hash, PublicKey};

/// Most transactions one page of a member's history holds.
pub const PAGE_TXS_MAX: usize = 1_000;

pub const STATE_PREFIX: &[u8] = b"S";
pub const META_GENESIS: &[u8] = b"Mgenesis";
pub const META_HEIGHT: &[u8] = b"Mheight";
pub const META_LAST_HASH: &[u8] = b"Mlast_hash";
/// The last block's header time (u64 BE), so that start-up need not decode
/// the last block (up to 8 MiB) to learn it.
pub const META_LAST_TIME: &[u8] = b"Mlast_time";

fn with_prefix(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![prefix];
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

pub fn state(encoded_key: &[u8]) -> Vec<u8> {
    with_prefix(b'S', &[encoded_key])
}
/// Payment idempotency records, by day first (see [`crate::idempotency`]):
/// a day's records are one contiguous range, deleted together.
pub const IDEMPOTENCY_PREFIX: &[u8] = b"I";
pub fn idempotency(day: u64, payer: &PublicKey, id: &IdempotencyId) -> Vec<u8> {
    with_prefix(b'I', &[&day.to_be_bytes(), &payer.0, id])
}
/// The first key of `day`'s records: every record of an earlier day sorts
/// below it.
pub fn idempotency_day_start(day: u64) -> Vec<u8> {
    with_prefix(b'I', &[&day.to_be_bytes()])
}
pub fn block(height: u64) -> Vec<u8> {
    with_prefix(b'B', &[&height.to_be_bytes()])
}
pub fn block_hash(hash: &Hash) -> Vec<u8> {
    with_prefix(b'K', &[&hash.0])
}
pub fn root(height: u64) -> Vec<u8> {
    with_prefix(b'R', &[&height.to_be_bytes()])
}
pub fn tx(hash: &Hash) -> Vec<u8> {
    with_prefix(b'T', &[&hash.0])
}
/// A committed transaction's own bytes, so that a lookup by hash decodes
/// that transaction and not its whole block.
pub fn tx_body(hash: &Hash) -> Vec<u8> {
    with_prefix(b'Y', &[&hash.0])
}
pub fn history_prefix(member: &PublicKey) -> Vec<u8> {
    with_prefix(b'H', &[&member.0])
}
pub fn history(member: &PublicKey, height: u64, index: u32) -> Vec<u8> {
    with_prefix(
        b'H',
        &[&member.0, &height.to_be_bytes(), &index.to_be_bytes()],
    )
}
pub const EVIDENCE_PREFIX: &[u8] = b"E";
pub fn evidence(block_height: u64, index: u32) -> Vec<u8> {
    with_prefix(b'E', &[&block_height.to_be_bytes(), &index.to_be_bytes()])
}
/// The offence's identity ([`crate::evidence::EvidenceRecord::identity_key`]).
pub fn offence(identity: &[u8]) -> Vec<u8> {
    with_prefix(b'O', &[identity])
}
pub fn host(key: &[u8]) -> Vec<u8> {
    with_prefix(b'X', &[key])
}
