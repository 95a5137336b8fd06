//! The directory's messages between cooperative nodes, on the
//! `/kopnet/directory/1` request-response protocol: JSON, at most
//! [`DIRECTORY_MESSAGE_BYTES_MAX`] each way (the codec refuses a longer
//! frame before reading it), unknown fields refused.

use serde::{Deserialize, Serialize};

/// Most bytes of one directory request or answer.
pub const DIRECTORY_MESSAGE_BYTES_MAX: usize = 1024;

/// Why a directory message did not decode.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("directory message of {size} bytes exceeds {DIRECTORY_MESSAGE_BYTES_MAX}")]
    TooLarge { size: usize },
    #[error("malformed directory message: {0}")]
    Malformed(String),
}

/// "Whose is this number?", from the requesting wallet's home node. The
/// answering node checks that `cooperative` is the asking peer's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// The requesting cooperative's id.
    pub cooperative: String,
    /// The requesting wallet's account address.
    pub wallet: String,
    /// The number, as the wallet wrote it (the answering node normalises it).
    pub phone: String,
}

/// The answer: the payee's address, its masked name and home cooperative,
/// or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case", deny_unknown_fields)]
pub enum LookupAnswer {
    Found {
        address: String,
        masked_name: String,
        cooperative: String,
    },
    NotFound,
    /// The answering node would not look: `rate_limited`,
    /// `not_a_cooperative`, `not_a_cooperative_node`, `bad_phone`,
    /// `malformed`, `unavailable`.
    Refused {
        reason: String,
    },
}

impl LookupAnswer {
    pub fn refused(reason: &str) -> LookupAnswer {
        LookupAnswer::Refused {
            reason: reason.to_string(),
        }
    }
}

/// Encode a message (never past the bound: the fields are bounded).
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_default()
}

/// Decode a message, refusing one past the bound before parsing it.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireError> {
    if bytes.len() > DIRECTORY_MESSAGE_BYTES_MAX {
        return Err(WireError::TooLarge { size: bytes.len() });
    }
    serde_json::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_and_strangers_are_refused() {
        let found = LookupAnswer::Found {
            address: "kopX".into(),
            masked_name: "Sri W***".into(),
            cooperative: "koperasi-a".into(),
        };
        assert_eq!(decode::<LookupAnswer>(&encode(&found)).unwrap(), found);
        assert_eq!(
            decode::<LookupAnswer>(br#"{"answer":"not_found"}"#).unwrap(),
            LookupAnswer::NotFound
        );
        assert!(matches!(
            decode::<LookupRequest>(br#"{"cooperative":"a","wallet":"b","phone":"c","x":1}"#),
            Err(WireError::Malformed(_))
        ));
        let big = vec![b' '; DIRECTORY_MESSAGE_BYTES_MAX + 1];
        assert!(matches!(
            decode::<LookupRequest>(&big),
            Err(WireError::TooLarge { .. })
        ));
    }
}
