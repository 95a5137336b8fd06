//! The safety record's bytes on disk: a header that names the format and
//! its version, and a checksum, so that a damaged file is refused rather
//! than read as a different record.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"kopsafe\0"
//!      8     4  format version, u32 little-endian (1)
//!     12     4  body length in bytes, u32 little-endian
//!     16    32  checksum: BLAKE3 (derive-key context below) over the
//!               version, the body length and the body
//!     48     …  body: the record in the codec's canonical encoding
//! ```
//!
//! A file must be exactly `48 + body length` bytes: shorter is truncated,
//! longer has trailing bytes. A flipped bit anywhere in the header or body
//! fails the checksum (or the magic), so a record that decodes is the
//! record that was written.
//!
//! Records written before this header existed (the bare codec body) are
//! still read, so an upgraded validator keeps its record: they carry no
//! checksum, and the node writes the framed format at its next signature.
//! A body that does not decode exactly is refused in either form.

use crate::codec::{self, DecodeError, EncodeError, DECODE_BYTES_MAX};
use crate::crypto::Hash;
use crate::safety::SafetyRecord;

/// The first bytes of every framed safety record.
pub const SAFETY_MAGIC: [u8; 8] = *b"kopsafe\0";
/// The framed format's version.
pub const SAFETY_FORMAT_VERSION: u32 = 1;
/// Header bytes before the body.
pub const SAFETY_HEADER_BYTES: usize = 48;
/// Largest body accepted (the codec's own bound: a record holds at most one
/// value, a block, and the prevotes for it).
pub const SAFETY_BODY_BYTES_MAX: usize = DECODE_BYTES_MAX;

const CHECKSUM_CONTEXT: &str = "kopnet 2026 safety record checksum v1";

/// Why bytes are not a safety record. Each names what a person can check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyDecodeError {
    #[error("file is empty")]
    Empty,
    #[error("truncated: {len} bytes, the header says {expected}")]
    Truncated { len: usize, expected: usize },
    #[error("{extra} bytes after the record")]
    TrailingBytes { extra: usize },
    #[error(
        "format version {0} is not known to this build (it reads version {SAFETY_FORMAT_VERSION})"
    )]
    UnsupportedVersion(u32),
    #[error("body of {len} bytes is over the limit of {SAFETY_BODY_BYTES_MAX}")]
    TooLarge { len: usize },
    #[error("checksum mismatch: the bytes changed after they were written")]
    ChecksumMismatch,
    #[error("checksum is right but the record does not decode: {0}")]
    Body(DecodeError),
    #[error(
        "not a safety record (no kopnet header, and not the older headerless format either: {0})"
    )]
    NotARecord(DecodeError),
}

fn checksum(version: u32, body: &[u8]) -> Hash {
    // `body.len()` is bounded by SAFETY_BODY_BYTES_MAX < u32::MAX.
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    Hash::digest_parts(
        CHECKSUM_CONTEXT,
        &[&version.to_le_bytes(), &len.to_le_bytes(), body],
    )
}

/// The framed bytes of `record`.
pub fn encode(record: &SafetyRecord) -> Result<Vec<u8>, EncodeError> {
    let body = codec::encode(record)?;
    let len = match u32::try_from(body.len()) {
        Ok(len) if body.len() <= SAFETY_BODY_BYTES_MAX => len,
        _ => {
            return Err(EncodeError(format!(
                "safety record of {} bytes is over the limit of {SAFETY_BODY_BYTES_MAX}",
                body.len()
            )))
        }
    };
    let mut out = Vec::with_capacity(SAFETY_HEADER_BYTES + body.len());
    out.extend_from_slice(&SAFETY_MAGIC);
    out.extend_from_slice(&SAFETY_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(SAFETY_FORMAT_VERSION, &body).0);
    out.extend_from_slice(&body);
    Ok(out)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let field = bytes.get(at..at.checked_add(4)?)?;
    <[u8; 4]>::try_from(field).ok().map(u32::from_le_bytes)
}

