//! The byte decoders that take what peers send: transactions (gossip and
//! `POST /v1/tx`), blocks (proposals, catch-up, the store), consensus
//! gossip (proposals, votes, height hints) and catch-up requests and pages.

use crate::city::{with_city, CHAIN};
use crate::Outcome;
use kopnet_consensus::codec::{self, DecodeError};
use kopnet_consensus::types::Message;
use kopnet_consensus::{CommitCertificate, Evidence};
use kopnet_ledger::block::{tx_root, BlockDecodeError, BLOCK_BYTES_MAX};
use kopnet_ledger::evidence::{evidence_root, EVIDENCE_PROOF_BYTES_MAX};
use kopnet_ledger::tx::TX_BYTES_MAX;
use kopnet_ledger::{Block, Rejection, Transaction};
use kopnet_node::host::catch_up::page;
use kopnet_node::wire::{
    self, ConsensusGossip, SyncRequest, SyncResponse, SyncedBlock, SYNC_PAGE_MAX, WIRE_BYTES_MAX,
};

/// Bytes must be the canonical encoding of what they decoded to.
fn assert_canonical(again: &[u8], data: &[u8], what: &str) {
    assert!(
        again == data,
        "{what}: decoded from {} bytes, re-encodes to {} other bytes",
        data.len(),
        again.len()
    );
}

/// A decoded transaction: canonical, hashed over its exact bytes, and its
/// JSON form (what the API shows and `POST /v1/quote` takes) round-trips.
fn check_transaction(tx: &Transaction, data: &[u8]) {
    assert!(data.len() <= TX_BYTES_MAX);
    let again = tx.encode().expect("a decoded transaction encodes");
    assert_canonical(&again, data, "transaction");
    assert_eq!(Transaction::decode(&again).as_ref(), Ok(tx));
    assert_eq!(tx.hash_and_size(), (tx.hash(), data.len()));
    let json = serde_json::to_string(tx).expect("a transaction has a JSON form");
    let back: Transaction = serde_json::from_str(&json).expect("its JSON form parses");
    assert_eq!(&back, tx, "JSON round trip of {json}");
}

/// Transaction bytes, as gossip and `POST /v1/tx` hand them to admission.
pub fn tx(data: &[u8]) -> Outcome {
    match Transaction::decode(data) {
        Ok(tx) => {
            check_transaction(&tx, data);
            match tx.verify_signature() {
                Ok(()) => Outcome::Accepted,
                Err(e) => {
                    assert_eq!(e, Rejection::BadSignature);
                    Outcome::refused(e)
                }
            }
        }
        Err(e) => {
            assert_eq!(e.code(), "malformed", "{e}");
            Outcome::refused(e)
        }
    }
}

/// Block bytes, as a proposal's value, a catch-up page or the store hold
/// them; the transactions and evidence proofs inside are decoded as the
/// host decodes them, and checked against the header's roots.
pub fn block(data: &[u8]) -> Outcome {
    let block = match Block::decode(data) {
        Ok(block) => block,
        Err(e) => {
            assert!(matches!(e, BlockDecodeError::Codec(_)), "{e}");
            return Outcome::refused(e);
        }
    };
    check_block(&block, data);
    block_verdict(&block)
}

fn check_block(block: &Block, data: &[u8]) {
    assert!(data.len() <= BLOCK_BYTES_MAX);
    let again = block.encode().expect("a decoded block encodes");
    assert_canonical(&again, data, "block");
    assert_eq!(Block::decode(&again).as_ref(), Ok(block));
    let _ = block.hash();
}

/// Whether the block's contents are what its header says (the ledger
/// checks this, with much more, before executing a block).
fn block_verdict(block: &Block) -> Outcome {
    let header = &block.header;
    if usize::try_from(header.tx_count).ok() != Some(block.txs.len()) {
        return Outcome::refused("tx_count differs from the transactions");
    }
    let hashes: Vec<_> = block.txs.iter().map(Transaction::hash).collect();
    if tx_root(&hashes) != header.tx_root {
        return Outcome::refused("tx_root differs");
    }
    if evidence_root(&block.evidence) != header.evidence_root {
        return Outcome::refused("evidence_root differs");
    }
    for tx in &block.txs {
        if let Err(e) = tx.check_format() {
            return Outcome::refused(e);
        }
    }
    for record in &block.evidence {
        let evidence: Evidence =
            match codec::decode_bounded(&record.proof, EVIDENCE_PROOF_BYTES_MAX) {
                Ok(evidence) => evidence,
                Err(e) => return Outcome::refused(e),
            };
        let again = codec::encode(&evidence).expect("decoded evidence encodes");
        assert_canonical(&again, &record.proof, "evidence");
        let offence = evidence.offence();
        if offence.offender != record.offender || offence.height != record.height {
            return Outcome::refused("evidence is about another offence");
        }
        let verdict = with_city(|city| evidence.verify(CHAIN, &city.validators));
        if let Err(e) = verdict {
            return Outcome::refused(e);
        }
    }
    Outcome::Accepted
}

