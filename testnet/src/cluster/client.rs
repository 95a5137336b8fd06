//! The node's API client, re-exported where the rig has always found it; it
//! lives with the API in `kopnet_node::api::client`.

pub use kopnet_node::api::client::*;
