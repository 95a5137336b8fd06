//! Indonesian mobile numbers, normalised to E.164 (`+628…`).
//!
//! Accepted spellings: `08…` (national), `628…` and `+628…`, with spaces,
//! dashes, dots and parentheses ignored. The subscriber part after `8` is
//! 7 to 11 digits, so a normalised number is `+628` and 7..=11 digits
//! (12 to 16 characters). Anything else is a [`PhoneError`].

use std::fmt;

/// Most characters a phone number may arrive with (separators included).
pub const PHONE_INPUT_CHARS_MAX: usize = 32;
/// Fewest digits after `+628`.
pub const SUBSCRIBER_DIGITS_MIN: usize = 7;
/// Most digits after `+628`.
pub const SUBSCRIBER_DIGITS_MAX: usize = 11;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number is longer than {PHONE_INPUT_CHARS_MAX} characters")]
    TooLong,
    #[error(
        "phone number may hold only digits, a leading +, spaces, dashes, dots and parentheses"
    )]
    BadCharacter,
    #[error("not an Indonesian mobile number: write 08…, 628… or +628…")]
    NotIndonesianMobile,
    #[error(
        "a mobile number has {SUBSCRIBER_DIGITS_MIN} to {SUBSCRIBER_DIGITS_MAX} digits after 08"
    )]
    BadLength,
}

/// A normalised Indonesian mobile number (`+628…`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parse and normalise `text`.
    pub fn parse(text: &str) -> Result<Phone, PhoneError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PhoneError::Empty);
        }
        if text.chars().count() > PHONE_INPUT_CHARS_MAX {
            return Err(PhoneError::TooLong);
        }
        let (plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneError::BadCharacter),
            }
        }
        let subscriber = if plus {
            digits.strip_prefix("628")
        } else if let Some(national) = digits.strip_prefix("08") {
            Some(national)
        } else {
            digits.strip_prefix("628")
        }
        .ok_or(PhoneError::NotIndonesianMobile)?;
        if !(SUBSCRIBER_DIGITS_MIN..=SUBSCRIBER_DIGITS_MAX).contains(&subscriber.len()) {
            return Err(PhoneError::BadLength);
        }
        Ok(Phone(format!("+628{subscriber}")))
    }

    /// The E.164 form, `+628…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a log line may show of the number: its last three digits
    /// (`…123`), never the whole number.
    pub fn log_tail(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

/// Debug shows only the tail, so a stray `{:?}` cannot log a number.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.log_tail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings_are_one_number() {
        for text in [
            "081234567890",
            "6281234567890",
            "+6281234567890",
            "+62 812-3456-7890",
            "(0812) 3456.7890",
        ] {
            assert_eq!(
                Phone::parse(text).unwrap().as_str(),
                "+6281234567890",
                "{text}"
            );
        }
    }

    #[test]
    fn bad_numbers_get_their_reason() {
        assert_eq!(Phone::parse("  "), Err(PhoneError::Empty));
        assert_eq!(
            Phone::parse("0812345678901234567890123456789012"),
            Err(PhoneError::TooLong)
        );
        assert_eq!(Phone::parse("0812a4567890"), Err(PhoneError::BadCharacter));
        assert_eq!(
            Phone::parse("+6591234567"),
            Err(PhoneError::NotIndonesianMobile)
        );
        assert_eq!(
            Phone::parse("0212345678"),
            Err(PhoneError::NotIndonesianMobile)
        );
        assert_eq!(
            Phone::parse("+08123456789"),
            Err(PhoneError::NotIndonesianMobile)
        );
        assert_eq!(Phone::parse("0812345"), Err(PhoneError::BadLength));
        assert_eq!(Phone::parse("08123456789012"), Err(PhoneError::BadLength));
        assert!(Phone::parse("081234567").is_ok());
        assert!(Phone::parse("0812345678901").is_ok());
    }

    #[test]
    fn logs_and_debug_show_only_the_tail() {
        let phone = Phone::parse("081234567890").unwrap();
        assert_eq!(phone.log_tail(), "…890");
        assert_eq!(format!("{phone:?}"), "Phone(…890)");
    }
}
