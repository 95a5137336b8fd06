//! # kopnet-node: one cooperative's node
//!
//! `kopnet node run --home DIR` runs [`run`]: it opens the sled ledger in a
//! [`host::Host`] — the I/O-free node host that owns the ledger, mempool,
//! signature cache, chain records ([`chain_store`]), safety record and
//! catch-up, and drives the consensus engine — and runs it in a thin tokio
//! shell ([`runtime`]) that joins the other cooperatives over libp2p
//! ([`p2p`]) and serves the HTTP API ([`api`]) beside the wallet and
//! explorer pages ([`web`]), put together by [`router`]. The simulator runs the same
//! host over a simulated network and in-memory storage. Observers run the
//! same code without an engine: they only follow, verify and serve reads.
//!
//! Reads never hold up commits: the API answers from a view published once
//! per block and from the store, without the ledger lock
//! ([`committed_view`]).
//!
//! Bounds: the mempool (count, bytes, per signer), gossip batches, sync
//! pages, the verified-signature cache, the recent-rejection map, the SSE
//! buffer, every channel and the HTTP body size all have named limits.

pub mod allow_list;
pub mod api;
pub mod audit;
pub mod backup;
pub mod block_clock;
pub mod chain_store;
pub mod city_index;
pub mod committed_view;
pub mod config;
#[cfg(feature = "fault-injection")]
pub mod fault;
pub mod genesis_file;
pub mod host;
pub mod http;
pub mod http_error;
pub mod keyfile;
pub mod mempool;
pub mod metrics;
pub mod node_keys;
pub mod node_state;
pub mod openapi;
pub mod p2p;
pub mod personal;
pub mod router;
pub mod runtime;
pub mod safety_file;
pub mod secret;
pub mod snapshots;
mod start;
pub mod store_check;
pub mod store_migration;
pub mod sync;
pub mod upgrade;
pub mod verified;
pub mod web;
pub mod wire;

pub use start::{run, run_with, NodeError, NodeHome, RunOptions};

/// The environment variable that switches a deliberate fault on (only in
/// builds with the `fault-injection` feature; others refuse to start when
/// it is set).
pub const FAULT_ENV: &str = "KOPNET_FAULT";
