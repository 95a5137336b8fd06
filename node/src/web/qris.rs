//! Payment-request QR payloads in the EMVCo merchant-presented format that
//! Indonesia's QRIS is built on: `ID LEN VALUE` fields (two-digit id, two-digit
//! length), ending in a CRC-16/CCITT-FALSE over everything up to and including
//! `"6304"`.
//!
//! kopnet's own merchant-account template is tag **26** with sub-tag `00` =
//! `"ID.KOPNET"` (the globally unique identifier) and the payee: either
//! `01` = its `kop…` address, or `02` = the phone number it linked at its
//! home cooperative (the **phone alias**, written `+628…`), which the
//! payer's wallet resolves through its own node's directory
//! (`POST /v1/directory/lookup`, a masked name shown before paying). A
//! phone alias is personal data the member chose to print; the ledger
//! never sees it (the payment names the resolved address). Other fields: `00` payload format `"01"`, `01` point of
//! initiation (`"11"` static, `"12"` dynamic: with an amount), `52` merchant
//! category code, `53` currency `"360"` (IDR), `54` amount in whole rupiah
//! (optional), `58` country `"ID"`, `59` merchant name, `60` city, `62`
//! additional data with sub-tag `05` reference label, `63` CRC.
//!
//! The parser takes untrusted text (a scanned code) and never panics: every
//! problem is a [`QrisError`]. The wallet has the same encoder/parser in
//! `node/web/qris.js`; both are checked against `node/web/test/vectors.json`,
//! and both must give the same verdict on every entry of the fuzzing corpus
//! (`fuzz/corpus/qris/`, replayed through the JavaScript from
//! `node/web/test/qris-corpus.json`; see `FUZZING.md`).
//!
//! ## The parsing rules (the JavaScript follows the same steps in order)
//!
//! 1. Trim ASCII whitespace (space, tab, CR, LF, form feed) at both ends.
//! 2. Every character must be printable ASCII (`0x20..=0x7E`), else
//!    `bad_character`; then the length must be 1..=512, else `bad_length`.
//! 3. The payload must end with `"6304"` and four hex digits (`missing_crc`)
//!    that equal the CRC of everything before them (`bad_crc`, any case).
//! 4. The fields before the CRC field are split as `ID LEN VALUE`
//!    (`truncated`, `bad_header` for non-digits or a zero length); an id
//!    that appears twice is refused (`duplicate_field`), and so is a CRC
//!    field `63` before the last one (`duplicate_field` 63: two checksums,
//!    one of them covering less than the whole code). The first field
//!    must be `00` = `"01"` (`bad_field` 00).
//! 5. Every merchant-account template present (26..=51, in order) is split
//!    the same way, duplicate sub-tags refused (`duplicate_field` `26.01`).
//!    Exactly one may carry `00` = `ID.KOPNET` (any case): none is
//!    `not_kopnet`, two is `duplicate_field` `ID.KOPNET` (two payees in one
//!    code is a conflict, never a choice). Its payee is its `01`
//!    (address) or its `02` (phone alias): neither is `not_kopnet`, both
//!    is `conflicting_field` `ID.KOPNET` (two payees again). An address
//!    must be valid and written exactly as the address encoder writes it
//!    (`bad_address`); a phone alias exactly as the directory normalises
//!    numbers, `+628` and 7 to 11 digits (`bad_phone`): one payee, one
//!    spelling.
//! 6. Fields 52, 53, 58, 59, 60 must be present, checked in that order
//!    (`missing_field`); then 53 must be `360`, 52 four digits, 59 at most
//!    25 characters, 60 at most 15 (`bad_field`).
//! 7. 54 (optional): 1 to 13 digits, an optional `.` and zeros only, not
//!    zero (`bad_field` 54).
//! 8. 62 (optional) is split like a template (duplicates refused); its `05`
//!    is the reference, at most 25 characters (`bad_field` 62).
//! 9. 01 (point of initiation, optional) must be `11` (static) or `12`
//!    (dynamic) (`bad_field` 01), and agree with 54: a static code has no
//!    amount, a dynamic one has one (`conflicting_field` 01). A code that
//!    says both "the payer types the amount" and "the amount is fixed"
//!    leaves the payer unsure what the merchant asked for.
//! 10. 64 (merchant information in another language, optional) is split
//!     like a template (duplicates refused); its `01` (name) and `02`
//!     (city), when present, must equal 59 and 60 (`conflicting_field`
//!     `64.01`, `64.02`): one code names one payee, never a second name
//!     that some wallet might show instead.
//!
//! Other fields are not interpreted.

