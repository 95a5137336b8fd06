//! The Indeks Kota Koperasi (cooperative city index): per cooperative and
//! for the city, how many members it has and uses the network, how its
//! business grows, how much of it crosses cooperatives, what it earns and
//! what it serves for other cooperatives' members — computed from the
//! ledger's daily aggregates ([`kopnet_ledger::ledger::daily_figures`]) and
//! the committed view's member counts, never by walking blocks.
//!
//! Pure: [`compute`] takes the figures and returns the index, so every
//! rule (windows, growth, shares, ranking, population ratio) is unit
//! tested here; `GET /v1/index` ([`crate::api`]) and `kopnet audit index`
//! only read and print it. Integers only: shares and growth in basis
//! points (1 % = 100 bp), rupiah as integers; no floats in the JSON.
//!
//! The index answers for the WIB day of the last committed block (block
//! time, not the node's clock), so every node with the same blocks gives
//! the same index.

use kopnet_ledger::ledger::daily_figures::{DayFigures, FiguresByDay};
use kopnet_ledger::types::CoopId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days in each window: the last 30 days (the answer's day included) and
/// the 30 before them, which growth compares against.
pub const WINDOW_DAYS: u64 = 30;
/// Largest population accepted (Indonesia has about 280 million people; a
/// city index far above that is a typo).
pub const POPULATION_MAX: u64 = 1_000_000_000;
/// Basis points in a whole.
const BP: i128 = 10_000;

/// A cooperative as the index needs it from the committed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoopInput {
    pub id: CoopId,
    pub name: String,
    /// Member accounts (kind `member`) homed here now.
    pub members: u64,
    /// Merchant accounts homed here now.
    pub merchants: u64,
}

/// What the index is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInput {
    /// The committed height the figures are read at.
    pub height: u64,
    /// The WIB day the index answers for (that of the last block).
    pub day: u64,
    /// The cooperatives to rank (the `network` pseudo-participant left out).
    pub cooperatives: Vec<CoopInput>,
    /// Daily figures of (at least) days `day - 59 ..= day`.
    pub figures: FiguresByDay,
    /// The city's population, when given.
    pub population: Option<u64>,
}

/// The indicators of one cooperative, or of the city (every cooperative
/// summed). Field names carry their unit; every definition is in
/// [`DEFINITIONS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicators {
    pub members: u64,
    pub merchants: u64,
    pub active_members_30d: u64,
    pub active_share_bp: Option<u64>,
    pub new_members_30d: u64,
    pub new_members_prev_30d: u64,
    pub member_growth_bp: Option<i64>,
    pub payments_30d: u64,
    pub payments_rupiah_30d: u128,
    pub payments_prev_30d: u64,
    pub payments_rupiah_prev_30d: u128,
    pub volume_growth_bp: Option<i64>,
    pub cross_payments_30d: u64,
    pub cross_payments_rupiah_30d: u128,
    pub cross_share_count_bp: Option<u64>,
    pub cross_share_rupiah_bp: Option<u64>,
    pub fee_income_rupiah_30d: i128,
    pub cash_outs_for_others_30d: u64,
    pub cash_outs_for_others_rupiah_30d: u128,
    pub members_per_population_bp: Option<u64>,
}

/// One cooperative's row: its indicators, its place per ranked indicator
/// and its composite score and rank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoopRow {
    pub id: String,
    pub name: String,
    pub indicators: Indicators,
    /// Place (1 = best) per ranked indicator ([`RANKED`]).
    pub ranks: BTreeMap<String, u32>,
    /// Composite score: Σ over the ranked indicators of
    /// (cooperatives − place).
    pub score: u64,
    /// Place by score (1 = best; equal scores share a place).
    pub rank: u32,
}

/// What an indicator means, for the page and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub field: String,
    pub title: String,
    pub definition: String,
}

