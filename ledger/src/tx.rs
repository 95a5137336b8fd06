//! Signed transactions: what members and cooperatives submit.

use crate::bounds::ValidatorLimits;
use crate::fees::FeeRule;
use crate::payment_requests::RequestId;
use crate::rejection::Rejection;
use crate::schedule::SettlementSchedule;
use crate::types::{AccountKind, Amount, CoopId, KycTier, MerchantClass};
use kopnet_primitives::{
    codec, Hash, Keypair, PreparedKey, PublicKey, Signature, CHAIN_ID_BYTES_MAX,
};
use serde::{Deserialize, Serialize};

/// Largest encoded transaction accepted anywhere.
pub const TX_BYTES_MAX: usize = 16 * 1024;
/// Longest payment memo, in bytes.
pub const MEMO_BYTES_MAX: usize = 64;
/// Most fee rules one governance action may install.
pub const FEE_RULES_MAX: usize = 64;

/// The signing domain of transactions (see
/// [`kopnet_primitives::crypto::domain`]): a transaction signature never
/// verifies as a consensus vote or proposal. Part of the wallet's format:
/// the browser wallet signs under the same string.
pub const TX_SIGNING_DOMAIN: &str = "kopnet/tx/v1";

const TX_HASH_CONTEXT: &str = "kopnet 2026 transaction v1";

/// A client-chosen id that makes a payment safe to retry.
pub type IdempotencyId = [u8; 16];

/// The part of a transaction that is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBody {
    pub chain_id: String,
    pub signer: PublicKey,
    /// The signer's next nonce (its last used nonce + 1).
    pub nonce: u64,
    pub action: Action,
}

