//! `kopnet coop ...`: a cooperative's teller desk and governance, signed
//! with the cooperative's key.
//!
//! There is no command to close a settlement window: windows close on the
//! governed schedule (`coop propose set-settlement-schedule`), at the first
//! block past each cut-off; a cooperative acknowledges the closed windows
//! it has a position in (`coop ack-settlement`).

use crate::amount;
use crate::sender::{coop_of, parse_address, Sender};
use anyhow::{Context, Result};
use clap::Subcommand;
use kopnet_ledger::bounds::ValidatorLimits;
use kopnet_ledger::fees::FeeRule;
use kopnet_ledger::incentives::IncentiveTerms;
use kopnet_ledger::schedule::SettlementSchedule;
use kopnet_ledger::tiers::TierRule;
use kopnet_ledger::{AccountKind, Action, CoopId, GovAction, KycTier, MerchantClass};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CoopOpts {
    /// The cooperative's key file, or a teller's for the counter commands.
    #[arg(long, env = super::KEY_ENV)]
    pub key: PathBuf,
    /// The node's API URL.
    #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
    pub node: String,
    /// Return after submitting, without waiting for the commit.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Tier {
    Basic,
    Registered,
    Business,
}

impl From<Tier> for KycTier {
    fn from(t: Tier) -> KycTier {
        match t {
            Tier::Basic => KycTier::Basic,
            Tier::Registered => KycTier::Registered,
            Tier::Business => KycTier::Business,
        }
    }
}

