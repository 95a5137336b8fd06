//! # kopnet-node: one cooperative's node
//!
//! `kopnet node run --home DIR` runs [`run`]: it opens the sled ledger,
//! joins the other cooperatives over libp2p ([`p2p`]), drives the consensus
//! engine ([`runtime`]), commits blocks ([`commit`]), catches up from peers
//! ([`sync`]) and serves the HTTP API ([`api`]) beside the wallet and
//! explorer pages ([`web`]), put together by [`router`]. Observers run the same code
//! without an engine: they only follow, verify and serve reads.
//!
//! Bounds: the mempool (count, bytes, per signer), gossip batches, sync
//! pages, the verified-signature cache, the recent-rejection map, the SSE
//! buffer, every channel and the HTTP body size all have named limits.

pub mod allow_list;
pub mod api;
pub mod commit;
pub mod config;
pub mod fault;
pub mod genesis_file;
pub mod gossip_verdict;
pub mod http_error;
pub mod keyfile;
pub mod mempool;
pub mod metrics;
pub mod p2p;
pub mod router;
pub mod runtime;
pub mod safety_file;
pub mod shared;
mod start;
pub mod submit;
pub mod sync;
pub mod verified;
pub mod web;
pub mod wire;

pub use start::{run, NodeError, NodeHome};
