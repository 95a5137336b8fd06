//! kopnet testnet (work in progress)
//!
//! [`sim`]: a deterministic, seeded simulation of a validator network running
//! the real consensus engine and ledger (`kopnet-sim` binary).
//!
//! [`cluster`]: local networks of real node processes (`kopnet testnet
//! init|up`), with the demo/load traffic driver; [`runner`]: fault-injection
//! runs on them (`kopnet testnet run`); [`bench`]: `kopnet bench`.
//!
//! This is the test rig: it stands on `kopnet-node` (and reaches nodes with
//! `kopnet_node::api::client`), never the other way round. Errors are typed
//! per module (`thiserror`) and name what failed: the node, the file, the
//! height.

pub mod bench;
pub mod cluster;
pub mod runner;
pub mod sim;
