//! A chain of real blocks with real certificates in memory, damaged one
//! record at a time: each damage is found, at the height it was made.

use super::*;
use crate::chain_store::{
    certificate_entry, certificate_key, init_validator_sets, next_set_entry, validator_set_key,
};
use kopnet_consensus::{
    CommitCertificate, Keypair, SignedVote, Vote, VoteKind, VALIDATOR_SET_CHANGE_DELAY,
};
use kopnet_ledger::ledger::BlockLimits;
use kopnet_ledger::storage::WriteBatch;
use kopnet_ledger::testkit::{self, DEMO_COOPERATIVES};
use kopnet_ledger::types::{AccountKind, KycTier};
use kopnet_ledger::{keys, Action, Block, Genesis, Ledger, MemoryStorage, Storage, VerifyAll};
use std::path::Path;

const CHAIN: &str = "kopnet-test";
const VALIDATORS: usize = 4;
const TOP: u64 = 6;

/// The validators' validator keys.
fn validators() -> Vec<Keypair> {
    DEMO_COOPERATIVES[..VALIDATORS]
        .iter()
        .map(|(slug, _)| testkit::validator_key_for(slug))
        .collect()
}

/// Precommits of `signers` of the validators for `block`.
fn certify(block: &Block, signers: usize) -> CommitCertificate {
    let height = block.header.height;
    let votes: Vec<SignedVote> = validators()
        .iter()
        .take(signers)
        .map(|key| {
            let vote = Vote {
                height,
                round: 0,
                kind: VoteKind::Precommit,
                value_id: Some(block.hash()),
                validator: key.public(),
            };
            SignedVote::sign(CHAIN, key, vote).unwrap()
        })
        .collect();
    CommitCertificate::from_precommits(height, 0, block.hash(), &votes)
}

struct Chain {
    store: MemoryStorage,
    genesis: Genesis,
    root: kopnet_consensus::Hash,
}

/// `TOP` blocks: a member registered at block 1, e-money minted to it at
/// block 2, then empty blocks; each written as the node writes it.
fn chain() -> Chain {
    let genesis = testkit::demo_genesis(CHAIN, VALIDATORS, 1_000_000);
    let store = MemoryStorage::new();
    let mut ledger = Ledger::open(store.clone(), &genesis).unwrap();
    init_validator_sets(&ledger).unwrap();
    let mut signers = testkit::demo_signers();
    let coop = testkit::key_for(DEMO_COOPERATIVES[0].0).public();
    let member = testkit::key_for("anggota").public();
    for height in 1..=TOP {
        let txs = match height {
            1 => vec![signers.sign(
                CHAIN,
                &coop,
                Action::RegisterMember {
                    member,
                    kind: AccountKind::Member,
                    tier: KycTier::Registered,
                },
            )],
            2 => vec![signers.sign(
                CHAIN,
                &coop,
                Action::Mint {
                    member,
                    amount: 25_000,
                },
            )],
            _ => vec![],
        };
        let (block, skipped) = ledger.build_block(&txs, coop, BlockLimits::default(), &VerifyAll);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(block.txs.len(), txs.len());
        let extra = vec![certificate_entry(&certify(&block, VALIDATORS)).unwrap()];
        ledger
            .apply_block_with(&block, &VerifyAll, extra, |v| {
                vec![next_set_entry(height, v).unwrap()]
            })
            .unwrap();
    }
    let root = ledger.state_root();
    Chain {
        store,
        genesis,
        root,
    }
}

fn put(store: &MemoryStorage, key: Vec<u8>, value: Option<Vec<u8>>) {
    let mut batch = WriteBatch::default();
    match value {
        Some(v) => batch.put(key, v),
        None => batch.delete(key),
    }
    store.commit(batch).unwrap();
}

fn path() -> &'static Path {
    Path::new("/homes/coop/data/ledger")
}

/// A node that opened this store before (it exists), with a record at the
/// height a validator at the tip would have.
fn facts() -> StartFacts {
    StartFacts {
        existed: true,
        record_height: Some(TOP + 1),
    }
}

