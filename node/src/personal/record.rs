//! One member's personal data as its home cooperative keeps it, and the
//! checks on what a cooperative or teller may write.

use super::phone::{Phone, PhoneError};
use serde::{Deserialize, Serialize};

/// Most characters of a member's name.
pub const NAME_CHARS_MAX: usize = 80;
/// Digits of an Indonesian identity number (NIK).
pub const NIK_DIGITS: usize = 16;

/// Why a record's fields were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("name is empty")]
    EmptyName,
    #[error("name is longer than {NAME_CHARS_MAX} characters")]
    NameTooLong,
    #[error("name may not hold control characters")]
    NameControlCharacter,
    #[error("phone: {0}")]
    Phone(#[from] PhoneError),
    #[error("an identity number (NIK) is exactly {NIK_DIGITS} digits")]
    BadNik,
}

/// A member's personal data: what `PUT /v1/directory/members/{address}`
/// writes, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub name: String,
    pub phone: Option<Phone>,
    /// The identity number, 16 digits.
    pub nik: Option<String>,
    /// When the phone number was linked (ms since the Unix epoch, this
    /// node's clock); `None` without a phone.
    pub linked_at_ms: Option<u64>,
    /// When the record was last written (ms since the Unix epoch).
    pub updated_at_ms: u64,
}

/// A name as written: trimmed, inner runs of spaces kept as they are.
pub fn check_name(name: &str) -> Result<String, RecordError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RecordError::EmptyName);
    }
    if name.chars().count() > NAME_CHARS_MAX {
        return Err(RecordError::NameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(RecordError::NameControlCharacter);
    }
    Ok(name.to_string())
}

/// An identity number: exactly [`NIK_DIGITS`] ASCII digits (spaces ignored).
pub fn check_nik(nik: &str) -> Result<String, RecordError> {
    if nik.len() > NIK_DIGITS * 2 {
        return Err(RecordError::BadNik);
    }
    let digits: String = nik.chars().filter(|c| *c != ' ').collect();
    if digits.len() == NIK_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(RecordError::BadNik)
    }
}

/// The stored form (JSON in the node's personal store). Fields are the
/// checked ones; a record that no longer decodes is a store error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredRecord {
    pub name: String,
    pub phone: Option<String>,
    pub nik: Option<String>,
    pub linked_at_ms: Option<u64>,
    pub updated_at_ms: u64,
}

impl From<&MemberRecord> for StoredRecord {
    fn from(r: &MemberRecord) -> Self {
        StoredRecord {
            name: r.name.clone(),
            phone: r.phone.as_ref().map(|p| p.as_str().to_string()),
            nik: r.nik.clone(),
            linked_at_ms: r.linked_at_ms,
            updated_at_ms: r.updated_at_ms,
        }
    }
}

impl TryFrom<StoredRecord> for MemberRecord {
    type Error = RecordError;
    fn try_from(s: StoredRecord) -> Result<Self, RecordError> {
        Ok(MemberRecord {
            name: check_name(&s.name)?,
            phone: s.phone.as_deref().map(Phone::parse).transpose()?,
            nik: s.nik.as_deref().map(check_nik).transpose()?,
            linked_at_ms: s.linked_at_ms,
            updated_at_ms: s.updated_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_identity_numbers_are_checked() {
        assert_eq!(check_name("  Sri Wahyuni ").unwrap(), "Sri Wahyuni");
        assert_eq!(check_name(" "), Err(RecordError::EmptyName));
        assert_eq!(check_name(&"a".repeat(81)), Err(RecordError::NameTooLong));
        assert_eq!(check_name("Sri\nW"), Err(RecordError::NameControlCharacter));
        assert_eq!(
            check_nik("3174 0123 4567 8901").unwrap(),
            "3174012345678901"
        );
        assert_eq!(check_nik("317401234567890"), Err(RecordError::BadNik));
        assert_eq!(check_nik("317401234567890x"), Err(RecordError::BadNik));
        assert_eq!(check_nik(&"1".repeat(100)), Err(RecordError::BadNik));
    }
}