use kopnet_consensus::PublicKey;

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
/// The phone alias's prefix: Indonesian mobile numbers in E.164.
pub const PHONE_PREFIX: &str = "+628";
/// Fewest and most digits after [`PHONE_PREFIX`] (as the directory's
/// `personal::Phone`).
pub const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 7..=11;

/// Who a payment request names as the payee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payee {
    /// The payee's address (`kop…`), sub-tag `01`.
    Address(String),
    /// The phone number the payee linked at its home cooperative, `+628…`
    /// (sub-tag `02`): the payer's wallet looks it up before paying.
    Phone(String),
}

impl Payee {
    /// The address, when the code names one.
    pub fn address(&self) -> Option<&str> {
        match self {
            Payee::Address(address) => Some(address),
            Payee::Phone(_) => None,
        }
    }

    /// The phone alias, when the code names one.
    pub fn phone(&self) -> Option<&str> {
        match self {
            Payee::Phone(phone) => Some(phone),
            Payee::Address(_) => None,
        }
    }

    /// The template's sub-tag and value.
    fn field(&self) -> (&'static str, &str) {
        match self {
            Payee::Address(address) => ("01", address),
            Payee::Phone(phone) => ("02", phone),
        }
    }

    fn check(&self) -> Result<(), QrisError> {
        match self {
            Payee::Address(address) => check_address(address),
            Payee::Phone(phone) => check_phone(phone),
        }
    }
}

/// A kopnet payment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The payee: an address, or a phone alias.
    pub payee: Payee,
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
    #[error("field id or length at offset {0} is not two digits, or the length is zero")]
    BadHeader(usize),
    /// A field id twice at one level (`"54"`), a sub-tag twice in a
    /// template (`"26.01"`), or two kopnet merchant accounts
    /// (`"ID.KOPNET"`).
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
    /// A phone alias not written `+628` and 7 to 11 digits.
    #[error("the payee phone number must be written +628 and 7 to 11 digits")]
    BadPhone,
    /// Two fields that contradict each other (`"01"`: the point of
    /// initiation and the amount; `"64.01"`: a second merchant name;
    /// `"ID.KOPNET"`: an address and a phone alias, two payees).
    #[error("field {0} contradicts another field")]
    ConflictingField(&'static str),
}

impl QrisError {
    /// The error's name as the wallet's JavaScript parser reports it
    /// (`QrisError.kind` in `node/web/qris.js`).
    pub fn kind(&self) -> &'static str {
        match self {
            QrisError::BadLength => "bad_length",
            QrisError::BadCharacter => "bad_character",
            QrisError::Truncated(_) => "truncated",
            QrisError::BadHeader(_) => "bad_header",
            QrisError::DuplicateField(_) => "duplicate_field",
            QrisError::MissingCrc => "missing_crc",
            QrisError::BadCrc { .. } => "bad_crc",
            QrisError::MissingField(_) => "missing_field",
            QrisError::BadField { .. } => "bad_field",
            QrisError::NotKopnet => "not_kopnet",
            QrisError::BadAddress(_) => "bad_address",
            QrisError::BadPhone => "bad_phone",
            QrisError::ConflictingField(_) => "conflicting_field",
        }
    }

    /// The field the error names, as the JavaScript parser's `detail`
    /// (`"54"`, `"26.01"`, `"ID.KOPNET"`), if it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            QrisError::DuplicateField(tag) => Some(tag),
            QrisError::MissingField(tag)
            | QrisError::BadField { tag, .. }
            | QrisError::ConflictingField(tag) => Some(tag),
            _ => None,
        }
    }
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