fn full(chain: &Chain) -> Result<StoreReport, Damage> {
    check_store(
        &chain.store,
        &chain.genesis,
        path(),
        facts(),
        &mut |_, _| {},
    )
}

fn start(chain: &Chain) -> Result<(), StartCheckError> {
    at_start(&chain.store, &chain.genesis, path(), facts())
}

/// The damage a full check reports: its height and problem.
fn found(chain: &Chain) -> (u64, Problem) {
    let damage = full(chain).unwrap_err();
    assert_eq!(damage.path, path().display().to_string());
    (damage.height.unwrap(), damage.problem)
}

fn refused_at_start(chain: &Chain) -> (u64, Problem) {
    match start(chain).unwrap_err() {
        StartCheckError::Damaged(damage) => {
            let shown = StartCheckError::Damaged(damage.clone()).to_string();
            assert!(shown.contains(&path().display().to_string()), "{shown}");
            assert!(
                shown.contains(&format!("at height {}", damage.height.unwrap())),
                "{shown}"
            );
            (damage.height.unwrap(), damage.problem)
        }
        other => panic!("{other}"),
    }
}

fn block_bytes(chain: &Chain, height: u64) -> Vec<u8> {
    chain.store.get(&keys::block(height)).unwrap().unwrap()
}

#[test]
fn a_sound_store_passes_both_checks() {
    let chain = chain();
    let mut seen = Vec::new();
    let report = check_store(
        &chain.store,
        &chain.genesis,
        path(),
        facts(),
        &mut |h, top| seen.push((h, top)),
    )
    .unwrap();
    assert_eq!(
        report,
        StoreReport {
            height: TOP,
            txs: 2,
            state_root: chain.root,
        }
    );
    assert_eq!(seen, (1..=TOP).map(|h| (h, TOP)).collect::<Vec<_>>());
    start(&chain).unwrap();
}

/// A bit flipped inside a block's record in the middle of the chain: the
/// full check names that height; the start-up check (the tip only) lets
/// the node start.
#[test]
fn a_flipped_bit_in_an_old_block_is_found_at_its_height() {
    let chain = chain();
    let mut bytes = block_bytes(&chain, 2);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    put(&chain.store, keys::block(2), Some(bytes));
    let (height, problem) = found(&chain);
    assert_eq!(height, 2, "{problem}");
    // Which check trips depends on the field the bit lands in.
    assert!(
        matches!(
            problem,
            Problem::Undecodable { what: "block", .. }
                | Problem::NotCertified { .. }
                | Problem::TxRoot
                | Problem::EvidenceRoot
        ),
        "{problem}"
    );
    start(&chain).unwrap();
}

#[test]
fn a_flipped_bit_in_the_tip_block_stops_the_start() {
    let chain = chain();
    // The header's time: the block still decodes, its hash changes.
    let mut block = Block::decode(&block_bytes(&chain, TOP)).unwrap();
    block.header.time_ms ^= 1;
    put(
        &chain.store,
        keys::block(TOP),
        Some(block.encode().unwrap()),
    );
    let (height, problem) = refused_at_start(&chain);
    assert_eq!(height, TOP);
    assert!(matches!(problem, Problem::NotCertified { .. }), "{problem}");
    assert_eq!(found(&chain), (TOP, problem));
}

#[test]
fn a_block_whose_transactions_changed_is_found() {
    let chain = chain();
    let mut block = Block::decode(&block_bytes(&chain, 2)).unwrap();
    block.txs[0].body.nonce += 1;
    put(&chain.store, keys::block(2), Some(block.encode().unwrap()));
    assert_eq!(found(&chain), (2, Problem::TxRoot));
}

