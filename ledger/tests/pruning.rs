//! Pruning ([`kopnet_ledger::ledger::prune`]): a ledger that keeps the last
//! N blocks computes exactly the chain an archive ledger computes (same
//! state roots block by block), holds only its last N blocks and their
//! indexes, keeps what is not per block (state, idempotency records, day
//! figures, offence records), answers "pruned" for what is below its base,
//! and works off a backlog a bounded step per block.

mod common;
use common::*;
use kopnet_ledger::ledger::history_index::{epoch_of, EPOCH_BLOCKS};
use kopnet_ledger::ledger::prune::PRUNE_HEIGHTS_PER_BLOCK;
use kopnet_ledger::ledger::{
    BlockContext, BlockLimits, ChainPosition, HostSeries, Pruning, PruningError, KEEP_BLOCKS_MIN,
};
use kopnet_ledger::storage::Storage;
use kopnet_ledger::{keys, AccountKind, Action, Ledger, LedgerError, MemoryStorage, VerifyAll};
use kopnet_primitives::{Hash, PublicKey};

const KEEP: u64 = KEEP_BLOCKS_MIN;
/// Past the horizon by several history epochs.
const BLOCKS: u64 = KEEP + 5 * EPOCH_BLOCKS + 10;

fn cert_key(height: u64) -> Vec<u8> {
    let mut key = b"cert".to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

fn pruning(keep: u64) -> Pruning {
    Pruning::new(
        keep,
        vec![HostSeries {
            prefix: b"cert".to_vec(),
            keep_min_blocks: 0,
        }],
    )
    .unwrap()
}

/// Apply one block of `txs` at `time_ms` with a host record under
/// `cert ‖ height`, as the node writes its certificates.
fn apply(h: &mut Harness<MemoryStorage>, time_ms: u64, txs: &[kopnet_ledger::Transaction]) {
    let context = BlockContext {
        proposer: coop("ksp-sejahtera"),
        time_ms,
        evidence: Vec::new(),
    };
    let (executed, skipped) =
        h.ledger
            .build_executed_block(txs, context, BlockLimits::default(), &VerifyAll);
    assert!(skipped.is_empty(), "not admitted: {skipped:?}");
    let block = executed.into_block();
    let height = block.header.height;
    h.ledger
        .apply_block(&block, &VerifyAll, vec![(cert_key(height), vec![7; 40])])
        .unwrap();
}

fn count(store: &MemoryStorage, prefix: &[u8]) -> usize {
    store.scan_prefix(prefix).unwrap().len()
}

struct Run {
    archive: Harness<MemoryStorage>,
    archive_store: MemoryStorage,
    pruned: Harness<MemoryStorage>,
    pruned_store: MemoryStorage,
    ani: PublicKey,
    /// The hash of each block's payment, by height.
    paid: Vec<(u64, Hash)>,
}

/// Two ledgers fed the same blocks: one archive, one keeping [`KEEP`].
fn run(blocks: u64) -> Run {
    let archive_store = MemoryStorage::new();
    let pruned_store = MemoryStorage::new();
    let mut archive = Harness::new(archive_store.clone(), 50_000_000);
    let mut pruned = Harness::new(pruned_store.clone(), 50_000_000);
    pruned.ledger.set_pruning(Some(pruning(KEEP)));
    let mut ani = None;
    let mut budi = None;
    for h in [&mut archive, &mut pruned] {
        ani = Some(h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000_000));
        budi = Some(h.member("budi", "pasar-makmur", AccountKind::Member, 0));
    }
    let (ani, budi) = (ani.unwrap(), budi.unwrap());
    let mut paid = Vec::new();
    let mut time_ms = archive.ledger.last_block_time_ms();
    while archive.ledger.height() < blocks {
        time_ms += 1_000;
        let n = archive.ledger.height();
        let action = Action::Payment {
            to: budi,
            amount: 1 + n % 7,
            memo: String::new(),
            idempotency_id: {
                let mut id = [0u8; 16];
                id[..8].copy_from_slice(&n.to_be_bytes());
                id
            },
        };
        let tx = archive.sign(&ani, action.clone());
        let same = pruned.sign(&ani, action);
        assert_eq!(tx, same);
        apply(&mut archive, time_ms, std::slice::from_ref(&tx));
        apply(&mut pruned, time_ms, &[same]);
        assert_eq!(archive.ledger.state_root(), pruned.ledger.state_root());
        assert_eq!(archive.ledger.height(), pruned.ledger.height());
        paid.push((archive.ledger.height(), tx.hash()));
    }
    Run {
        archive,
        archive_store,
        pruned,
        pruned_store,
        ani,
        paid,
    }
}