/// A consensus gossip message: a signed proposal or vote, or a height hint.
pub fn consensus(data: &[u8]) -> Outcome {
    let gossip = match wire::decode::<ConsensusGossip>(data) {
        Ok(gossip) => gossip,
        Err(e) => return decode_refusal(e, data),
    };
    assert_canonical(&wire::encode(&gossip), data, "consensus gossip");
    match gossip {
        ConsensusGossip::Committed { .. } => Outcome::Accepted,
        ConsensusGossip::Message(message) => {
            let _ = (message.height(), message.round(), message.signer());
            let verified = match &message {
                Message::Proposal(p) => p.verify(CHAIN),
                Message::Vote(v) => v.verify(CHAIN),
            };
            if let Err(e) = verified {
                return Outcome::refused(e);
            }
            if let Message::Proposal(p) = &message {
                // The host decodes the proposed value as a block and
                // refuses it unless its hash is the signed value id.
                return match Block::decode(&p.proposal.value.bytes) {
                    Ok(block) if block.hash() == p.proposal.value.id => Outcome::Accepted,
                    Ok(_) => Outcome::refused("value id is not the block's hash"),
                    Err(e) => Outcome::refused(e),
                };
            }
            Outcome::Accepted
        }
    }
}

/// A codec refusal: typed, and "too large" only for what is too large or
/// claims to be (a length prefix beyond the allocation limit).
fn decode_refusal(e: DecodeError, data: &[u8]) -> Outcome {
    if let DecodeError::TooLarge { len, limit } = e {
        assert!(
            data.len() > WIRE_BYTES_MAX || len >= limit,
            "too large: {len} of {limit}"
        );
    }
    Outcome::refused(e)
}

/// A catch-up request, and the page the host's `page` would serve for it
/// from chains of several heights: never more than the request's limit
/// or [`SYNC_PAGE_MAX`] blocks, contiguous from `max(from, 1)`, none past
/// the chain's height, within the byte budget unless a single block.
pub fn sync_request(data: &[u8]) -> Outcome {
    let request = match wire::decode::<SyncRequest>(data) {
        Ok(request) => request,
        Err(e) => return decode_refusal(e, data),
    };
    assert_canonical(&wire::encode(&request), data, "sync request");
    let SyncRequest::Blocks { from, limit } = request;
    const BYTES_MAX: usize = 2_000;
    for height in [0, 1, 63, 1_000, u64::MAX] {
        let mut asked = 0u32;
        let blocks = page(from, limit, height, BYTES_MAX, |h| {
            asked += 1;
            assert!(asked <= SYNC_PAGE_MAX + 1, "page reads without bound");
            Some(SyncedBlock {
                block: h.to_le_bytes().repeat(1 + (h % 32) as usize),
                certificate: vec![1; 40],
            })
        });
        let most = u64::from(limit.min(SYNC_PAGE_MAX));
        assert!(
            blocks.len() as u64 <= most,
            "{} blocks for limit {limit}",
            blocks.len()
        );
        let first = from.max(1);
        let mut bytes = 0usize;
        for (i, synced) in blocks.iter().enumerate() {
            let h = first.checked_add(i as u64).expect("heights do not wrap");
            assert!(h <= height, "served height {h} above the chain's {height}");
            assert_eq!(synced.block, h.to_le_bytes().repeat(1 + (h % 32) as usize));
            bytes += synced.block.len() + synced.certificate.len() + 16;
        }
        assert!(
            blocks.len() <= 1 || bytes <= BYTES_MAX,
            "{bytes} bytes in a page"
        );
        // Heights `from..from + limit` were asked for (height 0 is the
        // genesis, never a block): the first one is served if it exists.
        if let Some(end) = from.checked_add(most) {
            if first <= height && first < end {
                assert!(!blocks.is_empty(), "nothing served from {from} of {height}");
            }
            assert!(blocks.len() as u64 <= end.saturating_sub(first));
        }
    }
    Outcome::Accepted
}

/// A catch-up page from a peer: every block and certificate decoded as the
/// host decodes them, the certificate matched to its block and verified
/// against the city's validators.
pub fn sync_response(data: &[u8]) -> Outcome {
    let response = match wire::decode::<SyncResponse>(data) {
        Ok(response) => response,
        Err(e) => return decode_refusal(e, data),
    };
    assert_canonical(&wire::encode(&response), data, "sync response");
    for synced in &response.blocks {
        let block = match Block::decode(&synced.block) {
            Ok(block) => block,
            Err(e) => return Outcome::refused(e),
        };
        check_block(&block, &synced.block);
        let certificate: CommitCertificate = match codec::decode(&synced.certificate) {
            Ok(c) => c,
            Err(e) => return Outcome::refused(e),
        };
        let again = codec::encode(&certificate).expect("a decoded certificate encodes");
        assert_canonical(&again, &synced.certificate, "certificate");
        if certificate.height != block.header.height || certificate.value_id != block.hash() {
            return Outcome::refused("certificate does not match its block");
        }
        if let Err(e) = with_city(|city| certificate.verify(CHAIN, &city.validators)) {
            return Outcome::refused(e);
        }
        if let Outcome::Refused(why) = block_verdict(&block) {
            return Outcome::Refused(why);
        }
    }
    Outcome::Accepted
}