/// What a transaction asks the ledger to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// A cooperative registers a member (or merchant) whose home it becomes.
    RegisterMember {
        member: PublicKey,
        kind: AccountKind,
        tier: KycTier,
    },
    /// Cash deposited at the member's home cooperative becomes e-money.
    Mint { member: PublicKey, amount: Amount },
    /// E-money paid out as cash at the member's home cooperative.
    Burn { member: PublicKey, amount: Amount },
    /// A member pays another member or a merchant, at any cooperative.
    Payment {
        to: PublicKey,
        amount: Amount,
        memo: String,
        idempotency_id: IdempotencyId,
    },
    /// Cash deposited for `member` at `agent`'s counter (signed by the agent).
    CashIn {
        agent: CoopId,
        member: PublicKey,
        amount: Amount,
    },
    /// The signing member withdraws cash at `agent`'s counter.
    CashOut { agent: CoopId, amount: Amount },
    /// Once: freeze the open settlement window at will. Kept so that the
    /// wire format and stored blocks still decode, but always rejected
    /// (`window_closes_on_schedule`): windows close at the governed
    /// schedule's cut-offs ([`crate::schedule`]), not when a cooperative
    /// asks.
    CloseSettlementWindow { window: u64 },
    /// The signing cooperative confirms its off-ledger transfer for `window`.
    AcknowledgeSettlement { window: u64 },
    /// A validator cooperative proposes a governance action.
    Propose { action: GovAction },
    /// A validator cooperative approves an open proposal.
    Approve { proposal: u64 },
    /// The signing cooperative (by its cooperative key) replaces its
    /// validator key, its node identity or both; the new validator key
    /// signs from two blocks on ([`crate::node_keys`]).
    RotateNodeKeys {
        validator_key: Option<PublicKey>,
        node_key: Option<PublicKey>,
    },
    /// The cooperative key registers a teller key for its counter (see
    /// [`crate::tellers`]); `daily_limit` caps the rupiah the teller may
    /// mint, burn and cash in per day (WIB), `None` for no cap.
    AddTeller {
        teller: PublicKey,
        name: String,
        daily_limit: Option<Amount>,
    },
    /// The cooperative key retires one of its tellers for good.
    RemoveTeller { teller: PublicKey },
    /// A member replaces the key that signs for its account, at once
    /// (signed by the current key; see [`crate::member_keys`]).
    RotateMemberKey { new_key: PublicKey },
    /// The member's home cooperative (its key or a teller) starts replacing
    /// a lost key; it takes effect after the governed waiting period (see
    /// [`crate::recovery`]).
    StartRecovery {
        member: PublicKey,
        new_key: PublicKey,
    },
    /// Cancel `member`'s pending recovery: signed by the account's current
    /// key, or by its home cooperative (its key or a teller).
    CancelRecovery { member: PublicKey },
    /// A merchant's home cooperative sets (or, with an empty name, removes)
    /// the merchant's public display name, which wallets show on the
    /// confirm screen instead of the name printed in a QR code (rules in
    /// [`crate::merchant_names`]).
    SetMerchantName { merchant: PublicKey, name: String },
    /// A registered observer replaces its key (its node identity), signed
    /// by its current key; the old one stays admitted for an hour of block
    /// time ([`crate::observers`]).
    RotateObserverKey { new_key: PublicKey },
    /// The member's home cooperative (its key or a teller) moves the
    /// account to another KYC tier, e.g. to `registered` after KYC (rules
    /// in [`crate::tiers`]).
    SetMemberTier { member: PublicKey, tier: KycTier },
    /// A cooperative (its key or a teller) registers a merchant of a class
    /// ([`MerchantClass`]; the class selects its fee rules).
    RegisterMerchant {
        merchant: PublicKey,
        tier: KycTier,
        class: MerchantClass,
    },
    /// The merchant's home cooperative (its key or a teller) changes its
    /// class.
    SetMerchantClass {
        merchant: PublicKey,
        class: MerchantClass,
    },
    /// The cooperative (its key) pays `member` from its own funds: one line
    /// of a bulk payout (surplus share, wages, social aid; see
    /// [`crate::payouts`]).
    Payout {
        member: PublicKey,
        amount: Amount,
        reference: String,
        /// Makes the line safe to send again, like a payment's: the
        /// cooperative key is the payer of the idempotency record.
        idempotency_id: IdempotencyId,
    },
    /// The signing member or merchant account asks for a payment, named
    /// `id` among its requests: addressed to `payer`, or a dynamic QR code
    /// anyone may pay once (`None`); rules in [`crate::payment_requests`].
    RequestPayment {
        id: RequestId,
        payer: Option<PublicKey>,
        amount: Amount,
        reference: String,
        expires_at_ms: u64,
    },
    /// The signer pays request `(requester, id)`: a payment of `amount`,
    /// which must be the amount requested.
    PayRequest {
        requester: PublicKey,
        id: RequestId,
        amount: Amount,
    },
    /// The addressed payer declines request `(requester, id)`.
    DeclineRequest { requester: PublicKey, id: RequestId },
    /// The requester cancels its open request `id`.
    CancelRequest { id: RequestId },
    /// Refund all or part of the payment to a merchant `payment` (its
    /// transaction hash) to its payer, within the governed refund period:
    /// signed by the merchant, or by its home cooperative's key or a
    /// teller; the payment's fees are reversed in proportion (rules in
    /// [`crate::refunds`]).
    Refund {
        payment: Hash,
        amount: Amount,
        memo: String,
    },
}

