//! The one place in kopnet that touches bincode.
//!
//! Every byte string that is signed, hashed, stored or sent over the network is
//! produced here, so the rules hold everywhere:
//!
//! * bincode 2.0.1 (pinned: 3.0.0 on crates.io is a tombstone) through its serde
//!   integration, so types only derive `serde::{Serialize, Deserialize}`;
//! * fixed-width little-endian integers, so the encoding of a value never depends
//!   on its magnitude or on the platform;
//! * every decode is bounded: the input length is checked against a limit before
//!   bincode sees it, and bincode itself is given the same limit for allocations;
//! * decoding must consume the input exactly (no trailing bytes) and re-encoding
//!   the decoded value must give back the same bytes. Signatures and hashes are
//!   over exact bytes, so two encodings of one value must never both be accepted.

use serde::{de::DeserializeOwned, Serialize};

/// Upper bound for any single decoded object (a block, a network message).
pub const DECODE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// The bincode configuration kopnet uses everywhere.
const fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<DECODE_BYTES_MAX>,
> {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<DECODE_BYTES_MAX>()
}

/// Why bytes could not be turned into a value. Decoding never panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is longer than the caller's (or the global) limit.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    /// The input ended before the value was complete.
    #[error("input is truncated")]
    Truncated,
    /// The value was complete before the input ended.
    #[error("{extra} trailing bytes after the value")]
    TrailingBytes { extra: usize },
    /// The bytes decode, but not to the canonical encoding of what they decode to.
    #[error("input is not in canonical encoding")]
    NonCanonical,
    /// The bytes do not describe a value of the expected type.
    #[error("malformed input: {0}")]
    Malformed(String),
}

/// Why a value could not be encoded. Only reachable with types that serde
/// cannot describe to bincode (for example maps of unknown length); kopnet's
/// wire types never hit it, but the error is typed rather than a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode value: {0}")]
pub struct EncodeError(pub String);

/// Encode a value into its canonical bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    encode_with(value, <[u8]>::to_vec)
}

/// Encode a value and hand its canonical bytes to `use_bytes`, without a
/// new allocation per call: the bytes are written into a buffer kept per
/// thread (issue 21). bincode writes an encoding a few bytes at a time
/// (a key's 32 bytes one by one), so a fresh `Vec` grew by reallocation
/// five or six times for each transaction, state entry or record; hashing
/// an encoding, comparing it (the canonical check of every decode) or
/// copying it out at its exact size now costs no reallocation at all.
///
/// The buffer is dropped after an encoding larger than
/// [`SCRATCH_KEPT_BYTES_MAX`] (a block), so a thread keeps at most that
/// much. A nested call (from inside `use_bytes`) gets a buffer of its own.
pub fn encode_with<T: Serialize + ?Sized, R>(
    value: &T,
    use_bytes: impl FnOnce(&[u8]) -> R,
) -> Result<R, EncodeError> {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut buffer) => {
            buffer.clear();
            let written = write_into(value, &mut buffer).map(|()| use_bytes(&buffer));
            if buffer.capacity() > SCRATCH_KEPT_BYTES_MAX {
                *buffer = Vec::new();
            }
            written
        }
        Err(_) => {
            let mut own = Vec::new();
            write_into(value, &mut own)?;
            Ok(use_bytes(&own))
        }
    })
}

/// Largest per-thread encoding buffer kept between calls of [`encode_with`].
pub const SCRATCH_KEPT_BYTES_MAX: usize = 64 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// bincode's writer over a `Vec` that only appends.
struct AppendWriter<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for AppendWriter<'_> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        // Keys and hashes arrive a byte at a time: a push, not a memcpy.
        match bytes {
            [byte] => self.0.push(*byte),
            _ => self.0.extend_from_slice(bytes),
        }
        Ok(())
    }
}

fn write_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    bincode::serde::encode_into_writer(value, AppendWriter(out), config())
        .map_err(|e| EncodeError(e.to_string()))
}

/// Decode a value, allowing at most `limit` bytes of input (capped by
/// [`DECODE_BYTES_MAX`]). Rejects truncated, trailing and non-canonical input.
pub fn decode_bounded<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, DecodeError> {
    let limit = limit.min(DECODE_BYTES_MAX);
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(map_decode_error)?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            extra: bytes.len().saturating_sub(used),
        });
    }
    match encode_with(&value, |again| again == bytes) {
        Ok(true) => Ok(value),
        _ => Err(DecodeError::NonCanonical),
    }
}

/// Decode a value from the start of `bytes`, ignoring what follows it
/// (a block's header from a stored block: the header is encoded first).
/// The value must be canonical; the bytes after it are not looked at.
pub fn decode_prefix<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let bytes = bytes
        .get(..bytes.len().min(DECODE_BYTES_MAX))
        .unwrap_or(bytes);
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(map_decode_error)?;
    match encode_with(&value, |again| bytes.get(..used) == Some(again)) {
        Ok(true) => Ok(value),
        _ => Err(DecodeError::NonCanonical),
    }
}

/// Decode a value of at most [`DECODE_BYTES_MAX`].
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_bounded(bytes, DECODE_BYTES_MAX)
}

fn map_decode_error(error: bincode::error::DecodeError) -> DecodeError {
    use bincode::error::DecodeError as B;
    match error {
        B::UnexpectedEnd { .. } => DecodeError::Truncated,
        B::LimitExceeded => DecodeError::TooLarge {
            len: DECODE_BYTES_MAX,
            limit: DECODE_BYTES_MAX,
        },
        other => DecodeError::Malformed(other.to_string()),
    }
}

