//! The seed story end to end, with figures computed by hand.
//!
//! Default fees: cross-cooperative merchant payments pay 0.7 % (0.3 % to each
//! cooperative, 0.1 % to the network fund) out of the merchant's receipt;
//! cash-out at another counter pays Rp 2.500 to the agent and Rp 1.000 to the
//! home cooperative; cash-in at another counter pays Rp 1.000 to the agent.

mod common;
use common::*;
use kopnet_ledger::{AccountKind, Action, MemoryStorage};

// One story, read top to bottom: each step's figures depend on the previous ones.
#[test]
fn cooperative_city_story() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    // A savings-cooperative member, a market trader, a taxi driver and a
    // consumer-cooperative shop.
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Merchant, 0);
    let tono = h.member("tono", "taksi-bersama", AccountKind::Member, 500_000);
    let warung = h.member("warung", "konsumen-rukun", AccountKind::Merchant, 0);

    // Ani (savings coop) pays Budi's market stall Rp 25.000.
    let pay_budi = h.sign(&ani, pay(budi, 25_000, 1));
    // Tono the taxi driver pays at the consumer cooperative's shop Rp 40.000.
    let pay_warung = h.sign(&tono, pay(warung, 40_000, 1));
    // Ani withdraws Rp 100.000 at the angkot cooperative's counter.
    let cash_out = h.sign(
        &ani,
        Action::CashOut {
            agent: id("angkot-maju"),
            amount: 100_000,
        },
    );
    // Tono deposits Rp 50.000 at the savings cooperative's counter.
    let cash_in = h.sign(
        &coop("ksp-sejahtera"),
        Action::CashIn {
            agent: id("ksp-sejahtera"),
            member: tono,
            amount: 50_000,
        },
    );
    let hashes = [&pay_budi, &pay_warung, &cash_out, &cash_in].map(|tx| tx.hash());
    let results = h.block(vec![pay_budi, pay_warung, cash_out, cash_in]);
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    // Each transaction's record says what its fee legs moved.
    let fees = hashes.map(|hash| h.ledger.tx(&hash).unwrap().unwrap().fees);
    assert_eq!(fees, [75 + 75 + 25, 120 + 120 + 40, 2_500 + 1_000, 1_000]);

    // Balances.
    assert_eq!(
        h.balance(&ani),
        1_000_000 - 25_000 - 100_000 - 2_500 - 1_000
    );
    assert_eq!(h.balance(&budi), 25_000 - 75 - 75 - 25);
    assert_eq!(h.balance(&tono), 500_000 - 40_000 + 50_000 - 1_000);
    assert_eq!(h.balance(&warung), 40_000 - 120 - 120 - 40);

    // Fees land where the rules say.
    assert_eq!(h.fee_balance("pasar-makmur"), 75);
    assert_eq!(h.fee_balance("ksp-sejahtera"), 75 + 1_000 + 1_000);
    assert_eq!(h.fee_balance("konsumen-rukun"), 120);
    assert_eq!(h.fee_balance("taksi-bersama"), 120);
    assert_eq!(h.fee_balance("angkot-maju"), 2_500);
    {
        use kopnet_ledger::state::StateRead;
        let fund = h
            .ledger
            .state()
            .internal_balance(&kopnet_ledger::AccountId::NetworkFund);
        assert_eq!(fund, 25 + 40);
    }

    // Positions, by hand:
    // ksp:     -25.000 +75 (fee from Budi)  -100.000 -2.500 (cash-out)  -50.000 +1.000 (cash-in)
    // pasar:   +25.000 -75 -25
    // angkot:  +100.000 +2.500
    // taksi:   -40.000 +120  +50.000 -1.000
    // konsumen:+40.000 -120 -40
    // network: +25 +40
    let expected = [
        ("ksp-sejahtera", -176_425),
        ("pasar-makmur", 24_900),
        ("angkot-maju", 102_500),
        ("taksi-bersama", 9_120),
        ("konsumen-rukun", 39_840),
        ("network", 65),
    ];
    for (slug, position) in expected {
        assert_eq!(h.position(slug), position, "{slug}");
    }
    assert_eq!(expected.iter().map(|(_, p)| p).sum::<i128>(), 0);

    // Volume, by hand: every leg touching a cooperative's accounts, once.
    // Cross legs go to gross sent/received, legs between two accounts homed
    // at the same cooperative (a fee paid to one's own cooperative) to on-us.
    // ksp:     sent 25.000 + 100.000 + 2.500 + 50.000; received 75 + 1.000;
    //          on-us 1.000 (Ani's cash-out fee to her own cooperative)
    // pasar:   received 25.000; sent 75 + 25; on-us 75 (Budi's fee to pasar)
    // taksi:   sent 40.000 + 1.000; received 120 + 50.000
    // konsumen:received 40.000; sent 120 + 40; on-us 120
    // angkot:  received 100.000 + 2.500; network: received 25 + 40
    let volumes = [
        ("ksp-sejahtera", 177_500, 1_075, 1_000),
        ("pasar-makmur", 100, 25_000, 75),
        ("angkot-maju", 0, 102_500, 0),
        ("taksi-bersama", 41_000, 50_120, 0),
        ("konsumen-rukun", 160, 40_000, 120),
        ("network", 0, 65, 0),
    ];
    for (slug, sent, received, on_us) in volumes {
        let stats = h.coop_record(slug).stats;
        assert_eq!(
            (stats.gross_sent, stats.gross_received, stats.on_us_volume),
            (sent, received, on_us),
            "{slug}"
        );
        assert_eq!(stats.total_volume(), Some(sent + received + on_us));
    }

    // The block clock reaches the cut-off: positions freeze into window 0
    // and the open ones reset.
    assert_eq!(h.close_window(), 0);
    let window = h.ledger.state_window(0).unwrap();
    for (slug, position) in expected {
        assert_eq!(window.entries[&id(slug)].position, position, "{slug}");
        assert_eq!(h.position(slug), 0);
        assert_eq!(h.coop_record(slug).unsettled, position);
    }
    assert_eq!(window.entries[&id("angkot-maju")].stats.fees_earned, 2_500);
    assert_eq!(window.entries[&id("pasar-makmur")].stats.on_us_volume, 75);
    assert_eq!(h.coop_record("pasar-makmur").stats.on_us_volume, 0);
    assert!(!window.settled);
    // The bilateral matrix, by hand: who owes whom in window 0.
    let ksp = &window.entries[&id("ksp-sejahtera")].bilateral;
    assert_eq!(ksp[&id("pasar-makmur")], -24_925);
    assert_eq!(ksp[&id("angkot-maju")], -102_500);
    assert_eq!(ksp[&id("taksi-bersama")], -49_000);
    let pasar = &window.entries[&id("pasar-makmur")].bilateral;
    assert_eq!(pasar[&id("ksp-sejahtera")], 24_925);
    assert_eq!(pasar[&id("network")], -25);

    // Each cooperative acknowledges its bank transfer; then the window is settled.
    for slug in [
        "ksp-sejahtera",
        "pasar-makmur",
        "angkot-maju",
        "taksi-bersama",
    ] {
        h.run(&coop(slug), Action::AcknowledgeSettlement { window: 0 })
            .unwrap();
        assert!(!h.ledger.state_window(0).unwrap().settled);
    }
    h.run(
        &coop("konsumen-rukun"),
        Action::AcknowledgeSettlement { window: 0 },
    )
    .unwrap();
    assert!(h.ledger.state_window(0).unwrap().settled);
    for (slug, _) in expected {
        assert_eq!(h.coop_record(slug).unsettled, 0, "{slug}");
    }
    // A second acknowledgement has nothing to acknowledge.
    assert_eq!(
        h.run(
            &coop("konsumen-rukun"),
            Action::AcknowledgeSettlement { window: 0 }
        )
        .unwrap_err()
        .code(),
        "nothing_to_acknowledge"
    );
    let totals = h.ledger.check_invariants().unwrap();
    assert_eq!(totals.minted, 1_550_000);
    assert_eq!(totals.burned, 100_000);
}

