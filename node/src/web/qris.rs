//! Payment-request QR payloads in the EMVCo merchant-presented format that
//! Indonesia's QRIS is built on: `ID LEN VALUE` fields (two-digit id, two-digit
//! length), ending in a CRC-16/CCITT-FALSE over everything up to and including
//! `"6304"`.
//!
//! kopnet's own merchant-account template is tag **26** with sub-tag `00` =
//! `"ID.KOPNET"` (the globally unique identifier) and `01` = the payee's
//! `kop…` address. Other fields: `00` payload format `"01"`, `01` point of
//! initiation (`"11"` static, `"12"` dynamic: with an amount), `52` merchant
//! category code, `53` currency `"360"` (IDR), `54` amount in whole rupiah
//! (optional), `58` country `"ID"`, `59` merchant name, `60` city, `62`
//! additional data with sub-tag `05` reference label, `63` CRC.
//!
//! The parser takes untrusted text (a scanned code) and never panics: every
//! problem is a [`QrisError`]. The wallet has the same encoder/parser in
//! `node/web/qris.js`; both are checked against `node/web/test/vectors.json`.

use kopnet_consensus::PublicKey;
use std::collections::BTreeMap;

/// kopnet's globally unique identifier in the merchant-account template.
pub const KOPNET_GUI: &str = "ID.KOPNET";
/// The merchant-account template tag kopnet uses.
pub const KOPNET_TEMPLATE_TAG: &str = "26";
/// Longest payload accepted by the parser (EMVCo allows 512).
pub const PAYLOAD_LEN_MAX: usize = 512;
/// Longest merchant name (EMVCo field 59).
pub const NAME_LEN_MAX: usize = 25;
/// Longest city (EMVCo field 60).
pub const CITY_LEN_MAX: usize = 15;
/// Longest reference label (field 62, sub-tag 05).
pub const REFERENCE_LEN_MAX: usize = 25;
/// Largest amount in the 13-character amount field.
pub const AMOUNT_MAX: u64 = 9_999_999_999_999;