#[test]
fn a_pruned_ledger_keeps_its_last_blocks_and_the_same_chain() {
    let Run {
        archive,
        archive_store,
        pruned,
        pruned_store,
        ani,
        paid,
    } = run(BLOCKS);
    let tip = pruned.ledger.height();
    let base = tip - KEEP + 1;
    assert_eq!(pruned.ledger.base_height(), base, "the sweep keeps pace");
    assert_eq!(archive.ledger.base_height(), 1);
    let stored_base = pruned_store.get(keys::META_BASE).unwrap().unwrap();
    assert_eq!(stored_base, base.to_be_bytes().to_vec());

    // Per block: exactly the kept heights remain.
    for prefix in [b"B", b"C", b"K"] {
        assert_eq!(count(&pruned_store, prefix), KEEP as usize, "{prefix:?}");
        assert_eq!(count(&archive_store, prefix), tip as usize, "{prefix:?}");
    }
    // Roots: the kept heights and genesis's.
    assert_eq!(count(&pruned_store, b"R"), KEEP as usize + 1);
    assert_eq!(count(&pruned_store, &keys::host(b"cert")), KEEP as usize);
    for h in 1..base {
        assert!(pruned_store.get(&keys::block(h)).unwrap().is_none());
        assert!(pruned_store
            .get(&keys::host(&cert_key(h)))
            .unwrap()
            .is_none());
    }
    // Transaction places are in runs (no `T` keys since format 11): every
    // kept transaction is found by its hash, none below the base (a run
    // may still list a pruned place until its next merge; its block is
    // gone, so it is not read).
    assert_eq!(count(&pruned_store, b"T"), 0);
    for (height, hash) in &paid {
        let found = pruned.ledger.reader().tx(hash).unwrap();
        assert_eq!(found.is_some(), *height >= base, "height {height}");
    }
    // History: no `H` value or member list of an epoch wholly pruned.
    let first_epoch = epoch_of(base);
    for (key, _) in pruned_store.scan_prefix(b"G").unwrap() {
        let epoch = u64::from_be_bytes(key[1..9].try_into().unwrap());
        assert!(epoch >= first_epoch, "member list of epoch {epoch}");
    }
    for (key, _) in pruned_store
        .scan_prefix(&keys::history_prefix(&ani))
        .unwrap()
    {
        let epoch = u64::from_be_bytes(key[33..41].try_into().unwrap());
        assert!(epoch >= first_epoch, "history of epoch {epoch}");
    }
    assert!(count(&archive_store, &keys::history_prefix(&ani)) > 5);

    // Never pruned: the state, idempotency and refund records, day
    // figures, last-active days, offence records.
    for prefix in [b"S", b"I", b"P", b"D", b"L", b"O"] {
        assert_eq!(
            archive_store.scan_prefix(prefix).unwrap(),
            pruned_store.scan_prefix(prefix).unwrap(),
            "{prefix:?}"
        );
    }

    // Readers: below the base is "pruned", at and above it as an archive.
    let reader = pruned.ledger.reader();
    let full = archive.ledger.reader();
    assert_eq!(reader.base_height().unwrap(), base);
    assert_eq!(
        reader.block(1).unwrap_err(),
        LedgerError::Pruned { height: 1, base }
    );
    assert!(matches!(
        reader.state_root_at(base - 1),
        Err(LedgerError::Pruned { .. })
    ));
    assert!(matches!(
        reader.block_txs(base - 1),
        Err(LedgerError::Pruned { .. })
    ));
    assert_eq!(reader.block(base).unwrap(), full.block(base).unwrap());
    assert_eq!(
        reader.state_root_at(tip).unwrap(),
        full.state_root_at(tip).unwrap()
    );
    assert_eq!(
        reader.block(tip + 1).unwrap(),
        None,
        "above the tip: absent"
    );
    let (old_height, old) = paid[0];
    assert!(old_height < base);
    assert_eq!(reader.committed_tx(&old).unwrap(), None);
    assert!(full.committed_tx(&old).unwrap().is_some());
    let (_, new) = *paid.last().unwrap();
    assert_eq!(
        reader.committed_tx(&new).unwrap(),
        full.committed_tx(&new).unwrap()
    );

    // History: the kept part, page by page, then "pruned" (here the last
    // page ends at the base's first transaction: the next one is pruned).
    let mut kept = Vec::new();
    let mut before = None;
    loop {
        let page = match reader.history_txs(&ani, before, 100) {
            Ok(page) => page,
            Err(LedgerError::Pruned { base: at, .. }) => {
                assert_eq!(at, base);
                break;
            }
            Err(e) => panic!("{e}"),
        };
        let Some((_, (last, _))) = page.last() else {
            break;
        };
        before = Some(ChainPosition {
            height: last.height,
            index: last.index,
        });
        kept.extend(page.into_iter().map(|(hash, _)| hash));
    }
    let expected: Vec<Hash> = full
        .history_txs(&ani, None, 1_000)
        .unwrap()
        .into_iter()
        .filter(|(_, (record, _))| record.height >= base)
        .map(|(hash, _)| hash)
        .collect();
    assert_eq!(kept, expected);
    assert_eq!(kept.len(), KEEP as usize);
    let below = ChainPosition {
        height: base,
        index: 0,
    };
    assert_eq!(
        reader.history_txs(&ani, Some(below), 10).unwrap_err(),
        LedgerError::Pruned { height: base, base }
    );
    assert!(reader
        .history_txs(
            &ani,
            Some(ChainPosition {
                height: 2,
                index: 0
            }),
            10
        )
        .is_err());
    // The archive still answers those.
    assert!(!full.history_txs(&ani, Some(below), 10).unwrap().is_empty());

    // Reopened, the ledger knows its base and its state.
    let genesis = pruned.genesis.clone();
    let root = pruned.ledger.state_root();
    drop(pruned);
    let reopened = Ledger::open(pruned_store, &genesis).unwrap();
    assert_eq!(reopened.base_height(), base);
    assert_eq!(reopened.state_root(), root);
    assert_eq!(
        reopened.pruning(),
        None,
        "the setting is the node's, not the store's"
    );
}