/// `body` followed by the CRC field: `"6304"` and the CRC of
/// `body + "6304"` in four upper-case hex digits.
pub fn with_crc(body: &str) -> String {
    let mut out = format!("{body}6304");
    let crc = crc16(out.as_bytes());
    out.push_str(&format!("{crc:04X}"));
    out
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

/// A valid address, written exactly as [`PublicKey::to_address`] writes it
/// (no spaces around it): one payee has one spelling.
fn check_address(to: &str) -> Result<(), QrisError> {
    let key = PublicKey::from_address(to).map_err(|e| QrisError::BadAddress(e.to_string()))?;
    if key.to_address() != to {
        return Err(QrisError::BadAddress("not in canonical form".into()));
    }
    Ok(())
}

/// A phone alias written exactly as the directory writes a number
/// (`personal::Phone::as_str`): `+628` and 7 to 11 digits.
fn check_phone(phone: &str) -> Result<(), QrisError> {
    let digits = phone
        .strip_prefix(PHONE_PREFIX)
        .ok_or(QrisError::BadPhone)?;
    if !PHONE_DIGITS.contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QrisError::BadPhone);
    }
    Ok(())
}

fn check_mcc(mcc: &str) -> Result<(), QrisError> {
    if mcc.len() != 4 || !mcc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QrisError::BadField {
            tag: "52",
            why: "merchant category code must be four digits",
        });
    }
    Ok(())
}

impl PaymentRequest {
    /// Check the fields an encoder must respect. Everything
    /// [`PaymentRequest::parse`] returns passes it.
    pub fn validate(&self) -> Result<(), QrisError> {
        self.payee.check()?;
        check_text("59", &self.name, NAME_LEN_MAX)?;
        check_text("60", &self.city, CITY_LEN_MAX)?;
        check_mcc(&self.mcc)?;
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

    /// The request as JSON, as the wallet's parser returns it: `to` (the
    /// address) or `phone` (the alias), the other `null`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "to": self.payee.address(), "phone": self.payee.phone(),
            "amount": self.amount, "name": self.name, "city": self.city,
            "mcc": self.mcc, "reference": self.reference,
        })
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
        let (sub_tag, payee) = self.payee.field();
        tlv(&mut account, sub_tag, payee);
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
        Ok(with_crc(&out))
    }

    /// Parse and check a scanned payload, by the rules in the module docs.
    pub fn parse(payload: &str) -> Result<PaymentRequest, QrisError> {
        let payload = payload.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'));
        if !printable(payload) {
            return Err(QrisError::BadCharacter);
        }
        if payload.is_empty() || payload.len() > PAYLOAD_LEN_MAX {
            return Err(QrisError::BadLength);
        }
        // The CRC field is the last 8 characters: "6304" + 4 hex digits.
        let (body, found) = payload.split_at(payload.len().saturating_sub(4));
        if payload.len() < 8 || !body.ends_with("6304") {
            return Err(QrisError::MissingCrc);
        }
        let expected = format!("{:04X}", crc16(body.as_bytes()));
        if !found.eq_ignore_ascii_case(&expected) {
            return Err(QrisError::BadCrc {
                expected,
                found: found.to_string(),
            });
        }
        let fields = Fields::parse(body.get(..body.len() - 4).unwrap_or(""), None, 0)?;
        if fields.get("63").is_some() {
            return Err(QrisError::DuplicateField("63".into()));
        }
        if fields.list.first().map(|(t, v)| (t.as_str(), v.as_str())) != Some(("00", "01")) {
            return Err(QrisError::BadField {
                tag: "00",
                why: "payload format indicator must come first and be 01",
            });
        }
        let payee = kopnet_payee(&fields)?;
        payee.check()?;
        for tag in ["52", "53", "58", "59", "60"] {
            fields.get(tag).ok_or(QrisError::MissingField(tag))?;
        }
        let get = |tag: &'static str| fields.get(tag).unwrap_or_default().to_string();
        if get("53") != "360" {
            return Err(QrisError::BadField {
                tag: "53",
                why: "currency must be 360 (rupiah)",
            });
        }
        let (mcc, name, city) = (get("52"), get("59"), get("60"));
        check_mcc(&mcc)?;
        check_text("59", &name, NAME_LEN_MAX)?;
        check_text("60", &city, CITY_LEN_MAX)?;
        let amount = fields.get("54").map(parse_amount).transpose()?;
        let reference = match fields.find("62") {
            None => None,
            Some((extra, at)) => Fields::parse(extra, Some("62"), at)?
                .get("05")
                .map(str::to_string),
        };
        if let Some(reference) = &reference {
            check_text("62", reference, REFERENCE_LEN_MAX)?;
        }
        check_initiation(fields.get("01"), amount)?;
        if let Some((language, at)) = fields.find("64") {
            let language = Fields::parse(language, Some("64"), at)?;
            if language.get("01").is_some_and(|n| n != name) {
                return Err(QrisError::ConflictingField("64.01"));
            }
            if language.get("02").is_some_and(|c| c != city) {
                return Err(QrisError::ConflictingField("64.02"));
            }
        }
        Ok(PaymentRequest {
            payee,
            amount,
            name,
            city,
            mcc,
            reference,
        })
    }
}

