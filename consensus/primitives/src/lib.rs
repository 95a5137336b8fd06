//! # kopnet-primitives: the bytes and keys every kopnet crate agrees on
//!
//! The ledger (the money rules) and consensus (agreeing on the order of
//! blocks) are two cores that must never depend on each other, yet both sign,
//! hash and encode. What they share lives here, in a leaf crate that depends
//! on nothing of kopnet's and does no I/O (no tokio, libp2p, sled, filesystem,
//! clock or randomness of its own): `cargo tree -p kopnet-primitives -e
//! normal` lists only bincode, serde, blake3, ed25519-dalek, thiserror, bs58
//! and rand_core.
//!
//! * [`codec`]: the one place that touches bincode. Every byte string that is
//!   signed, hashed, stored or sent is produced by [`codec::encode`] and read
//!   back by a bounded, exact, canonical [`codec::decode`]; two encodings of
//!   one value are never both accepted.
//! * [`crypto`]: blake3 [`Hash`]es with a domain for every kind of hash,
//!   ed25519 [`Keypair`]s, [`PublicKey`]s (and [`PreparedKey`]s for verifying
//!   many signatures by one signer), [`Signature`]s checked with
//!   `verify_strict`, and the readable `kop…` text form of a key.
//! * [`chain_id`]: the one bound on a network's name,
//!   [`CHAIN_ID_BYTES_MAX`], shared by the ledger and consensus.
//!
//! Changing anything here changes bytes that are signed, hashed or stored: a
//! hash, a signature or a state root computed before and after would differ.
//! The golden vectors in the ledger, consensus and node tests pin these
//! formats; a failing one means a format changed, not that the vector is
//! stale.

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

pub use chain_id::CHAIN_ID_BYTES_MAX;
pub use crypto::{CryptoError, Hash, Keypair, PreparedKey, PublicKey, Signature};
