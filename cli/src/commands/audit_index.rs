//! `kopnet audit index`: the Indeks Kota Koperasi (cooperative city index)
//! of a node (`GET /v1/index`), per cooperative in rank order and for the
//! city, as a table, CSV or the node's JSON. The node computes it from its
//! daily aggregates ([`kopnet_node::city_index`]); this only prints it.

use anyhow::{Context, Result};
use kopnet_node::api::client::Client;
use kopnet_node::city_index::{parse_population, CityIndex, Indicators};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum IndexFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// The node's API URL.
    #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
    pub node: String,
    /// The city's population: adds members per population (basis points).
    /// A positive whole number.
    #[arg(long, value_parser = population)]
    pub population: Option<u64>,
    /// `table` (the default), `csv`, or `json` (also `--output json`: the
    /// node's answer as it is, with every indicator's definition).
    #[arg(long, value_enum)]
    pub format: Option<IndexFormat>,
}

/// clap's parser for `--population`: the node's own rule, its typed error.
fn population(text: &str) -> Result<u64, kopnet_node::city_index::PopulationError> {
    parse_population(text)
}

pub async fn run(args: IndexArgs) -> Result<i32> {
    let format = match (args.format, crate::output::json()) {
        (None, false) => IndexFormat::Table,
        (None | Some(IndexFormat::Json), true) => IndexFormat::Json,
        (Some(_), true) => {
            anyhow::bail!("--format and --output json ask for two formats: give one")
        }
        (Some(format), false) => format,
    };
    let client = Client::new(&args.node);
    let path = match args.population {
        Some(p) => format!("/v1/index?population={p}"),
        None => "/v1/index".to_string(),
    };
    let body = client.get(&path).await?;
    if matches!(format, IndexFormat::Json) {
        crate::output::print_json(&body);
        return Ok(0);
    }
    let index: CityIndex =
        serde_json::from_value(body).context("the node's index is not in the expected form")?;
    match format {
        IndexFormat::Csv => print_csv(&index),
        _ => print_table(&index),
    }
    Ok(0)
}

/// The CSV columns, in order, with each row's values.
const CSV_HEADER: &str = "rank,cooperative,name,score,members,merchants,active_members_30d,\
active_share_bp,new_members_30d,new_members_prev_30d,member_growth_bp,payments_30d,\
payments_rupiah_30d,payments_prev_30d,payments_rupiah_prev_30d,volume_growth_bp,\
cross_payments_30d,cross_payments_rupiah_30d,cross_share_count_bp,cross_share_rupiah_bp,\
fee_income_rupiah_30d,cash_outs_for_others_30d,cash_outs_for_others_rupiah_30d,\
members_per_population_bp";

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_values(i: &Indicators) -> String {
    [
        i.members.to_string(),
        i.merchants.to_string(),
        i.active_members_30d.to_string(),
        opt(i.active_share_bp),
        i.new_members_30d.to_string(),
        i.new_members_prev_30d.to_string(),
        opt(i.member_growth_bp),
        i.payments_30d.to_string(),
        i.payments_rupiah_30d.to_string(),
        i.payments_prev_30d.to_string(),
        i.payments_rupiah_prev_30d.to_string(),
        opt(i.volume_growth_bp),
        i.cross_payments_30d.to_string(),
        i.cross_payments_rupiah_30d.to_string(),
        opt(i.cross_share_count_bp),
        opt(i.cross_share_rupiah_bp),
        i.fee_income_rupiah_30d.to_string(),
        i.cash_outs_for_others_30d.to_string(),
        i.cash_outs_for_others_rupiah_30d.to_string(),
        opt(i.members_per_population_bp),
    ]
    .join(",")
}

/// A CSV field: quoted when it holds a comma or a quote.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn print_csv(index: &CityIndex) {
    say!("{CSV_HEADER}");
    for row in &index.cooperatives {
        say!(
            "{},{},{},{},{}",
            row.rank,
            field(&row.id),
            field(&row.name),
            row.score,
            csv_values(&row.indicators)
        );
    }
    say!(",city,Kota,,{}", csv_values(&index.city));
}

