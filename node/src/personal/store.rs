//! The node-local personal-data store: its own sled database in
//! `data/personal` of the node's home, apart from the ledger's store. It
//! is never replicated, never gossiped and never part of the ledger's
//! state or of any hash.
//!
//! Two trees: `members` (account address bytes → the record as JSON) and
//! `phones` (E.164 number → account address bytes), written together in
//! one transaction so a number always points at the record that holds it.
//! At most [`MEMBERS_MAX`] records.

use super::phone::Phone;
use super::record::{MemberRecord, RecordError, StoredRecord};
use kopnet_consensus::PublicKey;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Most member records one node keeps.
pub const MEMBERS_MAX: u64 = 1_000_000;
/// sled's page cache for this store: small, the store is read point by point.
pub const PERSONAL_CACHE_BYTES: u64 = 8 * 1024 * 1024;

const MEMBERS_TREE: &str = "members";
const PHONES_TREE: &str = "phones";

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("personal store: {0}")]
    Io(String),
    #[error("a stored record no longer reads: {0}")]
    Corrupt(String),
    #[error("this phone number is already linked to another member")]
    PhoneTaken,
    #[error("the personal store holds its maximum of {MEMBERS_MAX} members")]
    Full,
    #[error("no personal data is kept for this member")]
    NotFound,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

impl From<RecordError> for StoreError {
    fn from(e: RecordError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// The store (cheap to share behind an `Arc`).
#[derive(Debug)]
pub struct PersonalStore {
    members: sled::Tree,
    phones: sled::Tree,
    count: AtomicU64,
    /// Keeps the database open (and, for a temporary store, alive).
    _db: sled::Db,
}

/// A transaction's own error, carried out of sled's.
fn abort<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    Err(ConflictableTransactionError::Abort(e))
}

fn untx(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Io(e.to_string()),
    }
}