/// A block re-signed by all validators but pointing at the wrong parent
/// (what no honest chain holds): the parent link is checked on its own.
#[test]
fn a_broken_parent_link_is_found() {
    let chain = chain();
    for height in [3, TOP] {
        let chain = self::chain();
        let mut block = Block::decode(&block_bytes(&chain, height)).unwrap();
        block.header.parent = kopnet_consensus::Hash::digest("t", b"elsewhere");
        let certificate = certify(&block, VALIDATORS);
        put(
            &chain.store,
            keys::block(height),
            Some(block.encode().unwrap()),
        );
        put(
            &chain.store,
            keys::block_hash(&block.hash()),
            Some(height.to_be_bytes().to_vec()),
        );
        let (key, value) = certificate_entry(&certificate).unwrap();
        put(&chain.store, keys::host(&key), Some(value));
        let (at, problem) = found(&chain);
        assert_eq!(at, height);
        assert!(matches!(problem, Problem::ParentLink { .. }), "{problem}");
        if height == TOP {
            let (at, problem) = refused_at_start(&chain);
            assert_eq!(at, TOP);
            assert!(
                matches!(problem, Problem::ParentUnknown { .. }),
                "{problem}"
            );
        }
    }
    full(&chain).unwrap();
}

#[test]
fn certificates_missing_or_short_of_two_thirds_are_found() {
    let chain = chain();
    put(&chain.store, keys::host(&certificate_key(TOP)), None);
    assert_eq!(
        refused_at_start(&chain),
        (
            TOP,
            Problem::Missing {
                what: "commit certificate"
            }
        )
    );

    let chain = self::chain();
    let block = Block::decode(&block_bytes(&chain, 4)).unwrap();
    // Two of four equal powers: not more than 2/3.
    let (key, value) = certificate_entry(&certify(&block, 2)).unwrap();
    put(&chain.store, keys::host(&key), Some(value));
    let (at, problem) = found(&chain);
    assert_eq!(at, 4);
    assert!(
        matches!(
            problem,
            Problem::Certificate(kopnet_consensus::CertificateError::InsufficientPower { .. })
        ),
        "{problem}"
    );
}

#[test]
fn a_changed_state_root_is_found_at_its_height() {
    let chain = chain();
    let other = kopnet_consensus::Hash::digest("t", b"another root");
    put(&chain.store, keys::root(3), Some(other.0.to_vec()));
    // Block 4 certifies the root after block 3: its header disagrees first.
    let (at, problem) = found(&chain);
    assert_eq!(at, 3);
    assert!(matches!(problem, Problem::StateRoot { .. }), "{problem}");

    let chain = self::chain();
    put(&chain.store, keys::root(TOP - 1), Some(other.0.to_vec()));
    let (at, problem) = refused_at_start(&chain);
    assert_eq!(at, TOP);
    assert!(
        matches!(problem, Problem::PrevStateRoot { .. }),
        "{problem}"
    );
}

#[test]
fn a_changed_validator_set_record_is_found() {
    let chain = chain();
    let wrong = next_set_entry(0, &[(validators()[0].public(), 1)])
        .unwrap()
        .1;
    put(&chain.store, keys::host(&validator_set_key(3)), Some(wrong));
    assert_eq!(found(&chain), (3, Problem::ValidatorSet));
}

/// The stored state (not a block) changed: the ledger's own check at
/// open finds it at the tip, and so does the full check.
#[test]
fn a_changed_state_entry_is_found_at_the_tip() {
    let chain = chain();
    let (key, mut value) = chain
        .store
        .scan_prefix(keys::STATE_PREFIX)
        .unwrap()
        .pop()
        .unwrap();
    let last = value.len() - 1;
    value[last] ^= 1;
    put(&chain.store, key, Some(value));
    let (at, problem) = found(&chain);
    assert_eq!(at, TOP);
    assert!(matches!(problem, Problem::State(_)), "{problem}");
}

