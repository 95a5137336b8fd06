//! The chain id: the name of one kopnet network.
//!
//! The sign bytes of every signed message (a transaction, a vote, a proposal)
//! start with the chain id, so a signature made on a test network never
//! counts on the production one. The ledger (genesis files, transactions) and
//! consensus (the engine configuration) bound the id with the one constant
//! below, so a chain id one of them accepts is never refused by the other.

/// The longest chain id, in bytes.
pub const CHAIN_ID_BYTES_MAX: usize = 32;
