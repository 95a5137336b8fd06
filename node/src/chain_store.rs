//! What the node keeps beside the ledger's own records, and where: each
//! block's commit certificate and the validator set of each height, stored
//! as the ledger's host data (so they land in the same atomic batch as the
//! block they belong to).
//!
//! Layout (host-data keys, heights big-endian so they sort):
//! - `cert` ‖ height → the block's [`CommitCertificate`] (codec-encoded);
//! - `vset` ‖ height → the [`ValidatorSet`] that signs that height.
//!
//! The set that signs `h + VALIDATOR_SET_CHANGE_DELAY` is the ledger's
//! validators as of block `h`; it is written in block `h`'s own batch
//! ([`next_set_entry`]), so no crash can separate a block from the set it
//! decides. Genesis validators sign heights 1 and 2 ([`init_validator_sets`]).
//!
//! A pruning node ([`pruning`]) deletes certificates with their blocks and
//! validator sets [`EVIDENCE_AGE_MAX`] heights later.

use kopnet_consensus::{
    codec, CommitCertificate, PublicKey, Validator, ValidatorSet, VALIDATOR_SET_CHANGE_DELAY,
};
use kopnet_ledger::evidence::EVIDENCE_AGE_MAX;
use kopnet_ledger::ledger::{HostSeries, Pruning, PruningError};
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::{Ledger, LedgerError, Storage};

// The ledger's bounds (`kopnet_ledger::bounds`) keep every validator set it
// can reach within what the engine takes: at most its validator count, and
// a total voting power far below `u64::MAX`. So `next_set_entry` never
// meets a set it cannot record, and the chain can always name its signers.
const _: () = assert!(
    kopnet_ledger::bounds::VALIDATORS_CEILING as usize
        <= kopnet_consensus::validator_set::VALIDATORS_MAX
);
const _: () = assert!(
    (kopnet_ledger::bounds::VALIDATORS_CEILING as u128)
        * (kopnet_ledger::bounds::VOTING_POWER_TOTAL_CEILING as u128)
        <= u64::MAX as u128
);

/// Host-data key prefix of commit certificates.
const CERTIFICATE_PREFIX: &[u8] = b"cert";
/// Host-data key prefix of validator sets.
const VALIDATOR_SET_PREFIX: &[u8] = b"vset";

/// The ledger's pruning setting for keeping the last `keep_blocks` blocks
/// (`0`: none, an archive node): certificates go with their blocks;
/// validator sets are kept at least [`EVIDENCE_AGE_MAX`] heights more
/// whatever `keep_blocks` is, because evidence that old may still come in a
/// block and is checked against its height's set.
pub fn pruning(keep_blocks: u64) -> Result<Option<Pruning>, PruningError> {
    if keep_blocks == 0 {
        return Ok(None);
    }
    let series = vec![
        HostSeries {
            prefix: CERTIFICATE_PREFIX.to_vec(),
            keep_min_blocks: 0,
        },
        HostSeries {
            prefix: VALIDATOR_SET_PREFIX.to_vec(),
            keep_min_blocks: EVIDENCE_AGE_MAX.saturating_add(VALIDATOR_SET_CHANGE_DELAY + 1),
        },
    ];
    Pruning::new(keep_blocks, series).map(Some)
}

/// Why a chain record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ChainStoreError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no validator set recorded for height {height}")]
    MissingValidatorSet { height: u64 },
    #[error("the ledger's validators at height {height} are not a valid set: {reason}")]
    InvalidValidatorSet { height: u64, reason: String },
    #[error("stored {what} of height {height} does not decode: {reason}")]
    Corrupt {
        what: &'static str,
        height: u64,
        reason: String,
    },
    #[error("cannot encode {what} of height {height}: {reason}")]
    Encode {
        what: &'static str,
        height: u64,
        reason: String,
    },
}

fn key(prefix: &[u8], height: u64) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

/// Host-data key of block `height`'s commit certificate.
pub fn certificate_key(height: u64) -> Vec<u8> {
    key(CERTIFICATE_PREFIX, height)
}

/// Host-data key of the validator set that signs `height`.
pub fn validator_set_key(height: u64) -> Vec<u8> {
    key(VALIDATOR_SET_PREFIX, height)
}

/// The encoded certificate of block `height`, as stored.
pub fn certificate_bytes<S: Storage>(
    ledger: &Ledger<S>,
    height: u64,
) -> Result<Option<Vec<u8>>, ChainStoreError> {
    Ok(ledger.host_data(&certificate_key(height))?)
}

