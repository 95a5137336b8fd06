//! The daily aggregates the Indeks Kota Koperasi is computed from
//! (`kopnet_ledger::ledger::daily_figures`): written with each block, per
//! WIB day and cooperative — payments and the cross-cooperative ones,
//! fees, cash-outs served for other cooperatives' members, new members,
//! and exact counts of distinct active members over a window of days.

mod common;
use common::counting::Counting;
use common::*;
use kopnet_ledger::ledger::daily_figures::DayFigures;
use kopnet_ledger::ledger::ChainReader;
use kopnet_ledger::state::StateRead;
use kopnet_ledger::tellers::{wib_day, WIB_OFFSET_MS};
use kopnet_ledger::{AccountId, AccountKind, Action, MemoryStorage};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Noon WIB of day `day`.
fn noon(day: u64) -> u64 {
    day * DAY_MS + 12 * 60 * 60 * 1000 - WIB_OFFSET_MS
}

fn fee_balance(h: &Harness<MemoryStorage>, slug: &str) -> u64 {
    h.ledger.state().internal_balance(&AccountId::Fee(id(slug)))
}

fn row(reader: &ChainReader<MemoryStorage>, day: u64, slug: &str) -> DayFigures {
    reader
        .day_figures(day, day)
        .unwrap()
        .get(&day)
        .and_then(|coops| coops.get(&id(slug)))
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_block_of_cross_cooperative_payments_cash_outs_and_fees_is_counted_per_cooperative() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 2_000_000);
    let citra = h.member("citra", "ksp-sejahtera", AccountKind::Member, 500_000);
    let warung = h.member("warung", "pasar-makmur", AccountKind::Merchant, 0);
    let reader = ChainReader::new(store.clone());
    let setup_day = wib_day(h.ledger.last_block_time_ms());
    let setup = row(&reader, setup_day, "ksp-sejahtera");
    assert_eq!(setup.new_members, 2);
    assert_eq!(row(&reader, setup_day, "pasar-makmur").new_merchants, 1);

    let day = setup_day + 3;
    let coops = ["ksp-sejahtera", "pasar-makmur", "angkot-maju"];
    let fees_before: Vec<u64> = coops.iter().map(|c| fee_balance(&h, c)).collect();
    let txs = vec![
        // Cross-cooperative: a merchant at pasar-makmur (fees: MDR).
        h.sign(&ani, pay(warung, 600_000, 1)),
        // On-us: both at ksp-sejahtera.
        h.sign(&ani, pay(citra, 100_000, 2)),
        // Citra takes cash at angkot-maju's counter: served for another
        // cooperative's member.
        h.sign(
            &citra,
            Action::CashOut {
                agent: id("angkot-maju"),
                amount: 50_000,
            },
        ),
        // At her own cooperative's counter: not "for others".
        h.sign(
            &ani,
            Action::CashOut {
                agent: id("ksp-sejahtera"),
                amount: 20_000,
            },
        ),
    ];
    let results = h.block_at(noon(day), txs);
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    let home = row(&reader, day, "ksp-sejahtera");
    assert_eq!(home.payments, 2);
    assert_eq!(home.payments_rupiah, 700_000);
    assert_eq!(home.cross_payments, 1);
    assert_eq!(home.cross_payments_rupiah, 600_000);
    assert_eq!(home.cash_outs_for_others, 0);
    assert_eq!(home.last_active_members, 2, "ani and citra signed");
    assert_eq!(home.new_members, 0);

    let agent = row(&reader, day, "angkot-maju");
    assert_eq!(agent.cash_outs_for_others, 1);
    assert_eq!(agent.cash_outs_for_others_rupiah, 50_000);
    assert_eq!(agent.payments, 0);
    // The merchant signed nothing and is not a member account.
    assert_eq!(row(&reader, day, "pasar-makmur").last_active_members, 0);

    // Fees: what each cooperative's fee account gained less what it lost
    // is exactly the account's change over the block.
    let mut earned_any = false;
    for (slug, before) in coops.iter().zip(fees_before) {
        let figures = row(&reader, day, slug);
        let after = fee_balance(&h, slug);
        earned_any |= figures.fees_earned_rupiah > 0;
        assert_eq!(
            i128::try_from(figures.fees_earned_rupiah).unwrap()
                - i128::try_from(figures.fees_given_rupiah).unwrap(),
            i128::from(after) - i128::from(before),
            "{slug}"
        );
    }
    assert!(
        earned_any,
        "the merchant payment and cash-outs charged fees"
    );
    assert!(row(&reader, day, "angkot-maju").fees_earned_rupiah > 0);
}

