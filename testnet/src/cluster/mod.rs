//! A local kopnet network on real processes and sockets, shared by
//! `kopnet testnet up`, the fault-injection runner and the benchmark:
//! the on-disk layout ([`layout`]), child node processes ([`process`]),
//! an HTTP client for a node's API ([`client`]) and the demo/load traffic
//! driver ([`traffic`]).

pub mod client;
pub mod layout;
pub mod mix;
pub mod ports;
pub mod process;
pub mod traffic;
