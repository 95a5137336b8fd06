//! A bulk payout file (`kopnet coop payout --file`): what a cooperative's
//! office writes when it pays many members at once — the year-end surplus
//! share (SHU), angkot drivers' wages, social aid.
//!
//! **Format**: UTF-8 text, one line per payment, fields separated by commas:
//!
//! ```text
//! # SHU 2026, approved by the members' meeting of 12 December
//! address,amount,reference
//! kop3xK...,250.000,SHU 2026
//! kop9aB...,Rp1.250.000,SHU 2026
//! ```
//!
//! * `address`: the member's account (`kop...`);
//! * `amount`: whole rupiah as people write them (`250000`, `250.000`,
//!   `Rp250.000`; never a comma);
//! * `reference` (optional, at most 64 bytes, may contain commas): what
//!   the member's history shows; when left out, the file's name and the
//!   line number.
//!
//! Blank lines and lines starting with `#` are skipped; a first line
//! starting with `address` is the header. At most [`PAYOUT_LINES_MAX`]
//! payment lines and [`PAYOUT_FILE_BYTES_MAX`] bytes.
//!
//! **Checked before anything is signed**, each bad line with its reason
//! ([`LineError`]): the address, the amount, the reference's length, and a
//! member named twice (paid once per file; the second line is refused, so
//! a copy-paste slip cannot pay someone twice). The good lines go on; the
//! ledger then applies or refuses each one with its own code (a tier's
//! balance cap or monthly limit, a frozen account, the net debit cap).
//!
//! **Sending a file again pays nobody twice** (within the ledger's
//! idempotency window, 24 to 48 hours): each line's idempotency id is
//! derived from the file's exact bytes and the line number
//! ([`line_idempotency_id`]), so a line already paid is refused
//! `duplicate` and only the lines that failed are tried again. An edited
//! file is a new file.

use crate::amount;
use kopnet_consensus::{Hash, PublicKey};
use kopnet_ledger::payouts::PAYOUT_REFERENCE_BYTES_MAX;
use std::collections::BTreeMap;

/// Most payment lines in one file.
pub const PAYOUT_LINES_MAX: usize = 10_000;
/// Largest file, in bytes.
pub const PAYOUT_FILE_BYTES_MAX: usize = 4 * 1024 * 1024;

const LINE_ID_CONTEXT: &str = "kopnet 2026 payout line idempotency v1";

/// One payment line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutLine {
    /// The line's number in the file (1-based).
    pub line: usize,
    pub member: PublicKey,
    pub amount: u64,
    pub reference: String,
}

/// Why a line of the file cannot be paid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("expected address,amount[,reference]")]
    MissingField,
    #[error("invalid address {0:?}")]
    BadAddress(String),
    #[error("{0}")]
    BadAmount(String),
    #[error("reference longer than {PAYOUT_REFERENCE_BYTES_MAX} bytes")]
    ReferenceTooLong,
    #[error("the member is already paid on line {0} of this file")]
    DuplicateMember(usize),
}

/// A line that cannot be paid, with its number and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub text: String,
    pub error: LineError,
}

/// Why the file as a whole cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is larger than {PAYOUT_FILE_BYTES_MAX} bytes")]
    TooLarge,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("the file has more than {PAYOUT_LINES_MAX} payment lines")]
    TooManyLines,
    #[error("the file has no payment lines")]
    Empty,
}

/// The file, read: its good lines and its bad ones, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutFile {
    pub lines: Vec<PayoutLine>,
    pub bad: Vec<BadLine>,
    /// The digest of the file's exact bytes (names it in the report).
    pub digest: Hash,
}

