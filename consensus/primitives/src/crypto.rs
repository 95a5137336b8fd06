//! Keys, signatures, hashes and the readable address form.
//!
//! * Hashes are blake3 in `derive_key` mode, so every hash carries a domain
//!   (`"kopnet 2026 tx v1"`, `"kopnet 2026 block v1"`, ...) and a hash of one kind
//!   can never be mistaken for a hash of another.
//! * Signatures are ed25519 over `domain || 0x00 || bytes` ([`domain`]),
//!   verified under kopnet's one rule ([`crate::signature_rule`]): canonical,
//!   large-order `A` and `R`, canonical `s`, and the cofactored (ZIP-215)
//!   equation, so single and batch verification accept the same set.
//! * Addresses are `kop` + base58(public key ‖ 4-byte checksum), so a mistyped
//!   address is rejected instead of paying a stranger.

use crate::codec::fixed_bytes;
use crate::signature_rule;
use domain::signing_bytes;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Domain separation for signatures: every signature covers a domain string
/// before the message, so a signature made for one kind of message (a
/// transaction, a vote, a proposal) can never verify as another.
///
/// The domains themselves belong to the crate that owns the message: the
/// ledger defines the transaction domain, consensus the vote and proposal
/// domains. Each is a `kopnet/<what>/v<n>` string, distinct from all others;
/// a new kind of signed message takes a new domain, never an existing one.
pub mod domain {
    /// The exact bytes an ed25519 signature covers: `domain || 0x00 ||
    /// message`. The zero byte ends the domain, which never contains one, so
    /// no domain-and-message pair can be read as another.
    pub fn signing_bytes(domain: &str, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(domain.len() + 1 + message.len());
        out.extend_from_slice(domain.as_bytes());
        out.push(0);
        out.extend_from_slice(message);
        out
    }
}

/// A 32-byte blake3 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// Hash `bytes` under a domain-separation context.
    pub fn digest(context: &str, bytes: &[u8]) -> Hash {
        let mut hasher = derive_key_hasher(context);
        hasher.update(bytes);
        Hash(*hasher.finalize().as_bytes())
    }

    /// Hash several parts under one context; each part is length-prefixed so
    /// that `["ab","c"]` and `["a","bc"]` hash differently.
    pub fn digest_parts(context: &str, parts: &[&[u8]]) -> Hash {
        let mut hasher = derive_key_hasher(context);
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Hash(*hasher.finalize().as_bytes())
    }

    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    pub fn from_hex(text: &str) -> Result<Hash, CryptoError> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return Err(CryptoError::BadHex);
        }
        let mut out = [0u8; 32];
        for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| CryptoError::BadHex)?;
            *slot = u8::from_str_radix(pair, 16).map_err(|_| CryptoError::BadHex)?;
        }
        Ok(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "Hash({})", hex.get(..12).unwrap_or(&hex))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Errors from key handling and signature checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("bytes are not a valid ed25519 public key")]
    InvalidPublicKey,
    #[error("public key is weak (small order) and cannot own an account")]
    WeakPublicKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("address must start with \"kop\"")]
    AddressPrefix,
    #[error("address is not valid base58")]
    AddressEncoding,
    #[error("address has the wrong length")]
    AddressLength,
    #[error("address checksum does not match (mistyped?)")]
    AddressChecksum,
    #[error("not a 64-character hex string")]
    BadHex,
}

/// An ed25519 public key: the identity of a cooperative, a member or a node.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// The bytes' lexicographic order (what the derived order was), compared
/// as two big-endian 128-bit halves: keys order most of the ledger's state
/// maps, and the derived comparison called `memcmp` for each of the tens
/// of comparisons a lookup makes (issue 21).
impl Ord for PublicKey {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        key_halves(&self.0).cmp(&key_halves(&other.0))
    }
}