/// The commit certificate of block `height`, if stored.
pub fn certificate<S: Storage>(
    ledger: &Ledger<S>,
    height: u64,
) -> Result<Option<CommitCertificate>, ChainStoreError> {
    certificate_bytes(ledger, height)?
        .map(|bytes| {
            codec::decode(&bytes).map_err(|e| ChainStoreError::Corrupt {
                what: "certificate",
                height,
                reason: e.to_string(),
            })
        })
        .transpose()
}

/// The certificate of block `height` as a host entry for the block's batch.
pub fn certificate_entry(
    certificate: &CommitCertificate,
) -> Result<(Vec<u8>, Vec<u8>), ChainStoreError> {
    let height = certificate.height;
    let bytes = codec::encode(certificate).map_err(|e| ChainStoreError::Encode {
        what: "certificate",
        height,
        reason: e.to_string(),
    })?;
    Ok((certificate_key(height), bytes))
}

/// A validator set from `(key, voting power)` pairs.
fn set_of(height: u64, validators: &[(PublicKey, u64)]) -> Result<ValidatorSet, ChainStoreError> {
    let validators = validators
        .iter()
        .map(|(key, voting_power)| Validator {
            key: *key,
            voting_power: *voting_power,
        })
        .collect();
    ValidatorSet::new(validators).map_err(|e| ChainStoreError::InvalidValidatorSet {
        height,
        reason: e.to_string(),
    })
}

/// The validator set of the ledger's current validators.
pub fn current_set<S: Storage>(ledger: &Ledger<S>) -> Result<ValidatorSet, ChainStoreError> {
    set_of(ledger.height(), &ledger.validators())
}

/// The validator set that signs `height`: the ledger's validators as of
/// block `height - 2` (changes take effect two heights after they commit;
/// genesis validators sign heights 1 and 2).
pub fn validator_set<S: Storage>(
    ledger: &Ledger<S>,
    height: u64,
) -> Result<ValidatorSet, ChainStoreError> {
    if height == ledger.height().saturating_add(VALIDATOR_SET_CHANGE_DELAY) {
        return current_set(ledger);
    }
    match ledger.host_data(&validator_set_key(height))? {
        Some(bytes) => codec::decode(&bytes).map_err(|e| ChainStoreError::Corrupt {
            what: "validator set",
            height,
            reason: e.to_string(),
        }),
        None => Err(ChainStoreError::MissingValidatorSet { height }),
    }
}

/// The host entry recording the validator set that signs `height +`
/// [`VALIDATOR_SET_CHANGE_DELAY`], for block `height`'s own batch, from the
/// validators that block leaves. An error (no validator left, which
/// governance forbids, or a total power that overflows) means the chain
/// cannot name its signers for that height: the caller says so loudly,
/// and no block at that height can then be verified.
pub fn next_set_entry(
    height: u64,
    validators: &[(PublicKey, u64)],
) -> Result<(Vec<u8>, Vec<u8>), ChainStoreError> {
    let signs = height.saturating_add(VALIDATOR_SET_CHANGE_DELAY);
    let set = set_of(signs, validators)?;
    let bytes = codec::encode(&set).map_err(|e| ChainStoreError::Encode {
        what: "validator set",
        height: signs,
        reason: e.to_string(),
    })?;
    Ok((validator_set_key(signs), bytes))
}