/// A kopnet payment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The payee's address (`kop…`).
    pub to: String,
    /// Whole rupiah; `None` for a static code where the payer types the amount.
    pub amount: Option<u64>,
    /// Merchant name (1–25 characters).
    pub name: String,
    /// City (1–15 characters).
    pub city: String,
    /// Merchant category code, four digits.
    pub mcc: String,
    /// Optional reference label (bill or order number).
    pub reference: Option<String>,
}

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrisError {
    #[error("payload is empty or longer than {PAYLOAD_LEN_MAX} characters")]
    BadLength,
    #[error("payload contains characters outside printable ASCII")]
    BadCharacter,
    #[error("field at offset {0} is truncated")]
    Truncated(usize),
    #[error("field id or length at offset {0} is not two digits")]
    BadHeader(usize),
    #[error("field {0} appears twice")]
    DuplicateField(String),
    #[error("payload must end with the CRC field 63 (length 04)")]
    MissingCrc,
    #[error("checksum mismatch: payload says {found}, content gives {expected}")]
    BadCrc { expected: String, found: String },
    #[error("field {0} is missing")]
    MissingField(&'static str),
    #[error("field {tag} is invalid: {why}")]
    BadField {
        tag: &'static str,
        why: &'static str,
    },
    #[error("not a kopnet payment code (no ID.KOPNET merchant account)")]
    NotKopnet,
    #[error("the payee address is invalid: {0}")]
    BadAddress(String),
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for byte in data {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn tlv(out: &mut String, tag: &str, value: &str) {
    out.push_str(tag);
    out.push_str(&format!("{:02}", value.len()));
    out.push_str(value);
}

fn printable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

fn check_text(tag: &'static str, text: &str, max: usize) -> Result<(), QrisError> {
    if text.is_empty() || text.len() > max {
        return Err(QrisError::BadField {
            tag,
            why: "empty or too long",
        });
    }
    if !printable(text) {
        return Err(QrisError::BadField {
            tag,
            why: "not printable ASCII",
        });
    }
    Ok(())
}

impl PaymentRequest {
    /// Check the fields an encoder must respect.
    pub fn validate(&self) -> Result<(), QrisError> {
        PublicKey::from_address(&self.to).map_err(|e| QrisError::BadAddress(e.to_string()))?;
        check_text("59", &self.name, NAME_LEN_MAX)?;
        check_text("60", &self.city, CITY_LEN_MAX)?;
        if self.mcc.len() != 4 || !self.mcc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QrisError::BadField {
                tag: "52",
                why: "merchant category code must be four digits",
            });
        }
        if let Some(amount) = self.amount {
            if amount == 0 || amount > AMOUNT_MAX {
                return Err(QrisError::BadField {
                    tag: "54",
                    why: "amount must be 1..9999999999999",
                });
            }
        }
        if let Some(reference) = &self.reference {
            check_text("62", reference, REFERENCE_LEN_MAX)?;
        }
        Ok(())
    }

    /// The payload text, CRC included.
    pub fn encode(&self) -> Result<String, QrisError> {
        self.validate()?;
        let mut out = String::new();
        tlv(&mut out, "00", "01");
        tlv(
            &mut out,
            "01",
            if self.amount.is_some() { "12" } else { "11" },
        );
        let mut account = String::new();
        tlv(&mut account, "00", KOPNET_GUI);
        tlv(&mut account, "01", &self.to);
        tlv(&mut out, KOPNET_TEMPLATE_TAG, &account);
        tlv(&mut out, "52", &self.mcc);
        tlv(&mut out, "53", "360");
        if let Some(amount) = self.amount {
            tlv(&mut out, "54", &amount.to_string());
        }
        tlv(&mut out, "58", "ID");
        tlv(&mut out, "59", &self.name);
        tlv(&mut out, "60", &self.city);
        if let Some(reference) = &self.reference {
            let mut extra = String::new();
            tlv(&mut extra, "05", reference);
            tlv(&mut out, "62", &extra);
        }
        out.push_str("6304");
        let crc = crc16(out.as_bytes());
        out.push_str(&format!("{crc:04X}"));
        Ok(out)
    }

    /// Parse and check a scanned payload.
    pub fn parse(payload: &str) -> Result<PaymentRequest, QrisError> {
        let payload = payload.trim();
        if payload.is_empty() || payload.len() > PAYLOAD_LEN_MAX {
            return Err(QrisError::BadLength);
        }
        if !printable(payload) {
            return Err(QrisError::BadCharacter);
        }
        // The CRC field is the last 8 characters: "6304" + 4 hex digits.
        let split = payload.len().checked_sub(4).ok_or(QrisError::MissingCrc)?;
        let (body, found) = payload.split_at(split);
        if !body.ends_with("6304") {
            return Err(QrisError::MissingCrc);
        }
        let expected = format!("{:04X}", crc16(body.as_bytes()));
        if !found.eq_ignore_ascii_case(&expected) {
            return Err(QrisError::BadCrc {
                expected,
                found: found.to_string(),
            });
        }
        let fields = parse_tlv(body.get(..body.len() - 4).unwrap_or(""), 0)?;
        if fields.first().map(|(t, v)| (t.as_str(), v.as_str())) != Some(("00", "01")) {
            return Err(QrisError::BadField {
                tag: "00",
                why: "payload format indicator must come first and be 01",
            });
        }
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        for (tag, value) in fields {
            if map.insert(tag.clone(), value).is_some() {
                return Err(QrisError::DuplicateField(tag));
            }
        }
        let get = |tag: &'static str| map.get(tag).ok_or(QrisError::MissingField(tag));
        // Merchant-account templates are tags 26..=51; find kopnet's.
        let mut to = None;
        for tag in 26..=51 {
            if let Some(value) = map.get(&tag.to_string()) {
                let sub = parse_tlv(value, 0)?;
                let gui = sub.iter().find(|(t, _)| t == "00").map(|(_, v)| v.as_str());
                if gui.is_some_and(|g| g.eq_ignore_ascii_case(KOPNET_GUI)) {
                    to = sub.into_iter().find(|(t, _)| t == "01").map(|(_, v)| v);
                    break;
                }
            }
        }
        let to = to.ok_or(QrisError::NotKopnet)?;
        PublicKey::from_address(&to).map_err(|e| QrisError::BadAddress(e.to_string()))?;
        if get("53")? != "360" {
            return Err(QrisError::BadField {
                tag: "53",
                why: "currency must be 360 (rupiah)",
            });
        }
        let mcc = get("52")?.clone();
        let name = get("59")?.clone();
        let city = get("60")?.clone();
        get("58")?;
        let amount = match map.get("54") {
            None => None,
            Some(text) => Some(parse_amount(text)?),
        };
        let reference = match map.get("62") {
            None => None,
            Some(extra) => parse_tlv(extra, 0)?
                .into_iter()
                .find(|(t, _)| t == "05")
                .map(|(_, v)| v),
        };
        let request = PaymentRequest {
            to,
            amount,
            name,
            city,
            mcc,
            reference,
        };
        request.validate()?;
        Ok(request)
    }
}

/// Whole rupiah; a decimal part is accepted only if it is zero (`"25000.00"`).
fn parse_amount(text: &str) -> Result<u64, QrisError> {
    let bad = QrisError::BadField {
        tag: "54",
        why: "amount must be whole rupiah",
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 13
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b == b'0')
    {
        return Err(bad);
    }
    let amount: u64 = whole.parse().map_err(|_| bad.clone())?;
    if amount == 0 {
        return Err(bad);
    }
    Ok(amount)
}

/// Split `text` into `(id, value)` fields; `base` is the offset for errors.
fn parse_tlv(text: &str, base: usize) -> Result<Vec<(String, String)>, QrisError> {
    let bytes = text.as_bytes();
    let mut fields = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 4)
            .ok_or(QrisError::Truncated(base + at))?;
        if !header.iter().all(u8::is_ascii_digit) {
            return Err(QrisError::BadHeader(base + at));
        }
        let tag = String::from_utf8_lossy(&header[..2]).into_owned();
        let len = usize::from(header[2] - b'0') * 10 + usize::from(header[3] - b'0');
        let value = bytes
            .get(at + 4..at + 4 + len)
            .ok_or(QrisError::Truncated(base + at))?;
        if len == 0 {
            return Err(QrisError::BadHeader(base + at));
        }
        fields.push((tag, String::from_utf8_lossy(value).into_owned()));
        at += 4 + len;
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::testkit::key_for;

    fn merchant() -> String {
        key_for("warung-bu-sri").public().to_address()
    }

    fn request(amount: Option<u64>, reference: Option<&str>) -> PaymentRequest {
        PaymentRequest {
            to: merchant(),
            amount,
            name: "Warung Bu Sri".into(),
            city: "Yogyakarta".into(),
            mcc: "5812".into(),
            reference: reference.map(str::to_string),
        }
    }

    /// Fixed vectors: if these change, every printed QR code changes.
    pub(crate) const DYNAMIC_VECTOR: &str = "00020101021226690009ID.KOPNET0152kopHfJPBss4gqyofdv4NgFiujy5zmfb6YzifMzTZDZNJWh8MYRqv5204581253033605405250005802ID5913Warung Bu Sri6010Yogyakarta62110507INV-0426304124B";
    pub(crate) const STATIC_VECTOR: &str = "00020101021126690009ID.KOPNET0152kopHfJPBss4gqyofdv4NgFiujy5zmfb6YzifMzTZDZNJWh8MYRqv5204581253033605802ID5913Warung Bu Sri6010Yogyakarta630463A2";

    #[test]
    fn crc_check_value() {
        // The catalogue check value of CRC-16/CCITT-FALSE.
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn fixed_vectors() {
        assert_eq!(
            request(Some(25_000), Some("INV-042")).encode().unwrap(),
            DYNAMIC_VECTOR
        );
        assert_eq!(request(None, None).encode().unwrap(), STATIC_VECTOR);
    }

    #[test]
    fn round_trips() {
        for r in [
            request(Some(25_000), Some("INV-042")),
            request(None, None),
            request(Some(1), None),
            request(Some(AMOUNT_MAX), Some("x")),
        ] {
            let payload = r.encode().unwrap();
            assert_eq!(PaymentRequest::parse(&payload).unwrap(), r);
        }
    }

    #[test]
    fn bad_crc_rejected() {
        let mut payload = DYNAMIC_VECTOR.to_string();
        payload.replace_range(payload.len() - 4.., "0000");
        assert!(matches!(
            PaymentRequest::parse(&payload),
            Err(QrisError::BadCrc { .. })
        ));
        // A changed amount with the old CRC is refused too.
        let tampered = DYNAMIC_VECTOR.replace("540525000", "540595000");
        assert!(matches!(
            PaymentRequest::parse(&tampered),
            Err(QrisError::BadCrc { .. })
        ));
    }

    fn with_crc(body: &str) -> String {
        let body = format!("{body}6304");
        format!("{body}{:04X}", crc16(body.as_bytes()))
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "BadLength"),
            ("x".repeat(600), "BadLength"),
            ("0002016304ÿÿÿÿ".into(), "BadCharacter"),
            ("000201".into(), "MissingCrc"),
            (with_crc("000201010211"), "NotKopnet"),
            (with_crc("0002010102"), "Truncated"),
            (with_crc("0002010X0211"), "BadHeader"),
            (with_crc("000201000201"), "DuplicateField"),
            (with_crc("000202"), "BadField"),
            (
                with_crc("00020126290009ID.KOPNET0112kopNotAnAddr"),
                "BadAddress",
            ),
            (
                with_crc(&format!(
                    "00020126690009ID.KOPNET0152{}52045812530336",
                    merchant()
                )),
                "Truncated",
            ),
            (
                with_crc(&format!(
                    "00020126690009ID.KOPNET0152{}520458125303840",
                    merchant()
                )),
                "BadField",
            ),
            (
                with_crc(&format!(
                    "00020126690009ID.KOPNET0152{}52045812530336054030.55802ID5901A6001B",
                    merchant()
                )),
                "BadField",
            ),
            (
                with_crc(&format!(
                    "00020126690009ID.KOPNET0152{}520458125303360",
                    merchant()
                )),
                "MissingField",
            ),
        ];
        for (payload, want) in cases {
            let got = PaymentRequest::parse(&payload);
            let name = format!("{got:?}");
            assert!(
                name.starts_with(&format!("Err({want}")),
                "{payload:?}: got {name}, want {want}"
            );
        }
    }

    #[test]
    fn decimal_zero_amount_accepted_and_other_templates_skipped() {
        // Another scheme's template at 27 before kopnet's at 28.
        let payload = with_crc(&format!(
            "00020101021227130009ID.CO.XYZ28690009ID.KOPNET0152{}52045812530336054072500.005802ID5901A6001B",
            merchant()
        ));
        let parsed = PaymentRequest::parse(&payload).unwrap();
        assert_eq!(parsed.amount, Some(2500));
        assert_eq!(parsed.to, merchant());
    }

    /// Every truncation and every single-character change of a valid payload,
    /// with the CRC fixed up so parsing goes past the checksum, gives a value
    /// or a typed error, never a panic.
    #[test]
    fn mangled_payloads_never_panic() {
        let body = &DYNAMIC_VECTOR[..DYNAMIC_VECTOR.len() - 8];
        let replacements = ['0', '9', 'Z', ' ', '.', '~'];
        let mut seen_ok = 0;
        for cut in 0..=body.len() {
            let _ = PaymentRequest::parse(&body[..cut]);
            if PaymentRequest::parse(&with_crc(&body[..cut])).is_ok() {
                seen_ok += 1;
            }
        }
        for at in 0..body.len() {
            for r in replacements {
                let mut mangled = body.to_string();
                mangled.replace_range(at..at + 1, &r.to_string());
                let _ = PaymentRequest::parse(&mangled);
                let _ = PaymentRequest::parse(&with_crc(&mangled));
            }
        }
        assert!(seen_ok >= 1, "the untouched body parses");
    }

    #[test]
    fn encoder_refuses_bad_fields() {
        let mut r = request(Some(0), None);
        assert!(r.encode().is_err());
        r.amount = None;
        r.name = "N".repeat(26);
        assert!(r.encode().is_err());
        r.name = "ok".into();
        r.mcc = "58a2".into();
        assert!(r.encode().is_err());
        r.mcc = "5812".into();
        r.to = "kop111".into();
        assert!(matches!(r.encode(), Err(QrisError::BadAddress(_))));
    }
}