/// A record as the store keeps it (JSON), also the form a backup carries
/// it in ([`crate::backup`]).
pub fn encode(record: &MemberRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&StoredRecord::from(record)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A record from its stored form, checked as a new one would be.
pub fn decode(bytes: &[u8]) -> Result<MemberRecord, StoreError> {
    let stored: StoredRecord =
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(MemberRecord::try_from(stored)?)
}

impl PersonalStore {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<PersonalStore, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(PERSONAL_CACHE_BYTES)
            .open()?;
        Self::over(db)
    }

    /// A store that disappears when dropped (tests, tools).
    pub fn temporary() -> Result<PersonalStore, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .cache_capacity(PERSONAL_CACHE_BYTES)
            .open()?;
        Self::over(db)
    }

    fn over(db: sled::Db) -> Result<PersonalStore, StoreError> {
        let members = db.open_tree(MEMBERS_TREE)?;
        let phones = db.open_tree(PHONES_TREE)?;
        let count = AtomicU64::new(members.len() as u64);
        Ok(PersonalStore {
            members,
            phones,
            count,
            _db: db,
        })
    }

    /// Members with a record.
    pub fn len(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record of `member`.
    pub fn get(&self, member: &PublicKey) -> Result<Option<MemberRecord>, StoreError> {
        self.members
            .get(member.0)?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// The member a phone number is linked to, with its record.
    pub fn find_by_phone(
        &self,
        phone: &Phone,
    ) -> Result<Option<(PublicKey, MemberRecord)>, StoreError> {
        let Some(address) = self.phones.get(phone.as_str())? else {
            return Ok(None);
        };
        let key: [u8; 32] = address
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("a phone entry is not an address".into()))?;
        let member = PublicKey(key);
        Ok(self.get(&member)?.map(|record| (member, record)))
    }

    /// Record or replace `member`'s data. The phone (if any) must not be
    /// linked to another member; the link time is kept when the same
    /// number is written again.
    pub fn put(
        &self,
        member: &PublicKey,
        record: MemberRecord,
    ) -> Result<MemberRecord, StoreError> {
        let previous = self.get(member)?;
        if previous.is_none() && self.len() >= MEMBERS_MAX {
            return Err(StoreError::Full);
        }
        let mut record = record;
        record.linked_at_ms = match (&record.phone, &previous) {
            (None, _) => None,
            (Some(phone), Some(old)) if old.phone.as_ref() == Some(phone) => {
                old.linked_at_ms.or(Some(record.updated_at_ms))
            }
            (Some(_), _) => Some(record.updated_at_ms),
        };
        let bytes = encode(&record)?;
        let old_phone = previous.as_ref().and_then(|p| p.phone.clone());
        let inserted = (&self.members, &self.phones)
            .transaction(|(members, phones)| {
                if let Some(phone) = &record.phone {
                    if let Some(owner) = phones.get(phone.as_str())? {
                        if owner.as_ref() != member.0 {
                            return abort(StoreError::PhoneTaken);
                        }
                    }
                }
                if let Some(old) = &old_phone {
                    if record.phone.as_ref() != Some(old) {
                        phones.remove(old.as_str())?;
                    }
                }
                if let Some(phone) = &record.phone {
                    phones.insert(phone.as_str(), &member.0[..])?;
                }
                Ok(members.insert(&member.0[..], bytes.as_slice())?.is_none())
            })
            .map_err(untx)?;
        if inserted {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
        self.members.flush()?;
        Ok(record)
    }

    /// Unlink `member`'s phone number (the rest of the record stays).
    pub fn unlink_phone(
        &self,
        member: &PublicKey,
        now_ms: u64,
    ) -> Result<MemberRecord, StoreError> {
        let mut record = self.get(member)?.ok_or(StoreError::NotFound)?;
        let old = record.phone.take();
        record.linked_at_ms = None;
        record.updated_at_ms = now_ms;
        let bytes = encode(&record)?;
        (&self.members, &self.phones)
            .transaction(|(members, phones)| {
                if let Some(phone) = &old {
                    phones.remove(phone.as_str())?;
                }
                members.insert(&member.0[..], bytes.as_slice())?;
                Ok(())
            })
            .map_err(untx)?;
        self.members.flush()?;
        Ok(record)
    }

    /// Up to `limit` records in address order, after `after` (exclusive)
    /// when given: a backup reads the store page by page.
    pub fn page_after(
        &self,
        after: Option<&PublicKey>,
        limit: usize,
    ) -> Result<Vec<(PublicKey, MemberRecord)>, StoreError> {
        let iter = match after {
            Some(key) => self.members.range::<&[u8], _>((
                std::ops::Bound::Excluded(&key.0[..]),
                std::ops::Bound::Unbounded,
            )),
            None => self.members.iter(),
        };
        let mut out = Vec::new();
        for entry in iter.take(limit) {
            let (key, bytes) = entry?;
            let key: [u8; 32] = key
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("a member key is not an address".into()))?;
            out.push((PublicKey(key), decode(&bytes)?));
        }
        Ok(out)
    }

    /// Write `record` for `member` exactly as it was kept (its link time
    /// included): what a restore from a backup does. The phone must not
    /// be linked to another member.
    pub fn restore(&self, member: &PublicKey, record: MemberRecord) -> Result<(), StoreError> {
        let linked_at_ms = record.linked_at_ms;
        let kept = self.put(member, record)?;
        if kept.linked_at_ms != linked_at_ms {
            let exact = MemberRecord {
                linked_at_ms,
                ..kept
            };
            let bytes = encode(&exact)?;
            self.members.insert(&member.0[..], bytes)?;
            self.members.flush()?;
        }
        Ok(())
    }

    /// Erase everything kept about `member` (the right to erasure).
    pub fn erase(&self, member: &PublicKey) -> Result<(), StoreError> {
        let record = self.get(member)?.ok_or(StoreError::NotFound)?;
        let removed = (&self.members, &self.phones)
            .transaction(|(members, phones)| {
                if let Some(phone) = &record.phone {
                    phones.remove(phone.as_str())?;
                }
                Ok(members.remove(&member.0[..])?.is_some())
            })
            .map_err(untx)?;
        if removed {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        self.members.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, phone: Option<&str>, at: u64) -> MemberRecord {
        MemberRecord {
            name: name.into(),
            phone: phone.map(|p| Phone::parse(p).unwrap()),
            nik: None,
            linked_at_ms: None,
            updated_at_ms: at,
        }
    }

    #[test]
    fn link_find_unlink_erase() {
        let store = PersonalStore::temporary().unwrap();
        let sri = PublicKey([1; 32]);
        let budi = PublicKey([2; 32]);
        let phone = Phone::parse("081234567890").unwrap();
        let kept = store
            .put(&sri, record("Sri Wahyuni", Some("081234567890"), 10))
            .unwrap();
        assert_eq!(kept.linked_at_ms, Some(10));
        // The same number again keeps its link time.
        let kept = store
            .put(&sri, record("Sri Wahyuni", Some("+6281234567890"), 20))
            .unwrap();
        assert_eq!(kept.linked_at_ms, Some(10));
        assert_eq!(store.find_by_phone(&phone).unwrap().unwrap().0, sri);
        // Another member cannot take it.
        let taken = store.put(&budi, record("Budi", Some("6281234567890"), 30));
        assert!(matches!(taken, Err(StoreError::PhoneTaken)));
        assert!(store.get(&budi).unwrap().is_none());
        assert_eq!(store.len(), 1);
        // A new number replaces the old one's link.
        store
            .put(&sri, record("Sri Wahyuni", Some("0811111111"), 40))
            .unwrap();
        assert!(store.find_by_phone(&phone).unwrap().is_none());
        store
            .put(&budi, record("Budi", Some("081234567890"), 50))
            .unwrap();
        assert_eq!(store.find_by_phone(&phone).unwrap().unwrap().0, budi);
        let unlinked = store.unlink_phone(&budi, 60).unwrap();
        assert_eq!((unlinked.phone, unlinked.linked_at_ms), (None, None));
        assert!(store.find_by_phone(&phone).unwrap().is_none());
        assert_eq!(store.get(&budi).unwrap().unwrap().name, "Budi");
        store.erase(&sri).unwrap();
        assert!(store.get(&sri).unwrap().is_none());
        assert!(store
            .find_by_phone(&Phone::parse("0811111111").unwrap())
            .unwrap()
            .is_none());
        assert!(matches!(store.erase(&sri), Err(StoreError::NotFound)));
        assert_eq!(store.len(), 1);
    }

    /// A backup reads the store page by page; a restore writes each
    /// record back exactly, link time included.
    #[test]
    fn pages_and_exact_restore() {
        let store = PersonalStore::temporary().unwrap();
        for i in 1..=5u8 {
            let phone = format!("08123456780{i}");
            store
                .put(
                    &PublicKey([i; 32]),
                    record("Anggota", Some(&phone), u64::from(i)),
                )
                .unwrap();
        }
        let first = store.page_after(None, 2).unwrap();
        assert_eq!(first.len(), 2);
        let rest = store.page_after(Some(&first[1].0), 10).unwrap();
        assert_eq!(rest.len(), 3);
        assert_eq!(rest[0].0, PublicKey([3; 32]));
        let copy = PersonalStore::temporary().unwrap();
        let mut original = first;
        original.extend(rest);
        for (member, mut kept) in original.clone() {
            kept.linked_at_ms = Some(1_000 + kept.updated_at_ms);
            copy.restore(&member, kept).unwrap();
        }
        let restored = copy.page_after(None, 10).unwrap();
        assert_eq!(restored.len(), 5);
        assert!(restored
            .iter()
            .all(|(_, r)| r.linked_at_ms == Some(1_000 + r.updated_at_ms)));
        // A number already linked to another member is refused.
        let clash = copy.restore(&PublicKey([9; 32]), record("X", Some("081234567801"), 1));
        assert!(matches!(clash, Err(StoreError::PhoneTaken)));
    }
}