/// The index: cooperatives in rank order, the city, the definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CityIndex {
    /// The committed height answered for.
    pub height: u64,
    /// The WIB day answered for (days since 1970-01-01 WIB).
    pub day: u64,
    /// Its date, `YYYY-MM-DD` (WIB).
    pub date: String,
    pub window_days: u64,
    pub population: Option<u64>,
    pub cooperatives: Vec<CoopRow>,
    pub city: Indicators,
    /// The indicators the composite ranking uses, in order.
    pub ranked_by: Vec<String>,
    /// How the ranking is made.
    pub ranking_rule: String,
    pub definitions: Vec<Definition>,
}

/// The indicators that make the composite score (all: higher is better).
pub const RANKED: [&str; 6] = [
    "active_share_bp",
    "member_growth_bp",
    "payments_rupiah_30d",
    "volume_growth_bp",
    "cross_share_rupiah_bp",
    "cash_outs_for_others_30d",
];

/// How the ranking is made (shown with it).
pub const RANKING_RULE: &str = "Each cooperative is placed on each ranked indicator \
(1 = highest; equal values share a place; no value, e.g. growth from nothing, is last). \
Its score is the sum over the ranked indicators of (number of cooperatives - place), \
a Borda count: every indicator weighs the same, and one outlier cannot dominate. \
Cooperatives are ranked by score; equal scores share a place.";

/// Every indicator's definition: (field, title, definition).
pub const DEFINITIONS: [(&str, &str, &str); 20] = [
    ("members", "Anggota (members)", "Member accounts (kind member) homed at the cooperative now."),
    ("merchants", "Merchant", "Merchant accounts homed at the cooperative now."),
    ("active_members_30d", "Anggota aktif 30 hari", "Distinct member accounts that signed at least one successful transaction (any kind) in the last 30 days (WIB)."),
    ("active_share_bp", "Porsi aktif", "Active members / members, in basis points (10000 = all)."),
    ("new_members_30d", "Anggota baru 30 hari", "Member accounts registered with this home in the last 30 days."),
    ("new_members_prev_30d", "Anggota baru 30 hari sebelumnya", "Member accounts registered with this home in the 30 days before those."),
    ("member_growth_bp", "Pertumbuhan anggota", "Growth of membership over the last 30 days: new members / members 30 days ago (members - new members), in basis points; none when there were no members."),
    ("payments_30d", "Transaksi 30 hari", "Successful payments (Payment, PayRequest) whose payer is homed here, last 30 days."),
    ("payments_rupiah_30d", "Volume 30 hari (Rp)", "Rupiah of those payments, last 30 days."),
    ("payments_prev_30d", "Transaksi 30 hari sebelumnya", "Payments whose payer is homed here in the 30 days before."),
    ("payments_rupiah_prev_30d", "Volume 30 hari sebelumnya (Rp)", "Rupiah of those payments in the 30 days before."),
    ("volume_growth_bp", "Pertumbuhan volume", "(Volume last 30 days - volume the 30 days before) / volume the 30 days before, in basis points (may be negative); none when the earlier volume was 0."),
    ("cross_payments_30d", "Transaksi lintas koperasi", "Payments whose payer is homed here and payee at another cooperative, last 30 days."),
    ("cross_payments_rupiah_30d", "Volume lintas koperasi (Rp)", "Rupiah of those cross-cooperative payments."),
    ("cross_share_count_bp", "Konsolidasi pasar (jumlah)", "Market consolidation by count: cross-cooperative payments / payments, in basis points."),
    ("cross_share_rupiah_bp", "Konsolidasi pasar (Rp)", "Market consolidation by value: cross-cooperative rupiah / payment rupiah, in basis points."),
    ("fee_income_rupiah_30d", "Pendapatan fee 30 hari (Rp)", "Net change of the cooperative's fee account from fees over the last 30 days: fee shares earned less fees it paid and shares refunds gave back."),
    ("cash_outs_for_others_30d", "Tarik tunai untuk anggota lain", "Cash-outs at this cooperative's counter by members of other cooperatives, last 30 days: service without new branches."),
    ("cash_outs_for_others_rupiah_30d", "Tarik tunai untuk anggota lain (Rp)", "Rupiah of those cash-outs."),
    ("members_per_population_bp", "Anggota per penduduk", "Members / the city's population, in basis points (100 bp = 1 %); only when a population is given."),
];

