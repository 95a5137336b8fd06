//! Why a transaction was not applied.
//!
//! Codes are checked in a fixed precedence (TigerBeetle style): the first rule
//! in the order below that a transaction breaks is the one reported, so every
//! node reports the same code for the same transaction.
//!
//! Admission codes (the transaction cannot enter a block at all and consumes no
//! nonce), in this order:
//!
//! 1. `malformed`: the bytes or a field break a format rule;
//! 2. `wrong_chain`: the transaction names another network;
//! 3. `bad_signature`: the signature does not verify (kopnet's signature rule,
//!    `kopnet_primitives::signature_rule`) under
//!    the key the transaction names as its signer;
//! 4. `unknown_signer`: no cooperative or member account has that key;
//! 5. `signer_inactive`: the key's cooperative was removed;
//!    `teller_removed`: the key is a teller its cooperative removed;
//!    `key_replaced`: the key signed for a member account once, but the
//!    account has another key now (rotated or recovered);
//! 6. `stale_nonce`, 7. `future_nonce`: the nonce is not the signer's next.
//!
//! Why this order: the first three need no state, so their answer for a
//! given transaction is the same on every node at every height, and the
//! signature is checked before anything that depends on who the claimed
//! signer is. Accounts are addressed by their key and the key travels in the
//! transaction, so even an unknown key's signature can be checked (a key
//! that is not a valid curve point is a bad signature). A forged copy of a
//! committed transaction is therefore `bad_signature`, not `stale_nonce`, and
//! someone who cannot sign for a key learns nothing about its account.
//! Block building/validation (`Ledger::run_tx`) follows this order;
//! `Ledger::check_admission` checks rules 1, 2 and 4-7 (signatures are
//! verified once per node, separately).
//!
//! Admission order at a node (its HTTP API and gossip): a signature check
//! is the dearest step, so a node refuses what it can refuse cheaply
//! before it verifies one: 1, 2, then 4-7 and the mempool's own refusals
//! (`nonce_taken`, `signer_limit`, `mempool_full`), then 3. Otherwise any
//! anonymous client could make a node verify up to 256 signatures per
//! request with keys no account has. So a forged transaction from a key
//! no account has is reported `unknown_signer` there, and a forged copy of
//! a committed transaction or one with a used nonce `stale_nonce`, not
//! `bad_signature`. That tells a forger nothing new: which keys have
//! accounts and their nonces are public (`GET /v1/accounts/{address}`).
//! A block never holds such a transaction, so what is on the chain, and
//! every node's code for a transaction in a block, is unchanged.
//!
//! Execution codes (the transaction is in a block, its nonce is used, nothing
//! else changes): everything else.
//!
//! Governance proposals (`Propose`) report, in this order: `not_authorized`
//! (the proposer does not validate); then the action against its own
//! bounds and the network's limits (`voting_power_out_of_range`,
//! `invalid_fee_rule`, `tier_limit_out_of_range`,
//! `settlement_schedule_out_of_range`, `validator_limits_out_of_range`);
//! then the network the action would leave if it executed now
//! (`voting_power_out_of_range` for a power past new limits,
//! `validator_count_exceeded`, `total_voting_power_exceeded`,
//! `no_validator_left`, `cooperative_count_exceeded`); last
//! `too_many_proposals`. A proposal that could never execute is reported as
//! such whatever the queue holds; the queue is the one condition that
//! clears by itself. When a proposal executes, the same checks run again on
//! the state as it is then, with the action's own preconditions
//! (`unknown_cooperative`, ...): a failure there is not a rejected
//! transaction but the proposal's status (`failed`, with the code and the
//! reason), and it changes nothing else.
//!
//! Tellers ([`crate::tellers`]): an action a teller may not sign is
//! `not_authorized`; a counter action runs its own rules first (so it
//! reports their codes), then `teller_daily_limit`. Teller management
//! reports `weak_key` / `account_exists` for the key, then
//! `too_many_tellers`; `unknown_teller` for a key that is no active teller
//! of the signing cooperative. Member keys ([`crate::member_keys`],
//! [`crate::recovery`]): `account_frozen`, then `recovery_pending`, then
//! `weak_key` / `account_exists` for a rotation; `unknown_account`,
//! `not_authorized`, `recovery_pending`, `weak_key` / `account_exists`,
//! `too_many_recoveries` for a recovery's start; `not_authorized` /
//! `account_frozen`, then `no_recovery_pending` for its cancellation.
//!
//! Money rules ([`crate::tiers`], [`crate::fees`], [`crate::incentives`]):
//! a payment reports `zero_amount`, `self_payment`, the idempotency codes,
//! then `tier_forbids_transfer` (to a member) or `qr_payment_cap` (to a
//! merchant), then its legs' codes in the legs' order (`account_frozen`,
//! `insufficient_funds`, `tier_balance_cap`, `tier_monthly_incoming_cap`,
//! `net_debit_cap_exceeded`); a cash-out (`CashOut`, `Burn`) reports
//! `tier_forbids_cash_out` before its legs. Governance of these rules
//! reports `tier_limit_out_of_range`, `invalid_fee_rule`,
//! `payment_rule_out_of_range`, `too_many_incentives` and
//! `unknown_incentive`.
//!
//! Payment requests ([`crate::payment_requests`]): `RequestPayment`
//! reports `malformed` (amount 0, reference over 64 bytes) at admission,
//! then `account_frozen`, `unknown_account` / `self_payment` for the
//! addressed payer, `request_expiry_out_of_range`, `request_exists`,
//! `too_many_requests`, `too_many_requests_to_payer`. `PayRequest`:
//! `unknown_request`, `not_authorized`, `request_already_paid` /
//! `request_closed` / `request_expired`, `request_amount_mismatch`, then
//! the codes of a payment. `DeclineRequest` and `CancelRequest`:
//! `unknown_request`, `not_authorized` (decline only), then
//! `request_already_paid` / `request_closed` / `request_expired`.
//! Refunds ([`crate::refunds`]): `not_authorized` for a member signer
//! whose account is not a merchant, `zero_amount`, `unknown_payment` (no
//! payment to a merchant with that hash, or its refund period is over),
//! `not_authorized` for a signer that is neither the payment's merchant
//! nor (its key or a teller) the merchant's home cooperative,
//! `refund_exceeds_payment` (with what is left), `too_many_refunds`, then
//! the legs' codes (`account_frozen`, `insufficient_funds`,
//! `tier_balance_cap`, `tier_monthly_incoming_cap`,
//! `net_debit_cap_exceeded`). A proposed refund
//! period outside its bounds is `refund_period_out_of_range`; a proposed
//! cash reporting threshold outside its bounds,
//! `cash_report_threshold_out_of_range` ([`crate::cash_reports`]).
//!
//! `window_closes_on_schedule`: `CloseSettlementWindow` stays decodable (old
//! clients, stored blocks) but no cooperative may close a window; windows
//! close at the schedule's cut-offs (see [`crate::schedule`]).

