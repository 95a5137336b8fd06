//! The nouns of the money model: cooperatives, member accounts, internal
//! accounts and the identifiers that name them.

use kopnet_primitives::PublicKey;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whole rupiah. Every sum is checked.
pub type Amount = u64;

/// A signed position in rupiah: positive means the participant is owed money
/// in settlement, negative means it owes.
pub type Position = i128;

/// Longest cooperative slug, in bytes.
pub const COOP_ID_BYTES_MAX: usize = 16;
/// Longest cooperative display name, in bytes.
pub const COOP_NAME_BYTES_MAX: usize = 64;
/// Most voting power the active cooperatives may hold together. Far above
/// any real weighting, and far below where a sum or a quorum product could
/// overflow: a genesis or a governance action going past it is refused, so
/// the chain can always name its validator set (a set whose total
/// overflowed would halt it for good).
pub const VOTING_POWER_TOTAL_MAX: u64 = 1_000_000_000_000;
/// The reserved participant that homes the network fund.
pub const NETWORK_PARTICIPANT: &str = "network";

/// A cooperative's short slug: 1-16 bytes of `[a-z0-9-]`, e.g. `ksp-sejahtera`.
///
/// Held inline (its length and up to [`COOP_ID_BYTES_MAX`] bytes, the rest
/// zero) rather than in a `String`: ids are cloned and compared on every
/// leg of every payment (state keys, bilateral rows, fee parties), and a
/// heap copy each time was a large part of a validator's cost of executing
/// payments (issue 21). It encodes, orders, hashes and prints exactly as
/// the string it holds, so no stored or signed byte changed.
#[derive(Clone, PartialEq, Eq)]
pub struct CoopId {
    len: u8,
    bytes: [u8; COOP_ID_BYTES_MAX],
}

impl TryFrom<String> for CoopId {
    type Error = InvalidCoopId;
    fn try_from(slug: String) -> Result<Self, Self::Error> {
        CoopId::new(&slug)
    }
}

impl CoopId {
    /// Validate and wrap a slug.
    pub fn new(slug: &str) -> Result<CoopId, InvalidCoopId> {
        let ok_len = !slug.is_empty() && slug.len() <= COOP_ID_BYTES_MAX;
        let ok_chars = slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        match u8::try_from(slug.len()) {
            Ok(len) if ok_len && ok_chars => {
                let mut bytes = [0; COOP_ID_BYTES_MAX];
                for (slot, byte) in bytes.iter_mut().zip(slug.bytes()) {
                    *slot = byte;
                }
                Ok(CoopId { len, bytes })
            }
            _ => Err(InvalidCoopId(slug.chars().take(40).collect())),
        }
    }

    /// The pseudo-participant that homes the network fund.
    pub fn network() -> CoopId {
        // `network` is a valid slug; the fallback is never taken.
        CoopId::new(NETWORK_PARTICIPANT).unwrap_or(CoopId {
            len: 0,
            bytes: [0; COOP_ID_BYTES_MAX],
        })
    }

    pub fn is_network(&self) -> bool {
        self.as_bytes() == NETWORK_PARTICIPANT.as_bytes()
    }

    /// Whether the id obeys the slug rules (every constructor checks them,
    /// decoding included).
    pub fn is_valid(&self) -> bool {
        CoopId::new(self.as_str()).is_ok()
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII slugs are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Byte order of the slugs: the order of the strings.
impl Ord for CoopId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for CoopId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for CoopId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// Encoded as the `String` it holds, as a newtype (what the derived
/// encoding of the former `CoopId(String)` wrote).
impl Serialize for CoopId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct("CoopId", self.as_str())
    }
}

/// Decoded from a `String` and checked like [`CoopId::new`].
impl<'de> Deserialize<'de> for CoopId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let slug = String::deserialize(deserializer)?;
        CoopId::try_from(slug).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for CoopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CoopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cooperative id that breaks the slug rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cooperative id {0:?}: use 1-16 characters of a-z, 0-9 and '-'")]
