use super::*;

fn id(slug: &str) -> CoopId {
    CoopId::new(slug).unwrap()
}

fn coop(slug: &str, members: u64) -> CoopInput {
    CoopInput {
        id: id(slug),
        name: slug.to_uppercase(),
        members,
        merchants: 1,
    }
}

fn put(figures: &mut FiguresByDay, day: u64, slug: &str, row: DayFigures) {
    figures.entry(day).or_default().insert(id(slug), row);
}

fn payments(count: u64, rupiah: u128, cross: u64, cross_rupiah: u128) -> DayFigures {
    DayFigures {
        payments: count,
        payments_rupiah: rupiah,
        cross_payments: cross,
        cross_payments_rupiah: cross_rupiah,
        ..DayFigures::default()
    }
}

#[test]
fn shares_and_growth_are_integer_basis_points() {
    assert_eq!(share_bp(1, 3), Some(3_333));
    assert_eq!(share_bp(5, 5), Some(10_000));
    assert_eq!(share_bp(1, 0), None);
    assert_eq!(growth_bp(150, 100), Some(5_000));
    assert_eq!(growth_bp(50, 100), Some(-5_000));
    assert_eq!(growth_bp(7, 0), None);
    assert_eq!(growth_bp(0, 3), Some(-10_000));
    assert_eq!(wib_date(0), "1970-01-01");
    assert_eq!(wib_date(20_454), "2026-01-01");
    assert_eq!(wib_date(20_513), "2026-03-01");
}

/// Two cooperatives over two windows: `a` doubles its volume and sends
/// half of it across; `b` halves its volume, serves cash-outs for others
/// and grows its membership.
fn two_coops(population: Option<u64>) -> CityIndex {
    let today = 20_500;
    let mut figures = FiguresByDay::new();
    // Recent window: today and 29 days before (today - 29 is inside).
    put(
        &mut figures,
        today,
        "ksp-a",
        payments(4, 400_000, 2, 200_000),
    );
    put(
        &mut figures,
        today - 29,
        "ksp-a",
        DayFigures {
            last_active_members: 3,
            fees_earned_rupiah: 5_000,
            fees_given_rupiah: 1_000,
            ..payments(4, 400_000, 2, 200_000)
        },
    );
    // Previous window: today - 30 ..= today - 59.
    put(
        &mut figures,
        today - 30,
        "ksp-a",
        payments(4, 400_000, 0, 0),
    );
    // Outside both windows: ignored.
    put(
        &mut figures,
        today - 60,
        "ksp-a",
        payments(99, 9_900_000, 99, 9_900_000),
    );
    put(
        &mut figures,
        today - 1,
        "ksp-b",
        DayFigures {
            new_members: 5,
            last_active_members: 2,
            cash_outs_for_others: 3,
            cash_outs_for_others_rupiah: 150_000,
            ..payments(1, 100_000, 0, 0)
        },
    );
    put(
        &mut figures,
        today - 59,
        "ksp-b",
        DayFigures {
            new_members: 1,
            ..payments(2, 200_000, 0, 0)
        },
    );
    // The network pseudo-participant is never a row.
    put(&mut figures, today, "network", payments(1, 1, 1, 1));
    let input = IndexInput {
        height: 9,
        day: today,
        cooperatives: vec![coop("ksp-a", 10), coop("ksp-b", 15), coop("network", 0)],
        figures,
        population,
    };
    compute(&input)
}

fn row<'a>(index: &'a CityIndex, slug: &str) -> &'a CoopRow {
    index.cooperatives.iter().find(|r| r.id == slug).unwrap()
}