#[test]
fn the_tip_records_must_agree_with_the_tip_block() {
    let chain = chain();
    let other = kopnet_consensus::Hash::digest("t", b"x");
    put(
        &chain.store,
        keys::META_LAST_HASH.to_vec(),
        Some(other.0.to_vec()),
    );
    assert_eq!(
        refused_at_start(&chain),
        (
            TOP,
            Problem::Meta {
                what: "last block hash"
            }
        )
    );
    let chain = self::chain();
    put(&chain.store, keys::block(TOP), None);
    assert_eq!(
        refused_at_start(&chain),
        (TOP, Problem::Missing { what: "block" })
    );
}

/// sled drops everything after a damaged record: the store opens at an
/// earlier height, or empty. The safety record shows it.
#[test]
fn a_store_cut_back_or_emptied_is_refused() {
    let chain = chain();
    let behind = StartFacts {
        existed: true,
        record_height: Some(TOP + 5),
    };
    let refused = at_start(&chain.store, &chain.genesis, path(), behind).unwrap_err();
    let StartCheckError::Damaged(damage) = refused else {
        panic!("{refused}")
    };
    assert_eq!(damage.height, Some(TOP + 1));
    assert_eq!(
        damage.problem,
        Problem::BehindSafetyRecord {
            ledger_height: TOP,
            record_height: TOP + 5
        }
    );
    // One height ahead is where a validator signs next: not a loss.
    let next = StartFacts {
        existed: true,
        record_height: Some(TOP + 1),
    };
    at_start(&chain.store, &chain.genesis, path(), next).unwrap();

    let empty = MemoryStorage::new();
    let refused = at_start(&empty, &chain.genesis, path(), behind).unwrap_err();
    assert!(
        matches!(&refused, StartCheckError::Damaged(d) if d.problem == Problem::Emptied && d.height == Some(0)),
        "{refused}"
    );
    // A store that did not exist is a first start (no record) or a resync.
    let fresh = StartFacts {
        existed: false,
        record_height: None,
    };
    at_start(&empty, &chain.genesis, path(), fresh).unwrap();
    assert_eq!(empty.get(&keys::host(RESYNC_BELOW_KEY)).unwrap(), None);
}

/// A store deleted on purpose to resync: the start marks the height the
/// record is at, and below it a ledger behind the record is expected.
#[test]
fn a_deliberate_resync_is_not_taken_for_lost_blocks() {
    let chain = chain();
    let store = MemoryStorage::new();
    let resync = StartFacts {
        existed: false,
        record_height: Some(TOP + 100),
    };
    at_start(&store, &chain.genesis, path(), resync).unwrap();
    // The node catches up: here, the blocks of the sound chain.
    for (key, value) in chain.store.scan_prefix(b"").unwrap() {
        put(&store, key, Some(value));
    }
    let later = StartFacts {
        existed: true,
        record_height: Some(TOP + 100),
    };
    at_start(&store, &chain.genesis, path(), later).unwrap();
    check_store(&store, &chain.genesis, path(), later, &mut |_, _| {}).unwrap();
    // Past the mark, the rule holds again.
    put(
        &store,
        keys::host(RESYNC_BELOW_KEY),
        Some(TOP.to_be_bytes().to_vec()),
    );
    assert!(at_start(&store, &chain.genesis, path(), later).is_err());
}

#[test]
fn a_store_of_another_genesis_is_refused() {
    let chain = chain();
    let other = testkit::demo_genesis("another-chain", VALIDATORS, 1_000_000);
    let refused = at_start(&chain.store, &other, path(), facts()).unwrap_err();
    assert!(
        matches!(&refused, StartCheckError::Damaged(d) if d.problem == Problem::Genesis),
        "{refused}"
    );
}

#[test]
fn an_unreadable_record_is_named() {
    let chain = chain();
    put(
        &chain.store,
        keys::host(&certificate_key(2)),
        Some(vec![1, 2, 3]),
    );
    let (at, problem) = found(&chain);
    assert_eq!(at, 2);
    assert!(
        matches!(
            problem,
            Problem::Undecodable {
                what: "commit certificate",
                ..
            }
        ),
        "{problem}"
    );
    // The set for the next heights is recorded too.
    let chain = self::chain();
    let next = TOP + VALIDATOR_SET_CHANGE_DELAY;
    put(&chain.store, keys::host(&validator_set_key(next)), None);
    assert_eq!(
        found(&chain),
        (
            next,
            Problem::Missing {
                what: "validator set"
            }
        )
    );
}

