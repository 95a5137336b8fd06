//! A local kopnet network on real processes and sockets, shared by
//! `kopnet testnet up`, the fault-injection runner and the benchmark:
//! the on-disk layout ([`layout`]) on free local ports ([`ports`]), child
//! node processes ([`process`]) and the demo/load traffic driver
//! ([`traffic`], sending the [`mix`]). Nodes are reached through the API's
//! own client, `kopnet_node::api::client`.

pub mod layout;
pub mod mix;
pub mod ports;
pub mod process;
pub mod traffic;