#[test]
fn quote_shows_fees_before_confirming_and_changes_nothing() {
    let mut h = Harness::new(MemoryStorage::new(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 200_000);
    let budi = h.member("budi", "pasar-makmur", AccountKind::Merchant, 0);
    let root = h.ledger.state_root();
    let quote = h.ledger.quote(&ani, &pay(budi, 25_000, 1)).unwrap();
    assert_eq!(quote.signer_fees, 0);
    assert_eq!(quote.payee_receives, Some(25_000 - 175));
    // Who receives the merchant's 0,7 %: the issuer (the payer's
    // cooperative), the acquirer (the merchant's) and the network fund.
    assert_eq!(
        quote.fee_split,
        vec![
            (kopnet_ledger::AccountId::Fee(id("ksp-sejahtera")), 75),
            (kopnet_ledger::AccountId::Fee(id("pasar-makmur")), 75),
            (kopnet_ledger::AccountId::NetworkFund, 25),
        ]
    );
    assert_eq!(quote.cashback, 0);
    let cash_out = Action::CashOut {
        agent: id("angkot-maju"),
        amount: 100_000,
    };
    assert_eq!(h.ledger.quote(&ani, &cash_out).unwrap().signer_fees, 3_500);
    let too_much = Action::CashOut {
        agent: id("angkot-maju"),
        amount: 199_000,
    };
    assert_eq!(
        h.ledger.quote(&ani, &too_much).unwrap_err().code(),
        "insufficient_funds"
    );
    assert_eq!(h.ledger.state_root(), root);
}
