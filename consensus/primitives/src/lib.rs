//! # kopnet-primitives: the bytes and keys every kopnet crate agrees on
//!
//! The ledger (the money rules) and consensus (agreeing on the order of
//! blocks) are two cores that must not depend on each other, yet both
//! encode, hash and sign. What they share lives here, in a leaf crate that
//! depends on nothing of kopnet's and does no I/O (no tokio, libp2p, sled,
//! filesystem, clock, or randomness it picks itself): `cargo tree -p
//! kopnet-primitives -e normal` lists only bincode, serde, blake3,
//! ed25519-dalek (signing), ed25519-zebra (verification), thiserror, bs58
//! and rand_core.
//!
//! * [`codec`]: the one place that touches bincode. Every byte string that
//!   is signed, hashed, stored or sent is produced by [`codec::encode`] and
//!   read back by a bounded, exact, canonical [`codec::decode`]; two
//!   encodings of one value are never both accepted.
//! * [`crypto`]: blake3 [hashes](struct@Hash) under a context string for
//!   every kind of hash, ed25519 [`Keypair`]s and [`PublicKey`]s (with
//!   [`PreparedKey`] for verifying many signatures by one signer),
//!   [`Signature`]s, and the `kop…` text form of a key.
//! * [`signature_rule`]: the one ed25519 verification rule (canonical,
//!   large-order `A` and `R`, `s < l`, cofactored ZIP-215 equation) under
//!   which single and batch verification accept exactly the same
//!   signatures, with batch and multi-threaded checks.
//! * [`crypto::domain`]: the domain-separation rule every signature follows
//!   (`domain || 0x00 || message`). The domains themselves belong to the
//!   crate that owns the message: transactions to the ledger, votes and
//!   proposals to consensus.
//! * [`chain_id`]: the one bound on a network's name, [`CHAIN_ID_BYTES_MAX`],
//!   shared by the ledger and consensus.
//!
//! The `kop…` address stays with [`PublicKey`] because it is the key's text
//! form everywhere (`Display`, `FromStr`, `Debug`, and serde's
//! human-readable form in genesis files, the HTTP API and the wallet's
//! vectors), for validators and node keys as much as for accounts; those
//! impls can only live beside the type.
//!
//! Changing anything here changes bytes that are signed, hashed or stored:
//! a hash, a signature or a state root computed before and after would
//! differ. The golden vectors in the ledger, consensus and node tests pin
//! these formats; a failing one means a format changed, not that the vector
//! is stale.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod chain_id;
pub mod codec;
pub mod crypto;
pub mod signature_rule;

pub use chain_id::CHAIN_ID_BYTES_MAX;
pub use crypto::{CryptoError, Hash, Keypair, PreparedKey, PublicKey, Signature};
