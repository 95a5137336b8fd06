//! The storage key layout. One keyspace, split by a one-byte prefix, so that a
//! block's writes go to the store in a single atomic batch.
//!
//! | prefix | key                         | value                     |
//! |--------|-----------------------------|---------------------------|
//! | `S`    | encoded `StateKey`          | encoded `StateValue`      |
//! | `I`    | day (u64 BE), payer, id     | encoded `IdempotencyRecord` (format 11 and before, and snapshot restores; read until they expire) |
//! | `W`    | day (u64 BE), height (u64 BE) | the block's idempotency records in chain order (format 12, [`crate::ledger`]'s `payment_records`) |
//! | `V`    | level, bucket (u32 BE), run (u64 BE) | the run's idempotency record places under the hash of payer and id, sorted ([`crate::ledger::place_index`]) |
//! | `P`    | day (u64 BE), payment tx hash | encoded `MerchantPayment` ([`crate::refunds`]; format 12 and before, and snapshot restores; read until their refund period ends) |
//! | `Y`    | day (u64 BE), height (u64 BE) | the block's payments to merchants kept for refunds, in chain order (format 13, [`crate::ledger`]'s `refund_records`) |
//! | `Z`    | level, bucket (u32 BE), run (u64 BE) | the run's places of those records under the payment's transaction hash, sorted ([`crate::ledger::place_index`]) |
//! | `B`    | height (u64 BE)             | encoded block             |
//! | `K`    | block hash                  | height (u64 BE)           |
//! | `R`    | height (u64 BE)             | state root after it       |
//! | `C`    | height (u64 BE)             | the block's transactions' results, fees and sizes ([`crate::ledger::BlockTxs`]) |
//! | `T`    | first 8 bytes of tx hash, height (u64 BE), index (u32 BE) | nothing (format 10 and before; kept for the heights before a migration to 11) |
//! | `U`    | level, bucket (u32 BE), run (u64 BE) | the run's transaction places, sorted ([`crate::ledger::place_index`]) |
//! | `J`    | height (u64 BE)             | the block's history entries, while its epoch is open ([`crate::ledger::history_index`]) |
//! | `H`    | member key, epoch (u64 BE)  | the member's places in that epoch's blocks ([`crate::ledger::history_index`]) |
//! | `G`    | epoch (u64 BE), chunk (u32 BE) | the members that have an `H` value for that epoch, 32 bytes each: what pruning deletes ([`crate::ledger::prune`]) |
//! | `D`    | WIB day (u64 BE), cooperative id | encoded `DayFigures`: the day's aggregates for the Indeks Kota Koperasi ([`crate::ledger::daily_figures`]) |
//! | `L`    | member address              | the WIB day (u64 BE) of the member's last own transaction ([`crate::ledger::daily_figures`]) |
//! | `E`    | block height, index         | encoded `CommittedEvidence` |
//! | `O`    | offender, height, round, kind, step | block height (u64 BE) |
//! | `Q`    | record kind (`I`/`P`), day (u64 BE), first place (u64 BE) | the record keys (after their day) of the day's chain places from the first on ([`crate::day_order`]) |
//! | `X`    | host-chosen key             | host data (certificates)  |
//! | `M`    | meta name                   | genesis hash, height, store format, base height, ... |
//!
//! **Store format 2** (issue 21): what is per transaction is written once
//! per block. A transaction's bytes live only in its block (`B`); its
//! result and fees in its block's `C` value, which also gives each
//! transaction's size, so one transaction is read from the block's bytes
//! without decoding the block. `T` finds a hash's place from a short prefix
//! of the hash: every place with that prefix is listed (collisions are kept
//! apart by the height and index in the key) and the reader keeps the one
//! whose transaction hashes to the full hash. History entries are keys
//! alone: the transaction and its hash come from the block. Format 1 (no
//! `Mstore_format` key) kept a `TxRecord` and a copy of the transaction
//! under the full hash and the hash in each history entry; a node refuses
//! to open such a store (README, "Recovering a damaged node").
//!
//! **Store format 3** (issue 21, second pass): a member's history is no
//! longer one key per transaction (sled spent about a third of a block's
//! commit inserting them) but one `J` value per block and, once the
//! block's epoch of [`crate::ledger::history_index::EPOCH_BLOCKS`] blocks
//! is complete, one `H` value per member per epoch. A format-2 store is
//! refused like a format-1 one.
//!
//! **Store format 4** (issue 17, the money rules): the state's encoding
//! changed (`Params` holds the tier rules, the QR payment cap and fee rules
//! with merchant classes and bands; `Counters` the calendar month; member
//! accounts their month's incoming money and a merchant's class). A
//! format-3 store is refused like the earlier ones.
//!
//! **Store format 5** (issue 17, refunds): payments to merchants are kept
//! for the refund period under `P` ([`crate::refunds`]), and `Params` has
//! the refund period. A format-4 store is refused like the older ones.
//!
//! **Store format 6** (issue 18, the Indeks Kota Koperasi): each block also
//! writes its day's aggregates per cooperative (`D`) and each active
//! member's last active day (`L`) ([`crate::ledger::daily_figures`]). A
//! format-5 store lacks them for every earlier block, so the index would
//! silently undercount: it is refused like the older ones.
//!
//! **Store format 7** (issue 18, the regulator's desk): `Params` has the
//! cash transaction reporting threshold ([`crate::cash_reports`]). A
//! format-6 store is refused like the older ones.
//!
//! **Store format 8** (issue 19, upgrades): `Params` has the protocol
//! version and the scheduled upgrade ([`crate::upgrades`]). A format-7
//! store is refused like the older ones.
//!
//! **Store format 9** (issue 19, snapshots): records kept by day (`I`, `P`)
//! are stored with their place in their day's hash chain
//! ([`crate::state::Sequenced`]). A format-8 store is *migrated* at start
//! ([`crate::migrate`]), the first layout change that is.
//!
//! **Store format 10** (issue 21, sixth pass): each block also writes,
//! per kind of record kept by day, one `Q` value listing the keys of the
//! records it added in chain order ([`crate::day_order`]), swept with the
//! day; a snapshot restore writes them too. A snapshot then reads a day's
//! records one list at a time instead of ordering the whole day in memory.
//! A format-9 store is *migrated* by writing the new format number alone:
//! its days without lists are still exported the old way
//! ([`crate::snapshot`]) until they expire.
//!
//! **Store format 11** (issue 21, eighth pass): a transaction's place
//! under its hash is no longer one `T` key per transaction but an entry in
//! a *run*, one `U` value per bucket of hashes per span of blocks, merged
//! into longer spans as the chain grows ([`crate::ledger::place_index`]).
//! A format-10 store is *migrated* by writing the format number and
//! [`META_PLACE_RUNS_FROM`]: its `T` keys stay for the heights before it,
//! are read by lookups and deleted by pruning as before.
//!
//! **Store format 12** (issue 21, ninth pass): a payment's idempotency
//! record is no longer one `I` key (and 48 bytes of its day's `Q` list)
//! but part of its block's one `W` value, found through entries in runs
//! of the same structure as the places (`V`, keyed by the hash of payer
//! and id). A format-11 store is *migrated* by writing the format number
//! alone: its `I` keys and lists stay until their day expires, are read by
//! lookups first and exported before the day's `W` values.
//!
//! **Store format 13** (issue 21, tenth pass): the same for a payment to a
//! merchant kept for refunds: no longer one `P` key (and 32 bytes of its
//! day's `Q` list) but part of its block's one `Y` value, found through
//! runs (`Z`) under the payment's transaction hash. A format-12 store is
//! *migrated* by writing the format number alone: its `P` keys and lists
//! stay until their refund period ends, are read by lookups first and
//! exported before the day's `Y` values.
//!
//! **Pruning** (issue 19, [`crate::ledger::prune`]): `Mbase` ([`META_BASE`])
//! is the lowest height whose block, certificate and indexes the store
//! still holds (absent: 1, nothing pruned; a node started from a snapshot
//! has a base above 1 without ever pruning). Readers rely on it alone. The
//! `G` values list, per completed history epoch, the members that have an
//! `H` value for it, so that pruning finds an epoch's `H` values without
//! scanning every member's; they are written by the same code that writes
//! the `H` values, in the same batch. A store written before them has no
//! `G` values for its old epochs: pruning such a store leaves those
//! epochs' `H` values behind (readers skip them: they are below the base).
//! Format 9 ships with pruning; a format-8 store migrated to it
//! ([`crate::migrate`]) is such a store: its old epochs' `H` values stay
//! until the node is state-synced or rebuilt.

