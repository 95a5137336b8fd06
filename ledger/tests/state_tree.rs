//! The state root at scale: the same root whether built incrementally or from
//! scratch, across changes of shape; and an update's work (counted, not
//! timed) does not grow with the number of entries.

use kopnet_ledger::commitment::{bucket_bits, StateTree, BUCKET_BITS_MIN, BUCKET_LEAVES_TARGET};

fn key(i: u64) -> [u8; 8] {
    i.to_le_bytes()
}

fn value(i: u64, version: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&i.to_be_bytes());
    v[8..].copy_from_slice(&version.to_be_bytes());
    v
}

/// A tree built in one go from entries `0..n` at `version`.
fn from_scratch(n: u64, version: impl Fn(u64) -> u64) -> StateTree {
    let mut tree = StateTree::new();
    for i in 0..n {
        tree.update(&key(i), Some(&value(i, version(i))));
    }
    tree.recompute();
    tree
}

#[test]
fn incremental_and_from_scratch_roots_agree_across_resizes() {
    let first_resize = BUCKET_LEAVES_TARGET << BUCKET_BITS_MIN;
    let top = 2 * first_resize + 1_000; // two resizes on the way up
    let mut tree = StateTree::new();
    let mut bits_seen = vec![tree.bits()];
    let mut resizes = 0;
    // The version each entry holds, to build the same content from scratch.
    let mut latest: Vec<u64> = Vec::new();
    // Grow in blocks of uneven size, changing some old entries in each block.
    let mut block = 0u64;
    while (latest.len() as u64) < top {
        block += 1;
        let n = latest.len() as u64;
        let grow = (700 + (block * 37) % 900).min(top - n);
        for i in n..n + grow {
            tree.update(&key(i), Some(&value(i, 0)));
            latest.push(0);
        }
        let n = n + grow;
        for j in 0..20 {
            let i = (block * 7919 + j * 104_729) % n;
            tree.update(&key(i), Some(&value(i, block)));
            latest[i as usize] = block;
        }
        tree.recompute();
        if tree.last_work().resized {
            resizes += 1;
        }
        bits_seen.push(tree.bits());
        assert_eq!(tree.bits(), bucket_bits(n));
    }
    assert_eq!(resizes, 2, "bits seen: {bits_seen:?}");
    let n = latest.len() as u64;
    let scratch = from_scratch(n, |i| latest[i as usize]);
    assert_eq!(tree.bits(), scratch.bits());
    assert_eq!(tree.root(), scratch.root());

    // Shrinking back across a threshold agrees too.
    let keep = first_resize - 10;
    for i in keep..n {
        tree.update(&key(i), None);
    }
    tree.recompute();
    assert!(tree.last_work().resized);
    assert_eq!(tree.bits(), BUCKET_BITS_MIN);
    let scratch = from_scratch(keep, |i| latest[i as usize]);
    assert_eq!(tree.root(), scratch.root());

    // The root commits to the shape: proofs carry it and verify.
    let proof = tree.prove(&key(3));
    assert_eq!(proof.bits, BUCKET_BITS_MIN);
    assert!(proof.verify(&tree.root(), &key(3), &value(3, latest[3])));
    let mut wrong_shape = proof.clone();
    wrong_shape.bits += 1;
    wrong_shape.siblings.push(wrong_shape.siblings[0]);
    assert!(!wrong_shape.verify(&tree.root(), &key(3), &value(3, latest[3])));
}

/// Leaves hashed by single-entry updates of existing entries: (mean, max),
/// and checks that each touches one bucket and one path.
fn update_work(tree: &mut StateTree, n: u64) -> (u64, u64) {
    let samples = 200u64;
    let mut total = 0;
    let mut max = 0;
    for s in 0..samples {
        let i = (s * 2_654_435_761) % n;
        tree.update(&key(i), Some(&value(i, s + 1)));
        tree.recompute();
        let work = tree.last_work();
        assert!(!work.resized);
        assert_eq!(work.buckets, 1);
        assert_eq!(work.nodes, u64::from(tree.bits()));
        total += work.leaves;
        max = max.max(work.leaves);
    }
    (total / samples, max)
}

#[test]
fn an_update_hashes_a_bounded_number_of_leaves_at_any_size() {
    // Sizes where buckets are fullest (the average is exactly the target):
    // a fixed 4096-bucket tree would hash 64 leaves per update at the
    // larger size, and ever more as the state grows.
    for n in [
        BUCKET_LEAVES_TARGET << BUCKET_BITS_MIN,
        BUCKET_LEAVES_TARGET << 13,
    ] {
        let mut tree = from_scratch(n, |_| 0);
        assert_eq!(u64::try_from(tree.len()).unwrap(), n);
        let (mean, max) = update_work(&mut tree, n);
        assert!(
            mean <= BUCKET_LEAVES_TARGET + 8,
            "{n} entries: mean {mean} leaves per update"
        );
        assert!(
            max <= 3 * BUCKET_LEAVES_TARGET,
            "{n} entries: max {max} leaves per update"
        );
    }
}
