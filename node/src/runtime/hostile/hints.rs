//! `false-hints`: "I committed a million heights past you" on the
//! consensus topic, again and again, and catch-up answers that claim that
//! height with blocks that do not decode or certificates that do not
//! verify. An honest node must not stall chasing them.

use super::{Context, Publisher};
use crate::p2p::Topic;
use crate::wire::{self, ConsensusGossip, SyncResponse, SyncedBlock};
use std::time::Duration;

/// How far ahead the false hints and pages claim to be.
pub const HEIGHT_LIE: u64 = 1_000_000;
/// Distinct hints before they repeat (each differs, so gossip does not
/// drop it as a duplicate).
const HINT_VARIANTS: u64 = 1_000;
/// Pause between hints when no rate is set.
const HINT_INTERVAL: Duration = Duration::from_millis(50);
/// Made-up blocks in a bad page beyond the ones served honestly.
const BAD_BLOCKS: usize = 4;
/// Size of a made-up block or certificate.
const GARBAGE_BYTES: usize = 512;

pub(super) async fn run(ctx: Context, mut out: Publisher, paced: bool) {
    let mut interval = tokio::time::interval(HINT_INTERVAL);
    // A hint names its sender's node identity.
    let from = ctx.node.node_key;
    let mut n: u64 = 0;
    while !ctx.stopping() {
        if !paced {
            interval.tick().await;
        }
        let hint = ConsensusGossip::Committed {
            height: ctx
                .height()
                .saturating_add(HEIGHT_LIE)
                .saturating_add(n % HINT_VARIANTS),
            from,
        };
        out.send(Topic::Consensus, wire::encode(&hint)).await;
        n = n.wrapping_add(1);
    }
}

/// A catch-up answer claiming `height + HEIGHT_LIE`: the honest page's
/// blocks with their certificates corrupted, then blocks that do not
/// decode.
pub(super) fn bad_page(height: u64, honest: &SyncResponse) -> SyncResponse {
    let mut blocks: Vec<SyncedBlock> = honest
        .blocks
        .iter()
        .map(|synced| {
            let mut certificate = synced.certificate.clone();
            for byte in certificate.iter_mut().rev().take(64) {
                *byte ^= 0xFF;
            }
            SyncedBlock {
                block: synced.block.clone(),
                certificate,
            }
        })
        .collect();
    blocks.extend((0..BAD_BLOCKS).map(|_| SyncedBlock {
        block: garbage(),
        certificate: garbage(),
    }));
    SyncResponse {
        height: height.saturating_add(HEIGHT_LIE),
        blocks,
    }
}

fn garbage() -> Vec<u8> {
    (0..GARBAGE_BYTES).map(|_| rand::random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_page_lies_about_the_height_and_corrupts_every_block_it_carries() {
        let honest = SyncResponse {
            height: 10,
            blocks: vec![SyncedBlock {
                block: vec![1; 100],
                certificate: vec![2; 100],
            }],
        };
        let page = bad_page(10, &honest);
        assert_eq!(page.height, 10 + HEIGHT_LIE);
        assert_eq!(page.blocks.len(), 1 + BAD_BLOCKS);
        assert_eq!(page.blocks[0].block, vec![1; 100]);
        assert_ne!(page.blocks[0].certificate, vec![2; 100]);
        for made_up in &page.blocks[1..] {
            assert!(kopnet_ledger::Block::decode(&made_up.block).is_err());
        }
        // It still fits one message.
        assert!(wire::encode(&page).len() < wire::SYNC_PAGE_BYTES_MAX);
    }
}
