//! `kopnet coop ...`: a cooperative's teller desk and governance, signed
//! with the cooperative's key.

use crate::amount;
use crate::sender::{coop_of, parse_address, Sender};
use anyhow::{Context, Result};
use clap::Subcommand;
use kopnet_ledger::fees::FeeRule;
use kopnet_ledger::{AccountKind, Action, CoopId, GovAction, KycTier};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CoopOpts {
    /// The cooperative's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The node's API URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
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
    /// Close the open settlement window.
    CloseWindow {
        #[command(flatten)]
        coop: CoopOpts,
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
    /// List governance proposals, newest first, with approvals and status.
    Proposals {
        /// The node's API URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        #[arg(long, value_enum, default_value_t = crate::output::OutputFormat::Text)]
        output: crate::output::OutputFormat,
    },
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
        /// Address (`kop...`) of the new cooperative's operational key.
        #[arg(long)]
        coop_address: String,
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
}

fn gov_action(action: ProposeAction) -> Result<GovAction> {
    Ok(match action {
        ProposeAction::AddCooperative {
            id,
            name,
            coop_address,
            voting_power,
            ndc,
        } => GovAction::AddCooperative {
            id: CoopId::new(&id)?,
            name,
            key: parse_address(&coop_address)?,
            voting_power,
            ndc: amount::parse(&ndc)?,
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
    })
}

pub async fn run(cmd: CoopCommand) -> Result<i32> {
    match cmd {
        CoopCommand::RegisterMember {
            coop,
            member,
            merchant,
            tier,
        } => send(&coop, register_member(&member, merchant, tier)?).await,
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
        CoopCommand::CloseWindow { coop } => close_window(&coop).await,
        CoopCommand::AckSettlement { coop, window } => {
            send(&coop, Action::AcknowledgeSettlement { window }).await
        }
        CoopCommand::Propose { coop, action } => propose(&coop, action).await,
        CoopCommand::Approve { coop, proposal } => approve(&coop, proposal).await,
        CoopCommand::Proposals { node, output } => super::proposals::list(&node, output).await,
    }
}

/// Sign `action` with the cooperative's key, submit it and report the result.
async fn send(coop: &CoopOpts, action: Action) -> Result<i32> {
    let sender = Sender::open(&coop.node, &coop.key)?;
    sender.send_and_report(action, !coop.no_wait).await
}

/// Registering a member or merchant; the tier defaults to registered for a
/// member and business for a merchant.
fn register_member(member: &str, merchant: bool, tier: Option<Tier>) -> Result<Action> {
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
    Ok(Action::RegisterMember { member, kind, tier })
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

/// Close the settlement window the node says is open.
async fn close_window(coop: &CoopOpts) -> Result<i32> {
    let sender = Sender::open(&coop.node, &coop.key)?;
    let coops = sender.client.get("/v1/cooperatives").await?;
    let window = coops["open_window"]
        .as_u64()
        .context("node did not say the open window")?;
    sender
        .send_and_report(Action::CloseSettlementWindow { window }, !coop.no_wait)
        .await
}

/// Propose a governance action; once committed, show the new proposal.
async fn propose(coop: &CoopOpts, action: ProposeAction) -> Result<i32> {
    let action = gov_action(action)?;
    let sender = Sender::open(&coop.node, &coop.key)?;
    let code = sender
        .send_and_report(
            Action::Propose {
                action: action.clone(),
            },
            !coop.no_wait,
        )
        .await?;
    if !coop.no_wait {
        super::proposals::print_new(&sender, &action).await?;
    }
    Ok(code)
}

/// Approve a proposal; once committed, show where it stands.
async fn approve(coop: &CoopOpts, proposal: u64) -> Result<i32> {
    let sender = Sender::open(&coop.node, &coop.key)?;
    let code = sender
        .send_and_report(Action::Approve { proposal }, !coop.no_wait)
        .await?;
    if !coop.no_wait {
        super::proposals::print_one(&sender.client, proposal).await?;
    }
    Ok(code)
}
