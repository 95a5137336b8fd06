//! Receiving a snapshot: [`Importer`] checks every chunk against the
//! manifest, the state entries against the certified root, then each day's
//! records against the day's commitment, writing into a store of its own
//! as it goes (with the records' chain-order lists, [`crate::day_order`]);
//! [`Importer::finish`] opens the ledger on it.

use super::{chunk_hash, Chunk, Item, Manifest, SnapshotError, CHUNK_BYTES_MAX};
use crate::commitment::StateTree;
use crate::day_order::{self, DayOrderLists, RecordKind};
use crate::genesis::Genesis;
use crate::keys;
use crate::ledger::Ledger;
use crate::refunds::MerchantPaymentDay;
use crate::state::{IdempotencyDay, Sequenced, StateKey, StateValue};
use crate::storage::{Storage, WriteBatch};
use kopnet_primitives::{codec, Hash};

/// Where in the item order the import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    State,
    Idempotency,
    MerchantPayments,
}

/// The day whose records are being read, and its chain so far.
#[derive(Debug)]
enum DayRun {
    Idempotency { day: u64, sofar: IdempotencyDay },
    Merchant { day: u64, sofar: MerchantPaymentDay },
}

/// A snapshot being received. Feed the chunks in order with
/// [`Importer::chunk`]; any error means the snapshot is refused (drop the
/// importer and its store).
#[derive(Debug)]
pub struct Importer<S: Storage> {
    store: S,
    manifest: Manifest,
    certified_root: Hash,
    next_chunk: usize,
    phase: Phase,
    last_key: Option<StateKey>,
    tree: StateTree,
    /// The day commitments, once the state is checked: days still to come,
    /// in order.
    idempotency_days: Vec<(u64, IdempotencyDay)>,
    merchant_days: Vec<(u64, MerchantPaymentDay)>,
    run: Option<DayRun>,
    root_checked: bool,
    /// The chain-order lists of the records of the chunk being read
    /// ([`crate::day_order`]), written with its batch.
    order: DayOrderLists,
}

fn content(what: impl Into<String>) -> SnapshotError {
    SnapshotError::Content(what.into())
}