impl PartialOrd for PublicKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A key's bytes as two big-endian numbers, most significant first.
#[inline]
fn key_halves(bytes: &[u8; 32]) -> (u128, u128) {
    let mut high = [0u8; 16];
    let mut low = [0u8; 16];
    high.copy_from_slice(&bytes[..16]);
    low.copy_from_slice(&bytes[16..]);
    (u128::from_be_bytes(high), u128::from_be_bytes(low))
}

/// A [`PublicKey`] that passed the key part of the signature rule
/// (canonical, not of small order) and is decompressed to a curve point:
/// verifies exactly as [`PublicKey::verify`] does, without checking and
/// decompressing the key each time.
#[derive(Debug, Clone, Copy)]
pub struct PreparedKey {
    public: PublicKey,
    key: ed25519_zebra::VerificationKey,
}

impl PreparedKey {
    /// The key this was prepared from.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// Verify `signature` over `domain || 0 || message` under
    /// [`crate::signature_rule`].
    pub fn verify(
        &self,
        domain: &str,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        self.verify_signed_bytes(&signing_bytes(domain, message), signature)
    }

    /// Verify `signature` over exactly `bytes` (already `domain || 0 ||
    /// message`; the test vectors use plain messages) under
    /// [`crate::signature_rule`]: the byte checks on `R` and `s`, then the
    /// cofactored equation.
    pub fn verify_signed_bytes(
        &self,
        bytes: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        signature_rule::check_signature(signature)?;
        let signature = ed25519_zebra::Signature::from_bytes(&signature.0);
        self.key
            .verify(&signature, bytes)
            .map_err(|_| CryptoError::BadSignature)
    }
}

const ADDRESS_PREFIX: &str = "kop";
const ADDRESS_CHECKSUM_CONTEXT: &str = "kopnet 2026 address checksum v1";

impl PublicKey {
    /// Check that the bytes are a usable key: the canonical encoding of a
    /// curve point that is not of small order (the key part of
    /// [`crate::signature_rule`]; no signature under any other key verifies).
    pub fn validate(&self) -> Result<(), CryptoError> {
        self.prepare().map(|_| ())
    }

    /// Verify `signature` over `domain || 0 || message` under
    /// [`crate::signature_rule`].
    pub fn verify(
        &self,
        domain: &str,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        self.prepare()?.verify(domain, message, signature)
    }

    /// Check the key against the signature rule and decompress it once, for
    /// verifying many signatures by one signer (decompression is a fifth or
    /// so of a verification). Refuses a non-canonical encoding or a
    /// non-point ([`CryptoError::InvalidPublicKey`]) and a small-order point
    /// ([`CryptoError::WeakPublicKey`]).
    pub fn prepare(&self) -> Result<PreparedKey, CryptoError> {
        signature_rule::check_key(&self.0)?;
        let key = ed25519_zebra::VerificationKey::try_from(self.0)
            .map_err(|_| CryptoError::InvalidPublicKey)?;
        Ok(PreparedKey { public: *self, key })
    }

    /// The readable address: `kop` + base58(key ‖ checksum[..4]).
    pub fn to_address(&self) -> String {
        let checksum = Hash::digest(ADDRESS_CHECKSUM_CONTEXT, &self.0);
        let mut raw = Vec::with_capacity(36);
        raw.extend_from_slice(&self.0);
        raw.extend_from_slice(checksum.0.get(..4).unwrap_or_default());
        format!("{ADDRESS_PREFIX}{}", bs58::encode(raw).into_string())
    }

    /// Parse an address, rejecting a wrong prefix, bad characters, a wrong length
    /// or a checksum mismatch. Does not check the key is on the curve: use
    /// [`PublicKey::validate`] where that matters.
    pub fn from_address(text: &str) -> Result<PublicKey, CryptoError> {
        let body = text
            .trim()
            .strip_prefix(ADDRESS_PREFIX)
            .ok_or(CryptoError::AddressPrefix)?;
        if body.len() > 64 {
            return Err(CryptoError::AddressLength);
        }
        let raw = bs58::decode(body)
            .into_vec()
            .map_err(|_| CryptoError::AddressEncoding)?;
        if raw.len() != 36 {
            return Err(CryptoError::AddressLength);
        }
        let (key, checksum) = raw.split_at(32);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key);
        let expected = Hash::digest(ADDRESS_CHECKSUM_CONTEXT, &bytes);
        if expected.0.get(..4) != Some(checksum) {
            return Err(CryptoError::AddressChecksum);
        }
        Ok(PublicKey(bytes))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = self.to_address();
        write!(f, "{}", address.get(..12).unwrap_or(&address))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_address())
    }
}