/// `Rp1.250.000` for any rupiah sum, negative ones with a minus.
fn rupiah(value: i128) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}Rp{out}")
}

fn rupiah_u(value: u128) -> String {
    rupiah(i128::try_from(value).unwrap_or(i128::MAX))
}

/// Basis points as a percentage with two decimals (`12,34%`), `-` for none.
fn percent(bp: Option<i128>) -> String {
    match bp {
        None => "-".to_string(),
        Some(bp) => {
            let sign = if bp < 0 { "-" } else { "" };
            let abs = bp.unsigned_abs();
            format!("{sign}{},{:02}%", abs / 100, abs % 100)
        }
    }
}

fn table_cells(rank: String, id: &str, i: &Indicators) -> Vec<String> {
    vec![
        rank,
        id.to_string(),
        i.members.to_string(),
        i.active_members_30d.to_string(),
        percent(i.active_share_bp.map(i128::from)),
        percent(i.member_growth_bp.map(i128::from)),
        i.payments_30d.to_string(),
        rupiah_u(i.payments_rupiah_30d),
        percent(i.volume_growth_bp.map(i128::from)),
        percent(i.cross_share_rupiah_bp.map(i128::from)),
        rupiah(i.fee_income_rupiah_30d),
        i.cash_outs_for_others_30d.to_string(),
        percent(i.members_per_population_bp.map(i128::from)),
    ]
}

const TABLE_HEADER: [&str; 13] = [
    "rank",
    "cooperative",
    "members",
    "active 30d",
    "active",
    "member growth",
    "payments 30d",
    "volume 30d",
    "volume growth",
    "cross-coop (Rp)",
    "fee income 30d",
    "cash-outs for others",
    "members/population",
];

fn print_table(index: &CityIndex) {
    let population = index
        .population
        .map(|p| format!(", population {p}"))
        .unwrap_or_default();
    say!(
        "Indeks Kota Koperasi — {} (WIB), height {}, last {} days{population}",
        index.date,
        index.height,
        index.window_days
    );
    let mut rows: Vec<Vec<String>> = vec![TABLE_HEADER.iter().map(|h| h.to_string()).collect()];
    for row in &index.cooperatives {
        rows.push(table_cells(row.rank.to_string(), &row.id, &row.indicators));
    }
    rows.push(table_cells(String::new(), "city", &index.city));
    let columns = TABLE_HEADER.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, width))| {
                if c == 1 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        say!("{}", line.join("  ").trim_end());
    }
    say!();
    say!(
        "Ranking: {} Ranked by: {}.",
        index.ranking_rule,
        index.ranked_by.join(", ")
    );
    say!("Scores: {}", scores(index));
    say!("Percentages are basis points / 100; every indicator is defined in `kopnet audit index --format json` (definitions) and on the explorer's page.");
}

fn scores(index: &CityIndex) -> String {
    index
        .cooperatives
        .iter()
        .map(|r| format!("{} {}", r.id, r.score))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_basis_points_print_the_indonesian_way() {
        assert_eq!(rupiah(1_250_000), "Rp1.250.000");
        assert_eq!(rupiah(-1_500), "-Rp1.500");
        assert_eq!(rupiah(0), "Rp0");
        assert_eq!(percent(Some(1_234)), "12,34%");
        assert_eq!(percent(Some(-5_000)), "-50,00%");
        assert_eq!(percent(Some(5)), "0,05%");
        assert_eq!(percent(None), "-");
        assert_eq!(
            field("KSP \"Maju\", Bersama"),
            "\"KSP \"\"Maju\"\", Bersama\""
        );
    }

    #[test]
    fn a_bad_population_is_refused_by_the_argument_parser() {
        use clap::Parser;
        let parse = |pop: &str| {
            let arg = format!("--population={pop}");
            crate::commands::Cli::try_parse_from(["kopnet", "audit", "index", arg.as_str()])
        };
        assert!(parse("250000").is_ok());
        for bad in ["0", "-3", "2,5", "lots"] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains("population"), "{bad}: {error}");
        }
    }
}
