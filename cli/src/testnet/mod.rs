//! Local networks: `testnet init` and `testnet up` (the cluster machinery
//! itself lives in `kopnet-testnet`).

pub use kopnet_testnet::cluster::{layout, process as supervisor, traffic};
pub mod run;
pub mod up;