use kopnet_primitives::Hash;
use serde::{Deserialize, Serialize};

/// A typed, documented reason for rejecting a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    // ---- admission, in precedence order ----
    /// The bytes do not decode, or a field breaks its format rule.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The transaction names another chain.
    #[error("wrong_chain: transaction is for another network")]
    WrongChain,
    /// The signature does not verify against the signer's key.
    #[error("bad_signature: signature does not verify")]
    BadSignature,
    /// No cooperative or member account has this key.
    #[error("unknown_signer: no account or cooperative has this key")]
    UnknownSigner,
    /// The signer's cooperative was removed.
    #[error("signer_inactive: the signer's cooperative is no longer active")]
    SignerInactive,
    /// The nonce was used already (this is how replays are stopped).
    #[error("stale_nonce: expected {expected}, got {got}")]
    StaleNonce { expected: u64, got: u64 },
    /// The nonce skips ahead of the signer's next nonce.
    #[error("future_nonce: expected {expected}, got {got}")]
    FutureNonce { expected: u64, got: u64 },

    // ---- execution ----
    /// The signer may not perform this action.
    #[error("not_authorized: {0}")]
    NotAuthorized(String),
    /// Amounts must be at least Rp 1.
    #[error("zero_amount: amount must be positive")]
    ZeroAmount,
    /// A payer cannot pay itself.
    #[error("self_payment: payer and payee are the same account")]
    SelfPayment,
    /// The idempotency id was used before for the same payment: nothing happens
    /// again; `first_tx` is the transaction that used it (and succeeded: a
    /// rejected payment does not use up its idempotency id).
    #[error("duplicate: idempotency id already used by {first_tx}")]
    Duplicate { first_tx: Hash },
    /// The idempotency id was used before for a payment to someone else.
    #[error("exists_with_different_payee")]
    ExistsWithDifferentPayee { first_tx: Hash },
    /// The idempotency id was used before for another amount.
    #[error("exists_with_different_amount")]
    ExistsWithDifferentAmount { first_tx: Hash },
    /// The idempotency id was used before with another memo.
    #[error("exists_with_different_memo")]
    ExistsWithDifferentMemo { first_tx: Hash },
    /// The named cooperative does not exist or is inactive.
    #[error("unknown_cooperative: {0}")]
    UnknownCooperative(String),
    /// The named account does not exist.
    #[error("unknown_account: {0}")]
    UnknownAccount(String),
    /// The account (or key) is registered already.
    #[error("account_exists: key is already registered")]
    AccountExists,
    /// The key is a weak (small-order) or invalid ed25519 key.
    #[error("weak_key: key cannot own an account")]
    WeakKey,
    /// An account involved is frozen.
    #[error("account_frozen: {0}")]
    AccountFrozen(String),
    /// The paying account does not hold enough.
    #[error("insufficient_funds: balance {balance}, needed {needed}")]
    InsufficientFunds { balance: u64, needed: u64 },
    /// The receiving account would exceed its KYC tier's balance cap (code
    /// `tier_balance_cap`; it was `balance_cap_exceeded` before issue 17).
    #[error("tier_balance_cap: the account's tier holds at most {cap}")]
    BalanceCapExceeded { cap: u64 },
    /// A leg would take a participant's open position plus its unsettled
    /// closed-window net debit (credits in unsettled windows do not count)
    /// below minus its net debit cap.
    #[error("net_debit_cap_exceeded: {participant}")]
    NetDebitCapExceeded { participant: String },
    /// The settlement window is not the open one.
    #[error("window_not_open: window {0}")]
    WindowNotOpen(u64),
    /// The settlement window does not exist or is not closed.
    #[error("unknown_window: window {0}")]
    UnknownWindow(u64),
    /// The cooperative acknowledged this window already, or had nothing to settle.
    #[error("nothing_to_acknowledge: window {0}")]
    NothingToAcknowledge(u64),
    /// No open proposal has this number.
    #[error("unknown_proposal: {0}")]
    UnknownProposal(u64),
    /// The cooperative approved this proposal already.
    #[error("already_approved: proposal {0}")]
    AlreadyApproved(u64),
    /// Too many open proposals.
    #[error("too_many_proposals")]
    TooManyProposals,
    /// The governance action cannot be carried out as stated.
    #[error("invalid_action: {0}")]
    InvalidAction(String),
    /// A sum would leave the range of its integer type.
    #[error("overflow")]
    Overflow,
    // New codes are appended, so stored results keep their encoding.
    /// Settlement windows close at the schedule's cut-offs, not on request.
    #[error("window_closes_on_schedule: settlement windows close at the governed cut-offs")]
    WindowClosesOnSchedule,
    /// A validator's voting power past the network's per-validator limit.
    #[error("voting_power_out_of_range: {voting_power} is more than the limit of {max}")]
    VotingPowerOutOfRange { voting_power: u64, max: u64 },
    /// The action would leave more validators than the network's limit.
    #[error("validator_count_exceeded: {count} validators, more than the limit of {max}")]
    ValidatorCountExceeded { count: u64, max: u64 },
    /// The action would leave a total voting power past the network's limit.
    #[error("total_voting_power_exceeded: total {total}, more than the limit of {max}")]
    TotalVotingPowerExceeded { total: u64, max: u64 },
    /// The action would leave no validator: the chain could not sign.
    #[error("no_validator_left: the network must keep at least one validator")]
    NoValidatorLeft,
    /// The action would admit more participants than the network can hold.
    #[error("cooperative_count_exceeded: at most {max} participants ever")]
    CooperativeCountExceeded { max: u64 },
    /// A proposed fee rule is not usable.
    #[error("invalid_fee_rule: rule {index}: {reason}")]
    InvalidFeeRule { index: u64, reason: String },
    /// A proposed balance cap breaks the tiers' bounds.
    #[error("tier_limit_out_of_range: {0}")]
    TierLimitOutOfRange(String),
    /// A proposed settlement schedule is outside its bounds.
    #[error("settlement_schedule_out_of_range: {0}")]
    ScheduleOutOfRange(String),
    /// Proposed validator limits are outside the ceilings.
    #[error("validator_limits_out_of_range: {0}")]
    ValidatorLimitsOutOfRange(String),
    /// A cash-in would carry as much in fees as it deposits (the member's
    /// balance and home cooperative's position would go down).
    #[error("fee_exceeds_amount: fees {fees} for a cash-in of {amount}")]
    FeeExceedsAmount { amount: u64, fees: u64 },
    /// The key is (or was) used by an account, a cooperative, a validator
    /// or a node: no key is ever used for two jobs or used again.
    #[error("key_in_use: {0} is or was used already")]
    KeyInUse(String),
    /// `RotateNodeKeys` named neither a validator key nor a node identity.
    #[error("no_key_to_rotate: name a new validator key, a new node key or both")]
    NoKeyToRotate,
    /// The node identity replaced by the last rotation is still in its
    /// grace period; another node identity rotation waits until it ends.
    #[error(
        "node_key_rotation_pending: the previous node identity is admitted until {until_ms} ms"
    )]
    NodeKeyRotationPending { until_ms: u64 },
    /// The cooperative carried out as many key rotations as one may.
    #[error("key_rotations_exhausted: at most {max} key rotations per cooperative")]
    KeyRotationsExhausted { max: u64 },
    /// The signing key is a teller its cooperative removed (admission, in
    /// the place of `signer_inactive`).
    #[error("teller_removed: this teller key was removed by its cooperative")]
    TellerRemoved,
    /// The signing key once signed for this member account but was
    /// replaced (rotated or recovered); admission, in the place of
    /// `signer_inactive`.
    #[error("key_replaced: this key no longer signs for account {0}")]
    KeyReplaced(String),
    /// The teller's Mint, Burn and CashIn of the day (WIB) would pass its limit.
    #[error("teller_daily_limit: limit {limit}, used today {used}, this transaction {amount}")]
    TellerDailyLimit { limit: u64, used: u64, amount: u64 },
    /// No active teller of the signing cooperative has this key.
    #[error("unknown_teller: {0}")]
    UnknownTeller(String),
    /// The cooperative has as many tellers as it may have.
    #[error("too_many_tellers: at most {max}")]
    TooManyTellers { max: u64 },
    /// No registered observer has this key now.
    #[error("unknown_observer: {0}")]
    UnknownObserver(String),
    /// As many observers are registered as the network may have.
    #[error("too_many_observers: at most {max}")]
    TooManyObservers { max: u64 },
    /// The account already has a pending recovery.
    #[error("recovery_pending: account {0} has a pending recovery")]
    RecoveryPending(String),
    /// The account has no pending recovery.
    #[error("no_recovery_pending: account {0}")]
    NoRecoveryPending(String),
    /// The cooperative has as many pending recoveries as it may have.
    #[error("too_many_recoveries: at most {max} pending per cooperative")]
    TooManyRecoveries { max: u64 },
    /// A proposed recovery waiting period is outside its bounds.
    #[error("recovery_wait_out_of_range: {0}")]
    RecoveryWaitOutOfRange(String),
    /// The payer's tier may pay merchants only ([`crate::tiers`]).
    #[error("tier_forbids_transfer: this account's tier may pay merchants only")]
    TierForbidsTransfer,
    /// The account's tier may not take cash out ([`crate::tiers`]).
    #[error("tier_forbids_cash_out: this account's tier may not take cash out")]
    TierForbidsCashOut,
    /// The credit would take the month's incoming money (WIB calendar
    /// month) above the tier's monthly cap ([`crate::tiers`]).
    #[error(
        "tier_monthly_incoming_cap: at most {cap} incoming per month, received {used} this month, \
         this credit {amount}"
    )]
    TierMonthlyIncomingCap { cap: u64, used: u64, amount: u64 },
    /// A payment to a merchant above the QR payment cap ([`crate::tiers`]).
    #[error("qr_payment_cap: at most {cap} per payment to a merchant")]
    QrPaymentCap { cap: u64 },
    /// A proposed payment rule (QR cap, incentive programme) is outside
    /// its bounds.
    #[error("payment_rule_out_of_range: {0}")]
    PaymentRuleOutOfRange(String),
    /// As many incentive programmes exist as the network may keep.
    #[error("too_many_incentives: at most {max} programmes")]
    TooManyIncentives { max: u64 },
    /// No incentive programme has this number.
    #[error("unknown_incentive: programme {0}")]
    UnknownIncentive(u32),
    /// No kept payment request has this requester and id (hex).
    #[error("unknown_request: {0}")]
    UnknownRequest(String),
    /// The payment request was paid already, by transaction `tx`.
    #[error("request_already_paid: paid by {tx}")]
    RequestAlreadyPaid { tx: Hash },
    /// The payment request expired (block time at or past its expiry).
    #[error("request_expired: expired at {expired_at_ms} ms")]
    RequestExpired { expired_at_ms: u64 },
    /// The payment request was declined or cancelled.
    #[error("request_closed: {0}")]
    RequestClosed(String),
    /// A `PayRequest` names another amount than the request's.
    #[error("request_amount_mismatch: requested {requested}, offered {offered}")]
    RequestAmountMismatch { requested: u64, offered: u64 },
    /// The requester has as many open payment requests as it may have.
    #[error("too_many_requests: at most {max} open per requester")]
    TooManyRequests { max: u64 },
    /// The payer has as many open requests addressed to it as it may have.
    #[error("too_many_requests_to_payer: at most {max} open per payer")]
    TooManyRequestsToPayer { max: u64 },
    /// A request's expiry is not after the block time or too far after it.
    #[error("request_expiry_out_of_range: {0}")]
    RequestExpiryOutOfRange(String),
    /// The requester has a kept request (open, or ended and not yet
    /// removed) with this id (hex).
    #[error("request_exists: {0}")]
    RequestExists(String),
    /// A proposed refund period is outside its bounds.
    #[error("refund_period_out_of_range: {0}")]
    RefundPeriodOutOfRange(String),
    /// No payment to a merchant with this hash can be refunded: there is
    /// none, or its refund period is over.
    #[error("unknown_payment: no refundable payment to a merchant {0}")]
    UnknownPayment(Hash),
    /// The refund would take the payment's refunds past its amount.
    #[error("refund_exceeds_payment: at most {left} is left to refund")]
    RefundExceedsPayment { left: u64 },
    /// The payment was refunded in as many parts as one may be.
    #[error("too_many_refunds: at most {max} refunds per payment")]
    TooManyRefunds { max: u64 },
    /// A proposed cash reporting threshold is outside its bounds
    /// ([`crate::cash_reports`]).
    #[error("cash_report_threshold_out_of_range: {0}")]
    CashReportThresholdOutOfRange(String),
    /// A scheduled upgrade that is not the next version, too soon, or
    /// beside a pending one ([`crate::upgrades`]).
    #[error("upgrade_out_of_range: {0}")]
    UpgradeOutOfRange(String),
    /// `CancelUpgrade` with no upgrade scheduled.
    #[error("no_upgrade_scheduled: no upgrade is scheduled")]
    NoUpgradeScheduled,
}

