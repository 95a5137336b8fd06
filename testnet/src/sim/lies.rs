//! False hints and bad pages: a lying Byzantine node tells every other node,
//! at each of its gossip ticks, that it committed a height far past its own
//! (a new, higher one each time, like the node's `false-hints` fault), and
//! answers catch-up requests with pages that do not verify. An honest node
//! must ask the liar, find the claim false, penalise and discredit it, and
//! never stay `syncing` or stop catching up from honest peers because of it.

use kopnet_consensus::{codec, CommitCertificate, Height};
use kopnet_ledger::Block;
use kopnet_node::wire::{SyncResponse, SyncedBlock};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How far past its real height a liar claims to be.
pub const HEIGHT_LIE: u64 = 1_000_000;
/// Size of a made-up block or certificate.
const GARBAGE_BYTES: usize = 256;

/// The hint a liar at `height` sends at its `tick`-th gossip tick.
pub fn false_hint(height: Height, tick: u64) -> Height {
    height.saturating_add(HEIGHT_LIE).saturating_add(tick)
}

/// How a liar answers one catch-up request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadPage {
    /// No answer at all (the request times out).
    Mute,
    /// "I am far ahead", and no block.
    EmptyClaim,
    /// Blocks that do not decode.
    Garbage,
    /// The real blocks with certificates short of a quorum.
    WeakCertificates,
    /// A block altered after it was certified (its certificate is for
    /// another block).
    AlteredBlock,
}

impl BadPage {
    pub fn pick(rng: &mut ChaCha8Rng) -> BadPage {
        match rng.gen_range(0..5) {
            0 => BadPage::Mute,
            1 => BadPage::EmptyClaim,
            2 => BadPage::Garbage,
            3 => BadPage::WeakCertificates,
            _ => BadPage::AlteredBlock,
        }
    }
}

/// The answer of a liar at `height` whose honest answer would be `honest`
/// (`None`: no answer). A page that would carry no real block (the asker is
/// not behind the liar) falls back to garbage blocks.
pub fn bad_page(
    how: BadPage,
    height: Height,
    honest: &SyncResponse,
    rng: &mut ChaCha8Rng,
) -> Option<SyncResponse> {
    let claimed = false_hint(height, 0);
    let garbage = |rng: &mut ChaCha8Rng| SyncedBlock {
        block: (0..GARBAGE_BYTES).map(|_| rng.gen()).collect(),
        certificate: (0..GARBAGE_BYTES).map(|_| rng.gen()).collect(),
    };
    let altered: Vec<SyncedBlock> = match how {
        BadPage::Mute => return None,
        BadPage::EmptyClaim => Vec::new(),
        BadPage::Garbage => (0..2).map(|_| garbage(rng)).collect(),
        BadPage::WeakCertificates => honest.blocks.iter().filter_map(weaken).collect(),
        BadPage::AlteredBlock => honest.blocks.iter().take(1).filter_map(alter).collect(),
    };
    let blocks = if altered.is_empty() && how != BadPage::EmptyClaim {
        vec![garbage(rng)]
    } else {
        altered
    };
    Some(SyncResponse {
        height: claimed,
        blocks,
    })
}

/// The block with its certificate cut to one signature (less than a
/// quorum whenever a height has more than one validator).
fn weaken(synced: &SyncedBlock) -> Option<SyncedBlock> {
    let mut certificate: CommitCertificate = codec::decode(&synced.certificate).ok()?;
    certificate.signatures.truncate(1);
    Some(SyncedBlock {
        block: synced.block.clone(),
        certificate: codec::encode(&certificate).ok()?,
    })
}

/// The block with one more transaction claimed in its header, under the
/// real block's certificate.
fn alter(synced: &SyncedBlock) -> Option<SyncedBlock> {
    let mut block = Block::decode(&synced.block).ok()?;
    block.header.tx_count = block.header.tx_count.wrapping_add(1);
    Some(SyncedBlock {
        block: block.encode().ok()?,
        certificate: synced.certificate.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_bad_page_claims_far_ahead_and_carries_no_real_block() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let honest = SyncResponse {
            height: 7,
            blocks: vec![],
        };
        assert_eq!(bad_page(BadPage::Mute, 7, &honest, &mut rng), None);
        let empty = bad_page(BadPage::EmptyClaim, 7, &honest, &mut rng).unwrap();
        assert_eq!((empty.height, empty.blocks.len()), (7 + HEIGHT_LIE, 0));
        for how in [
            BadPage::Garbage,
            BadPage::WeakCertificates,
            BadPage::AlteredBlock,
        ] {
            let page = bad_page(how, 7, &honest, &mut rng).unwrap();
            assert_eq!(page.height, 7 + HEIGHT_LIE);
            assert!(!page.blocks.is_empty());
            assert!(page.blocks.iter().all(|b| Block::decode(&b.block).is_err()));
        }
        assert!(false_hint(7, 3) > false_hint(7, 2));
    }
}