impl<S: Storage> Importer<S> {
    /// Start importing `manifest` into `store` (an empty store), for the
    /// chain of `genesis`, whose state root at the manifest's height is
    /// `certified_root` (the `prev_state_root` of the next block's header,
    /// from a chain of headers the caller trusts).
    pub fn new(
        store: S,
        genesis: &Genesis,
        manifest: Manifest,
        certified_root: Hash,
    ) -> Result<Importer<S>, SnapshotError> {
        if manifest.chain_id != genesis.chain_id || manifest.genesis_hash != genesis.hash() {
            return Err(SnapshotError::OtherChain {
                found: manifest.chain_id.clone(),
                expected: genesis.chain_id.clone(),
            });
        }
        if manifest.state_root != certified_root {
            return Err(SnapshotError::NotCertified {
                claimed: manifest.state_root,
                certified: certified_root,
            });
        }
        if manifest.height == 0 {
            return Err(content(
                "a snapshot at height 0 (start from genesis instead)",
            ));
        }
        if store.get(keys::META_GENESIS)?.is_some() {
            return Err(content("the store to import into is not empty"));
        }
        Ok(Importer {
            store,
            manifest,
            certified_root,
            next_chunk: 0,
            phase: Phase::State,
            last_key: None,
            tree: StateTree::new(),
            idempotency_days: Vec::new(),
            merchant_days: Vec::new(),
            run: None,
            root_checked: false,
            order: DayOrderLists::default(),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether chunk `index`'s bytes are the manifest's (size and hash):
    /// what a fetcher checks before it keeps a chunk from a peer.
    pub fn matches(manifest: &Manifest, index: usize, bytes: &[u8]) -> bool {
        manifest.chunks.get(index).is_some_and(|c| {
            c.bytes as usize == bytes.len()
                && bytes.len() <= CHUNK_BYTES_MAX
                && c.hash == chunk_hash(bytes)
        })
    }

    /// Take chunk `index` (chunks come in order).
    pub fn chunk(&mut self, index: usize, bytes: &[u8]) -> Result<(), SnapshotError> {
        if index != self.next_chunk {
            return Err(SnapshotError::ChunkOrder {
                index,
                expected: self.next_chunk,
            });
        }
        if !Self::matches(&self.manifest, index, bytes) {
            return Err(SnapshotError::ChunkMismatch { index });
        }
        let chunk: Chunk = codec::decode_bounded(bytes, CHUNK_BYTES_MAX)
            .map_err(|e| SnapshotError::Decode(format!("chunk {index}: {e}")))?;
        if chunk.items.is_empty() {
            return Err(content(format!("chunk {index} is empty")));
        }
        let mut batch = WriteBatch::default();
        for item in chunk.items {
            self.item(item, &mut batch)?;
        }
        self.order.put_into(&mut batch);
        self.store.commit(batch)?;
        self.next_chunk += 1;
        Ok(())
    }

    fn item(&mut self, item: Item, batch: &mut WriteBatch) -> Result<(), SnapshotError> {
        let phase = match &item {
            Item::State { .. } => Phase::State,
            Item::Idempotency { .. } => Phase::Idempotency,
            Item::MerchantPayment { .. } => Phase::MerchantPayments,
        };
        if phase < self.phase {
            return Err(content("items out of order (state, then records by kind)"));
        }
        if phase > Phase::State && !self.root_checked {
            self.close_state()?;
        }
        self.phase = phase;
        match item {
            Item::State { key, value } => self.state_item(key, value, batch),
            Item::Idempotency {
                day,
                payer,
                id,
                record,
            } => {
                let sofar = self.day_run_idempotency(day)?;
                let seq = sofar.records;
                *sofar = sofar
                    .extended(&payer, &id, &record)
                    .ok_or_else(|| content("a day with too many records"))?;
                let stored = Sequenced {
                    seq: Some(seq),
                    record,
                };
                batch.put(
                    keys::idempotency(day, &payer, &id),
                    codec::encode(&stored).map_err(|e| SnapshotError::Encode(e.to_string()))?,
                );
                let suffix = day_order::idempotency_suffix(&payer, &id);
                self.order.push(RecordKind::Idempotency, day, seq, &suffix);
                Ok(())
            }
            Item::MerchantPayment { tx, record } => {
                let day = record.day;
                let sofar = self.day_run_merchant(day)?;
                let seq = sofar.records;
                *sofar = sofar
                    .extended(&tx, &record)
                    .map_err(|e| content(format!("a merchant payment record: {e}")))?;
                let stored = Sequenced {
                    seq: Some(seq),
                    record,
                };
                batch.put(
                    keys::merchant_payment(day, &tx),
                    codec::encode(&stored).map_err(|e| SnapshotError::Encode(e.to_string()))?,
                );
                self.order
                    .push(RecordKind::MerchantPayment, day, seq, &tx.0);
                Ok(())
            }
        }
    }

    fn state_item(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
        batch: &mut WriteBatch,
    ) -> Result<(), SnapshotError> {
        let decoded: StateKey =
            codec::decode(&key).map_err(|e| content(format!("a state key: {e}")))?;
        let decoded_value: StateValue =
            codec::decode(&value).map_err(|e| content(format!("a state value: {e}")))?;
        if matches!(
            decoded,
            StateKey::Idempotency(..) | StateKey::MerchantPayment(..)
        ) {
            return Err(content("a record among the state entries"));
        }
        if self.last_key.as_ref().is_some_and(|last| *last >= decoded) {
            return Err(content("state entries out of key order"));
        }
        match (&decoded, decoded_value) {
            (StateKey::IdempotencyDay(day), StateValue::IdempotencyDay(d)) => {
                self.idempotency_days.push((*day, d));
            }
            (StateKey::MerchantPaymentDay(day), StateValue::MerchantPaymentDay(d)) => {
                self.merchant_days.push((*day, d));
            }
            _ => {}
        }
        self.tree.update(&key, Some(&value));
        batch.put(keys::state(&key), value);
        self.last_key = Some(decoded);
        Ok(())
    }

    /// The state entries are all in: the root must be the certified one.
    /// From here on the day commitments are the chain's.
    fn close_state(&mut self) -> Result<(), SnapshotError> {
        let computed = self.tree.recompute();
        if computed != self.certified_root {
            return Err(SnapshotError::WrongRoot {
                computed,
                certified: self.certified_root,
            });
        }
        self.root_checked = true;
        // Days are consumed from the front.
        self.idempotency_days.reverse();
        self.merchant_days.reverse();
        Ok(())
    }

    fn day_run_idempotency(&mut self, day: u64) -> Result<&mut IdempotencyDay, SnapshotError> {
        let same = matches!(&self.run, Some(DayRun::Idempotency { day: d, .. }) if *d == day);
        if !same {
            self.close_run()?;
            match self.idempotency_days.last() {
                Some((next, _)) if *next == day => {}
                _ => {
                    return Err(SnapshotError::WrongRecords {
                        day,
                        reason: "not the next day with records".into(),
                    })
                }
            }
            self.run = Some(DayRun::Idempotency {
                day,
                sofar: IdempotencyDay::default(),
            });
        }
        match &mut self.run {
            Some(DayRun::Idempotency { sofar, .. }) => Ok(sofar),
            _ => Err(content("internal: no idempotency day open")),
        }
    }

    fn day_run_merchant(&mut self, day: u64) -> Result<&mut MerchantPaymentDay, SnapshotError> {
        let same = matches!(&self.run, Some(DayRun::Merchant { day: d, .. }) if *d == day);
        if !same {
            self.close_run()?;
            match self.merchant_days.last() {
                Some((next, _)) if *next == day => {}
                _ => {
                    return Err(SnapshotError::WrongRecords {
                        day,
                        reason: "not the next day with merchant payments".into(),
                    })
                }
            }
            self.run = Some(DayRun::Merchant {
                day,
                sofar: MerchantPaymentDay::default(),
            });
        }
        match &mut self.run {
            Some(DayRun::Merchant { sofar, .. }) => Ok(sofar),
            _ => Err(content("internal: no merchant payment day open")),
        }
    }

    /// The open day's records are all in: count and chain must be the
    /// commitment's.
    fn close_run(&mut self) -> Result<(), SnapshotError> {
        let wrong = |day, reason: String| SnapshotError::WrongRecords { day, reason };
        match self.run.take() {
            None => Ok(()),
            Some(DayRun::Idempotency { day, sofar }) => match self.idempotency_days.pop() {
                Some((d, committed)) if d == day && committed == sofar => Ok(()),
                Some((_, committed)) => Err(wrong(
                    day,
                    format!(
                        "{} records given, {} committed",
                        sofar.records, committed.records
                    ),
                )),
                None => Err(wrong(day, "no commitment".into())),
            },
            Some(DayRun::Merchant { day, sofar }) => match self.merchant_days.pop() {
                Some((d, committed)) if d == day && committed == sofar => Ok(()),
                Some((_, committed)) => Err(wrong(
                    day,
                    format!(
                        "{} records given, {} committed",
                        sofar.records, committed.records
                    ),
                )),
                None => Err(wrong(day, "no commitment".into())),
            },
        }
    }

    /// Every chunk is in: check nothing is missing, write the chain
    /// position, and open the ledger (which checks the root once more, from
    /// what was written).
    pub fn finish(mut self, genesis: &Genesis) -> Result<Ledger<S>, SnapshotError> {
        if self.next_chunk != self.manifest.chunks.len() {
            return Err(SnapshotError::Incomplete(format!(
                "{} of {} chunks",
                self.next_chunk,
                self.manifest.chunks.len()
            )));
        }
        if !self.root_checked {
            self.close_state()?;
        }
        self.close_run()?;
        if let Some((day, _)) = self.idempotency_days.last() {
            return Err(SnapshotError::Incomplete(format!(
                "no idempotency records of day {day}"
            )));
        }
        if let Some((day, _)) = self.merchant_days.last() {
            return Err(SnapshotError::Incomplete(format!(
                "no merchant payment records of day {day}"
            )));
        }
        let m = &self.manifest;
        let mut batch = WriteBatch::default();
        batch.put(keys::META_GENESIS.to_vec(), m.genesis_hash.0.to_vec());
        batch.put(
            keys::META_STORE_FORMAT.to_vec(),
            keys::STORE_FORMAT.to_be_bytes().to_vec(),
        );
        batch.put(keys::META_HEIGHT.to_vec(), m.height.to_be_bytes().to_vec());
        batch.put(keys::META_LAST_HASH.to_vec(), m.block_hash.0.to_vec());
        batch.put(
            keys::META_LAST_TIME.to_vec(),
            m.block_time_ms.to_be_bytes().to_vec(),
        );
        batch.put(keys::root(m.height), m.state_root.0.to_vec());
        batch.put(
            keys::META_SNAPSHOT_HEIGHT.to_vec(),
            m.height.to_be_bytes().to_vec(),
        );
        batch.put(
            keys::META_BASE.to_vec(),
            m.height.saturating_add(1).to_be_bytes().to_vec(),
        );
        self.store.commit(batch)?;
        Ok(Ledger::open(self.store, genesis)?)
    }
}