/// The payee of the one kopnet merchant-account template among 26..=51:
/// its address (`01`) or its phone alias (`02`), exactly one.
fn kopnet_payee(fields: &Fields) -> Result<Payee, QrisError> {
    let mut found: Option<Fields> = None;
    for tag in 26..=51u8 {
        let tag = tag.to_string();
        let Some((value, at)) = fields.find(&tag) else {
            continue;
        };
        let sub = Fields::parse(value, Some(&tag), at)?;
        if !sub
            .get("00")
            .is_some_and(|g| g.eq_ignore_ascii_case(KOPNET_GUI))
        {
            continue;
        }
        if found.is_some() {
            return Err(QrisError::DuplicateField(KOPNET_GUI.into()));
        }
        found = Some(sub);
    }
    let sub = found.ok_or(QrisError::NotKopnet)?;
    match (sub.get("01"), sub.get("02")) {
        (Some(_), Some(_)) => Err(QrisError::ConflictingField(KOPNET_GUI)),
        (Some(address), None) => Ok(Payee::Address(address.to_string())),
        (None, Some(phone)) => Ok(Payee::Phone(phone.to_string())),
        (None, None) => Err(QrisError::NotKopnet),
    }
}

/// Rule 9: the point of initiation, if present, is static without an
/// amount or dynamic with one.
fn check_initiation(initiation: Option<&str>, amount: Option<u64>) -> Result<(), QrisError> {
    match (initiation, amount) {
        (None, _) | (Some("11"), None) | (Some("12"), Some(_)) => Ok(()),
        (Some("11" | "12"), _) => Err(QrisError::ConflictingField("01")),
        (Some(_), _) => Err(QrisError::BadField {
            tag: "01",
            why: "point of initiation must be 11 (static) or 12 (dynamic)",
        }),
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

/// The `ID LEN VALUE` fields of one level, in order, each id once, with
/// the offset of each value in the payload (for errors).
struct Fields {
    list: Vec<(String, String)>,
    offsets: Vec<usize>,
}

impl Fields {
    /// Split `text`, found at offset `base` of the payload, inside the
    /// template `parent` (for naming duplicates: `"26.01"`).
    fn parse(text: &str, parent: Option<&str>, base: usize) -> Result<Fields, QrisError> {
        let bytes = text.as_bytes();
        let mut fields = Fields {
            list: Vec::new(),
            offsets: Vec::new(),
        };
        let mut at = 0usize;
        while at < bytes.len() {
            let header = bytes
                .get(at..at.saturating_add(4))
                .ok_or(QrisError::Truncated(base + at))?;
            let [t0, t1, l0, l1] = *header else {
                return Err(QrisError::Truncated(base + at));
            };
            if !header.iter().all(u8::is_ascii_digit) {
                return Err(QrisError::BadHeader(base + at));
            }
            let len = usize::from(l0 - b'0') * 10 + usize::from(l1 - b'0');
            if len == 0 {
                return Err(QrisError::BadHeader(base + at));
            }
            let start = at + 4;
            let value = text
                .get(start..start + len)
                .ok_or(QrisError::Truncated(base + at))?;
            let tag = String::from_utf8_lossy(&[t0, t1]).into_owned();
            if fields.get(&tag).is_some() {
                return Err(QrisError::DuplicateField(match parent {
                    Some(parent) => format!("{parent}.{tag}"),
                    None => tag,
                }));
            }
            fields.list.push((tag, value.to_string()));
            fields.offsets.push(base + start);
            at = start + len;
        }
        Ok(fields)
    }

    fn get(&self, tag: &str) -> Option<&str> {
        self.find(tag).map(|(value, _)| value)
    }

    /// The value of `tag` with its offset in the payload.
    fn find(&self, tag: &str) -> Option<(&str, usize)> {
        let index = self.list.iter().position(|(t, _)| t == tag)?;
        let value = self.list.get(index).map(|(_, v)| v.as_str())?;
        Some((value, self.offsets.get(index).copied().unwrap_or(0)))
    }
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
            payee: Payee::Address(merchant()),
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
                    "00020126690009ID.KOPNET0152{}5204581253038405802ID5901A6001B",
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
        assert_eq!(parsed.payee, Payee::Address(merchant()));
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

    /// `ID LEN VALUE` fields, then the CRC field.
    fn build(fields: &[(&str, &str)]) -> String {
        let mut body = String::new();
        for (tag, value) in fields {
            tlv(&mut body, tag, value);
        }
        with_crc(&body)
    }

    fn account(to: &str) -> String {
        let mut out = String::new();
        tlv(&mut out, "00", KOPNET_GUI);
        tlv(&mut out, "01", to);
        out
    }

    /// A static code to `merchant()` with `template` as its field 26 and
    /// `extra` fields after the required ones.
    fn code_with(template: &str, extra: &[(&str, &str)]) -> String {
        let mut fields = vec![
            ("00", "01"),
            ("01", "11"),
            ("26", template),
            ("52", "5812"),
            ("53", "360"),
            ("58", "ID"),
            ("59", "Warung"),
            ("60", "Sleman"),
        ];
        fields.extend_from_slice(extra);
        build(&fields)
    }

    fn kind_and_field(payload: &str) -> (String, Option<String>) {
        match PaymentRequest::parse(payload) {
            Ok(_) => ("ok".into(), None),
            Err(e) => (e.kind().into(), e.field().map(str::to_string)),
        }
    }

    #[test]
    fn the_builder_makes_a_valid_code() {
        assert_eq!(
            kind_and_field(&code_with(&account(&merchant()), &[])).0,
            "ok"
        );
    }

    /// Issue 15: Rust took the first of two `01` sub-tags, JavaScript the
    /// last, so one code paid different people in the two wallets. Both
    /// refuse it now.
    #[test]
    fn duplicate_sub_tag_in_the_kopnet_template_is_refused() {
        // (Two full addresses do not fit one template's 99 characters.)
        let mut template = account(&merchant());
        tlv(&mut template, "01", "kop1");
        assert_eq!(
            kind_and_field(&code_with(&template, &[])),
            ("duplicate_field".into(), Some("26.01".into()))
        );
        let mut template = String::new();
        tlv(&mut template, "01", "kop1");
        template.push_str(&account(&merchant()));
        assert_eq!(
            kind_and_field(&code_with(&template, &[])),
            ("duplicate_field".into(), Some("26.01".into()))
        );
        // The same inside field 62 (additional data).
        let payload = code_with(&account(&merchant()), &[("62", "0505INV-10505INV-2")]);
        assert_eq!(
            kind_and_field(&payload),
            ("duplicate_field".into(), Some("62.05".into()))
        );
        // And a top-level field twice.
        let payload = code_with(&account(&merchant()), &[("59", "Toko")]);
        assert_eq!(
            kind_and_field(&payload),
            ("duplicate_field".into(), Some("59".into()))
        );
    }

    /// Two kopnet merchant accounts name two payees: a conflict, refused
    /// (Rust used to pay the first). So is a kopnet template without a
    /// payee followed by one with (JavaScript used to pay the second).
    #[test]
    fn conflicting_kopnet_templates_are_refused() {
        let full = account(&merchant());
        let other = account(&key_for("someone-else").public().to_address());
        assert_eq!(
            kind_and_field(&code_with(&full, &[("27", &other)])),
            ("duplicate_field".into(), Some(KOPNET_GUI.into()))
        );
        assert_eq!(
            kind_and_field(&code_with("0009id.kopnet", &[("27", &full)])),
            ("duplicate_field".into(), Some(KOPNET_GUI.into()))
        );
        assert_eq!(
            kind_and_field(&code_with("0009ID.KOPNET", &[])),
            ("not_kopnet".into(), None)
        );
        // Another scheme's template beside kopnet's is fine.
        assert_eq!(
            kind_and_field(&code_with(&full, &[("27", "0009ID.CO.XYZ0103abc")])).0,
            "ok"
        );
    }

    /// Issue 16: fields that contradict each other are refused, in both
    /// parsers: a second CRC field, a point of initiation that disagrees
    /// with the amount, a second merchant name or city in field 64.
    #[test]
    fn conflicting_fields_are_refused() {
        let full = account(&merchant());
        // A CRC field before the last one.
        assert_eq!(
            kind_and_field(&code_with(&full, &[("63", "ABCD")])),
            ("duplicate_field".into(), Some("63".into()))
        );
        // Static (11) with an amount; dynamic (12) without one.
        assert_eq!(
            kind_and_field(&code_with(&full, &[("54", "5000")])),
            ("conflicting_field".into(), Some("01".into()))
        );
        let dynamic_without_amount = build(&[
            ("00", "01"),
            ("01", "12"),
            ("26", &full),
            ("52", "5812"),
            ("53", "360"),
            ("58", "ID"),
            ("59", "Warung"),
            ("60", "Sleman"),
        ]);
        assert_eq!(
            kind_and_field(&dynamic_without_amount),
            ("conflicting_field".into(), Some("01".into()))
        );
        let odd_initiation = dynamic_without_amount.replace("010212", "010213");
        assert_eq!(
            kind_and_field(&with_crc(&odd_initiation[..odd_initiation.len() - 8])),
            ("bad_field".into(), Some("01".into()))
        );
        // A second name (or city) in the language template.
        assert_eq!(
            kind_and_field(&code_with(&full, &[("64", "0002ID0112Warung Palsu")])),
            ("conflicting_field".into(), Some("64.01".into()))
        );
        assert_eq!(
            kind_and_field(&code_with(&full, &[("64", "0002ID0206Bantul")])),
            ("conflicting_field".into(), Some("64.02".into()))
        );
        assert_eq!(
            kind_and_field(&code_with(&full, &[("64", "0002ID0106Warung0106Warung")])),
            ("duplicate_field".into(), Some("64.01".into()))
        );
        // The same name and city again is no conflict.
        assert_eq!(
            kind_and_field(&code_with(&full, &[("64", "0002ID0106Warung0206Sleman")])).0,
            "ok"
        );
    }

    /// An address with a space in front is a second spelling of one payee:
    /// refused, by the parser and by the encoder.
    #[test]
    fn padded_address_is_refused() {
        let padded = format!(" {}", merchant());
        assert!(
            PublicKey::from_address(&padded).is_ok(),
            "from_address trims"
        );
        assert_eq!(
            kind_and_field(&code_with(&account(&padded), &[])),
            ("bad_address".into(), None)
        );
        let mut r = request(None, None);
        r.payee = Payee::Address(padded);
        assert!(matches!(r.encode(), Err(QrisError::BadAddress(_))));
    }

    /// Non-ASCII text is refused as such, whatever its length in bytes (the
    /// JavaScript counts UTF-16 units, so checking length first would
    /// disagree), and only ASCII whitespace is trimmed.
    #[test]
    fn characters_are_checked_before_length() {
        assert_eq!(
            kind_and_field(&"\u{e9}".repeat(300)),
            ("bad_character".into(), None)
        );
        assert_eq!(kind_and_field(" \t\r\n "), ("bad_length".into(), None));
        assert_eq!(kind_and_field("\u{a0}"), ("bad_character".into(), None));
        assert_eq!(kind_and_field("\u{feff}"), ("bad_character".into(), None));
        assert!(PaymentRequest::parse(&format!("\n {DYNAMIC_VECTOR}\t")).is_ok());
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
        r.payee = Payee::Address("kop111".into());
        assert!(matches!(r.encode(), Err(QrisError::BadAddress(_))));
        r.payee = Payee::Phone("081234567890".into());
        assert_eq!(r.encode(), Err(QrisError::BadPhone));
    }

    const SRI_PHONE: &str = "+6281234567890";

    fn phone_account(phone: &str) -> String {
        let mut out = String::new();
        tlv(&mut out, "00", KOPNET_GUI);
        tlv(&mut out, "02", phone);
        out
    }

    /// Issue 18: a code may name the payee by the phone number it linked
    /// at its home cooperative instead of by address.
    #[test]
    fn a_phone_alias_names_the_payee() {
        let mut r = request(Some(10_000), Some("BAKSO-2"));
        r.payee = Payee::Phone(SRI_PHONE.into());
        let payload = r.encode().unwrap();
        assert_eq!(payload, PHONE_VECTOR);
        let parsed = PaymentRequest::parse(&payload).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(parsed.payee.phone(), Some(SRI_PHONE));
        assert_eq!(parsed.payee.address(), None);
        // Static too, and at the shortest and longest lengths.
        for phone in ["+6281234567", "+6281234567890", "+62812345678901"] {
            let code = code_with(&phone_account(phone), &[]);
            assert_eq!(kind_and_field(&code).0, "ok", "{phone}");
        }
    }

    /// One payee, one spelling: only the directory's normal form
    /// (`+628` and 7 to 11 digits) is a phone alias, and a template that
    /// names both an address and a phone names two payees.
    #[test]
    fn a_phone_alias_has_one_spelling_and_one_payee() {
        for bad in [
            "081234567890",
            "6281234567890",
            "+62 81234567890",
            "+62812345",
            "+628123456789012",
            "+6281234x67890",
            "+6591234567",
        ] {
            assert_eq!(
                kind_and_field(&code_with(&phone_account(bad), &[])),
                ("bad_phone".into(), None),
                "{bad}"
            );
        }
        let mut both = account(&merchant());
        tlv(&mut both, "02", SRI_PHONE);
        assert_eq!(
            kind_and_field(&code_with(&both, &[])),
            ("conflicting_field".into(), Some(KOPNET_GUI.into()))
        );
        let mut phone_twice = phone_account(SRI_PHONE);
        tlv(&mut phone_twice, "02", SRI_PHONE);
        assert_eq!(
            kind_and_field(&code_with(&phone_twice, &[])),
            ("duplicate_field".into(), Some("26.02".into()))
        );
    }

    /// The parser's phone rule is the directory's normal form: every number
    /// the directory writes is a valid alias, and every valid alias is a
    /// number the directory writes that way.
    #[test]
    fn phone_rule_matches_the_directory() {
        use crate::personal::Phone;
        for text in [
            "081234567",
            "0812345678901",
            "+62 812-3456-7890",
            "+628123456",
            "+62812345678901",
            "+628123456789012",
            "+62812345",
            "62812345678",
        ] {
            let alias = check_phone(text).is_ok();
            let normal = Phone::parse(text).is_ok_and(|p| p.as_str() == text);
            assert_eq!(alias, normal, "{text}");
            if let Ok(phone) = Phone::parse(text) {
                assert!(check_phone(phone.as_str()).is_ok(), "{text}");
            }
        }
    }

    /// Fixed vector of a phone-alias code.
    pub(crate) const PHONE_VECTOR: &str = "00020101021226310009ID.KOPNET0214+62812345678905204581253033605405100005802ID5913Warung Bu Sri6010Yogyakarta62110507BAKSO-26304A654";
}