/// Read a payout file's bytes; `name` (the file's name) makes the default
/// references.
pub fn parse(bytes: &[u8], name: &str) -> Result<PayoutFile, FileError> {
    if bytes.len() > PAYOUT_FILE_BYTES_MAX {
        return Err(FileError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::NotText)?;
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let mut first_line_of: BTreeMap<PublicKey, usize> = BTreeMap::new();
    let mut seen_content = false;
    for (index, raw) in text.lines().enumerate() {
        let number = index.saturating_add(1);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !seen_content && trimmed.to_ascii_lowercase().starts_with("address") {
            seen_content = true;
            continue;
        }
        seen_content = true;
        if lines.len().saturating_add(bad.len()) >= PAYOUT_LINES_MAX {
            return Err(FileError::TooManyLines);
        }
        match parse_line(trimmed, number, name) {
            Ok(line) => match first_line_of.get(&line.member) {
                Some(first) => bad.push(BadLine {
                    line: number,
                    text: trimmed.to_string(),
                    error: LineError::DuplicateMember(*first),
                }),
                None => {
                    first_line_of.insert(line.member, number);
                    lines.push(line);
                }
            },
            Err(error) => bad.push(BadLine {
                line: number,
                text: trimmed.to_string(),
                error,
            }),
        }
    }
    if lines.is_empty() && bad.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(PayoutFile {
        lines,
        bad,
        digest: Hash::digest(LINE_ID_CONTEXT, bytes),
    })
}

fn parse_line(text: &str, number: usize, name: &str) -> Result<PayoutLine, LineError> {
    let mut fields = text.splitn(3, ',');
    let address = fields.next().map(str::trim).unwrap_or_default();
    let amount_text = fields
        .next()
        .map(str::trim)
        .ok_or(LineError::MissingField)?;
    if address.is_empty() || amount_text.is_empty() {
        return Err(LineError::MissingField);
    }
    let member = PublicKey::from_address(address)
        .map_err(|_| LineError::BadAddress(address.chars().take(64).collect()))?;
    let amount = amount::parse(amount_text).map_err(|e| LineError::BadAmount(e.to_string()))?;
    let reference = match fields.next().map(str::trim) {
        Some(reference) if !reference.is_empty() => reference.to_string(),
        _ => default_reference(name, number),
    };
    if reference.len() > PAYOUT_REFERENCE_BYTES_MAX {
        return Err(LineError::ReferenceTooLong);
    }
    Ok(PayoutLine {
        line: number,
        member,
        amount,
        reference,
    })
}

/// `NAME line N`, the name cut so that it fits the reference's bound.
fn default_reference(name: &str, number: usize) -> String {
    let suffix = format!(" line {number}");
    let room = PAYOUT_REFERENCE_BYTES_MAX.saturating_sub(suffix.len());
    let mut cut = name.to_string();
    while cut.len() > room {
        cut.pop();
    }
    format!("{cut}{suffix}")
}

/// The idempotency id of line `line` of the file with digest `digest`.
pub fn line_idempotency_id(digest: &Hash, line: usize) -> [u8; 16] {
    let number = u64::try_from(line).unwrap_or(u64::MAX).to_be_bytes();
    let id = Hash::digest_parts(LINE_ID_CONTEXT, &[&digest.0, &number]);
    let mut out = [0; 16];
    out.copy_from_slice(id.0.get(..16).unwrap_or(&[0; 16]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_consensus::Keypair;

    fn address(seed: u8) -> String {
        Keypair::from_seed([seed; 32]).public().to_address()
    }

    #[test]
    fn good_and_bad_lines_are_told_apart_with_their_reasons() {
        let (a, b, c) = (address(1), address(2), address(3));
        let text = format!(
            "# SHU 2026\n\
             address,amount,reference\n\
             {a},250.000,SHU 2026, koperasi angkot\n\
             \n\
             {b},Rp1.250.000\n\
             kopNOTANADDRESS,1000,x\n\
             {c},12,5\n\
             {c},0,zero\n\
             {a},5000,again\n\
             {b}\n\
             {c},100,{long}\n",
            long = "x".repeat(65)
        );
        let file = parse(text.as_bytes(), "shu-2026.csv").unwrap();
        let good: Vec<(usize, u64, &str)> = file
            .lines
            .iter()
            .map(|l| (l.line, l.amount, l.reference.as_str()))
            .collect();
        assert_eq!(
            good,
            [
                (3, 250_000, "SHU 2026, koperasi angkot"),
                (5, 1_250_000, "shu-2026.csv line 5"),
                // "12,5" is Rp 12 with reference "5": a comma is never a
                // decimal mark.
                (7, 12, "5"),
            ]
        );
        let errors: Vec<(usize, LineError)> =
            file.bad.iter().map(|b| (b.line, b.error.clone())).collect();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(matches!(errors[0], (6, LineError::BadAddress(_))));
        assert!(matches!(errors[1], (8, LineError::BadAmount(_))));
        assert_eq!(errors[2], (9, LineError::DuplicateMember(3)));
        assert_eq!(errors[3], (10, LineError::MissingField));
        assert_eq!(errors[4], (11, LineError::ReferenceTooLong));
    }

    #[test]
    fn the_same_file_gives_the_same_ids_and_another_file_other_ids() {
        let text = format!("{},1000\n{},2000\n", address(1), address(2));
        let first = parse(text.as_bytes(), "a.csv").unwrap();
        let again = parse(text.as_bytes(), "a.csv").unwrap();
        let edited = parse(format!("{text}\n# edited").as_bytes(), "a.csv").unwrap();
        let id = |f: &PayoutFile, line| line_idempotency_id(&f.digest, line);
        assert_eq!(id(&first, 1), id(&again, 1));
        assert_ne!(id(&first, 1), id(&first, 2));
        assert_ne!(id(&first, 1), id(&edited, 1));
    }

    #[test]
    fn files_out_of_bounds_are_refused_whole() {
        assert_eq!(parse(b"", "x").unwrap_err(), FileError::Empty);
        assert_eq!(parse(b"# only\n\n", "x").unwrap_err(), FileError::Empty);
        assert_eq!(parse(&[0xff, 0xfe], "x").unwrap_err(), FileError::NotText);
        let big = vec![b'#'; PAYOUT_FILE_BYTES_MAX + 1];
        assert_eq!(parse(&big, "x").unwrap_err(), FileError::TooLarge);
        let many = format!("{},1\n", address(1)).repeat(PAYOUT_LINES_MAX + 1);
        assert_eq!(
            parse(many.as_bytes(), "x").unwrap_err(),
            FileError::TooManyLines
        );
        let name = "n".repeat(100);
        let file = parse(format!("{},1\n", address(1)).as_bytes(), &name).unwrap();
        assert!(file.lines[0].reference.len() <= PAYOUT_REFERENCE_BYTES_MAX);
        assert!(file.lines[0].reference.ends_with(" line 1"));
    }
}
