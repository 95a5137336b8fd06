//! kopnet's one ed25519 verification rule, for single and batch checks.
//!
//! # The rule
//!
//! A signature `(R, s)` by the key `A` over the signed bytes `M` (always
//! `domain || 0x00 || message`, see [`crate::crypto::domain`]) is accepted
//! exactly when all of these hold:
//!
//! 1. `A` is the **canonical** encoding of a curve point (its `y` is below
//!    `p = 2^255 - 19`, and the sign bit is clear when `x = 0`) and that
//!    point is **not of small order** (not one of the 8 torsion points);
//! 2. `R` likewise: canonical and not of small order;
//! 3. `s` is **canonical**: as a little-endian integer, `s < l` (the order of
//!    the base point);
//! 4. the **cofactored** equation holds: `[8][s]B = [8]R + [8][k]A` with
//!    `k = SHA-512(R || A || M) mod l`, hashing the bytes as given.
//!
//! Checks 1–3 are ours ([`check_key`], [`check_signature`]): byte
//! comparisons against `p`, `l` and a blocklist of the 8 canonical
//! small-order encodings (sound because every point has exactly one
//! canonical encoding), applied identically before single and batch
//! verification. Check 4 is ed25519-zebra's ZIP-215 verification, whose
//! single check and batch check (`[8]Σ zᵢ(Rᵢ + kᵢAᵢ − sᵢB) = 0` with random
//! 128-bit `zᵢ`) accept exactly the same set: the cofactor clears every
//! torsion residue in both, so a batch of individually valid signatures
//! always passes and a batch with an invalid one fails except with
//! probability about 2⁻¹²⁸.
//!
//! # Why this rule
//!
//! * **Batch and single agree**, so validators that verify a block's
//!   transactions in batches and a node that verifies them one by one never
//!   disagree about a block. ed25519-dalek's `verify_strict` (our rule until
//!   issue 21) is cofactorless: it rejects a signature whose `R − [s]B +
//!   [k]A` is a non-zero torsion point, which no batch equation can see, so
//!   it has no batch form that agrees with it ("Taming the many EdDSAs",
//!   Chalkias, Garillot, Nikolaenko 2020; Henry de Valence, "It's 255:19AM",
//!   2020; ZIP-215).
//! * **Every signature an honest signer makes still verifies.** An honest
//!   key and `R` are canonical (they come out of point compression), of
//!   large order, `s < l`, and the cofactorless equation holds, so the
//!   cofactored one does too. What `verify_strict` accepted and we now
//!   refuse: signatures under the 19 non-canonical encodings of large-order
//!   points as keys — points nobody knows the discrete log of, so no honest
//!   signer can hold them. What we now accept that `verify_strict` refused:
//!   keys or `R` with a torsion component whose residue the cofactor clears
//!   (cases 4 and 5 of "Taming"); such a signature still proves knowledge of
//!   the key's large-order part, and the rule is the same on every node.
//! * **Small-order `A` and `R` are refused** beyond ZIP-215 (which accepts
//!   them): a small-order key "signs" everything with `s = 0`, so it can
//!   never own an account ([`crate::PublicKey::validate`]), and a
//!   small-order `R` makes the signature independent of the key's secret.
//! * **Non-canonical encodings are refused** beyond ZIP-215 (which accepts
//!   them): one point would otherwise have several keys or several
//!   signatures, and the transaction hash covers the bytes.
//!
//! Changing any of this changes which transactions are valid: every
//! validator must run the same rule (it is part of the protocol, like the
//! codec). The vectors in `tests/vectors/ed25519_edge_cases.json` pin it.

use crate::crypto::{CryptoError, PreparedKey, Signature};
use ed25519_zebra::batch;
use ed25519_zebra::VerificationKeyBytes;

/// The 8 points of small order, canonically encoded (curve25519-dalek's
/// `EIGHT_TORSION`, compressed; a test checks the list against it).
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 8] = [
    // The identity (0, 1).
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // Order 2: (0, -1).
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // Order 4: (±sqrt(-1), 0).
    [0; 32],
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0x80,
    ],
    // Order 8.
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0xfa,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x85,
    ],
];

/// `l = 2^252 + 27742317777372353535851937790883648493`, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Whether the little-endian integer `a` is below `b`.
fn less_than(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// Whether `bytes` is the one canonical encoding of its point (if it is a
/// point at all): `y < p`, and no sign bit on `x = 0` (`y = ±1`).
pub fn is_canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // p = 2^255 - 19, little-endian.
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    if !less_than(&y, &p) {
        return false;
    }
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = p;
    minus_one[0] = 0xec;
    !(sign == 1 && (y == one || y == minus_one))
}

/// Whether a canonical encoding is one of the 8 small-order points.
pub fn is_small_order_encoding(bytes: &[u8; 32]) -> bool {
    SMALL_ORDER_ENCODINGS.contains(bytes)
}

/// Whether `s` (little-endian) is below the group order `l`.
pub fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    less_than(s, &GROUP_ORDER)
}

/// Rule 1 for a key: canonical and not of small order (whether it is a
/// curve point at all is found when it is decompressed).
pub fn check_key(key: &[u8; 32]) -> Result<(), CryptoError> {
    if !is_canonical_point_encoding(key) {
        return Err(CryptoError::InvalidPublicKey);
    }
    if is_small_order_encoding(key) {
        return Err(CryptoError::WeakPublicKey);
    }
    Ok(())
}

