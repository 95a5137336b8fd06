//! [`BlockTxs`]: one value per block (`keys::block_txs`) holding what each
//! of its transactions left besides its state writes — its result, the fees
//! it charged and its size inside the stored block — so that a block's
//! indexes cost one write, not one per transaction, and a reader takes one
//! transaction out of the stored block's bytes without decoding the block.
//!
//! The encoding is written by hand, not with the codec: the codec writes
//! fixed-width integers (8 bytes for a fee, 4 for a result's tag), while a
//! typical entry here is 3 bytes (size, fee and `Ok` as varints). Every
//! read is bounded by the value's length; a bad value is a typed error.

use crate::block::{Block, BLOCK_BYTES_MAX, BLOCK_TXS_MAX};
use crate::rejection::Rejection;
use crate::types::Amount;
use kopnet_primitives::codec;

/// One transaction of a block, as [`BlockTxs`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxEntry {
    pub result: Result<(), Rejection>,
    /// Rupiah its fee legs moved ([`super::TxRecord::fees`]).
    pub fees: Amount,
    /// Its encoded length inside the stored block.
    pub len: u32,
}

/// A block's transactions: where they start in the stored block, and one
/// [`TxEntry`] each, in block order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockTxs {
    /// Offset of the first transaction in the stored block's bytes.
    pub txs_start: u32,
    pub entries: Vec<TxEntry>,
}

/// Why a stored [`BlockTxs`] does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockTxsError {
    #[error("block transaction index ends early")]
    Truncated,
    #[error("block transaction index has {0} bytes after its end")]
    Trailing(usize),
    #[error("block transaction index has a number out of range")]
    OutOfRange,
    #[error("block transaction index has a bad result tag {0}")]
    BadTag(u8),
    #[error("block transaction index has a result that does not decode: {0}")]
    Rejection(String),
    #[error("cannot encode a block transaction index: {0}")]
    Encode(String),
}

const RESULT_OK: u8 = 0;
const RESULT_REJECTED: u8 = 1;