impl FromStr for PublicKey {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::from_address(s)
    }
}

/// Binary formats (the codec) carry the raw 32 bytes; human-readable formats
/// (JSON genesis files, the HTTP API) carry the text form, so people read
/// `kop…` addresses and hex hashes rather than arrays of numbers.
macro_rules! text_or_bytes_serde {
    ($ty:ident, $to_text:expr, $from_text:expr) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&$to_text(self))
                } else {
                    self.0.serialize(serializer)
                }
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    let text = String::deserialize(deserializer)?;
                    $from_text(&text).map_err(serde::de::Error::custom)
                } else {
                    <[u8; 32]>::deserialize(deserializer).map($ty)
                }
            }
        }
    };
}

text_or_bytes_serde!(Hash, Hash::to_hex, Hash::from_hex);
text_or_bytes_serde!(PublicKey, PublicKey::to_address, PublicKey::from_address);

/// A 64-byte ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "fixed_bytes")] pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

/// A secret signing key. Never printed, never serialized by accident.
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// Derive a key from 32 secret seed bytes.
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// A fresh key from a cryptographic RNG.
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(rng: &mut R) -> Keypair {
        Keypair {
            signing: SigningKey::generate(rng),
        }
    }

    /// The 32 secret seed bytes (for writing a key file).
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Sign `domain || 0 || message`.
    pub fn sign(&self, domain: &str, message: &[u8]) -> Signature {
        Signature(
            self.signing
                .sign(&signing_bytes(domain, message))
                .to_bytes(),
        )
    }
}

impl Clone for Keypair {
    fn clone(&self) -> Self {
        Keypair::from_seed(self.seed())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({:?})", self.public())
    }
}

/// Context keys kept per thread: blake3's derive-key mode first hashes the
/// context string into a key (about 2,700 instructions, more than hashing
/// a transaction), and kopnet hashes under a dozen fixed contexts millions
/// of times. The key of a context is the same whoever computes it, so the
/// cache changes no hash (tested against `new_derive_key`).
const CONTEXT_KEYS_CACHED: usize = 32;