pub struct InvalidCoopId(pub String);

/// What a member account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountKind {
    Member,
    Merchant,
}

/// Frozen accounts can neither send nor receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountStatus {
    Active,
    Frozen,
}

/// Know-your-customer tier; each has a balance cap set by governance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KycTier {
    /// Unregistered e-money account (Bank Indonesia cap: Rp 2,000,000).
    Basic,
    /// Registered account (Bank Indonesia cap: Rp 20,000,000 since July 2022).
    Registered,
    /// Merchants and businesses.
    Business,
}

impl KycTier {
    pub const ALL: [KycTier; 3] = [KycTier::Basic, KycTier::Registered, KycTier::Business];
}

/// Balance caps per tier, in rupiah.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLimits {
    pub basic: Amount,
    pub registered: Amount,
    pub business: Amount,
}

impl Default for TierLimits {
    fn default() -> Self {
        TierLimits {
            basic: 2_000_000,
            registered: 20_000_000,
            business: 100_000_000,
        }
    }
}

impl TierLimits {
    pub fn cap(&self, tier: KycTier) -> Amount {
        match tier {
            KycTier::Basic => self.basic,
            KycTier::Registered => self.registered,
            KycTier::Business => self.business,
        }
    }

    pub fn set(&mut self, tier: KycTier, cap: Amount) {
        match tier {
            KycTier::Basic => self.basic = cap,
            KycTier::Registered => self.registered = cap,
            KycTier::Business => self.business = cap,
        }
    }
}

/// A member's (or merchant's) e-money account. Its address (the key it
/// was registered with, under which it is stored and paid) never changes;
/// the key that signs for it (`key`) can be replaced (see
/// [`crate::member_keys`] and [`crate::recovery`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAccount {
    pub home: CoopId,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub tier: KycTier,
    pub balance: Amount,
    /// The last nonce the account used (whatever key signed); the next
    /// transaction carries `nonce + 1`.
    pub nonce: u64,
    pub registered_at_height: u64,
    /// The key that signs for the account now: the address until the
    /// member rotates it or a recovery replaces it.
    pub key: PublicKey,
    /// The rupiah received in one calendar month (WIB), with the month
    /// ([`crate::tiers::wib_month`]); a credit in a later month starts
    /// again from zero (rules in [`crate::tiers`]). `None` until the first
    /// credit.
    pub incoming: Option<(u32, Amount)>,
    /// A merchant's class, which selects its fee rules ([`crate::fees`]);
    /// `None` for member accounts.
    pub class: Option<MerchantClass>,
}

/// A merchant's class, set by its home cooperative at registration and
/// changed by it (`SetMerchantClass`): QRIS's merchant categories, which
/// the fee rules select by ([`crate::fees`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MerchantClass {
    /// Usaha mikro (UMI).
    Micro,
    /// Usaha kecil (UKE).
    Small,
    /// Usaha menengah (UME).
    Medium,
    /// Usaha besar (UBE).
    Large,
    /// Fuel stations (SPBU).
    Fuel,
    /// Public services (BLU, hospitals, utilities, transport authorities).
    PublicService,
    /// Schools and universities.
    Education,
    /// Government aid, taxes and other payments to the state.
    Government,
    /// Donations and social funds.
    Donation,
}

impl MerchantClass {
    pub const ALL: [MerchantClass; 9] = [
        MerchantClass::Micro,
        MerchantClass::Small,
        MerchantClass::Medium,
        MerchantClass::Large,
        MerchantClass::Fuel,
        MerchantClass::PublicService,
        MerchantClass::Education,
        MerchantClass::Government,
        MerchantClass::Donation,
    ];

    /// The class of a merchant registered without one (`RegisterMember`
    /// with kind `merchant`): small, whose default fee is the general rate.
    pub const UNSPECIFIED: MerchantClass = MerchantClass::Small;