impl BlockTxs {
    /// Where transaction `index` lies in the stored block's bytes.
    pub fn range_of(&self, index: usize) -> Option<std::ops::Range<usize>> {
        let entry = self.entries.get(index)?;
        let before: u64 = self
            .entries
            .get(..index)?
            .iter()
            .map(|e| u64::from(e.len))
            .sum();
        let start = u64::from(self.txs_start).checked_add(before)?;
        let end = start.checked_add(u64::from(entry.len))?;
        Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    pub fn encode(&self) -> Result<Vec<u8>, BlockTxsError> {
        let mut out = Vec::with_capacity(8 + 4 * self.entries.len());
        put_varint(&mut out, u64::from(self.txs_start));
        put_varint(&mut out, self.entries.len() as u64);
        for entry in &self.entries {
            put_varint(&mut out, u64::from(entry.len));
            put_varint(&mut out, entry.fees);
            match &entry.result {
                Ok(()) => out.push(RESULT_OK),
                Err(rejection) => {
                    out.push(RESULT_REJECTED);
                    let bytes = codec::encode(rejection)
                        .map_err(|e| BlockTxsError::Encode(e.to_string()))?;
                    put_varint(&mut out, bytes.len() as u64);
                    out.extend_from_slice(&bytes);
                }
            }
        }
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<BlockTxs, BlockTxsError> {
        let mut reader = Reader { bytes, at: 0 };
        let txs_start = reader.bounded(BLOCK_BYTES_MAX as u64)?;
        let count = reader.bounded(BLOCK_TXS_MAX as u64)?;
        // Each entry takes at least 3 bytes: no count can allocate more
        // than the value's own size.
        let mut entries = Vec::with_capacity(count.min(bytes.len() / 3));
        for _ in 0..count {
            let len = reader.bounded(BLOCK_BYTES_MAX as u64)?;
            let fees = reader.varint()?;
            let result = match reader.byte()? {
                RESULT_OK => Ok(()),
                RESULT_REJECTED => {
                    let len = reader.bounded(bytes.len() as u64)?;
                    let encoded = reader.take(len)?;
                    Err(codec::decode(encoded)
                        .map_err(|e| BlockTxsError::Rejection(e.to_string()))?)
                }
                tag => return Err(BlockTxsError::BadTag(tag)),
            };
            entries.push(TxEntry {
                result,
                fees,
                len: u32::try_from(len).map_err(|_| BlockTxsError::OutOfRange)?,
            });
        }
        let rest = bytes.len().saturating_sub(reader.at);
        if rest != 0 {
            return Err(BlockTxsError::Trailing(rest));
        }
        Ok(BlockTxs {
            txs_start: u32::try_from(txs_start).map_err(|_| BlockTxsError::OutOfRange)?,
            entries,
        })
    }
}

/// `block` encoded as the codec encodes it (the bytes stored under
/// `keys::block`), with the offset of its first transaction and each
/// transaction's length. The codec writes a struct as its fields one after
/// the other and a list as its length (u64, little-endian) then its items,
/// so the block is built from its parts; a test checks that the bytes are
/// exactly `block.encode()`.
pub fn encode_block(block: &Block) -> Result<(Vec<u8>, u32, Vec<u32>), codec::EncodeError> {
    let header = codec::encode(&block.header)?;
    let mut out = Vec::with_capacity(header.len() + 8 + 256 * block.txs.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(block.txs.len() as u64).to_le_bytes());
    let txs_start = out.len();
    let mut lens = Vec::with_capacity(block.txs.len());
    for tx in &block.txs {
        let bytes = codec::encode(tx)?;
        lens.push(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(&codec::encode(&block.evidence)?);
    Ok((out, u32::try_from(txs_start).unwrap_or(u32::MAX), lens))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, BlockTxsError> {
        let byte = *self.bytes.get(self.at).ok_or(BlockTxsError::Truncated)?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], BlockTxsError> {
        let end = self.at.checked_add(len).ok_or(BlockTxsError::Truncated)?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or(BlockTxsError::Truncated)?;
        self.at = end;
        Ok(out)
    }

    /// A LEB128 varint of at most 10 bytes that fits a u64.
    fn varint(&mut self) -> Result<u64, BlockTxsError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let part = u64::from(byte & 0x7f);
            if shift == 63 && part > 1 {
                return Err(BlockTxsError::OutOfRange);
            }
            value |= part << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BlockTxsError::OutOfRange)
    }

    /// A varint no larger than `max`, as a usize.
    fn bounded(&mut self, max: u64) -> Result<usize, BlockTxsError> {
        let value = self.varint()?;
        if value > max {
            return Err(BlockTxsError::OutOfRange);
        }
        usize::try_from(value).map_err(|_| BlockTxsError::OutOfRange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BlockTxs {
        BlockTxs {
            txs_start: 187,
            entries: vec![
                TxEntry {
                    result: Ok(()),
                    fees: 0,
                    len: 194,
                },
                TxEntry {
                    result: Err(Rejection::StaleNonce {
                        expected: 3,
                        got: 9,
                    }),
                    fees: 1_500,
                    len: 230,
                },
                TxEntry {
                    result: Ok(()),
                    fees: u64::MAX,
                    len: 16 * 1024,
                },
            ],
        }
    }

    #[test]
    fn an_index_reads_back_and_places_each_transaction() {
        let index = sample();
        let bytes = index.encode().unwrap();
        assert_eq!(BlockTxs::decode(&bytes).unwrap(), index);
        assert_eq!(index.range_of(0), Some(187..381));
        assert_eq!(index.range_of(1), Some(381..611));
        assert_eq!(index.range_of(2), Some(611..611 + 16 * 1024));
        assert_eq!(index.range_of(3), None);
        let empty = BlockTxs::default();
        assert_eq!(BlockTxs::decode(&empty.encode().unwrap()).unwrap(), empty);
    }

    #[test]
    fn a_damaged_index_is_an_error_not_a_panic() {
        let bytes = sample().encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(BlockTxs::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(BlockTxs::decode(&longer), Err(BlockTxsError::Trailing(1)));
        // A huge count does not allocate it.
        let mut huge = vec![0u8];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(BlockTxs::decode(&huge).is_err());
        for flip in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[flip] ^= 0xa5;
            let _ = BlockTxs::decode(&bad);
        }
        assert!(BlockTxs::decode(&[0xff; 11]).is_err());
    }
}
