//! Rupiah amounts as people write them: `25000`, `25.000`, `Rp25.000`,
//! `Rp 25.000` (Indonesian grouping with dots). Printed as `Rp25.000`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error(
        "amount {0:?} is not a whole number of rupiah (use digits, optionally grouped like 25.000)"
    )]
    NotANumber(String),
    #[error("amount {0:?} has misplaced thousands separators (write 25.000 or 25000)")]
    Grouping(String),
    #[error("amount must be more than zero")]
    Zero,
    #[error("amount {0:?} is too large")]
    TooLarge(String),
}

/// Parse a positive rupiah amount.
pub fn parse(text: &str) -> Result<u64, AmountError> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("Rp")
        .or_else(|| trimmed.strip_prefix("rp"))
        .or_else(|| trimmed.strip_prefix("RP"))
        .unwrap_or(trimmed)
        .trim();
    if body.is_empty() {
        return Err(AmountError::Empty);
    }
    if body.starts_with('-') {
        return Err(AmountError::Zero);
    }
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(AmountError::NotANumber(text.to_string()));
    }
    if body.contains('.') {
        let groups: Vec<&str> = body.split('.').collect();
        let first_ok = groups.first().is_some_and(|g| (1..=3).contains(&g.len()));
        let rest_ok = groups.iter().skip(1).all(|g| g.len() == 3);
        if !first_ok || !rest_ok {
            return Err(AmountError::Grouping(text.to_string()));
        }
    }
    let digits: String = body.chars().filter(|c| *c != '.').collect();
    let value: u64 = digits
        .parse()
        .map_err(|_| AmountError::TooLarge(text.to_string()))?;
    if value == 0 {
        return Err(AmountError::Zero);
    }
    Ok(value)
}

/// `Rp25.000`.
pub fn format(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("Rp{out}")
}

/// A signed position, e.g. `-Rp1.500` or `Rp2.000`.
pub fn format_signed(value: i64) -> String {
    if value < 0 {
        format!("-{}", format(value.unsigned_abs()))
    } else {
        format(value.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_indonesian_forms() {
        assert_eq!(parse("25000"), Ok(25_000));
        assert_eq!(parse("25.000"), Ok(25_000));
        assert_eq!(parse("Rp25.000"), Ok(25_000));
        assert_eq!(parse("Rp 1.250.000"), Ok(1_250_000));
        assert_eq!(parse("0"), Err(AmountError::Zero));
        assert_eq!(parse("-5"), Err(AmountError::Zero));
        assert!(matches!(parse("12abc"), Err(AmountError::NotANumber(_))));
        assert!(matches!(parse("25.00"), Err(AmountError::Grouping(_))));
        assert!(matches!(parse("2.5"), Err(AmountError::Grouping(_))));
        assert!(matches!(
            parse("99999999999999999999999"),
            Err(AmountError::TooLarge(_))
        ));
        assert_eq!(parse(""), Err(AmountError::Empty));
    }

    #[test]
    fn formats_with_dots() {
        assert_eq!(format(25_000), "Rp25.000");
        assert_eq!(format(7), "Rp7");
        assert_eq!(format(1_250_000), "Rp1.250.000");
        assert_eq!(format_signed(-1_500), "-Rp1.500");
    }
}