/// Serde helpers for fixed byte arrays longer than serde's built-in 32, encoded
/// as a fixed-length tuple (no length prefix), like the shorter arrays.
pub mod fixed_bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for byte in bytes {
            tuple.serialize_element(byte)?;
        }
        tuple.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        struct ArrayVisitor<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for ArrayVisitor<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{N} bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
                let mut out = [0u8; N];
                for (index, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(index, &self))?;
                }
                Ok(out)
            }
        }
        deserializer.deserialize_tuple(N, ArrayVisitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        flag: bool,
        amount: u64,
        memo: String,
        tag: Option<u16>,
    }

    fn sample() -> Sample {
        Sample {
            flag: true,
            amount: 25_000,
            memo: "kopi".into(),
            tag: Some(7),
        }
    }

    #[test]
    fn round_trips_with_fixed_width_integers() {
        let bytes = encode(&sample()).unwrap();
        // bool(1) + u64(8) + len u64(8) + 4 + option tag(1) + u16(2)
        assert_eq!(bytes.len(), 24);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn rejects_truncated_trailing_oversize_and_non_canonical() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(
            decode::<Sample>(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode::<Sample>(&longer),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
        assert_eq!(
            decode_bounded::<Sample>(&bytes, 10),
            Err(DecodeError::TooLarge { len: 24, limit: 10 })
        );
        let mut bad_bool = bytes.clone();
        bad_bool[0] = 2;
        assert!(matches!(
            decode::<Sample>(&bad_bool),
            Err(DecodeError::Malformed(_))
        ));
    }

    /// Bytes that decode, but to a value whose encoding is other bytes: two
    /// encodings of one value must never both be accepted.
    #[test]
    fn decodable_but_non_canonical_input_is_rejected() {
        use std::collections::{BTreeMap, BTreeSet};
        let entry = |key: u8, value: u8| [key, value];
        let map_bytes = |entries: &[[u8; 2]]| {
            let mut bytes = (entries.len() as u64).to_le_bytes().to_vec();
            for e in entries {
                bytes.extend_from_slice(e);
            }
            bytes
        };
        // The canonical form decodes.
        let sorted = map_bytes(&[entry(1, 10), entry(2, 20)]);
        let map: BTreeMap<u8, u8> = decode(&sorted).unwrap();
        assert_eq!(encode(&map).unwrap(), sorted);
        // Keys out of order: the same map, other bytes.
        let unsorted = map_bytes(&[entry(2, 20), entry(1, 10)]);
        assert_eq!(
            decode::<BTreeMap<u8, u8>>(&unsorted),
            Err(DecodeError::NonCanonical)
        );
        // A duplicate key: the map keeps one, so it re-encodes shorter.
        let duplicate = map_bytes(&[entry(1, 10), entry(1, 11)]);
        assert_eq!(
            decode::<BTreeMap<u8, u8>>(&duplicate),
            Err(DecodeError::NonCanonical)
        );
        // The same for sets.
        let set_bytes = |items: &[u8]| {
            let mut bytes = (items.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(items);
            bytes
        };
        let set: BTreeSet<u8> = decode(&set_bytes(&[3, 5])).unwrap();
        assert_eq!(set.len(), 2);
        for bad in [set_bytes(&[5, 3]), set_bytes(&[3, 3])] {
            assert_eq!(decode::<BTreeSet<u8>>(&bad), Err(DecodeError::NonCanonical));
        }
    }

    #[test]
    fn huge_length_prefix_is_rejected_without_allocating() {
        // A string claiming u64::MAX bytes must not allocate.
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&7u64.to_le_bytes());
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode::<Sample>(&bytes).is_err());
    }

    /// The bytes bincode's own `encode_to_vec` gives: what every earlier
    /// release of kopnet signed, hashed and stored.
    fn reference(value: &(impl Serialize + ?Sized)) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, config()).unwrap()
    }

    #[test]
    fn encoding_through_the_thread_buffer_gives_bincodes_bytes() {
        let key = [7u8; 32];
        let values: Vec<Vec<u8>> = vec![
            encode(&sample()).unwrap(),
            encode(&key).unwrap(),
            encode(&vec![sample(), sample()]).unwrap(),
            encode("").unwrap(),
        ];
        assert_eq!(values[0], reference(&sample()));
        assert_eq!(values[1], reference(&key));
        assert_eq!(values[2], reference(&vec![sample(), sample()]));
        assert_eq!(values[3], reference(""));
        // A value larger than the kept buffer, then a small one: the
        // buffer is dropped, not kept at the large size, and reused clean.
        let large = vec![9u8; SCRATCH_KEPT_BYTES_MAX * 2];
        assert_eq!(encode(&large).unwrap(), reference(&large));
        SCRATCH.with(|scratch| assert_eq!(scratch.borrow().capacity(), 0));
        assert_eq!(encode(&sample()).unwrap(), reference(&sample()));
        SCRATCH.with(|scratch| assert!(scratch.borrow().capacity() > 0));
    }

    #[test]
    fn an_encoding_inside_another_gets_its_own_buffer() {
        let outer = encode_with(&sample(), |outer| {
            // The thread's buffer holds `outer`: this one must not touch it.
            let inner = encode_with(&[1u8; 32], <[u8]>::to_vec).unwrap();
            (outer.to_vec(), inner)
        })
        .unwrap();
        assert_eq!(outer.0, reference(&sample()));
        assert_eq!(outer.1, reference(&[1u8; 32]));
    }

    #[test]
    fn the_canonical_check_compares_with_the_thread_buffer() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode::<Sample>(&longer),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
        assert_eq!(decode_prefix::<Sample>(&longer).unwrap(), sample());
    }
}