#[test]
fn active_members_are_counted_once_on_their_latest_day() {
    let store = MemoryStorage::new();
    let mut h = Harness::new(store.clone(), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let reader = ChainReader::new(store.clone());
    let first = wib_day(h.ledger.last_block_time_ms()) + 1;

    let tx = h.sign(&ani, pay(budi, 1_000, 1));
    h.block_at(noon(first), vec![tx]);
    let tx = h.sign(&budi, pay(ani, 1_000, 1));
    h.block_at(noon(first) + 1_000, vec![tx]);
    // Twice the same day: counted once.
    let tx = h.sign(&ani, pay(budi, 1_000, 2));
    h.block_at(noon(first) + 2_000, vec![tx]);
    assert_eq!(row(&reader, first, "ksp-sejahtera").last_active_members, 2);

    // Ani again two days later: she moves to that day.
    let later = first + 2;
    let tx = h.sign(&ani, pay(budi, 1_000, 3));
    h.block_at(noon(later), vec![tx]);
    assert_eq!(row(&reader, first, "ksp-sejahtera").last_active_members, 1);
    assert_eq!(row(&reader, later, "ksp-sejahtera").last_active_members, 1);

    // Over the window: two distinct members, not three activities.
    let window = reader.day_figures(first, later).unwrap();
    let total: u64 = window
        .values()
        .filter_map(|coops| coops.get(&id("ksp-sejahtera")))
        .map(|f| f.last_active_members)
        .sum();
    assert_eq!(total, 2);
    assert_eq!(
        window.keys().copied().collect::<Vec<_>>(),
        vec![first, later]
    );
    // A window that starts after the first day sees only ani.
    let recent = reader.day_figures(first + 1, later).unwrap();
    assert_eq!(recent.len(), 1);
}

/// A member's last active day is read once a day, not at every payment:
/// the ledger remembers whom it saw active today (`ActiveToday`), and
/// forgets at the first block of the next day and when it is reopened.
#[test]
fn a_member_active_again_the_same_day_is_not_looked_up() {
    let memory = MemoryStorage::new();
    let ani = kopnet_ledger::testkit::key_for("ani").public();
    let store = std::sync::Arc::new(Counting::new(memory.clone()));
    let key = kopnet_ledger::keys::last_active(&ani);
    let reads = || store.lookups(&key);
    let mut h = Harness::new(std::sync::Arc::clone(&store), 50_000_000);
    let ani = h.member("ani", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let budi = h.member("budi", "ksp-sejahtera", AccountKind::Member, 1_000_000);
    let first = wib_day(h.ledger.last_block_time_ms()) + 1;
    let before = reads();
    for n in 0..5u8 {
        let tx = h.sign(&ani, pay(budi, 1_000, n + 1));
        h.block_at(noon(first) + u64::from(n) * 1_000, vec![tx]);
    }
    assert_eq!(reads() - before, 1, "read at her first payment of the day");
    // The next day she is read again (her record moves to that day).
    let tx = h.sign(&ani, pay(budi, 1_000, 10));
    h.block_at(noon(first + 1), vec![tx]);
    assert_eq!(reads() - before, 2);
    // Reopened, the ledger remembers nobody: read once more.
    h.ledger = kopnet_ledger::Ledger::open(std::sync::Arc::clone(&store), &h.genesis).unwrap();
    let tx = h.sign(&ani, pay(budi, 1_000, 11));
    h.block_at(noon(first + 1) + 1_000, vec![tx]);
    assert_eq!(reads() - before, 3);
    // Counted once per day all along.
    let reader = ChainReader::new(memory);
    assert_eq!(row(&reader, first, "ksp-sejahtera").last_active_members, 0);
    assert_eq!(
        row(&reader, first + 1, "ksp-sejahtera").last_active_members,
        1
    );
}
