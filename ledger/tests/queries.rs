//! The indexes a wallet and an auditor read: account history (newest first,
//! paged) and transactions by hash with their result.

mod common;
use common::*;
use kopnet_ledger::ledger::TxRecord;
use kopnet_ledger::{AccountKind, Action, MemoryStorage};
use kopnet_primitives::Hash;

#[test]
fn history_pages_newest_first_with_before() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 0);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let cici = h.member("cici", "ksp-sejahtera", AccountKind::Member, 0);
    // Ani's transactions in commit order: blocks of one to three, some of
    // them rejected, some not signed by Ani, interleaved with others'.
    let mut ani_txs: Vec<Hash> = Vec::new();
    let ksp = coop("ksp-sejahtera");
    for round in 0u8..6 {
        let mint = h.sign(
            &ksp,
            Action::Mint {
                member: ani,
                amount: 10_000,
            },
        );
        let pay_budi = h.sign(&ani, pay(budi, 3_000, round));
        let unrelated = h.sign(&budi, pay(cici, 1, round));
        let too_much = h.sign(&ani, pay(cici, 1_000_000, 100 + round));
        ani_txs.push(mint.hash());
        ani_txs.push(pay_budi.hash());
        let mut block = vec![mint, pay_budi, unrelated];
        if round % 2 == 0 {
            ani_txs.push(too_much.hash());
            block.push(too_much);
        } else {
            h.signers.rewind(&ani);
        }
        h.block(block);
        // A block without Ani in between.
        h.run(&budi, pay(cici, 1, 50 + round)).unwrap();
    }
    // Registration was Ani's first entry.
    let all = h.ledger.history(&ani, None, 1_000).unwrap();
    assert_eq!(all.len(), ani_txs.len() + 1);

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = h.ledger.history(&ani, before, 3).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        let (_, last): &(Hash, TxRecord) = page.last().unwrap();
        before = Some((last.height, last.index));
        pages.push(page);
    }
    assert_eq!(pages.len(), all.len().div_ceil(3), "several full pages");
    let paged: Vec<(Hash, TxRecord)> = pages.into_iter().flatten().collect();
    assert_eq!(paged, all, "pages concatenate to the full history");
    // Newest first: strictly decreasing (height, index).
    for pair in paged.windows(2) {
        let (a, b) = (&pair[0].1, &pair[1].1);
        assert!((a.height, a.index) > (b.height, b.index));
    }
    let newest_first: Vec<Hash> = paged.iter().map(|(hash, _)| *hash).collect();
    let mut expected = ani_txs.clone();
    expected.reverse();
    assert_eq!(&newest_first[..expected.len()], &expected[..]);
    // `before` is exclusive and a page never crosses it.
    let (_, third) = &all[2];
    let after_third = h
        .ledger
        .history(&ani, Some((third.height, third.index)), 2)
        .unwrap();
    assert_eq!(after_third, all[3..5].to_vec());
}

#[test]
fn transaction_by_hash_carries_its_result() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 10_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Member, 0);
    let ok = h.sign(&ani, pay(budi, 1_000, 1));
    let rejected = h.sign(&ani, pay(budi, 1_000_000, 2));
    let (ok_hash, rejected_hash) = (ok.hash(), rejected.hash());
    h.block(vec![ok, rejected]);
    let height = h.ledger.height();

    let record = h.ledger.tx(&ok_hash).unwrap().unwrap();
    assert_eq!(
        record,
        TxRecord {
            height,
            index: 0,
            result: Ok(()),
            // Member to member across cooperatives: no fee rule applies.
            fees: 0,
        }
    );
    let record = h.ledger.tx(&rejected_hash).unwrap().unwrap();
    assert_eq!((record.height, record.index), (height, 1));
    assert_eq!(record.result.unwrap_err().code(), "insufficient_funds");
    assert_eq!(record.fees, 0);
    // The block at that height holds them, in that order.
    let block = h.ledger.block(height).unwrap().unwrap();
    assert_eq!(block.txs[0].hash(), ok_hash);
    assert_eq!(block.txs[1].hash(), rejected_hash);
    // An unknown hash is simply absent.
    assert_eq!(h.ledger.tx(&Hash([9; 32])).unwrap(), None);
}

#[test]
fn governance_effects_are_in_the_members_history() {
    use kopnet_ledger::GovAction;
    // Four validators of power 1: the third approval executes.
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 0);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 2_000_000);
    let shop = h.member("shop", "pasar-makmur", AccountKind::Merchant, 0);
    // A cross-cooperative merchant payment gives the network fund 0.1 %.
    h.run(&budi, pay(shop, 1_000_000, 1)).unwrap();
    let history = |h: &Harness<MemoryStorage>| -> Vec<Hash> {
        h.ledger
            .history(&ani, None, 100)
            .unwrap()
            .into_iter()
            .map(|(hash, _)| hash)
            .collect()
    };
    let actions = [
        GovAction::Freeze { member: ani },
        GovAction::Unfreeze { member: ani },
        GovAction::FundIncentive {
            member: ani,
            amount: 500,
        },
    ];
    for (proposal, action) in actions.into_iter().enumerate() {
        let proposal = proposal as u64;
        let propose = h.sign(&coop("ksp-sejahtera"), Action::Propose { action });
        let propose_hash = propose.hash();
        h.block(vec![propose]);
        let second = h.sign(&coop("pasar-makmur"), Action::Approve { proposal });
        let second_hash = second.hash();
        h.block(vec![second]);
        let third = h.sign(&coop("angkot-maju"), Action::Approve { proposal });
        let third_hash = third.hash();
        assert!(h.block(vec![third])[0].is_ok());
        let shown = history(&h);
        // Newest first: the approval that executed it, then the proposal;
        // the approval that did not reach 2/3 changed nothing of Ani's.
        assert_eq!(
            &shown[..2],
            &[third_hash, propose_hash],
            "proposal {proposal}"
        );
        assert!(!shown.contains(&second_hash), "proposal {proposal}");
    }
    assert_eq!(h.balance(&ani), 500);
}
