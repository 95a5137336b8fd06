//! How a block's records kept by day are stored in one value per block
//! and kind: its idempotency records (`W ‖ day ‖ height`, store format 12;
//! see `ledger/src/ledger/payment_records.rs`) and its payments to
//! merchants kept for refunds (`Y ‖ day ‖ height`, store format 13; see
//! `ledger/src/ledger/refund_records.rs`): so that one record can be read
//! without decoding the others.
//!
//! A lookup that reaches the store wants one record of a block that may
//! hold thousands; decoding them all cost about 1.6 ms per lookup at 500
//! a block, which a payer retrying its own payments could make every
//! validator pay again and again. So the value is
//!
//! ```text
//! count (u32 BE) ‖ end of record 0 (u32 BE) ‖ … ‖ end of record count-1 (u32 BE) ‖ record 0 ‖ …
//! ```
//!
//! where each record is the codec encoding of its [`BlockRecord`] or
//! [`BlockPayment`] and each end is its offset from the start of the
//! records. A value that does not parse is `Corrupt`, never a panic.

use crate::refunds::MerchantPayment;
use crate::state::{IdempotencyRecord, Sequenced};
use crate::tx::IdempotencyId;
use kopnet_primitives::{codec, Hash, PublicKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One idempotency record of a block: payer, id, and the record with its
/// place in its day's chain.
pub type BlockRecord = (PublicKey, IdempotencyId, Sequenced<IdempotencyRecord>);

/// One payment to a merchant a block keeps for refunds: the payment's
/// transaction hash, and the record with its place in its day's chain.
pub type BlockPayment = (Hash, Sequenced<MerchantPayment>);

/// Why a stored value is not a block's records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block records value: {0}")]
pub struct BlockRecordsError(String);

fn broken(what: impl Into<String>) -> BlockRecordsError {
    BlockRecordsError(what.into())
}

/// The stored value of `records`, in their order.
pub fn encode<T: Serialize>(records: &[T]) -> Result<Vec<u8>, BlockRecordsError> {
    let count = u32::try_from(records.len()).map_err(|_| broken("too many records"))?;
    let mut ends = Vec::with_capacity(records.len());
    let mut body = Vec::new();
    for record in records {
        body.extend(codec::encode(record).map_err(|e| broken(e.to_string()))?);
        ends.push(u32::try_from(body.len()).map_err(|_| broken("value too large"))?);
    }
    let mut out = Vec::with_capacity(4 + 4 * ends.len() + body.len());
    out.extend_from_slice(&count.to_be_bytes());
    for end in ends {
        out.extend_from_slice(&end.to_be_bytes());
    }
    out.extend(body);
    Ok(out)
}

fn u32_at(value: &[u8], at: usize) -> Option<usize> {
    let bytes = value.get(at..at.checked_add(4)?)?;
    usize::try_from(u32::from_be_bytes(bytes.try_into().ok()?)).ok()
}

/// How many records `value` holds, and where its records start.
fn header(value: &[u8]) -> Result<(usize, usize), BlockRecordsError> {
    let count = u32_at(value, 0).ok_or_else(|| broken("no count"))?;
    let start = count
        .checked_mul(4)
        .and_then(|table| table.checked_add(4))
        .filter(|start| *start <= value.len())
        .ok_or_else(|| broken("count past the value's end"))?;
    Ok((count, start))
}

/// The bytes of record `index` of `value` (`None` past the last).
fn record_bytes(value: &[u8], index: usize) -> Result<Option<&[u8]>, BlockRecordsError> {
    let (count, start) = header(value)?;
    if index >= count {
        return Ok(None);
    }
    let from = match index.checked_sub(1) {
        None => 0,
        Some(previous) => u32_at(value, 4 + 4 * previous).ok_or_else(|| broken("offsets"))?,
    };
    let to = u32_at(value, 4 + 4 * index).ok_or_else(|| broken("offsets"))?;
    let bytes = start
        .checked_add(from)
        .zip(start.checked_add(to))
        .and_then(|(from, to)| value.get(from..to))
        .ok_or_else(|| broken("a record outside the value"))?;
    Ok(Some(bytes))
}

/// Record `index` of `value`, decoding it alone (`None` past the last).
pub fn decode_at<T: Serialize + DeserializeOwned>(
    value: &[u8],
    index: usize,
) -> Result<Option<T>, BlockRecordsError> {
    match record_bytes(value, index)? {
        None => Ok(None),
        Some(bytes) => codec::decode(bytes)
            .map(Some)
            .map_err(|e| broken(e.to_string())),
    }
}

/// Every record of `value`, in order.
pub fn decode_all<T: Serialize + DeserializeOwned>(
    value: &[u8],
) -> Result<Vec<T>, BlockRecordsError> {
    let (count, _) = header(value)?;
    let mut records = Vec::with_capacity(count.min(value.len() / 4));
    for index in 0..count {
        match decode_at(value, index)? {
            Some(record) => records.push(record),
            None => return Err(broken("fewer records than its count")),
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_primitives::Hash;

    fn record(n: u8, memo: &str) -> BlockRecord {
        (
            PublicKey([n; 32]),
            [n; 16],
            Sequenced {
                seq: Some(u64::from(n)),
                record: IdempotencyRecord {
                    tx: Hash([n; 32]),
                    to: PublicKey([n.wrapping_add(1); 32]),
                    amount: u64::from(n) * 1_000,
                    memo: memo.into(),
                },
            },
        )
    }

    #[test]
    fn each_record_reads_alone_and_all_read_in_order() {
        let records: Vec<BlockRecord> = (0..20).map(|n| record(n, &"m".repeat(n.into()))).collect();
        let value = encode(&records).unwrap();
        for (index, expected) in records.iter().enumerate() {
            assert_eq!(decode_at(&value, index).unwrap().as_ref(), Some(expected));
        }
        assert_eq!(decode_at::<BlockRecord>(&value, 20).unwrap(), None);
        assert_eq!(decode_all::<BlockRecord>(&value).unwrap(), records);
        let empty: Vec<BlockRecord> = Vec::new();
        assert_eq!(
            decode_all::<BlockRecord>(&encode(&empty).unwrap()).unwrap(),
            empty
        );
    }

    #[test]
    fn a_damaged_value_is_an_error_not_a_panic() {
        let value = encode(&[record(1, "a"), record(2, "bb")]).unwrap();
        // Cut anywhere, or a count or an offset made huge.
        for len in 0..value.len() {
            let _ = decode_all::<BlockRecord>(&value[..len]);
            let _ = decode_at::<BlockRecord>(&value[..len], 1);
        }
        assert!(decode_all::<BlockRecord>(&value[..value.len() - 1]).is_err());
        let mut huge_count = value.clone();
        huge_count[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_all::<BlockRecord>(&huge_count).is_err());
        let mut huge_end = value.clone();
        huge_end[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_at::<BlockRecord>(&huge_end, 0).is_err());
        assert!(decode_all::<BlockRecord>(&[]).is_err());
    }
}