use crate::tx::IdempotencyId;
use crate::types::CoopId;
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
/// The height of the snapshot this store started from (u64 BE), if it did
/// ([`crate::snapshot`]).
pub const META_SNAPSHOT_HEIGHT: &[u8] = b"Msnapshot_height";
/// The store's layout version (u64 BE), written when the store is created.
pub const META_STORE_FORMAT: &[u8] = b"Mstore_format";
/// The lowest height whose block (and certificate and indexes) the store
/// holds (u64 BE); absent means 1: nothing pruned ([`crate::ledger::prune`]).
/// Above 1 also on a node that started from a snapshot
/// ([`crate::snapshot`]).
pub const META_BASE: &[u8] = b"Mbase";
/// The first height whose transaction places are in runs (`U`) rather
/// than `T` keys (u64 BE); absent means 1 (a store created at format 11
/// or later). Written by the migration from format 10
/// ([`crate::migrate`]).
pub const META_PLACE_RUNS_FROM: &[u8] = b"Mplace_runs_from";
/// The layout this version writes and reads (see the module docs).
pub const STORE_FORMAT: u64 = 13;
/// Bytes of a transaction hash that key its place (`T`).
pub const TX_HASH_PREFIX_BYTES: usize = 8;

fn with_prefix(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    // Sized once: a key is built for every write of every block.
    let mut out = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    out.push(prefix);
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
/// A block's idempotency records, in the order its payments wrote them
/// (store format 12: one value per block instead of one `I` key per
/// record; `ledger/src/ledger/payment_records.rs`), by day first.
pub const BLOCK_RECORDS_PREFIX: &[u8] = b"W";
pub fn block_records(day: u64, height: u64) -> Vec<u8> {
    with_prefix(b'W', &[&day.to_be_bytes(), &height.to_be_bytes()])
}
/// The first key of `day`'s block records.
pub fn block_records_day_start(day: u64) -> Vec<u8> {
    with_prefix(b'W', &[&day.to_be_bytes()])
}
/// A block's payments to merchants kept for refunds, in the order its
/// payments wrote them (store format 13: one value per block instead of
/// one `P` key per record; `ledger/src/ledger/refund_records.rs`), by day
/// first.
pub const BLOCK_PAYMENTS_PREFIX: &[u8] = b"Y";
pub fn block_payments(day: u64, height: u64) -> Vec<u8> {
    with_prefix(b'Y', &[&day.to_be_bytes(), &height.to_be_bytes()])
}
/// The first key of `day`'s block payment records.
pub fn block_payments_day_start(day: u64) -> Vec<u8> {
    with_prefix(b'Y', &[&day.to_be_bytes()])
}
/// Payments to merchants kept for refunds, by day first (see
/// [`crate::refunds`]; store format 12 and before, and snapshot
/// restores): a day's records are one contiguous range.
pub const MERCHANT_PAYMENT_PREFIX: &[u8] = b"P";
pub fn merchant_payment(day: u64, payment: &Hash) -> Vec<u8> {
    with_prefix(b'P', &[&day.to_be_bytes(), &payment.0])
}
/// The first key of `day`'s merchant payment records.
pub fn merchant_payment_day_start(day: u64) -> Vec<u8> {
    with_prefix(b'P', &[&day.to_be_bytes()])
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
/// Transaction place runs ([`crate::ledger::place_index`]).
pub const PLACE_RUN_PREFIX: &[u8] = b"U";
/// Runs of payments' idempotency records under the hash of payer and id
/// (store format 12, `ledger/src/ledger/place_index.rs`,
/// `ledger/src/ledger/payment_records.rs`).
pub const RECORD_RUN_PREFIX: &[u8] = b"V";
/// Runs of payments to merchants kept for refunds under the payment's
/// transaction hash (store format 13, `ledger/src/ledger/place_index.rs`,
/// `ledger/src/ledger/refund_records.rs`).
pub const PAYMENT_RUN_PREFIX: &[u8] = b"Z";
/// The places of the transactions whose hash starts like `hash`'s.
pub fn tx_places(hash: &Hash) -> Vec<u8> {
    with_prefix(b'T', &[&hash.0[..TX_HASH_PREFIX_BYTES]])
}
/// The place (`height`, `index`) of the transaction `hash`.
pub fn tx_place(hash: &Hash, height: u64, index: u32) -> Vec<u8> {
    with_prefix(
        b'T',
        &[
            &hash.0[..TX_HASH_PREFIX_BYTES],
            &height.to_be_bytes(),
            &index.to_be_bytes(),
        ],
    )
}
/// The results, fees and sizes of block `height`'s transactions.
pub fn block_txs(height: u64) -> Vec<u8> {
    with_prefix(b'C', &[&height.to_be_bytes()])
}
/// The (height, index) at the end of a `T` key.
pub fn place_suffix(key: &[u8]) -> Option<(u64, u32)> {
    let start = key.len().checked_sub(12)?;
    let rest = key.get(start..)?;
    let height = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let index = u32::from_be_bytes(rest.get(8..12)?.try_into().ok()?);
    Some((height, index))
}
pub fn history_prefix(member: &PublicKey) -> Vec<u8> {
    with_prefix(b'H', &[&member.0])
}
/// `member`'s places in the blocks of history epoch `epoch`.
pub fn history(member: &PublicKey, epoch: u64) -> Vec<u8> {
    with_prefix(b'H', &[&member.0, &epoch.to_be_bytes()])
}
/// Members with an `H` value in history epoch `epoch`, chunk `chunk`
/// ([`crate::ledger::prune`]).
pub fn epoch_members(epoch: u64, chunk: u32) -> Vec<u8> {
    with_prefix(b'G', &[&epoch.to_be_bytes(), &chunk.to_be_bytes()])
}
pub const EPOCH_MEMBERS_PREFIX: &[u8] = b"G";
/// The first `G` key of `epoch`: every earlier epoch's sort below it.
pub fn epoch_members_start(epoch: u64) -> Vec<u8> {
    with_prefix(b'G', &[&epoch.to_be_bytes()])
}
/// Lists of the records kept by day in their chains' order
/// ([`crate::day_order`]).
pub const DAY_ORDER_PREFIX: &[u8] = b"Q";
/// The list of `kind`'s records of `day` from chain place `first` on.
pub fn day_order(kind: u8, day: u64, first: u64) -> Vec<u8> {
    with_prefix(b'Q', &[&[kind], &day.to_be_bytes(), &first.to_be_bytes()])
}
/// The first key of `kind`'s lists of `day`: every earlier day's sort
/// below it.
pub fn day_order_start(kind: u8, day: u64) -> Vec<u8> {
    with_prefix(b'Q', &[&[kind], &day.to_be_bytes()])
}
/// Every list of `kind`.
pub fn day_order_kind(kind: u8) -> Vec<u8> {
    with_prefix(b'Q', &[&[kind]])
}
/// The first evidence key of block `height`.
pub fn evidence_of_block(height: u64) -> Vec<u8> {
    with_prefix(b'E', &[&height.to_be_bytes()])
}
/// Block `height`'s history entries, kept until its epoch is complete.
pub fn block_history(height: u64) -> Vec<u8> {
    with_prefix(b'J', &[&height.to_be_bytes()])
}
/// Daily aggregates per (WIB day, cooperative), by day first: a range of
/// days is one contiguous range of keys.
pub const DAY_FIGURES_PREFIX: &[u8] = b"D";
/// `coop`'s aggregates of WIB day `day`.
pub fn day_figures(day: u64, coop: &CoopId) -> Vec<u8> {
    with_prefix(b'D', &[&day.to_be_bytes(), coop.as_str().as_bytes()])
}
/// The first key of `day`'s aggregates: every earlier day's sorts below it.
pub fn day_figures_start(day: u64) -> Vec<u8> {
    with_prefix(b'D', &[&day.to_be_bytes()])
}
/// The day and cooperative of a `D` key.
pub fn day_figures_parts(key: &[u8]) -> Option<(u64, CoopId)> {
    let rest = key.strip_prefix(DAY_FIGURES_PREFIX)?;
    let (day, coop) = rest.split_first_chunk::<8>()?;
    let coop = CoopId::new(std::str::from_utf8(coop).ok()?).ok()?;
    Some((u64::from_be_bytes(*day), coop))
}
/// The WIB day of `member`'s last own transaction.
pub fn last_active(member: &PublicKey) -> Vec<u8> {
    with_prefix(b'L', &[&member.0])
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