impl Rejection {
    /// The stable snake_case code clients and metrics use.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::WrongChain => "wrong_chain",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnknownSigner => "unknown_signer",
            Rejection::SignerInactive => "signer_inactive",
            Rejection::StaleNonce { .. } => "stale_nonce",
            Rejection::FutureNonce { .. } => "future_nonce",
            Rejection::NotAuthorized(_) => "not_authorized",
            Rejection::ZeroAmount => "zero_amount",
            Rejection::SelfPayment => "self_payment",
            Rejection::Duplicate { .. } => "duplicate",
            Rejection::ExistsWithDifferentPayee { .. } => "exists_with_different_payee",
            Rejection::ExistsWithDifferentAmount { .. } => "exists_with_different_amount",
            Rejection::ExistsWithDifferentMemo { .. } => "exists_with_different_memo",
            Rejection::UnknownCooperative(_) => "unknown_cooperative",
            Rejection::UnknownAccount(_) => "unknown_account",
            Rejection::AccountExists => "account_exists",
            Rejection::WeakKey => "weak_key",
            Rejection::AccountFrozen(_) => "account_frozen",
            Rejection::InsufficientFunds { .. } => "insufficient_funds",
            Rejection::BalanceCapExceeded { .. } => "tier_balance_cap",
            Rejection::NetDebitCapExceeded { .. } => "net_debit_cap_exceeded",
            Rejection::WindowNotOpen(_) => "window_not_open",
            Rejection::UnknownWindow(_) => "unknown_window",
            Rejection::NothingToAcknowledge(_) => "nothing_to_acknowledge",
            Rejection::UnknownProposal(_) => "unknown_proposal",
            Rejection::AlreadyApproved(_) => "already_approved",
            Rejection::TooManyProposals => "too_many_proposals",
            Rejection::InvalidAction(_) => "invalid_action",
            Rejection::Overflow => "overflow",
            Rejection::WindowClosesOnSchedule => "window_closes_on_schedule",
            Rejection::VotingPowerOutOfRange { .. } => "voting_power_out_of_range",
            Rejection::ValidatorCountExceeded { .. } => "validator_count_exceeded",
            Rejection::TotalVotingPowerExceeded { .. } => "total_voting_power_exceeded",
            Rejection::NoValidatorLeft => "no_validator_left",
            Rejection::CooperativeCountExceeded { .. } => "cooperative_count_exceeded",
            Rejection::InvalidFeeRule { .. } => "invalid_fee_rule",
            Rejection::TierLimitOutOfRange(_) => "tier_limit_out_of_range",
            Rejection::ScheduleOutOfRange(_) => "settlement_schedule_out_of_range",
            Rejection::ValidatorLimitsOutOfRange(_) => "validator_limits_out_of_range",
            Rejection::FeeExceedsAmount { .. } => "fee_exceeds_amount",
            Rejection::KeyInUse(_) => "key_in_use",
            Rejection::NoKeyToRotate => "no_key_to_rotate",
            Rejection::NodeKeyRotationPending { .. } => "node_key_rotation_pending",
            Rejection::KeyRotationsExhausted { .. } => "key_rotations_exhausted",
            Rejection::TellerRemoved => "teller_removed",
            Rejection::KeyReplaced(_) => "key_replaced",
            Rejection::TellerDailyLimit { .. } => "teller_daily_limit",
            Rejection::UnknownTeller(_) => "unknown_teller",
            Rejection::TooManyTellers { .. } => "too_many_tellers",
            Rejection::UnknownObserver(_) => "unknown_observer",
            Rejection::TooManyObservers { .. } => "too_many_observers",
            Rejection::RecoveryPending(_) => "recovery_pending",
            Rejection::NoRecoveryPending(_) => "no_recovery_pending",
            Rejection::TooManyRecoveries { .. } => "too_many_recoveries",
            Rejection::RecoveryWaitOutOfRange(_) => "recovery_wait_out_of_range",
            Rejection::TierForbidsTransfer => "tier_forbids_transfer",
            Rejection::TierForbidsCashOut => "tier_forbids_cash_out",
            Rejection::TierMonthlyIncomingCap { .. } => "tier_monthly_incoming_cap",
            Rejection::QrPaymentCap { .. } => "qr_payment_cap",
            Rejection::PaymentRuleOutOfRange(_) => "payment_rule_out_of_range",
            Rejection::TooManyIncentives { .. } => "too_many_incentives",
            Rejection::UnknownIncentive(_) => "unknown_incentive",
            Rejection::UnknownRequest(_) => "unknown_request",
            Rejection::RequestAlreadyPaid { .. } => "request_already_paid",
            Rejection::RequestExpired { .. } => "request_expired",
            Rejection::RequestClosed(_) => "request_closed",
            Rejection::RequestAmountMismatch { .. } => "request_amount_mismatch",
            Rejection::TooManyRequests { .. } => "too_many_requests",
            Rejection::TooManyRequestsToPayer { .. } => "too_many_requests_to_payer",
            Rejection::RequestExpiryOutOfRange(_) => "request_expiry_out_of_range",
            Rejection::RequestExists(_) => "request_exists",
            Rejection::RefundPeriodOutOfRange(_) => "refund_period_out_of_range",
            Rejection::UnknownPayment(_) => "unknown_payment",
            Rejection::RefundExceedsPayment { .. } => "refund_exceeds_payment",
            Rejection::TooManyRefunds { .. } => "too_many_refunds",
            Rejection::CashReportThresholdOutOfRange(_) => "cash_report_threshold_out_of_range",
            Rejection::UpgradeOutOfRange(_) => "upgrade_out_of_range",
            Rejection::NoUpgradeScheduled => "no_upgrade_scheduled",
        }
    }

    /// Whether the rejection happens at admission (no block may contain the
    /// transaction) rather than at execution.
    pub fn is_admission(&self) -> bool {
        matches!(
            self,
            Rejection::Malformed(_)
                | Rejection::WrongChain
                | Rejection::BadSignature
                | Rejection::UnknownSigner
                | Rejection::SignerInactive
                | Rejection::TellerRemoved
                | Rejection::KeyReplaced(_)
                | Rejection::StaleNonce { .. }
                | Rejection::FutureNonce { .. }
        )
    }
}
