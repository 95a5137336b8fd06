//! kopnet testnet (work in progress)
//!
//! [`sim`]: a deterministic, seeded simulation of a validator network running
//! the real consensus engine and ledger (`kopnet-sim` binary).

pub mod bench;
pub mod cluster;
pub mod runner;
pub mod sim;