/// Why a population given to the index is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopulationError {
    #[error("population must be a whole number of people (digits only), not {0:?}")]
    NotANumber(String),
    #[error("population must be positive")]
    Zero,
    #[error("population {0} is above the largest accepted, {max}", max = POPULATION_MAX)]
    TooLarge(u64),
}

/// Parse a population: a positive whole number up to [`POPULATION_MAX`].
pub fn parse_population(text: &str) -> Result<u64, PopulationError> {
    let shown = || text.chars().take(40).collect::<String>();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PopulationError::NotANumber(shown()));
    }
    let value: u64 = text
        .parse()
        .map_err(|_| PopulationError::NotANumber(shown()))?;
    match value {
        0 => Err(PopulationError::Zero),
        v if v > POPULATION_MAX => Err(PopulationError::TooLarge(v)),
        v => Ok(v),
    }
}

/// Compute the index.
pub fn compute(input: &IndexInput) -> CityIndex {
    let last = input.day;
    let recent_first = last.saturating_sub(WINDOW_DAYS - 1);
    let prev_last = recent_first.checked_sub(1);
    let prev_first = recent_first.saturating_sub(WINDOW_DAYS);
    let window = |coop: Option<&CoopId>, first: u64, last: Option<u64>| {
        let mut sum = DayFigures::default();
        let Some(last) = last.filter(|l| *l >= first) else {
            return sum;
        };
        for (_, coops) in input.figures.range(first..=last) {
            for (id, figures) in coops {
                if coop.is_none_or(|c| c == id) {
                    sum.add(figures);
                }
            }
        }
        sum
    };
    let mut rows: Vec<CoopRow> = input
        .cooperatives
        .iter()
        .filter(|c| !c.id.is_network())
        .map(|c| {
            let recent = window(Some(&c.id), recent_first, Some(last));
            let prev = window(Some(&c.id), prev_first, prev_last);
            CoopRow {
                id: c.id.to_string(),
                name: c.name.clone(),
                indicators: indicators(c.members, c.merchants, &recent, &prev, input.population),
                ranks: BTreeMap::new(),
                score: 0,
                rank: 0,
            }
        })
        .collect();
    let members = rows.iter().map(|r| r.indicators.members).sum();
    let merchants = rows.iter().map(|r| r.indicators.merchants).sum();
    let ids: Vec<CoopId> = input
        .cooperatives
        .iter()
        .filter(|c| !c.id.is_network())
        .map(|c| c.id.clone())
        .collect();
    let city_window = |first: u64, last: Option<u64>| {
        let mut sum = DayFigures::default();
        for id in &ids {
            sum.add(&window(Some(id), first, last));
        }
        sum
    };
    let city = indicators(
        members,
        merchants,
        &city_window(recent_first, Some(last)),
        &city_window(prev_first, prev_last),
        input.population,
    );
    rank(&mut rows);
    CityIndex {
        height: input.height,
        day: last,
        date: wib_date(last),
        window_days: WINDOW_DAYS,
        population: input.population,
        cooperatives: rows,
        city,
        ranked_by: RANKED.iter().map(|s| (*s).to_string()).collect(),
        ranking_rule: RANKING_RULE.to_string(),
        definitions: DEFINITIONS
            .iter()
            .map(|(field, title, definition)| Definition {
                field: (*field).to_string(),
                title: (*title).to_string(),
                definition: (*definition).to_string(),
            })
            .collect(),
    }
}

