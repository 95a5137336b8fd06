//! The report's period: two calendar days in WIB (UTC+7, the ledger's
//! calendar), both included, at most [`PERIOD_DAYS_MAX`] days; and the
//! integer date arithmetic that names days (no clock, no floats).

use kopnet_ledger::tellers::WIB_OFFSET_MS;

/// Milliseconds in a day.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// The longest period one report covers: a quarter (92 days), so that a
/// report walks a bounded number of blocks.
pub const PERIOD_DAYS_MAX: u64 = 92;

/// A report period: `[start_ms, end_ms)` of block time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first WIB day (days since 1970-01-01 WIB).
    pub first_day: u64,
    /// The last WIB day, included.
    pub last_day: u64,
}

/// Why a period is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{0:?} is not a date: write YYYY-MM-DD, e.g. 2026-12-06")]
    BadDate(String),
    #[error("the period ends before it starts")]
    Reversed,
    #[error("a report covers at most {PERIOD_DAYS_MAX} days")]
    TooLong,
}

impl Period {
    /// The period from `from` to `to` (`YYYY-MM-DD`, both included).
    pub fn parse(from: &str, to: &str) -> Result<Period, PeriodError> {
        let first_day = parse_day(from)?;
        let last_day = parse_day(to)?;
        if last_day < first_day {
            return Err(PeriodError::Reversed);
        }
        if last_day - first_day >= PERIOD_DAYS_MAX {
            return Err(PeriodError::TooLong);
        }
        Ok(Period {
            first_day,
            last_day,
        })
    }

    /// The first millisecond of the period (00:00 WIB of its first day).
    pub fn start_ms(&self) -> u64 {
        day_start_ms(self.first_day)
    }

    /// The first millisecond after the period.
    pub fn end_ms(&self) -> u64 {
        day_start_ms(self.last_day.saturating_add(1))
    }

    /// Whether block time `time_ms` is in the period.
    pub fn contains(&self, time_ms: u64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&time_ms)
    }
}

/// 00:00 WIB of WIB day `day`, in ms since the Unix epoch.
pub fn day_start_ms(day: u64) -> u64 {
    day.saturating_mul(DAY_MS).saturating_sub(WIB_OFFSET_MS)
}

/// The WIB day of a block time.
pub fn wib_day(time_ms: u64) -> u64 {
    kopnet_ledger::tellers::wib_day(time_ms)
}

/// The WIB month of a block time, as `YYYY-MM`.
pub fn month_name(time_ms: u64) -> String {
    let (y, m, _) = civil_from_days(wib_day(time_ms));
    format!("{y:04}-{m:02}")
}

/// `YYYY-MM-DD` of a WIB day.
pub fn day_name(day: u64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The WIB day of `YYYY-MM-DD` (years 1970 to 9999).
pub fn parse_day(text: &str) -> Result<u64, PeriodError> {
    let bad = || PeriodError::BadDate(text.chars().take(32).collect());
    let mut parts = text.trim().split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let number = |s: &str, len: usize| -> Option<u64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4), number(m, 2), number(d, 2)) else {
        return Err(bad());
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d))
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date from 1970 on (H. Hinnant's algorithm,
/// shifted so that every quantity stays unsigned).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// The date of a day since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days.saturating_add(719_468);
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_wib_midnight_is_17_utc() {
        assert_eq!(parse_day("1970-01-01"), Ok(0));
        assert_eq!(
            parse_day("2026-12-06").map(day_name),
            Ok("2026-12-06".into())
        );
        assert_eq!(
            parse_day("2028-02-29").map(day_name),
            Ok("2028-02-29".into())
        );
        for day in [0, 59, 365, 10_000, 20_793, 2_932_896] {
            let name = day_name(day);
            assert_eq!(parse_day(&name), Ok(day), "{name}");
        }
        // 2026-12-06 00:00 WIB = 2026-12-05 17:00 UTC.
        let day = parse_day("2026-12-06").unwrap();
        assert_eq!(day_start_ms(day), 1_796_490_000_000);
        assert_eq!(wib_day(day_start_ms(day)), day);
        assert_eq!(wib_day(day_start_ms(day) - 1), day - 1);
    }

    #[test]
    fn bad_dates_and_periods_are_refused() {
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026-2-01",
            "26-12-06",
            "2026-12-06-1",
            "x",
        ] {
            assert!(
                matches!(parse_day(bad), Err(PeriodError::BadDate(_))),
                "{bad}"
            );
        }
        assert_eq!(
            Period::parse("2026-12-06", "2026-12-05"),
            Err(PeriodError::Reversed)
        );
        // 92 days (31 + 28 + 31 + 2) is the most.
        assert_eq!(
            Period::parse("2026-01-01", "2026-04-03"),
            Err(PeriodError::TooLong)
        );
        let p = Period::parse("2026-01-01", "2026-04-02").unwrap();
        assert_eq!(p.last_day - p.first_day + 1, PERIOD_DAYS_MAX);
        assert!(p.contains(p.start_ms()) && !p.contains(p.end_ms()));
    }
}
