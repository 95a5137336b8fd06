//! The payment-request QR parser (`node/src/web/qris.rs`): what a phone
//! camera or `GET /v1/qr/parse` hands it.
//!
//! Random bytes almost never carry a valid CRC, so every input is parsed
//! twice: as it is, and with a correct CRC field appended
//! ([`qris::with_crc`]), which takes the fuzzer past the checksum to the
//! fields. The JavaScript parser must agree with this one on both forms
//! of every corpus entry (`node/src/web/vectors.rs` writes them to
//! `node/web/test/qris-corpus.json`).

use crate::Outcome;
use kopnet_node::web::qris::{self, PaymentRequest, KOPNET_GUI};

/// The forms of one corpus entry that are parsed: the text, and the text
/// with a correct CRC field appended.
pub fn forms(text: &str) -> [String; 2] {
    [text.to_string(), qris::with_crc(text)]
}

/// Bytes as scanned text (a scanner hands over text: other bytes are not
/// a payload).
pub fn qris(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::refused("not UTF-8");
    };
    // Accepted if either form is; else the refusal of the form with the
    // CRC appended (the one that gets past the checksum).
    let mut outcome = None;
    for payload in forms(text) {
        match PaymentRequest::parse(&payload) {
            Ok(request) => {
                check_request(&request, &payload);
                outcome = Some(Outcome::Accepted);
            }
            Err(e) => {
                assert!(!e.kind().is_empty() && !e.to_string().is_empty());
                if outcome != Some(Outcome::Accepted) {
                    outcome = Some(Outcome::refused(format!("{}: {e}", e.kind())));
                }
            }
        }
    }
    outcome.unwrap_or_else(|| Outcome::refused("no form"))
}

/// An accepted request passes the encoder's checks, encodes to a payload
/// that parses back to it, and came from a payload without duplicates.
fn check_request(request: &PaymentRequest, payload: &str) {
    request.validate().unwrap_or_else(|e| {
        panic!("parsed {payload:?} to {request:?}, which the encoder refuses: {e}")
    });
    let encoded = request.encode().expect("a valid request encodes");
    assert_eq!(PaymentRequest::parse(&encoded).as_ref(), Ok(request));
    assert_no_duplicates(payload);
}

/// A second, naive reading of an accepted payload: no id twice at the top
/// level, in any merchant-account template or in field 62, and exactly
/// one kopnet template.
fn assert_no_duplicates(payload: &str) {
    let body = payload.trim_matches(|c: char| c.is_ascii_whitespace());
    let fields = naive_fields(body.get(..body.len().saturating_sub(8)).unwrap_or(""));
    let mut kopnet = 0;
    for (tag, value) in &fields {
        let Ok(number) = tag.parse::<u8>() else {
            continue;
        };
        if matches!(number, 26..=51 | 62) {
            let sub = naive_fields(value);
            if number != 62
                && sub
                    .iter()
                    .any(|(t, v)| t == "00" && v.eq_ignore_ascii_case(KOPNET_GUI))
            {
                kopnet += 1;
            }
        }
    }
    assert_eq!(
        kopnet, 1,
        "{payload:?} was accepted with {kopnet} kopnet templates"
    );
}

/// `ID LEN VALUE` fields, asserting no id repeats (the input was accepted,
/// so it splits cleanly).
fn naive_fields(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    while rest.len() >= 4 {
        let (tag, len) = (&rest[..2], &rest[2..4]);
        let len: usize = len.parse().expect("an accepted payload has digit lengths");
        let value = &rest[4..4 + len];
        assert!(
            out.iter().all(|(t, _)| t != tag),
            "field {tag} twice in an accepted payload"
        );
        out.push((tag.to_string(), value.to_string()));
        rest = &rest[4 + len..];
    }
    assert!(rest.is_empty(), "an accepted payload splits cleanly");
    out
}