#[test]
fn an_archive_switched_to_pruning_works_off_its_backlog_a_bounded_step_a_block() {
    let Run {
        mut archive,
        archive_store,
        ani,
        ..
    } = run(KEEP + 2 * EPOCH_BLOCKS);
    archive.ledger.set_pruning(Some(pruning(KEEP)));
    let mut time_ms = archive.ledger.last_block_time_ms();
    let mut last_base = archive.ledger.base_height();
    assert_eq!(last_base, 1);
    let blocks_before = count(&archive_store, b"B");
    let mut steps = 0u64;
    loop {
        time_ms += 1_000;
        apply(&mut archive, time_ms, &[]);
        let base = archive.ledger.base_height();
        let target = archive.ledger.height() - KEEP + 1;
        assert!(base - last_base <= PRUNE_HEIGHTS_PER_BLOCK, "bounded");
        assert!(base <= target);
        last_base = base;
        steps += 1;
        if base == target {
            break;
        }
        assert!(steps < 1_000, "the backlog shrinks");
    }
    assert!(steps > 1, "more than one block's worth of backlog");
    assert_eq!(count(&archive_store, b"B"), KEEP as usize);
    assert!(count(&archive_store, b"B") < blocks_before);
    // A few blocks more clear the member lists of the pruned epochs.
    for _ in 0..4 {
        time_ms += 1_000;
        apply(&mut archive, time_ms, &[]);
    }
    let first_epoch = epoch_of(archive.ledger.base_height());
    for (key, _) in archive_store
        .scan_prefix(&keys::history_prefix(&ani))
        .unwrap()
    {
        let epoch = u64::from_be_bytes(key[33..41].try_into().unwrap());
        assert!(epoch >= first_epoch, "history of epoch {epoch}");
    }
}

#[test]
fn a_keep_below_the_minimum_is_refused() {
    assert_eq!(
        Pruning::new(KEEP_BLOCKS_MIN - 1, vec![]).unwrap_err(),
        PruningError::KeepTooSmall {
            keep: KEEP_BLOCKS_MIN - 1,
            min: KEEP_BLOCKS_MIN
        }
    );
    assert_eq!(pruning(KEEP).target_base(10), 1);
    assert_eq!(pruning(KEEP).target_base(KEEP + 10), 11);
}