/// Read a framed record (or an older headerless one).
pub fn decode(bytes: &[u8]) -> Result<SafetyRecord, SafetyDecodeError> {
    if bytes.is_empty() {
        return Err(SafetyDecodeError::Empty);
    }
    if !bytes.starts_with(&SAFETY_MAGIC) {
        if SAFETY_MAGIC.starts_with(bytes) {
            return Err(SafetyDecodeError::Truncated {
                len: bytes.len(),
                expected: SAFETY_HEADER_BYTES,
            });
        }
        return codec::decode(bytes).map_err(SafetyDecodeError::NotARecord);
    }
    let (Some(version), Some(len), Some(sum)) = (
        u32_at(bytes, 8),
        u32_at(bytes, 12),
        bytes.get(16..SAFETY_HEADER_BYTES),
    ) else {
        return Err(SafetyDecodeError::Truncated {
            len: bytes.len(),
            expected: SAFETY_HEADER_BYTES,
        });
    };
    if version != SAFETY_FORMAT_VERSION {
        return Err(SafetyDecodeError::UnsupportedVersion(version));
    }
    let body_len = usize::try_from(len).unwrap_or(usize::MAX);
    if body_len > SAFETY_BODY_BYTES_MAX {
        return Err(SafetyDecodeError::TooLarge { len: body_len });
    }
    let expected = SAFETY_HEADER_BYTES.saturating_add(body_len);
    let body = match bytes.get(SAFETY_HEADER_BYTES..) {
        Some(rest) if rest.len() == body_len => rest,
        Some(rest) if rest.len() > body_len => {
            return Err(SafetyDecodeError::TrailingBytes {
                extra: rest.len().saturating_sub(body_len),
            })
        }
        _ => {
            return Err(SafetyDecodeError::Truncated {
                len: bytes.len(),
                expected,
            })
        }
    };
    if checksum(version, body).0[..] != *sum {
        return Err(SafetyDecodeError::ChecksumMismatch);
    }
    codec::decode(body).map_err(SafetyDecodeError::Body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::safety::{SignPosition, SignStep};
    use crate::types::Value;

    fn record() -> SafetyRecord {
        let id = Hash::digest("t", b"v");
        let mut record = SafetyRecord {
            locked: Some((1, id)),
            valid: Some((
                1,
                Value {
                    id,
                    bytes: b"value".to_vec(),
                },
            )),
            ..SafetyRecord::default()
        };
        let position = SignPosition {
            height: 7,
            round: 1,
            step: SignStep::Precommit,
        };
        record.record(position, Some(id));
        record
    }

    #[test]
    fn a_record_round_trips_with_its_header() {
        let bytes = encode(&record()).unwrap();
        assert!(bytes.starts_with(&SAFETY_MAGIC));
        assert_eq!(decode(&bytes).unwrap(), record());
        let empty = encode(&SafetyRecord::default()).unwrap();
        assert_eq!(decode(&empty).unwrap(), SafetyRecord::default());
    }

    /// Every single flipped bit, in the header or the body, is refused.
    #[test]
    fn every_flipped_bit_is_refused() {
        let bytes = encode(&record()).unwrap();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                assert!(
                    decode(&damaged).is_err(),
                    "bit {bit} of byte {at} flipped and still read"
                );
            }
        }
    }

    /// Every truncation is refused, and named as one.
    #[test]
    fn every_truncation_is_refused() {
        let bytes = encode(&record()).unwrap();
        assert_eq!(decode(&[]), Err(SafetyDecodeError::Empty));
        for len in 1..bytes.len() {
            let refused = decode(&bytes[..len]).unwrap_err();
            assert!(
                matches!(refused, SafetyDecodeError::Truncated { .. }),
                "{len} bytes: {refused:?}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode(&longer),
            Err(SafetyDecodeError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn an_unknown_version_is_named() {
        let mut bytes = encode(&record()).unwrap();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(
            decode(&bytes),
            Err(SafetyDecodeError::UnsupportedVersion(2))
        );
    }

    /// The headerless format written before the checksum is still read, so
    /// an upgraded validator keeps its record; garbage is not a record.
    #[test]
    fn an_older_headerless_record_is_still_read() {
        let legacy = codec::encode(&record()).unwrap();
        assert_eq!(decode(&legacy).unwrap(), record());
        assert!(matches!(
            decode(b"not a record at all"),
            Err(SafetyDecodeError::NotARecord(_))
        ));
    }
}