/// Rules 2 and 3 for a signature: `R` canonical and not of small order,
/// `s < l`.
pub fn check_signature(signature: &Signature) -> Result<(), CryptoError> {
    let (r, s) = split(signature);
    if !is_canonical_point_encoding(&r) || is_small_order_encoding(&r) || !is_canonical_scalar(&s) {
        return Err(CryptoError::BadSignature);
    }
    Ok(())
}

fn split(signature: &Signature) -> ([u8; 32], [u8; 32]) {
    let mut r = [0u8; 32];
    let mut s = [0u8; 32];
    let (left, right) = signature.0.split_at(32);
    r.copy_from_slice(left);
    s.copy_from_slice(right);
    (r, s)
}

/// One signature to check: the signer's prepared key, the exact signed
/// bytes (`domain || 0 || message`) and the signature.
#[derive(Debug, Clone)]
pub struct Signed {
    pub key: PreparedKey,
    pub bytes: Vec<u8>,
    pub signature: Signature,
}

impl Signed {
    /// The single verdict of the rule on this entry.
    pub fn verify(&self) -> bool {
        self.key
            .verify_signed_bytes(&self.bytes, &self.signature)
            .is_ok()
    }
}

/// The batch verdict: true exactly when every entry satisfies the rule
/// (with probability 1 − 2⁻¹²⁸ for a batch holding a bad one). An empty
/// batch holds.
pub fn batch_holds(entries: &[Signed]) -> bool {
    if entries
        .iter()
        .any(|entry| check_signature(&entry.signature).is_err())
    {
        return false;
    }
    // Keys were checked (rule 1) when they were prepared.
    let mut verifier = batch::Verifier::new();
    for entry in entries {
        let key = VerificationKeyBytes::from(entry.key.public().0);
        let signature = ed25519_zebra::Signature::from_bytes(&entry.signature.0);
        verifier.queue((key, signature, &entry.bytes[..]));
    }
    verifier.verify(BatchRng::for_batch(entries)).is_ok()
}

/// The verdict of the rule on each entry, found with one batch check when
/// they are all good, and one by one (after the batch failed) otherwise.
/// The result is exactly `entries.map(Signed::verify)`; a bad signature
/// costs the batch check on top of the single ones.
pub fn verify_each(entries: &[Signed]) -> Vec<bool> {
    // Entries that fail the byte checks are out before the batch, so one
    // malformed signature does not spoil the batch for the others.
    let mut verdicts: Vec<bool> = entries
        .iter()
        .map(|entry| check_signature(&entry.signature).is_ok())
        .collect();
    let candidates: Vec<Signed> = entries
        .iter()
        .zip(&verdicts)
        .filter(|(_, ok)| **ok)
        .map(|(entry, _)| entry.clone())
        .collect();
    if candidates.len() >= 2 && batch_holds(&candidates) {
        return verdicts;
    }
    for (verdict, entry) in verdicts.iter_mut().zip(entries) {
        if *verdict {
            *verdict = entry.verify();
        }
    }
    verdicts
}

/// Most threads [`verify_each_parallel`] uses.
pub const VERIFY_THREADS_MAX: usize = 4;

/// Below this many entries a batch is checked on the calling thread
/// (starting a thread costs more than the work it would take).
pub const PARALLEL_ENTRIES_MIN: usize = 64;

/// [`verify_each`] with the entries split into contiguous chunks over up to
/// `threads` workers (at most [`VERIFY_THREADS_MAX`]) of rayon's global
/// pool: a fixed set of long-lived threads, one per core. Not threads of
/// our own per call: each new thread may take a fresh glibc malloc arena,
/// and at `kopnet bench --max` that grew a validator to over 700 MB of RSS
/// (against ~300 MB with the arenas capped). The verdicts are those of
/// [`verify_each`] on each chunk, in order, whatever the pool does.
pub fn verify_each_parallel(entries: &[Signed], threads: usize) -> Vec<bool> {
    use rayon::prelude::*;
    let threads = threads.clamp(1, VERIFY_THREADS_MAX);
    if threads == 1 || entries.len() < PARALLEL_ENTRIES_MIN {
        return verify_each(entries);
    }
    let chunk = entries.len().div_ceil(threads);
    let parts: Vec<Vec<bool>> = entries.par_chunks(chunk).map(verify_each).collect();
    parts.into_iter().flatten().collect()
}

/// The batch's random coefficients `zᵢ`, drawn from a blake3 stream keyed
/// by the whole batch (every key, signature and signed message). Chosen
/// over an operating-system RNG so that this crate picks no randomness of
/// its own and a node's verdicts are reproducible; safe because a sender
/// who changes anything in the batch gets fresh coefficients, and making a
/// bad batch pass needs a 2⁻¹²⁸ coincidence per try (ed25519-dalek's
/// `verify_batch` derives its coefficients from a transcript the same way).
struct BatchRng(blake3::OutputReader);

impl BatchRng {
    fn for_batch(entries: &[Signed]) -> BatchRng {
        let mut hasher = blake3::Hasher::new_derive_key("kopnet 2026 batch verification v1");
        hasher.update(&(entries.len() as u64).to_le_bytes());
        for entry in entries {
            hasher.update(&entry.key.public().0);
            hasher.update(&entry.signature.0);
            hasher.update(&(entry.bytes.len() as u64).to_le_bytes());
            hasher.update(&entry.bytes);
        }
        BatchRng(hasher.finalize_xof())
    }
}

impl rand_core::RngCore for BatchRng {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0u8; 4];
        self.0.fill(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        self.0.fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for BatchRng {}
