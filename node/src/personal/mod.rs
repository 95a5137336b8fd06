//! Personal data stays home: the node-local store of this cooperative's
//! members' names, phone numbers and identity numbers, and the
//! phone-number directory built on it.
//!
//! # What is stored where
//!
//! * **On the ledger** (replicated, hashed, read by every node): only
//!   pseudonymous accounts — an address, a tier, a home cooperative, a
//!   balance. No name, phone number or identity number, ever.
//! * **At the member's home cooperative's node only**
//!   ([`store::PersonalStore`], its own sled database in
//!   `data/personal/` of the node's home, apart from the ledger's store):
//!   per member, the name, the phone number (E.164, [`phone::Phone`]), the
//!   identity number (NIK, 16 digits) and when the phone was linked. Never
//!   replicated, never gossiped, in no state root or block. An observer
//!   (no cooperative of its own) keeps none and answers no lookup.
//!
//! # Who may read and write it
//!
//! * `PUT /v1/directory/members/{address}` (record or replace),
//!   `DELETE /v1/directory/members/{address}/phone` (unlink the phone) and
//!   `DELETE /v1/directory/members/{address}` (erase the record): a
//!   request signed by the home cooperative's key or one of its active
//!   tellers, for a member homed at this node's cooperative.
//! * `GET /v1/directory/members/{address}`: the same, and the member
//!   itself (a request signed by the account's current key).
//! * `POST /v1/directory/lookup` {phone}: a member wallet of *this* node's
//!   cooperative (signed by its key), at most
//!   [`rate::WALLET_LOOKUPS_PER_MINUTE`] a minute (then 429
//!   `rate_limited`). The answer is the payee's address, its **masked**
//!   name ([`mask::masked_name`]: "Sri W***") and its home cooperative —
//!   never the number's owner's full name, NIK or other numbers.
//! * Other cooperatives' nodes ask over `/kopnet/directory/1`
//!   ([`crate::p2p::directory`]): only an active cooperative's own node,
//!   naming itself, at most [`rate::COOP_LOOKUPS_PER_MINUTE`] a minute per
//!   asking cooperative ([`answer`]).
//! * There is no route that lists records or numbers, and no hash of a
//!   number is published anywhere (a phone number is low-entropy: its hash
//!   is no secret). Every lookup is logged at both ends with the
//!   requesting wallet and cooperative and whether it was found — of the
//!   number only its last three digits.

pub mod answer;
pub mod ask;
pub mod home;
pub mod mask;
pub mod phone;
pub mod rate;
pub mod record;
pub mod store;
pub mod wire;

pub use phone::{Phone, PhoneError};
pub use record::{MemberRecord, RecordError};
pub use store::{PersonalStore, StoreError};

use rate::{RateBudget, COOP_LOOKUPS_PER_MINUTE, RATE_KEYS_MAX, WALLET_LOOKUPS_PER_MINUTE};

/// The node's directory: the store and the two lookup budgets.
#[derive(Debug)]
pub struct Directory {
    pub store: PersonalStore,
    /// Per requesting wallet (account address bytes), at its own node.
    pub wallets: RateBudget<[u8; 32]>,
    /// Per requesting cooperative (its id), at the answering node.
    pub coops: RateBudget<String>,
}

impl Directory {
    pub fn new(store: PersonalStore) -> Directory {
        Directory {
            store,
            wallets: RateBudget::new(WALLET_LOOKUPS_PER_MINUTE, RATE_KEYS_MAX),
            coops: RateBudget::new(COOP_LOOKUPS_PER_MINUTE, RATE_KEYS_MAX),
        }
    }

    /// A directory over a temporary store (tests).
    pub fn temporary() -> Result<Directory, StoreError> {
        Ok(Directory::new(PersonalStore::temporary()?))
    }
}