thread_local! {
    static CONTEXT_KEYS: std::cell::RefCell<Vec<(Box<str>, blake3::hazmat::ContextKey)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A blake3 hasher in derive-key mode for `context`, its context key from
/// this thread's cache when it holds it.
fn derive_key_hasher(context: &str) -> blake3::Hasher {
    use blake3::hazmat::HasherExt;
    let key = CONTEXT_KEYS.with(|keys| {
        let mut keys = keys.try_borrow_mut().ok()?;
        if let Some((_, key)) = keys.iter().find(|(name, _)| &**name == context) {
            return Some(*key);
        }
        let key = blake3::hazmat::hash_derive_key_context(context);
        if keys.len() < CONTEXT_KEYS_CACHED {
            keys.push((context.into(), key));
        }
        Some(key)
    });
    match key {
        Some(key) => blake3::Hasher::new_from_context_key(&key),
        None => blake3::Hasher::new_derive_key(context),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_context_keys_give_blake3s_own_derive_key_hashes() {
        let plain = |context: &str, bytes: &[u8]| {
            let mut hasher = blake3::Hasher::new_derive_key(context);
            hasher.update(bytes);
            Hash(*hasher.finalize().as_bytes())
        };
        // More contexts than the cache keeps, each hashed twice (the
        // second time from the cache where it was kept).
        let contexts: Vec<String> = (0..CONTEXT_KEYS_CACHED + 5)
            .map(|i| format!("kopnet test context {i}"))
            .collect();
        for round in 0..2u8 {
            for context in &contexts {
                let bytes = [round; 40];
                assert_eq!(Hash::digest(context, &bytes), plain(context, &bytes));
                let mut parts_plain = blake3::Hasher::new_derive_key(context);
                parts_plain.update(&3u64.to_le_bytes());
                parts_plain.update(b"abc");
                assert_eq!(
                    Hash::digest_parts(context, &[b"abc"]),
                    Hash(*parts_plain.finalize().as_bytes())
                );
            }
        }
        // A context that shares a prefix with a cached one is its own.
        assert_ne!(
            Hash::digest("kopnet test context 1", b"x"),
            Hash::digest("kopnet test context 10", b"x")
        );
    }

    #[test]
    fn keys_order_as_their_bytes() {
        // Keys that differ in each byte position, in both halves, and at
        // the extremes; plus digests as keys.
        let mut keys = vec![PublicKey([0; 32]), PublicKey([0xff; 32])];
        for position in [0, 1, 7, 8, 15, 16, 17, 24, 31] {
            for value in [1u8, 0x7f, 0x80, 0xfe] {
                let mut bytes = [0x80; 32];
                bytes[position] = value;
                keys.push(PublicKey(bytes));
            }
        }
        for n in 0u8..40 {
            keys.push(PublicKey(Hash::digest("order test", &[n]).0));
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(a.cmp(b), a.0.cmp(&b.0), "{a:?} vs {b:?}");
                assert_eq!(a.partial_cmp(b), Some(a.0.cmp(&b.0)));
            }
        }
    }

    #[test]
    fn address_round_trips_and_catches_typos() {
        let key = Keypair::from_seed([7; 32]).public();
        let address = key.to_address();
        assert!(address.starts_with("kop"));
        assert_eq!(PublicKey::from_address(&address).unwrap(), key);
        // Change one character in the body.
        let mut chars: Vec<char> = address.chars().collect();
        chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            PublicKey::from_address(&typo),
            Err(CryptoError::AddressChecksum | CryptoError::AddressLength)
        ));
        assert_eq!(
            PublicKey::from_address("abc"),
            Err(CryptoError::AddressPrefix)
        );
        assert_eq!(
            PublicKey::from_address("kop0OIl"),
            Err(CryptoError::AddressEncoding)
        );
    }

    #[test]
    fn signatures_are_domain_separated() {
        const PAY: &str = "kopnet/test-pay/v1";
        const OTHER: &str = "kopnet/test-other/v1";
        let key = Keypair::from_seed([1; 32]);
        let sig = key.sign(PAY, b"pay");
        key.public().verify(PAY, b"pay", &sig).unwrap();
        key.public()
            .prepare()
            .unwrap()
            .verify(PAY, b"pay", &sig)
            .unwrap();
        assert_eq!(
            key.public().verify(OTHER, b"pay", &sig),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            key.public().verify(PAY, b"paz", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn signing_bytes_are_domain_zero_message() {
        assert_eq!(domain::signing_bytes("ab", b"cd"), b"ab\0cd".to_vec());
        assert_eq!(domain::signing_bytes("", b""), vec![0]);
    }

    #[test]
    fn weak_keys_are_rejected() {
        // The identity point (small order) encoded as 0x01 followed by zeros.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey(identity).validate(),
            Err(CryptoError::WeakPublicKey)
        );
        Keypair::from_seed([3; 32]).public().validate().unwrap();
    }

    #[test]
    fn text_forms_in_json_and_bytes_in_codec() {
        let key = Keypair::from_seed([9; 32]).public();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{}\"", key.to_address()));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), key);
        assert_eq!(crate::codec::encode(&key).unwrap(), key.0.to_vec());
        let hash = Hash::digest("kopnet test", b"y");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), hash);
        assert!(serde_json::from_str::<PublicKey>("\"kopnope\"").is_err());
    }

    #[test]
    fn hex_round_trip() {
        let h = Hash::digest("kopnet test", b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_hex("zz"), Err(CryptoError::BadHex));
    }
}