#[test]
fn windows_growth_and_cross_cooperative_shares() {
    let index = two_coops(None);
    assert_eq!(index.cooperatives.len(), 2);
    let a = &row(&index, "ksp-a").indicators;
    assert_eq!(a.payments_30d, 8);
    assert_eq!(a.payments_rupiah_30d, 800_000);
    assert_eq!(a.payments_rupiah_prev_30d, 400_000);
    assert_eq!(a.volume_growth_bp, Some(10_000), "doubled");
    assert_eq!(a.cross_payments_30d, 4);
    assert_eq!(a.cross_share_count_bp, Some(5_000));
    assert_eq!(a.cross_share_rupiah_bp, Some(5_000));
    assert_eq!(a.active_members_30d, 3);
    assert_eq!(a.active_share_bp, Some(3_000));
    assert_eq!(a.fee_income_rupiah_30d, 4_000);
    assert_eq!(a.member_growth_bp, Some(0));
    assert_eq!(a.members_per_population_bp, None);

    let b = &row(&index, "ksp-b").indicators;
    assert_eq!(b.volume_growth_bp, Some(-5_000), "halved");
    assert_eq!(b.new_members_30d, 5);
    assert_eq!(b.new_members_prev_30d, 1);
    // 15 members now, 10 before the window's 5 new ones: +50 %.
    assert_eq!(b.member_growth_bp, Some(5_000));
    assert_eq!(b.cash_outs_for_others_30d, 3);
    assert_eq!(b.cash_outs_for_others_rupiah_30d, 150_000);
    assert_eq!(b.cross_share_rupiah_bp, Some(0));

    let city = &index.city;
    assert_eq!(city.members, 25);
    assert_eq!(city.merchants, 2);
    assert_eq!(city.payments_rupiah_30d, 900_000, "network row left out");
    assert_eq!(city.payments_rupiah_prev_30d, 600_000);
    assert_eq!(city.volume_growth_bp, Some(5_000));
    assert_eq!(city.active_members_30d, 5);
    assert_eq!(city.active_share_bp, Some(2_000));
    assert_eq!(city.cross_share_rupiah_bp, Some(4_444));
    assert_eq!(city.cash_outs_for_others_30d, 3);
    assert_eq!(index.definitions.len(), DEFINITIONS.len());
    assert_eq!(index.date, "2026-02-16");
}

#[test]
fn ranking_is_a_borda_count_over_the_ranked_indicators() {
    let index = two_coops(None);
    let a = row(&index, "ksp-a");
    let b = row(&index, "ksp-b");
    // a leads on active share, volume, volume growth and cross share; b
    // on member growth and cash-outs for others.
    assert_eq!(a.ranks["active_share_bp"], 1);
    assert_eq!(a.ranks["payments_rupiah_30d"], 1);
    assert_eq!(a.ranks["volume_growth_bp"], 1);
    assert_eq!(a.ranks["cross_share_rupiah_bp"], 1);
    assert_eq!(b.ranks["member_growth_bp"], 1);
    assert_eq!(b.ranks["cash_outs_for_others_30d"], 1);
    assert_eq!(a.score, 4);
    assert_eq!(b.score, 2);
    assert_eq!((a.rank, b.rank), (1, 2));
    assert_eq!(index.cooperatives[0].id, "ksp-a", "rows in rank order");
    assert_eq!(index.ranked_by.len(), RANKED.len());
}

#[test]
fn equal_values_share_a_place_and_no_value_is_last() {
    let input = IndexInput {
        height: 9,
        day: 100,
        cooperatives: vec![coop("ksp-a", 0), coop("ksp-b", 0), coop("ksp-c", 4)],
        figures: FiguresByDay::new(),
        population: None,
    };
    let index = compute(&input);
    for r in &index.cooperatives {
        // Nobody paid: equal volumes share first place.
        assert_eq!(r.ranks["payments_rupiah_30d"], 1);
    }
    // Active share: c has 0 of 4 (a value), a and b none (no members).
    let c = row(&index, "ksp-c");
    assert_eq!(c.ranks["active_share_bp"], 1);
    assert_eq!(row(&index, "ksp-a").ranks["active_share_bp"], 2);
    assert_eq!(c.rank, 1);
    assert_eq!(row(&index, "ksp-a").rank, 2);
    assert_eq!(row(&index, "ksp-b").rank, 2);
}

#[test]
fn members_per_population_in_basis_points() {
    let index = two_coops(Some(250_000));
    assert_eq!(index.population, Some(250_000));
    // 10 of 250 000 is 0,4 bp: rounded down to 0; the city's 25 is 1 bp.
    assert_eq!(
        row(&index, "ksp-a").indicators.members_per_population_bp,
        Some(0)
    );
    assert_eq!(index.city.members_per_population_bp, Some(1));
    let small = two_coops(Some(100));
    assert_eq!(small.city.members_per_population_bp, Some(2_500));
}

#[test]
fn the_index_round_trips_through_json() {
    let index = two_coops(Some(250_000));
    let text = serde_json::to_string(&index).unwrap();
    let back: CityIndex = serde_json::from_str(&text).unwrap();
    assert_eq!(back, index);
}

#[test]
fn a_population_is_a_positive_whole_number() {
    assert_eq!(parse_population("250000"), Ok(250_000));
    assert_eq!(parse_population("0"), Err(PopulationError::Zero));
    for bad in [
        "",
        "-5",
        "2.5",
        "1e6",
        " 10",
        "abc",
        "99999999999999999999999",
    ] {
        assert!(
            matches!(parse_population(bad), Err(PopulationError::NotANumber(_))),
            "{bad:?}"
        );
    }
    assert_eq!(
        parse_population("2000000000"),
        Err(PopulationError::TooLarge(2_000_000_000))
    );
}
