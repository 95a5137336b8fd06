//! A value that must never reach a log: secret key seeds, the admin token.
//!
//! [`Secret`] prints as `Secret(redacted)` under `{:?}` and has no
//! `Display`, so a struct holding one can derive `Debug` and a
//! `tracing::debug!(?config)` shows everything but the secret. The value
//! is reached only through [`Secret::expose`], which is easy to find in a
//! review. Serde reads and writes the bare value (a key file keeps its
//! format).
//!
//! Not done: wiping the memory on drop (no `zeroize` here; the seed also
//! lives inside the signing key of [`kopnet_consensus::Keypair`]).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret value; see the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl<T: Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

/// Every way a secret's bytes could show in text: hex (both cases),
/// base64, and the decimal list `Debug` gives a byte array. A test helper.
#[cfg(test)]
pub(crate) fn renderings(bytes: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    let hex = hex::encode(bytes);
    vec![
        hex.clone(),
        hex.to_uppercase(),
        base64::engine::general_purpose::STANDARD.encode(bytes),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        format!("{bytes:?}"),
        // A run of the decimal list, in case it is printed wrapped.
        bytes
            .iter()
            .take(8)
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ]
}

/// Assert that `shown` holds none of the renderings of `bytes`.
#[cfg(test)]
pub(crate) fn assert_hidden(shown: &str, bytes: &[u8]) {
    for rendering in renderings(bytes) {
        assert!(
            !shown.contains(&rendering),
            "{rendering:?} appears in {shown}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_prints_redacted_and_serializes_bare() {
        let seed: [u8; 32] = std::array::from_fn(|i| 200 - i as u8);
        let secret = Secret::new(seed);
        for shown in [format!("{secret:?}"), format!("{secret:#?}")] {
            assert_eq!(shown, "Secret(redacted)");
            assert_hidden(&shown, &seed);
        }
        assert_eq!(secret.expose(), &seed);
        let text = Secret::new("abc".to_string());
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"abc\"");
        let back: Secret<String> = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, text);
    }

    /// The helper itself would see a leak.
    #[test]
    #[should_panic(expected = "appears in")]
    fn a_leak_is_seen() {
        let seed = [7u8, 8, 9, 10, 11, 12, 13, 14];
        assert_hidden(&format!("{seed:?}"), &seed);
    }
}