/// Changes to the network itself, executed once approvals reach more than
/// two thirds of the voting power.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GovAction {
    AddCooperative {
        id: CoopId,
        name: String,
        /// The cooperative key (ledger transactions).
        key: PublicKey,
        voting_power: u64,
        ndc: Amount,
        /// Signs its consensus messages.
        validator_key: PublicKey,
        /// Its node's libp2p identity.
        node_key: PublicKey,
    },
    RemoveCooperative {
        id: CoopId,
    },
    SetVotingPower {
        id: CoopId,
        voting_power: u64,
    },
    SetNetDebitCap {
        id: CoopId,
        ndc: Amount,
    },
    SetFeeRules {
        rules: Vec<FeeRule>,
    },
    SetTierLimit {
        tier: KycTier,
        cap: Amount,
    },
    Freeze {
        member: PublicKey,
    },
    Unfreeze {
        member: PublicKey,
    },
    /// Pay an incentive from the network fund to a member.
    FundIncentive {
        member: PublicKey,
        amount: Amount,
    },
    /// When settlement windows close (bounds in [`crate::schedule`]); the
    /// new schedule's cut-offs apply from the block after it executes.
    SetSettlementSchedule {
        schedule: SettlementSchedule,
    },
    /// The network's limits on its validator set (within the ceilings in
    /// [`crate::bounds`]; the validators of the day must fit them).
    SetValidatorLimits {
        limits: ValidatorLimits,
    },
    /// How long a member-key recovery waits before it takes effect (bounds
    /// in [`crate::recovery`]).
    SetRecoveryWait {
        wait_ms: u64,
    },
    /// Register a regulator's read-only observer node: every allow-list
    /// admits `key` from the block that executes this ([`crate::observers`]).
    AddObserver {
        name: String,
        key: PublicKey,
    },
    /// Unregister the observer whose current key is `key`: disconnected
    /// from the block that executes this.
    RemoveObserver {
        key: PublicKey,
    },
    /// What a tier may receive per month and do ([`crate::tiers`]).
    SetTierRule {
        tier: KycTier,
        rule: crate::tiers::TierRule,
    },
    /// The most one payment to a merchant may be ([`crate::tiers`]).
    SetQrPaymentCap {
        cap: Amount,
    },
    /// Start an incentive programme ([`crate::incentives`]).
    CreateIncentive {
        terms: crate::incentives::IncentiveTerms,
    },
    /// End an incentive programme early.
    EndIncentive {
        id: u32,
    },
    /// How long a payment to a merchant may be refunded (bounds in
    /// [`crate::refunds`]).
    SetRefundPeriod {
        period_ms: u64,
    },
    /// The daily sum of a member's cash transactions at or above which
    /// observers report it (bounds in [`crate::cash_reports`]).
    SetCashReportThreshold {
        amount: Amount,
    },
    /// Blocks from `height` on are executed under protocol `version` (the
    /// next one); nodes that do not speak it stop before it
    /// ([`crate::upgrades`]).
    ScheduleUpgrade {
        version: u32,
        height: u64,
    },
    /// Withdraw the scheduled upgrade.
    CancelUpgrade,
}

/// A signed transaction as it travels and is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub body: TxBody,
    pub signature: Signature,
}

impl Transaction {
    /// Sign a body with the signer's key (the body's `signer` must match).
    pub fn sign(body: TxBody, key: &Keypair) -> Result<Transaction, Rejection> {
        let signature = codec::encode_with(&body, |bytes| key.sign(TX_SIGNING_DOMAIN, bytes))
            .map_err(|e| Rejection::Malformed(e.to_string()))?;
        Ok(Transaction { body, signature })
    }