/// The indicators from a window's sums and the one before it.
fn indicators(
    members: u64,
    merchants: u64,
    recent: &DayFigures,
    prev: &DayFigures,
    population: Option<u64>,
) -> Indicators {
    let fee_income = i128::try_from(recent.fees_earned_rupiah)
        .unwrap_or(i128::MAX)
        .saturating_sub(i128::try_from(recent.fees_given_rupiah).unwrap_or(i128::MAX));
    Indicators {
        members,
        merchants,
        active_members_30d: recent.last_active_members,
        active_share_bp: share_bp(u128::from(recent.last_active_members), u128::from(members)),
        new_members_30d: recent.new_members,
        new_members_prev_30d: prev.new_members,
        member_growth_bp: growth_bp(
            u128::from(members),
            u128::from(members.saturating_sub(recent.new_members)),
        ),
        payments_30d: recent.payments,
        payments_rupiah_30d: recent.payments_rupiah,
        payments_prev_30d: prev.payments,
        payments_rupiah_prev_30d: prev.payments_rupiah,
        volume_growth_bp: growth_bp(recent.payments_rupiah, prev.payments_rupiah),
        cross_payments_30d: recent.cross_payments,
        cross_payments_rupiah_30d: recent.cross_payments_rupiah,
        cross_share_count_bp: share_bp(
            u128::from(recent.cross_payments),
            u128::from(recent.payments),
        ),
        cross_share_rupiah_bp: share_bp(recent.cross_payments_rupiah, recent.payments_rupiah),
        fee_income_rupiah_30d: fee_income,
        cash_outs_for_others_30d: recent.cash_outs_for_others,
        cash_outs_for_others_rupiah_30d: recent.cash_outs_for_others_rupiah,
        members_per_population_bp: population
            .and_then(|p| share_bp(u128::from(members), u128::from(p))),
    }
}

/// `part / whole` in basis points, rounded down; `None` when `whole` is 0.
pub fn share_bp(part: u128, whole: u128) -> Option<u64> {
    if whole == 0 {
        return None;
    }
    let bp = part.checked_mul(BP as u128)? / whole;
    u64::try_from(bp).ok()
}

/// `(now - before) / before` in basis points, rounded toward zero;
/// `None` when `before` is 0 (growth from nothing has no ratio).
pub fn growth_bp(now: u128, before: u128) -> Option<i64> {
    if before == 0 {
        return None;
    }
    let now = i128::try_from(now).ok()?;
    let before = i128::try_from(before).ok()?;
    let bp = now.checked_sub(before)?.checked_mul(BP)? / before;
    Some(i64::try_from(bp).unwrap_or(if bp > 0 { i64::MAX } else { i64::MIN }))
}

/// An indicator's value for ranking (`None`: no value, placed last).
fn ranked_value(row: &Indicators, field: &str) -> Option<i128> {
    match field {
        "active_share_bp" => row.active_share_bp.map(i128::from),
        "member_growth_bp" => row.member_growth_bp.map(i128::from),
        "payments_rupiah_30d" => i128::try_from(row.payments_rupiah_30d).ok(),
        "volume_growth_bp" => row.volume_growth_bp.map(i128::from),
        "cross_share_rupiah_bp" => row.cross_share_rupiah_bp.map(i128::from),
        "cash_outs_for_others_30d" => Some(i128::from(row.cash_outs_for_others_30d)),
        _ => None,
    }
}

/// Place every row on each ranked indicator, score it, and sort the rows
/// by rank (then id).
fn rank(rows: &mut [CoopRow]) {
    let n = u64::try_from(rows.len()).unwrap_or(u64::MAX);
    for field in RANKED {
        let values: Vec<Option<i128>> = rows
            .iter()
            .map(|r| ranked_value(&r.indicators, field))
            .collect();
        for (row, value) in rows.iter_mut().zip(&values) {
            let place = place_of(*value, &values);
            row.ranks.insert(field.to_string(), place);
            row.score = row.score.saturating_add(n.saturating_sub(u64::from(place)));
        }
    }
    let scores: Vec<Option<i128>> = rows.iter().map(|r| Some(i128::from(r.score))).collect();
    for (row, score) in rows.iter_mut().zip(&scores) {
        row.rank = place_of(*score, &scores);
    }
    rows.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.id.cmp(&b.id)));
}

/// 1 + how many values are strictly better than `value` (`None` is worse
/// than any value; all `None` share the place after the values).
fn place_of(value: Option<i128>, all: &[Option<i128>]) -> u32 {
    let better = all.iter().filter(|other| **other > value).count();
    u32::try_from(better).unwrap_or(u32::MAX).saturating_add(1)
}

/// `YYYY-MM-DD` of WIB day `day` (days since 1970-01-01), by the civil
/// calendar (Howard Hinnant's days-to-civil).
pub fn wib_date(day: u64) -> String {
    let z = i64::try_from(day).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests;