#[test]
fn a_damaged_hash_index_is_found() {
    let chain = chain();
    let hash = Block::decode(&block_bytes(&chain, 3)).unwrap().hash();
    put(&chain.store, keys::block_hash(&hash), None);
    assert_eq!(found(&chain), (3, Problem::HashIndex { hash, found: None }));
}

/// A store of the layout before store format 2 (no format record) is
/// refused at start, by the full check and by the ledger, each saying
/// what to do.
#[test]
fn a_store_of_an_older_format_is_refused_saying_what_to_do() {
    let chain = chain();
    put(&chain.store, keys::META_STORE_FORMAT.to_vec(), None);
    let expected = Problem::StoreFormat {
        found: None,
        expected: keys::STORE_FORMAT,
    };
    assert_eq!(refused_at_start(&chain), (0, expected.clone()));
    assert_eq!(found(&chain), (0, expected.clone()));
    assert!(
        expected.to_string().contains("store format 1"),
        "{expected}"
    );
    assert!(expected.to_string().contains("resync"), "{expected}");
    let opened = Ledger::open(chain.store.clone(), &chain.genesis).unwrap_err();
    assert_eq!(
        opened,
        kopnet_ledger::LedgerError::StoreFormat {
            found: None,
            expected: keys::STORE_FORMAT
        }
    );
    assert!(opened.to_string().contains("Recovering a damaged node"));
}

/// The index the API reads a transaction through must place each of the
/// block's transactions where the block holds it and, offline, carry the
/// results and fees the block re-executes to and a place under each hash.
#[test]
fn a_damaged_transaction_index_is_found_at_its_height() {
    use kopnet_ledger::ledger::BlockTxs;
    let stored = |chain: &Chain| {
        BlockTxs::decode(&chain.store.get(&keys::block_txs(2)).unwrap().unwrap()).unwrap()
    };

    let chain = self::chain();
    let mut index = stored(&chain);
    assert_eq!(index.entries.len(), 1, "block 2 mints");
    index.entries[0].len += 1;
    put(
        &chain.store,
        keys::block_txs(2),
        Some(index.encode().unwrap()),
    );
    assert!(matches!(found(&chain), (2, Problem::TxIndex(_))));

    let chain = self::chain();
    let mut index = stored(&chain);
    index.entries[0].fees += 1;
    put(
        &chain.store,
        keys::block_txs(2),
        Some(index.encode().unwrap()),
    );
    assert!(matches!(found(&chain), (2, Problem::TxIndex(_))));

    let chain = self::chain();
    // Block 2's level-0 runs (run 1 of level 0, every bucket): its
    // transactions' places are gone.
    let level_0 = [kopnet_ledger::keys::PLACE_RUN_PREFIX, &[0]].concat();
    let runs_of_block_2: Vec<Vec<u8>> = chain
        .store
        .scan_prefix(&level_0)
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| key.ends_with(&1u64.to_be_bytes()))
        .collect();
    assert!(!runs_of_block_2.is_empty());
    for key in runs_of_block_2 {
        put(&chain.store, key, None);
    }
    assert!(matches!(found(&chain), (2, Problem::TxIndex(_))));

    let chain = self::chain();
    put(&chain.store, keys::block_txs(TOP), Some(vec![0xff]));
    assert!(matches!(
        refused_at_start(&chain),
        (
            TOP,
            Problem::Undecodable {
                what: "transaction index",
                ..
            }
        )
    ));
    put(&chain.store, keys::block_txs(TOP), None);
    assert_eq!(
        refused_at_start(&chain),
        (
            TOP,
            Problem::Missing {
                what: "transaction index"
            }
        )
    );
}
