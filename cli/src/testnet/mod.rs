//! Local networks: `testnet init` and `testnet up`.

pub mod layout;
pub mod supervisor;
pub mod traffic;
pub mod up;
