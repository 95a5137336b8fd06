//! The simulated host's values ("blocks") and its validity function.

use kopnet_consensus::codec;
use kopnet_consensus::{Hash, Height, Value};
use serde::{Deserialize, Serialize};

const VALUE_CONTEXT: &str = "kopnet sim value v1";

/// What a simulated block contains.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SimBlock {
    pub height: Height,
    pub proposer: u32,
    pub nonce: u64,
    pub has_txs: bool,
    /// Byzantine proposers may build invalid blocks; honest ones never do.
    pub valid: bool,
}

impl SimBlock {
    pub fn to_value(self) -> Value {
        let bytes = codec::encode(&self).unwrap_or_default();
        Value {
            id: Hash::digest(VALUE_CONTEXT, &bytes),
            bytes,
        }
    }
}

/// The sim's validity function: the id matches the bytes, the bytes decode,
/// the block is for `height` and is marked valid.
pub fn is_valid(value: &Value, height: Height) -> bool {
    if Hash::digest(VALUE_CONTEXT, &value.bytes) != value.id {
        return false;
    }
    match codec::decode::<SimBlock>(&value.bytes) {
        Ok(block) => block.height == height && block.valid,
        Err(_) => false,
    }
}