    /// Decode a transaction from untrusted bytes; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Transaction, Rejection> {
        let tx: Transaction = codec::decode_bounded(bytes, TX_BYTES_MAX)
            .map_err(|e| Rejection::Malformed(e.to_string()))?;
        tx.check_format()?;
        Ok(tx)
    }

    pub fn encode(&self) -> Result<Vec<u8>, Rejection> {
        codec::encode(self).map_err(|e| Rejection::Malformed(e.to_string()))
    }

    /// The transaction's id: a domain-separated hash of its exact bytes.
    pub fn hash(&self) -> Hash {
        self.hash_and_size().0
    }

    /// The id of the transaction whose exact (canonical) bytes are
    /// `encoded`, without decoding it: what [`Transaction::hash`] gives for
    /// the transaction those bytes decode to.
    pub fn hash_of_encoded(encoded: &[u8]) -> Hash {
        Hash::digest(TX_HASH_CONTEXT, encoded)
    }

    /// The transaction's id and its encoded size, from one encoding
    /// (`usize::MAX` if it cannot be encoded).
    pub fn hash_and_size(&self) -> (Hash, usize) {
        codec::encode_with(self, |bytes| {
            (Transaction::hash_of_encoded(bytes), bytes.len())
        })
        .unwrap_or((Hash::ZERO, usize::MAX))
    }

    /// Check the signature under kopnet's signature rule
    /// ([`kopnet_primitives::signature_rule`]).
    pub fn verify_signature(&self) -> Result<(), Rejection> {
        let key = self
            .body
            .signer
            .prepare()
            .map_err(|_| Rejection::BadSignature)?;
        self.verify_signature_with(&key)
    }

    /// [`Transaction::verify_signature`] with the signer's key already
    /// decompressed; a key of another signer is a bad signature.
    pub fn verify_signature_with(&self, key: &PreparedKey) -> Result<(), Rejection> {
        if key.public() != self.body.signer {
            return Err(Rejection::BadSignature);
        }
        key.verify_signed_bytes(&self.signed_bytes()?, &self.signature)
            .map_err(|_| Rejection::BadSignature)
    }

    /// The exact bytes the signature covers: `TX_SIGNING_DOMAIN || 0 ||
    /// codec(body)` (for batch verification, which takes them as they are).
    pub fn signed_bytes(&self) -> Result<Vec<u8>, Rejection> {
        codec::encode_with(&self.body, |body| {
            kopnet_primitives::crypto::domain::signing_bytes(TX_SIGNING_DOMAIN, body)
        })
        .map_err(|e| Rejection::Malformed(e.to_string()))
    }

    /// Field rules that decoding alone cannot enforce.
    pub fn check_format(&self) -> Result<(), Rejection> {
        let malformed = |what: &str| Err(Rejection::Malformed(what.to_string()));
        if self.body.chain_id.len() > CHAIN_ID_BYTES_MAX {
            return malformed("chain id too long");
        }
        match &self.body.action {
            Action::Payment { memo, .. } if memo.len() > MEMO_BYTES_MAX => {
                malformed("memo longer than 64 bytes")
            }
            Action::CashIn { agent, .. } | Action::CashOut { agent, .. } if !agent.is_valid() => {
                malformed("invalid cooperative id")
            }
            Action::Propose { action } => check_gov_format(action),
            Action::AddTeller {
                name, daily_limit, ..
            } => crate::tellers::check_format(name, *daily_limit),
            Action::SetMerchantName { name, .. } => crate::merchant_names::check_name_format(name),
            Action::Payout { reference, .. } => crate::payouts::check_reference(reference),
            Action::RequestPayment {
                amount, reference, ..
            } => crate::payment_requests::check_format(*amount, reference),
            Action::Refund { memo, .. } if memo.len() > MEMO_BYTES_MAX => {
                malformed("memo longer than 64 bytes")
            }
            _ => Ok(()),
        }
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.encode().map(|b| b.len()).unwrap_or(usize::MAX)
    }
}

fn check_gov_format(action: &GovAction) -> Result<(), Rejection> {
    let malformed = |what: &str| Err(Rejection::Malformed(what.to_string()));
    match action {
        GovAction::AddCooperative { id, name, .. } => {
            if !id.is_valid() || id.is_network() {
                return malformed("invalid cooperative id");
            }
            if name.is_empty() || name.len() > crate::types::COOP_NAME_BYTES_MAX {
                return malformed("cooperative name must be 1-64 bytes");
            }
            Ok(())
        }
        GovAction::RemoveCooperative { id }
        | GovAction::SetVotingPower { id, .. }
        | GovAction::SetNetDebitCap { id, .. }
            if !id.is_valid() =>
        {
            malformed("invalid cooperative id")
        }
        GovAction::SetFeeRules { rules } if rules.len() > FEE_RULES_MAX => {
            malformed("too many fee rules")
        }
        GovAction::AddObserver { name, .. } => crate::observers::check_name_format(name),
        GovAction::CreateIncentive { terms }
            if terms.name.len() > crate::incentives::PROGRAMME_NAME_BYTES_MAX
                || terms.classes.len() > MerchantClass::ALL.len() =>
        {
            malformed("incentive name or class list too long")
        }
        _ => Ok(()),
    }
}