/// At start: on a fresh store, record that the genesis validators sign
/// heights 1 and 2; on any store at height `h`, make sure the set for
/// `h + 2` is recorded.
///
/// Stores written by versions before the set moved into the block's batch
/// may lack it, and without it the node could never verify block `h + 2`.
/// It is the ledger's validators as of block `h` — the current ones — so it
/// is written here exactly as a clean commit would have written it.
pub fn init_validator_sets<S: Storage>(ledger: &Ledger<S>) -> Result<(), ChainStoreError> {
    let set = current_set(ledger)?;
    let height = ledger.height();
    let bytes = codec::encode(&set).map_err(|e| ChainStoreError::Encode {
        what: "validator set",
        height,
        reason: e.to_string(),
    })?;
    let mut batch = WriteBatch::default();
    let heights = match height {
        0 => vec![1, 2],
        h => vec![h.saturating_add(VALIDATOR_SET_CHANGE_DELAY)],
    };
    for h in heights {
        if ledger.host_data(&validator_set_key(h))?.is_none() {
            batch.put(
                kopnet_ledger::keys::host(&validator_set_key(h)),
                bytes.clone(),
            );
        }
    }
    if !batch.ops.is_empty() {
        ledger.storage().commit(batch).map_err(LedgerError::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::ledger::{BlockLimits, VerifyAll};
    use kopnet_ledger::{testkit, MemoryStorage};

    fn entry(height: u64, validators: &[(PublicKey, u64)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        vec![next_set_entry(height, validators).unwrap()]
    }

    /// A crash after block `h` landed but before the set for `h + 2` was
    /// written (as versions that wrote it in a second batch could leave
    /// it) must not leave the node unable to verify `h + 2`: the next start
    /// writes it again, equal to what a clean commit writes.
    #[test]
    fn start_repairs_the_set_a_crash_left_unwritten() {
        let genesis = testkit::demo_genesis("kopnet-test", 4, 1_000_000);
        let mut ledger = Ledger::open(MemoryStorage::new(), &genesis).unwrap();
        init_validator_sets(&ledger).unwrap();
        let proposer = testkit::key_for("ksp-sejahtera").public();
        let (block, _) = ledger.build_block(&[], proposer, BlockLimits::default(), &VerifyAll);
        ledger.apply_block(&block, &VerifyAll, vec![]).unwrap();
        assert_eq!(ledger.height(), 1);
        assert!(ledger.host_data(&validator_set_key(3)).unwrap().is_none());

        init_validator_sets(&ledger).unwrap();
        let repaired = ledger.host_data(&validator_set_key(3)).unwrap().unwrap();
        assert_eq!(
            entry(1, &ledger.validators()),
            vec![(validator_set_key(3), repaired)]
        );
        assert_eq!(
            validator_set(&ledger, 3).unwrap(),
            current_set(&ledger).unwrap()
        );
        assert!(ledger.host_data(&validator_set_key(1)).unwrap().is_some());
    }

    /// A committed block carries the set that signs two heights later in
    /// its own batch; certificates read back as written.
    #[test]
    fn a_block_its_certificate_and_the_set_it_decides_land_together() {
        let genesis = testkit::demo_genesis("kopnet-test", 4, 1_000_000);
        let mut ledger = Ledger::open(MemoryStorage::new(), &genesis).unwrap();
        let proposer = testkit::key_for("ksp-sejahtera").public();
        let (block, _) = ledger.build_block(&[], proposer, BlockLimits::default(), &VerifyAll);
        let written = CommitCertificate {
            height: 1,
            round: 0,
            value_id: block.hash(),
            signatures: vec![],
        };
        let extra = vec![certificate_entry(&written).unwrap()];
        ledger
            .apply_block_with(&block, &VerifyAll, extra, |validators| entry(1, validators))
            .unwrap();
        let recorded = ledger.host_data(&validator_set_key(3)).unwrap().unwrap();
        assert_eq!(
            recorded,
            codec::encode(&current_set(&ledger).unwrap()).unwrap()
        );
        assert_eq!(certificate(&ledger, 1).unwrap(), Some(written));
        assert_eq!(certificate(&ledger, 2).unwrap(), None);
        assert!(matches!(
            validator_set(&ledger, 4),
            Err(ChainStoreError::MissingValidatorSet { height: 4 })
        ));
    }

    #[test]
    fn a_set_whose_power_overflows_is_refused_not_recorded() {
        let a = testkit::key_for("a").public();
        let b = testkit::key_for("b").public();
        let refused = next_set_entry(5, &[(a, u64::MAX), (b, 1)]);
        assert!(matches!(
            refused,
            Err(ChainStoreError::InvalidValidatorSet { height: 7, .. })
        ));
        assert!(next_set_entry(5, &[]).is_err());
    }

    /// The largest set the ledger's ceilings allow (most validators, the
    /// whole total) is one the engine takes.
    #[test]
    fn the_largest_set_the_ledger_allows_is_recorded() {
        use kopnet_ledger::bounds::{VALIDATORS_CEILING, VOTING_POWER_TOTAL_CEILING};
        let count = u64::from(VALIDATORS_CEILING);
        let each = VOTING_POWER_TOTAL_CEILING / count;
        let validators: Vec<(PublicKey, u64)> = (0..count)
            .map(|i| (testkit::key_for(&format!("v{i}")).public(), each))
            .collect();
        let (_, bytes) = next_set_entry(1, &validators).unwrap();
        let set: ValidatorSet = codec::decode(&bytes).unwrap();
        assert_eq!(set.len(), VALIDATORS_CEILING as usize);
        assert_eq!(set.total_power(), each * count);
        let one = [(testkit::key_for("v").public(), VOTING_POWER_TOTAL_CEILING)];
        next_set_entry(1, &one).unwrap();
    }
}
