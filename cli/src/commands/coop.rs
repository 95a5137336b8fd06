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
        #[arg(long)]
        member: String,
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
        #[arg(long)]
        member: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Cash paid out at the counter of the member's home cooperative.
    Burn {
        #[command(flatten)]
        coop: CoopOpts,
        #[arg(long)]
        member: String,
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
    },
    /// Cash deposited for any cooperative's member at this counter.
    CashIn {
        #[command(flatten)]
        coop: CoopOpts,
        #[arg(long)]
        member: String,
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
    /// Approve an open proposal.
    Approve {
        #[command(flatten)]
        coop: CoopOpts,
        proposal: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProposeAction {
    AddCooperative {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        key: String,
        #[arg(long, default_value_t = 0)]
        voting_power: u64,
        #[arg(long, allow_hyphen_values = true)]
        ndc: String,
    },
    RemoveCooperative {
        #[arg(long)]
        id: String,
    },
    SetVotingPower {
        #[arg(long)]
        id: String,
        #[arg(long)]
        voting_power: u64,
    },
    SetNdc {
        #[arg(long)]
        id: String,
        #[arg(long, allow_hyphen_values = true)]
        ndc: String,
    },
    /// Replace the fee rules with those in a JSON file (a list of rules).
    SetFeeRules {
        #[arg(long)]
        file: PathBuf,
    },
    SetTierLimit {
        #[arg(long, value_enum)]
        tier: Tier,
        #[arg(long, allow_hyphen_values = true)]
        cap: String,
    },
    Freeze {
        #[arg(long)]
        member: String,
    },
    Unfreeze {
        #[arg(long)]
        member: String,
    },
}

fn gov_action(action: ProposeAction) -> Result<GovAction> {
    Ok(match action {
        ProposeAction::AddCooperative {
            id,
            name,
            key,
            voting_power,
            ndc,
        } => GovAction::AddCooperative {
            id: CoopId::new(&id)?,
            name,
            key: parse_address(&key)?,
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
    let (opts, action) = match cmd {
        CoopCommand::RegisterMember {
            coop,
            member,
            merchant,
            tier,
        } => {
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
            let member = parse_address(&member)?;
            (coop, Action::RegisterMember { member, kind, tier })
        }
        CoopCommand::Mint {
            coop,
            member,
            amount: a,
        } => (
            coop,
            Action::Mint {
                member: parse_address(&member)?,
                amount: amount::parse(&a)?,
            },
        ),
        CoopCommand::Burn {
            coop,
            member,
            amount: a,
        } => (
            coop,
            Action::Burn {
                member: parse_address(&member)?,
                amount: amount::parse(&a)?,
            },
        ),
        CoopCommand::CashIn {
            coop,
            member,
            amount: a,
        } => {
            let member = parse_address(&member)?;
            let value = amount::parse(&a)?;
            let sender = Sender::open(&coop.node, &coop.key)?;
            let agent = CoopId::new(&coop_of(&sender.client, &sender.key.public()).await?)?;
            return sender
                .send_and_report(
                    Action::CashIn {
                        agent,
                        member,
                        amount: value,
                    },
                    !coop.no_wait,
                )
                .await;
        }
        CoopCommand::CloseWindow { coop } => {
            let sender = Sender::open(&coop.node, &coop.key)?;
            let coops = sender.client.get("/v1/cooperatives").await?;
            let window = coops["open_window"]
                .as_u64()
                .context("node did not say the open window")?;
            return sender
                .send_and_report(Action::CloseSettlementWindow { window }, !coop.no_wait)
                .await;
        }
        CoopCommand::AckSettlement { coop, window } => {
            (coop, Action::AcknowledgeSettlement { window })
        }
        CoopCommand::Propose { coop, action } => (
            coop,
            Action::Propose {
                action: gov_action(action)?,
            },
        ),
        CoopCommand::Approve { coop, proposal } => (coop, Action::Approve { proposal }),
    };
    let sender = Sender::open(&opts.node, &opts.key)?;
    sender.send_and_report(action, !opts.no_wait).await
}