/// A merchant's class as written on the command line (QRIS categories;
/// it selects the merchant's fee): the ledger's own names.
fn parse_class(text: &str) -> Result<MerchantClass, String> {
    MerchantClass::parse(text).ok_or_else(|| {
        let names: Vec<&str> = MerchantClass::ALL.iter().map(|c| c.name()).collect();
        format!(
            "unknown merchant class {text:?}; one of {}",
            names.join(", ")
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum CoopCommand {
    /// Register a member (or merchant) at this cooperative.
    RegisterMember {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member's address (`kop...`, from `kopnet wallet new`).
        #[arg(long)]
        member: String,
        /// Register a merchant account (receives payments, pays the merchant discount).
        #[arg(long)]
        merchant: bool,
        /// KYC tier (default: registered for members, business for merchants).
        #[arg(long, value_enum)]
        tier: Option<Tier>,
        /// A merchant's class (with --merchant; default small: the general
        /// 0,7 % merchant discount).
        #[arg(long, value_parser = parse_class, requires = "merchant")]
        class: Option<MerchantClass>,
        /// The member's name, kept at this node only (personal data).
        #[arg(long)]
        name: Option<String>,
        /// The member's phone (for pay-by-phone); needs --name.
        #[arg(long, requires = "name")]
        phone: Option<String>,
        /// The member's identity number (NIK); needs --name.
        #[arg(long, requires = "name")]
        nik: Option<String>,
    },
    /// Move a member to another KYC tier (e.g. registered, after checking
    /// the member's identity in person); the cooperative key or a teller.
    SetTier {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member's address.
        #[arg(long)]
        member: String,
        /// The new tier.
        #[arg(long, value_enum)]
        tier: Tier,
    },
    /// Change a merchant's class (which selects its merchant discount).
    MerchantClass {
        #[command(flatten)]
        coop: CoopOpts,
        /// The merchant's address.
        #[arg(long)]
        merchant: String,
        /// micro, small, medium, large, fuel, public-service, education,
        /// government or donation.
        #[arg(long, value_parser = parse_class)]
        class: MerchantClass,
    },
    /// Refund all or part of a payment one of this cooperative's merchants
    /// received (the cooperative key or a teller; within the refund
    /// period; its fees come back in proportion).
    Refund {
        #[command(flatten)]
        coop: CoopOpts,
        /// The payment's transaction hash.
        #[arg(long)]
        payment: String,
        /// How much to refund: `25000`, `25.000` or `Rp25.000` (at most what is
        /// left of the payment).
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// A note the payer sees (at most 64 bytes).
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// Pay many members at once from the cooperative's own funds (surplus
    /// share, wages, social aid): a file of `address,amount[,reference]`
    /// lines; every line applied or refused with its reason, a summary at
    /// the end. Sending the same file again pays nobody twice (within a
    /// day).
    Payout {
        #[command(flatten)]
        coop: CoopOpts,
        /// The payout file (CSV: address,amount[,reference]).
        #[arg(long)]
        file: PathBuf,
        /// Also write the outcome of every line to this CSV file.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Cash deposited at the counter of the member's home cooperative.
    Mint {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member's address.
        #[arg(long)]
        member: String,
        /// Amount: `25000`, `25.000` or `Rp25.000`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Cash paid out at the counter of the member's home cooperative.
    Burn {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member's address.
        #[arg(long)]
        member: String,
        /// Amount: `25000`, `25.000` or `Rp25.000`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Cash deposited for any cooperative's member at this counter.
    CashIn {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member's address.
        #[arg(long)]
        member: String,
        /// Amount: `25000`, `25.000` or `Rp25.000`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Confirm this cooperative's off-ledger transfer for a closed window.
    AckSettlement {
        #[command(flatten)]
        coop: CoopOpts,
        /// The closed window's number.
        #[arg(long)]
        window: u64,
    },
    /// Propose a governance action (validator cooperatives).
    Propose {
        #[command(flatten)]
        coop: CoopOpts,
        #[command(subcommand)]
        action: ProposeAction,
    },
    /// Approve an open proposal (it executes once approvals pass 2/3 of voting power).
    Approve {
        #[command(flatten)]
        coop: CoopOpts,
        /// The proposal's id (see `kopnet coop proposals`).
        proposal: u64,
    },
    /// Replace this cooperative's validator key, node identity or both
    /// (signed by the cooperative key). The new validator key signs from
    /// two blocks after the one that carries this; the old node identity
    /// stays admitted for an hour of block time, so restart the node with
    /// its new identity within that hour. Write the next keys first with
    /// `kopnet node next-keys --home NODE_HOME` (the running node picks up
    /// the validator key by itself).
    RotateKeys {
        #[command(flatten)]
        coop: CoopOpts,
        /// Address of the new validator key (`validator.next.key`).
        #[arg(long)]
        validator_key: Option<String>,
        /// Address of the new node identity (`node.next.key`).
        #[arg(long)]
        node_key: Option<String>,
    },
    /// Register or remove a teller key (cooperative key only).
    #[command(subcommand)]
    Teller(super::roles::TellerCommand),
    /// List a cooperative's tellers: name, address, limit, used today.
    Tellers {
        /// The cooperative's id (or give --key to use the key's cooperative).
        #[arg(long)]
        cooperative: Option<String>,
        /// A cooperative or teller key file whose cooperative to list.
        #[arg(long, env = super::KEY_ENV)]
        key: Option<PathBuf>,
        /// The node's API URL.
        #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// Start replacing a member's lost key (after checking the member in
    /// person): it takes effect after the governed waiting period unless
    /// the old key cancels it.
    RecoverMember {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member account's address.
        #[arg(long)]
        member: String,
        /// The new key's address (or its key file).
        #[arg(long)]
        new_key: String,
    },
    /// Withdraw a pending recovery of one of this cooperative's members.
    CancelRecovery {
        #[command(flatten)]
        coop: CoopOpts,
        /// The member account's address.
        #[arg(long)]
        member: String,
    },
    /// List governance proposals, newest first, with approvals and status.
    Proposals {
        /// The node's API URL.
        #[arg(long, env = super::NODE_ENV, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// Set the public display name of a merchant of this cooperative (what
    /// wallets show on the confirm screen; an empty name removes it).
    /// Merchant names only: members' names never go on the ledger.
    MerchantName {
        #[command(flatten)]
        coop: CoopOpts,
        /// The merchant's address.
        #[arg(long)]
        merchant: String,
        /// 1-25 printable ASCII characters (as in the merchant's QR code), or "".
        #[arg(long)]
        name: String,
    },
    /// Keep a member's name, phone and identity number at this node only
    /// (never on the ledger); the phone enables pay-by-phone.
    MemberInfo(super::directory::MemberInfoArgs),
    /// Unlink a member's phone number (or, with --erase, erase all its
    /// personal data) at this node.
    UnlinkPhone(super::directory::UnlinkArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProposeAction {
    /// Admit a new cooperative (its node may connect once this executes).
    AddCooperative {
        /// Short id (slug), e.g. `koperasi-baru`.
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Address (`kop...`) of the new cooperative's cooperative key (its
        /// board's, for ledger transactions).
        #[arg(long)]
        coop_address: String,
        /// Address of its validator key (`validator.key` in its node home).
        #[arg(long)]
        validator_address: String,
        /// Address of its node identity (`node.key` in its node home).
        #[arg(long)]
        node_address: String,
        /// Validator voting power (0: a participant that does not validate).
        #[arg(long, default_value_t = 0)]
        voting_power: u64,
        /// Net debit cap, e.g. `Rp50.000.000`.
        #[arg(long, allow_hyphen_values = true)]
        ndc: String,
    },
    /// Retire a cooperative (its positions must be settled).
    RemoveCooperative {
        /// The cooperative's id.
        #[arg(long)]
        id: String,
    },
    /// Change a cooperative's validator voting power (takes effect two blocks later).
    SetVotingPower {
        /// The cooperative's id.
        #[arg(long)]
        id: String,
        /// New voting power (0 stops it validating).
        #[arg(long)]
        voting_power: u64,
    },
    /// Change a cooperative's net debit cap.
    SetNdc {
        /// The cooperative's id.
        #[arg(long)]
        id: String,
        /// New net debit cap, e.g. `Rp50.000.000`.
        #[arg(long, allow_hyphen_values = true)]
        ndc: String,
    },
    /// Replace the fee rules with those in a JSON file (a list of rules).
    SetFeeRules {
        /// JSON file with the list of fee rules.
        #[arg(long)]
        file: PathBuf,
    },
    /// Change the balance cap of a KYC tier.
    SetTierLimit {
        /// The tier.
        #[arg(long, value_enum)]
        tier: Tier,
        /// New balance cap, e.g. `Rp10.000.000`.
        #[arg(long, allow_hyphen_values = true)]
        cap: String,
    },
    /// Freeze a member's or merchant's account.
    Freeze {
        /// The account's address.
        #[arg(long)]
        member: String,
    },
    /// Unfreeze a member's or merchant's account.
    Unfreeze {
        /// The account's address.
        #[arg(long)]
        member: String,
    },
    /// When settlement windows close: every `--every`, at cut-offs
    /// `--offset` past the period's multiples of UTC time (daily at 17:00
    /// WIB: `--every 1d --offset 10h`). Takes effect from the block after
    /// it executes.
    SetSettlementSchedule {
        /// The period: `90s`, `15m`, `1h`, `1d` (5 s to 7 days).
        #[arg(long)]
        every: String,
        /// Where in the period the cut-off falls (less than the period).
        #[arg(long, default_value = "0s")]
        offset: String,
    },
    /// The network's limits on its validator set (within the ceilings of
    /// `GET /v1/params`; today's validators must fit them).
    SetValidatorLimits {
        /// Most validators.
        #[arg(long)]
        validators_max: u32,
        /// Most voting power one validator may have.
        #[arg(long)]
        voting_power_max: u64,
        /// Most voting power all validators together may have.
        #[arg(long)]
        voting_power_total_max: u64,
    },
    /// How long a member-key recovery waits before it takes effect (5 s to
    /// 30 days; default 24 h).
    SetRecoveryWait {
        /// The wait: `90s`, `15m`, `24h`, `2d`.
        #[arg(long)]
        wait: String,
    },
    /// Register a regulator's read-only observer node (every node admits
    /// its identity once this executes).
    AddObserver {
        /// Who runs it, e.g. `OJK Purwokerto` (public).
        #[arg(long)]
        name: String,
        /// Address of its node identity (`node.key` in its home).
        #[arg(long)]
        key: String,
    },
    /// Unregister an observer (disconnected once this executes).
    RemoveObserver {
        /// Address of its current node identity.
        #[arg(long)]
        key: String,
    },
    /// What a KYC tier may receive per calendar month (WIB) and do.
    SetTierRule {
        /// The tier.
        #[arg(long, value_enum)]
        tier: Tier,
        /// Most rupiah incoming per month, e.g. `Rp40.000.000`; `none` for
        /// no monthly limit.
        #[arg(long)]
        monthly_incoming_cap: String,
        /// Whether the tier may pay other members (`true`/`false`).
        #[arg(long, action = clap::ArgAction::Set)]
        may_transfer: bool,
        /// Whether the tier may take cash out (`true`/`false`).
        #[arg(long, action = clap::ArgAction::Set)]
        may_cash_out: bool,
    },
    /// The most one payment to a merchant may be (QRIS: Rp10.000.000).
    SetQrPaymentCap {
        /// The cap, e.g. `Rp10.000.000`.
        #[arg(long, allow_hyphen_values = true)]
        cap: String,
    },
    /// Start a cashback programme paid from the network fund.
    CreateIncentive {
        /// Its public name, e.g. `Belanja antar-koperasi`.
        #[arg(long)]
        name: String,
        /// Cashback in basis points of the payment (100 = 1 %).
        #[arg(long)]
        bps: u32,
        /// Most cashback per member per calendar month, e.g. `Rp25.000`.
        #[arg(long, allow_hyphen_values = true)]
        member_monthly_cap: String,
        /// The programme's total budget, e.g. `Rp10.000.000`.
        #[arg(long, allow_hyphen_values = true)]
        budget: String,
        /// The day it ends (`YYYY-MM-DD`): it pays nothing from 00:00 WIB
        /// of that day.
        #[arg(long)]
        ends: String,
        /// Only purchases at merchants of another cooperative than the
        /// payer's.
        #[arg(long)]
        cross_only: bool,
        /// Only purchases at merchants of these classes (repeat the flag;
        /// default: every class).
        #[arg(long = "class", value_parser = parse_class)]
        classes: Vec<MerchantClass>,
    },
    /// How long a payment to a merchant can be refunded (1 to 90 days).
    SetRefundPeriod {
        /// The period: `30d`, `720h`.
        #[arg(long)]
        period: String,
    },
    /// End a cashback programme early.
    EndIncentive {
        /// The programme's number (`GET /v1/incentives`).
        #[arg(long)]
        id: u32,
    },
    /// The daily sum of a member's cash transactions at or above which
    /// observers report it (PPATK's cash transaction report: Rp500.000.000).
    SetCashReportThreshold {
        /// The daily sum, e.g. `Rp500.000.000`.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Blocks from `--height` on run under `--protocol-version` (the next
    /// one, at least 10 blocks ahead): every operator installs a build that
    /// speaks it before then; nodes that do not stop at that height saying
    /// so (README, "Operating a node: upgrades").
    ScheduleUpgrade {
        /// The protocol version blocks run under from `--height` (the next one).
        #[arg(long)]
        protocol_version: u32,
        /// The first height under it (at least 10 blocks ahead).
        #[arg(long)]
        height: u64,
    },
    /// Withdraw the scheduled upgrade.
    CancelUpgrade,
}

/// The first millisecond of `YYYY-MM-DD` in WIB (UTC+7), as block time.
fn parse_wib_date_ms(text: &str) -> Result<u64> {
    let bad = || anyhow::anyhow!("invalid date {text:?}: write YYYY-MM-DD, e.g. 2027-01-31");
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (year, month, day): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1970..=9999).contains(&year) || !(1..=days_in_month).contains(&day) {
        return Err(bad());
    }
    // Days since 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let utc_ms = days * 86_400_000;
    u64::try_from(utc_ms - 7 * 3_600_000).map_err(|_| bad())
}

/// A duration such as `500ms`, `90s`, `15m`, `1h` or `1d` (a bare number
/// is seconds), in milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .with_context(|| format!("{text:?} is not a duration like 90s, 15m, 1h or 1d"))?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => anyhow::bail!("unknown unit {other:?} in {text:?}: use ms, s, m, h or d"),
    };
    number
        .checked_mul(unit_ms)
        .with_context(|| format!("{text:?} is too long"))
}

fn gov_action(action: ProposeAction) -> Result<GovAction> {
    Ok(match action {
        ProposeAction::AddCooperative {
            id,
            name,
            coop_address,
            validator_address,
            node_address,
            voting_power,
            ndc,
        } => GovAction::AddCooperative {
            id: CoopId::new(&id)?,
            name,
            key: parse_address(&coop_address)?,
            voting_power,
            ndc: amount::parse(&ndc)?,
            validator_key: parse_address(&validator_address)?,
            node_key: parse_address(&node_address)?,
        },
        ProposeAction::RemoveCooperative { id } => GovAction::RemoveCooperative {
            id: CoopId::new(&id)?,
        },
        ProposeAction::SetVotingPower { id, voting_power } => GovAction::SetVotingPower {
            id: CoopId::new(&id)?,
            voting_power,
        },
        ProposeAction::SetNdc { id, ndc } => GovAction::SetNetDebitCap {
            id: CoopId::new(&id)?,
            ndc: amount::parse(&ndc)?,
        },
        ProposeAction::SetFeeRules { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rules: Vec<FeeRule> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a list of fee rules", file.display()))?;
            GovAction::SetFeeRules { rules }
        }
        ProposeAction::SetTierLimit { tier, cap } => GovAction::SetTierLimit {
            tier: tier.into(),
            cap: amount::parse(&cap)?,
        },
        ProposeAction::Freeze { member } => GovAction::Freeze {
            member: parse_address(&member)?,
        },
        ProposeAction::Unfreeze { member } => GovAction::Unfreeze {
            member: parse_address(&member)?,
        },
        ProposeAction::SetSettlementSchedule { every, offset } => {
            GovAction::SetSettlementSchedule {
                schedule: SettlementSchedule {
                    period_ms: parse_duration_ms(&every)?,
                    offset_ms: parse_duration_ms(&offset)?,
                },
            }
        }
        ProposeAction::SetValidatorLimits {
            validators_max,
            voting_power_max,
            voting_power_total_max,
        } => GovAction::SetValidatorLimits {
            limits: ValidatorLimits {
                validators_max,
                voting_power_max,
                voting_power_total_max,
            },
        },
        ProposeAction::SetRecoveryWait { wait } => GovAction::SetRecoveryWait {
            wait_ms: parse_duration_ms(&wait)?,
        },
        ProposeAction::AddObserver { name, key } => {
            kopnet_ledger::observers::check_name_format(&name)
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            GovAction::AddObserver {
                name,
                key: parse_address(&key)?,
            }
        }
        ProposeAction::RemoveObserver { key } => GovAction::RemoveObserver {
            key: parse_address(&key)?,
        },
        ProposeAction::SetTierRule {
            tier,
            monthly_incoming_cap,
            may_transfer,
            may_cash_out,
        } => GovAction::SetTierRule {
            tier: tier.into(),
            rule: TierRule {
                monthly_incoming_cap: match monthly_incoming_cap.trim() {
                    "none" => None,
                    cap => Some(amount::parse(cap)?),
                },
                may_transfer,
                may_cash_out,
            },
        },
        ProposeAction::SetQrPaymentCap { cap } => GovAction::SetQrPaymentCap {
            cap: amount::parse(&cap)?,
        },
        ProposeAction::CreateIncentive {
            name,
            bps,
            member_monthly_cap,
            budget,
            ends,
            cross_only,
            classes,
        } => {
            let terms = IncentiveTerms {
                name,
                bps,
                member_monthly_cap: amount::parse(&member_monthly_cap)?,
                budget: amount::parse(&budget)?,
                ends_at_ms: parse_wib_date_ms(&ends)?,
                cross_only,
                classes,
            };
            terms
                .check_format()
                .map_err(|e| anyhow::anyhow!("incentive: {e}"))?;
            GovAction::CreateIncentive { terms }
        }
        ProposeAction::EndIncentive { id } => GovAction::EndIncentive { id },
        ProposeAction::SetRefundPeriod { period } => GovAction::SetRefundPeriod {
            period_ms: parse_duration_ms(&period)?,
        },
        ProposeAction::SetCashReportThreshold { amount } => GovAction::SetCashReportThreshold {
            amount: amount::parse(&amount)?,
        },
        ProposeAction::ScheduleUpgrade {
            protocol_version,
            height,
        } => GovAction::ScheduleUpgrade {
            version: protocol_version,
            height,
        },
        ProposeAction::CancelUpgrade => GovAction::CancelUpgrade,
    })
}

pub async fn run(cmd: CoopCommand) -> Result<i32> {
    match cmd {
        CoopCommand::RegisterMember {
            coop,
            member,
            merchant,
            tier,
            class,
            name,
            phone,
            nik,
        } => {
            let action = register_member(&member, merchant, tier, class)?;
            let sender = Sender::open(&coop.node, &coop.key)?;
            let sent = sender.send_checked(action, !coop.no_wait).await?;
            let keep = name.is_some() && !coop.no_wait;
            if let (Some(name), true) = (name, keep) {
                super::directory::record_after_registration(
                    &coop.node,
                    &coop.key,
                    &member,
                    &name,
                    phone.as_deref(),
                    nik.as_deref(),
                )
                .await?;
            }
            if crate::output::json() {
                let mut value = sent.to_json();
                value["personal_data_kept"] = serde_json::Value::from(keep);
                crate::output::print_json(&value);
            }
            Ok(0)
        }
        CoopCommand::MemberInfo(args) => super::directory::member_info(args).await,
        CoopCommand::UnlinkPhone(args) => super::directory::unlink(args).await,
        CoopCommand::SetTier { coop, member, tier } => {
            let action = Action::SetMemberTier {
                member: parse_address(&member)?,
                tier: tier.into(),
            };
            send(&coop, action).await
        }
        CoopCommand::MerchantClass {
            coop,
            merchant,
            class,
        } => {
            let action = Action::SetMerchantClass {
                merchant: parse_address(&merchant)?,
                class,
            };
            send(&coop, action).await
        }
        CoopCommand::Refund {
            coop,
            payment,
            amount: text,
            memo,
        } => {
            super::requests::refund(&coop.node, &coop.key, &payment, &text, memo, coop.no_wait)
                .await
        }
        CoopCommand::Payout { coop, file, report } => {
            super::payout::run(&coop, &file, report.as_deref()).await
        }
        CoopCommand::Mint {
            coop,
            member,
            amount: a,
        } => {
            let action = Action::Mint {
                member: parse_address(&member)?,
                amount: amount::parse(&a)?,
            };
            send(&coop, action).await
        }
        CoopCommand::Burn {
            coop,
            member,
            amount: a,
        } => {
            let action = Action::Burn {
                member: parse_address(&member)?,
                amount: amount::parse(&a)?,
            };
            send(&coop, action).await
        }
        CoopCommand::CashIn {
            coop,
            member,
            amount: a,
        } => cash_in(&coop, &member, &a).await,
        CoopCommand::AckSettlement { coop, window } => {
            send(&coop, Action::AcknowledgeSettlement { window }).await
        }
        CoopCommand::Propose { coop, action } => propose(&coop, action).await,
        CoopCommand::Approve { coop, proposal } => approve(&coop, proposal).await,
        CoopCommand::Proposals { node } => {
            super::proposals::list(&node, crate::output::format()).await
        }
        CoopCommand::RotateKeys {
            coop,
            validator_key,
            node_key,
        } => {
            if validator_key.is_none() && node_key.is_none() {
                anyhow::bail!("give --validator-key, --node-key or both");
            }
            let action = Action::RotateNodeKeys {
                validator_key: validator_key.as_deref().map(parse_address).transpose()?,
                node_key: node_key.as_deref().map(parse_address).transpose()?,
            };
            send(&coop, action).await
        }
        CoopCommand::Teller(cmd) => super::roles::teller(cmd).await,
        CoopCommand::Tellers {
            cooperative,
            key,
            node,
        } => super::roles::list(&node, cooperative, key.as_deref(), crate::output::format()).await,
        CoopCommand::RecoverMember {
            coop,
            member,
            new_key,
        } => super::roles::recover_member(&coop, &member, &new_key).await,
        CoopCommand::CancelRecovery { coop, member } => {
            super::roles::coop_cancel(&coop, &member).await
        }
        CoopCommand::MerchantName {
            coop,
            merchant,
            name,
        } => {
            kopnet_ledger::merchant_names::check_name_format(&name)
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let action = Action::SetMerchantName {
                merchant: parse_address(&merchant)?,
                name,
            };
            send(&coop, action).await
        }
    }
}

/// Sign `action` with the cooperative's key, submit it and report the result.
async fn send(coop: &CoopOpts, action: Action) -> Result<i32> {
    let sender = Sender::open(&coop.node, &coop.key)?;
    sender.send_and_report(action, !coop.no_wait).await
}

/// Registering a member or merchant; the tier defaults to registered for a
/// member and business for a merchant; a merchant with a class is
/// registered with it (`RegisterMerchant`).
fn register_member(
    member: &str,
    merchant: bool,
    tier: Option<Tier>,
    class: Option<MerchantClass>,
) -> Result<Action> {
    let kind = if merchant {
        AccountKind::Merchant
    } else {
        AccountKind::Member
    };
    let tier = tier.map(KycTier::from).unwrap_or(if merchant {
        KycTier::Business
    } else {
        KycTier::Registered
    });
    let member = parse_address(member)?;
    Ok(match class {
        Some(class) if merchant => Action::RegisterMerchant {
            merchant: member,
            tier,
            class,
        },
        _ => Action::RegisterMember { member, kind, tier },
    })
}

/// Cash-in at this cooperative's counter: the node says which cooperative
/// the key belongs to, which is the agent.
async fn cash_in(coop: &CoopOpts, member: &str, a: &str) -> Result<i32> {
    let member = parse_address(member)?;
    let value = amount::parse(a)?;
    let sender = Sender::open(&coop.node, &coop.key)?;
    let agent = CoopId::new(&coop_of(&sender.client, &sender.key.public()).await?)?;
    sender
        .send_and_report(
            Action::CashIn {
                agent,
                member,
                amount: value,
            },
            !coop.no_wait,
        )
        .await
}

/// Propose a governance action; once committed, show the new proposal.
async fn propose(coop: &CoopOpts, action: ProposeAction) -> Result<i32> {
    let action = gov_action(action)?;
    let sender = Sender::open(&coop.node, &coop.key)?;
    let sent = sender
        .send_checked(
            Action::Propose {
                action: action.clone(),
            },
            !coop.no_wait,
        )
        .await?;
    let proposal = match coop.no_wait {
        true => None,
        false => Some(super::proposals::find_new(&sender, &action).await?),
    };
    report_with_proposal(&sent, proposal);
    Ok(0)
}

/// A governance transaction's result and the proposal it made or
/// approved: one line each, or one JSON object (`proposal`: null when not
/// waited for).
fn report_with_proposal(sent: &crate::sender::Sent, proposal: Option<serde_json::Value>) {
    if crate::output::json() {
        let mut value = sent.to_json();
        value["proposal"] = proposal.unwrap_or(serde_json::Value::Null);
        crate::output::print_json(&value);
    } else if let Some(proposal) = proposal {
        say!("{}", super::proposals::describe(&proposal));
    }
}

/// Approve a proposal; once committed, show where it stands.
async fn approve(coop: &CoopOpts, proposal: u64) -> Result<i32> {
    let sender = Sender::open(&coop.node, &coop.key)?;
    let sent = sender
        .send_checked(Action::Approve { proposal }, !coop.no_wait)
        .await?;
    let standing = match coop.no_wait {
        true => None,
        false => Some(super::proposals::fetch_one(&sender.client, proposal).await?),
    };
    report_with_proposal(&sent, standing);
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::{parse_duration_ms, parse_wib_date_ms};

    #[test]
    fn dates_are_midnight_wib() {
        // 1 February 2027, 00:00 WIB is 31 January, 17:00 UTC.
        assert_eq!(parse_wib_date_ms("2027-02-01").unwrap(), 1_801_414_800_000);
        assert_eq!(
            parse_wib_date_ms("2028-02-29").unwrap() + 86_400_000,
            parse_wib_date_ms("2028-03-01").unwrap()
        );
        for bad in [
            "",
            "2027-02-29",
            "2027-13-01",
            "2027-1",
            "1969-12-31",
            "x-y-z",
        ] {
            assert!(parse_wib_date_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("500ms").unwrap(), 500);
        assert_eq!(parse_duration_ms("90").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("90s").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("15m").unwrap(), 900_000);
        assert_eq!(parse_duration_ms("1h").unwrap(), 3_600_000);
        assert_eq!(parse_duration_ms("1d").unwrap(), 86_400_000);
        for bad in ["", "h", "1w", "-1s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