    /// Its lowercase name, as the CLI and the API write it.
    pub fn name(self) -> &'static str {
        match self {
            MerchantClass::Micro => "micro",
            MerchantClass::Small => "small",
            MerchantClass::Medium => "medium",
            MerchantClass::Large => "large",
            MerchantClass::Fuel => "fuel",
            MerchantClass::PublicService => "public-service",
            MerchantClass::Education => "education",
            MerchantClass::Government => "government",
            MerchantClass::Donation => "donation",
        }
    }

    /// The class named `name` (as [`MerchantClass::name`] writes it).
    pub fn parse(name: &str) -> Option<MerchantClass> {
        MerchantClass::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Activity of one cooperative in the open settlement window.
///
/// Every transfer leg (payment, the leg of a cash-in or cash-out, a fee) that
/// touches an account homed here is counted exactly once: in `gross_sent` or
/// `gross_received` when the other end is homed at another participant (the
/// cross-cooperative volume), in `on_us_volume` when both ends are homed here.
/// Mint and burn at the home counter move no leg and are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowStats {
    /// Rupiah that left accounts homed here for other participants.
    pub gross_sent: Amount,
    /// Rupiah that arrived at accounts homed here from other participants.
    pub gross_received: Amount,
    /// Fees credited to this participant's fee account (or the network fund).
    pub fees_earned: Amount,
    /// Rupiah moved between two accounts both homed here (on-us legs).
    pub on_us_volume: Amount,
}

impl WindowStats {
    /// Cross-cooperative volume: `gross_sent + gross_received`.
    pub fn cross_volume(&self) -> Option<Amount> {
        self.gross_sent.checked_add(self.gross_received)
    }

    /// Total volume: on-us plus cross-cooperative.
    pub fn total_volume(&self) -> Option<Amount> {
        self.cross_volume()?.checked_add(self.on_us_volume)
    }
}

/// A participant of the network: a cooperative, or the `network` pseudo-participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cooperative {
    pub id: CoopId,
    pub name: String,
    /// The cooperative key (governance, tellers, minting policy; kept
    /// offline by the board); `None` only for the `network`
    /// pseudo-participant. It never signs consensus messages and is never
    /// a node's network identity.
    pub key: Option<PublicKey>,
    /// Validator voting power; 0 means a non-validating participant.
    pub voting_power: u64,
    /// Net debit cap in rupiah.
    pub ndc: Amount,
    /// Position in the open settlement window.
    pub position: Position,
    /// Sum of this participant's net positions in closed, not yet settled windows.
    pub unsettled: Position,
    /// Sum of this participant's net *debits* in closed, not yet settled
    /// windows: Σ min(0, position) over those windows, so never positive.
    /// This, not [`Cooperative::unsettled`], counts against the net debit
    /// cap: money a participant is owed in an unsettled window has not
    /// reached it yet, so it cannot be spent as room to owe more.
    pub unsettled_debit: Position,
    pub stats: WindowStats,
    /// Net amount owed to (+) or by (−) each counterparty in the open window:
    /// the bilateral matrix row of this participant.
    pub bilateral: std::collections::BTreeMap<CoopId, Position>,
    pub nonce: u64,
    /// Removed cooperatives keep their history but can no longer act.
    pub active: bool,
    /// The key that signs this cooperative's consensus messages (lives on
    /// its node); the validator set lists it. `None` only for `network`.
    /// Replaced by `RotateNodeKeys` (see [`crate::node_keys`]).
    pub validator_key: Option<PublicKey>,
    /// The libp2p identity of this cooperative's node: what the allow
    /// list admits. `None` only for `network`.
    pub node_key: Option<PublicKey>,
    /// The node identity replaced by the last rotation, still admitted
    /// until its grace period ends ([`crate::node_keys::NODE_KEY_GRACE_MS`]).
    pub retired_node_key: Option<crate::node_keys::RetiredNodeKey>,
    /// Rotations carried out so far (bounded by
    /// [`crate::node_keys::KEY_ROTATIONS_MAX`]: every retired key stays
    /// in the key index for ever, so that no key is ever used twice).
    pub key_rotations: u32,
    /// The merchant discount this participant has earned since it joined,
    /// by the paying merchant's class (its issuer and acquirer shares; the
    /// network fund's share for `network`). At most one entry per class.
    pub mdr_income: std::collections::BTreeMap<MerchantClass, Amount>,
}

