//! # kopnet-fuzz-targets: what every fuzz target checks
//!
//! Each target is a plain function `fn(&[u8]) -> Outcome` that feeds the
//! bytes to one of the node's decoders or loaders, exactly as the node does
//! with outside input, and asserts properties of the answer (a failed
//! property panics, which the fuzzer reports as a crash):
//!
//! * a decoded value re-encodes to the very bytes it came from (the codec
//!   accepts only canonical encodings), and decodes again to itself;
//! * a refusal is the decoder's own typed error, of the kind the node
//!   expects there (`malformed` for a transaction, a codec error for a
//!   block, `bad_encoding` for a transaction's text, ...);
//! * what a loader accepts survives its own writer (config and genesis
//!   round-trip), and a genesis it accepts really opens a ledger; a backup
//!   file the restore's reader accepts is written back byte for byte;
//! * what the QR parser accepts passes the encoder's checks, encodes back
//!   to a payload that parses to the same request, and has no duplicate
//!   field at any level (checked by a second, naive scanner).
//!
//! The functions live here, in a workspace crate built on the stable
//! toolchain, rather than in the fuzz crate (`fuzz/`, cargo-fuzz, nightly
//! only), so that `tests/replay.rs` replays every kept corpus file
//! (`fuzz/corpus/<target>/`) through exactly the code the fuzzer ran, in
//! `cargo test --workspace`. `FUZZING.md` says how to run the fuzzer.
//!
//! [`seeds`] holds real, valid inputs for every target (signed
//! transactions, blocks of a small ledger with members, certificates
//! signed by its validators): the fuzzer starts from them, and the replay
//! test checks that each is [`Outcome::Accepted`], so a target cannot
//! silently stop reaching the code past its first check.

pub mod city;
pub mod files;
pub mod http;
pub mod qris;
pub mod seeds;
pub mod wire;

/// What an input came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check the node applies at this level passed.
    Accepted,
    /// Refused with this (typed) reason.
    Refused(String),
}

impl Outcome {
    pub(crate) fn refused(reason: impl std::fmt::Display) -> Outcome {
        Outcome::Refused(reason.to_string())
    }
}

/// A fuzz target: feeds bytes to one decoder and checks the properties.
pub type Target = fn(&[u8]) -> Outcome;

/// Every target, by the name of its fuzz binary and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("tx", wire::tx),
    ("block", wire::block),
    ("consensus", wire::consensus),
    ("sync_request", wire::sync_request),
    ("sync_response", wire::sync_response),
    ("post_tx", http::post_tx),
    ("post_txs", http::post_txs),
    ("post_quote", http::post_quote),
    ("quote", http::quote),
    ("post_admin_isolate", http::post_admin_isolate),
    ("qris", qris::qris),
    ("config", files::config),
    ("genesis", files::genesis),
    ("backup", files::backup),
    ("snapshot", files::snapshot),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
