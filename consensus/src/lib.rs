//! kopnet consensus: an I/O-free BFT engine, plus the codec and signing
//! primitives that every other kopnet crate shares.
//!
//! This crate is the bottom of the dependency graph and does no I/O: no tokio,
//! libp2p, sled, filesystem, threads or wall clock. `cargo tree -p
//! kopnet-consensus -e normal` shows it.

pub mod codec;
pub mod crypto;

pub use crypto::{Hash, Keypair, PublicKey, Signature};