impl Cooperative {
    /// A newly admitted participant: no position, no activity, nonce 0.
    pub fn new(
        id: CoopId,
        name: String,
        key: Option<PublicKey>,
        voting_power: u64,
        ndc: Amount,
    ) -> Self {
        Cooperative {
            id,
            name,
            key,
            voting_power,
            ndc,
            position: 0,
            unsettled: 0,
            unsettled_debit: 0,
            stats: WindowStats::default(),
            bilateral: std::collections::BTreeMap::new(),
            nonce: 0,
            active: true,
            validator_key: None,
            node_key: None,
            retired_node_key: None,
            key_rotations: 0,
            mdr_income: std::collections::BTreeMap::new(),
        }
    }
}

impl Cooperative {
    /// What counts against the net debit cap: the open position plus the
    /// net debits of closed, unsettled windows (`None` on overflow).
    pub fn ndc_exposure(&self) -> Option<Position> {
        self.position.checked_add(self.unsettled_debit)
    }

    /// How much more this participant may come to owe before a leg is
    /// rejected with `net_debit_cap_exceeded` (zero when at or beyond the
    /// cap, for example after governance lowered it).
    pub fn ndc_headroom(&self) -> Position {
        self.ndc_exposure()
            .and_then(|e| Position::from(self.ndc).checked_add(e))
            .unwrap_or(0)
            .max(0)
    }
}

/// Every account that can hold a balance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AccountId {
    Member(PublicKey),
    /// Where a cooperative's fee income accrues.
    Fee(CoopId),
    /// A cooperative's own e-money float, used for cash services.
    Float(CoopId),
    /// The network's own account for processing fees and incentives.
    NetworkFund,
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountId::Member(key) => write!(f, "{key}"),
            AccountId::Fee(coop) => write!(f, "fee:{coop}"),
            AccountId::Float(coop) => write!(f, "float:{coop}"),
            AccountId::NetworkFund => f.write_str("network-fund"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_primitives::codec;

    /// What `CoopId` was before it held its slug inline.
    #[derive(Serialize)]
    struct StringCoopId(String);

    #[test]
    fn coop_ids_encode_and_order_as_their_strings() {
        let slugs = [
            "a",
            "ab",
            "b",
            "ksp-sejahtera",
            "network",
            "z0-9",
            "zzzzzzzzzzzzzzzz",
        ];
        for slug in slugs {
            let id = CoopId::new(slug).unwrap();
            let bytes = codec::encode(&id).unwrap();
            assert_eq!(bytes, codec::encode(&StringCoopId(slug.into())).unwrap());
            assert_eq!(codec::decode::<CoopId>(&bytes).unwrap(), id);
            assert_eq!(id.as_str(), slug);
            assert_eq!(id.to_string(), slug);
            for other in slugs {
                let other_id = CoopId::new(other).unwrap();
                assert_eq!(id.cmp(&other_id), slug.cmp(other));
                assert_eq!(id == other_id, slug == other);
            }
        }
        assert!(CoopId::network().is_network());
        assert_eq!(CoopId::network().as_str(), NETWORK_PARTICIPANT);
        let too_long = codec::encode(&StringCoopId("a".repeat(17))).unwrap();
        assert!(codec::decode::<CoopId>(&too_long).is_err());
        let bad = codec::encode(&StringCoopId("Upper".into())).unwrap();
        assert!(codec::decode::<CoopId>(&bad).is_err());
    }
}
