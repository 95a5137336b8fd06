//! Deliberate faults for proving that the fault-injection runner catches a
//! broken node (`kopnet testnet run --fault validator-2=double-credit`).
//! Off unless the environment variable `KOPNET_FAULT` names one; an unknown
//! name stops the node at start-up. Never set this on a real network.
//!
//! Compiled only with the cargo feature `fault-injection` (the test suite
//! turns it on; `cargo build --release --bin kopnet` leaves it out, and such
//! a node refuses to start when `KOPNET_FAULT` is set). The fault is
//! applied by the runtime shell after the host reports a commit, not inside
//! the commit path.
//!
//! Besides the broken ledger there are hostile nodes ([`Hostile`]): a node
//! that equivocates, floods future heights, sends false catch-up hints,
//! spams gossip or signs with its retired validator key, so that the runner
//! can show the honest nodes keep going and penalise it. Their code is in `runtime/hostile/`. And a test build
//! can switch one of the honest nodes' defences off
//! (`KOPNET_DEFENCE_OFF=evidence`, [`DefencesOff`]) to show that a run then
//! fails naming that defence.

use crate::host::{Committed, HostState};
use crate::FAULT_ENV;
use kopnet_ledger::storage::Storage;
use kopnet_ledger::Action;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// After each block, credit the payee of the block's first successful
    /// payment a second time, straight into storage: a node that "applies a
    /// transfer twice". Its money no longer adds up and its state drifts
    /// from the other nodes'.
    DoubleCredit,
    /// A hostile node: it runs honestly and also attacks its peers.
    Hostile(Hostile),
}

/// What a hostile node does besides its honest work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hostile {
    /// Every own vote goes out with a conflicting one (same height, round
    /// and kind, another value id); every own proposal with a second
    /// proposal of another value. An observer signs conflicting pairs of
    /// votes for the next height anyway.
    Equivocate,
    /// Proposals (signed, and with garbage signatures) of nearly the
    /// largest value and votes for heights 1 to 1000 ahead, many rounds.
    FutureFlood,
    /// `Committed` hints a million heights ahead, and catch-up answers
    /// whose blocks do not decode and whose certificates do not verify.
    FalseHints,
    /// Garbage and re-sent batches on the transaction topic, garbage and
    /// replayed messages on the consensus topic.
    GossipSpam,
    /// After its cooperative rotated its validator key: every own vote
    /// goes out a second time, signed with the retired key (the one the
    /// ledger no longer lists). A node with no retired key refuses to
    /// start with it.
    OldKey,
}

impl Hostile {
    pub const ALL: [Hostile; 5] = [
        Hostile::Equivocate,
        Hostile::FutureFlood,
        Hostile::FalseHints,
        Hostile::GossipSpam,
        Hostile::OldKey,
    ];

    /// The name in `KOPNET_FAULT`, the manifest and the metric's label.
    pub fn name(self) -> &'static str {
        match self {
            Hostile::Equivocate => "equivocate",
            Hostile::FutureFlood => "future-flood",
            Hostile::FalseHints => "false-hints",
            Hostile::GossipSpam => "gossip-spam",
            Hostile::OldKey => "old-key",
        }
    }

    pub fn parse(name: &str) -> Option<Hostile> {
        Hostile::ALL.into_iter().find(|h| h.name() == name)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown {FAULT_ENV} value {0:?} (known: double-credit, equivocate, future-flood, false-hints, gossip-spam, old-key)")]
pub struct UnknownFault(String);

fn parse(value: Option<&str>) -> Result<Fault, UnknownFault> {
    match value {
        None | Some("") => Ok(Fault::None),
        Some("double-credit") => Ok(Fault::DoubleCredit),
        Some(other) => Hostile::parse(other)
            .map(Fault::Hostile)
            .ok_or_else(|| UnknownFault(other.chars().take(64).collect())),
    }
}

/// The environment variable that switches defences off in a test build.
pub const DEFENCE_OFF_ENV: &str = "KOPNET_DEFENCE_OFF";
/// The environment variable that paces a hostile node (messages per
/// second; absent, empty or 0 = as fast as the network takes them).
pub const HOSTILE_RATE_ENV: &str = "KOPNET_HOSTILE_RATE";

/// Defences an honest node runs without, to show that a run then fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefencesOff {
    /// Do not put evidence of equivocation into blocks.
    pub evidence: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultSettingError {
    #[error("unknown {DEFENCE_OFF_ENV} value {0:?} (known: evidence)")]
    UnknownDefence(String),
    #[error("{HOSTILE_RATE_ENV} must be a whole number of messages per second, got {0:?}")]
    Rate(String),
    /// `old-key` on a node that holds no retired validator key.
    #[error(transparent)]
    NoRetiredKey(#[from] crate::runtime::hostile::NoRetiredKey),
}

/// `KOPNET_DEFENCE_OFF`: a comma-separated list of defences.
fn parse_defences(value: Option<&str>) -> Result<DefencesOff, FaultSettingError> {
    let mut off = DefencesOff::default();
    for name in value.unwrap_or("").split(',').map(str::trim) {
        match name {
            "" => {}
            "evidence" => off.evidence = true,
            other => {
                return Err(FaultSettingError::UnknownDefence(
                    other.chars().take(64).collect(),
                ))
            }
        }
    }
    Ok(off)
}

/// Read `KOPNET_DEFENCE_OFF` (at start-up, where the host is configured).
pub fn defences_off_from_env() -> Result<DefencesOff, FaultSettingError> {
    let value = std::env::var(DEFENCE_OFF_ENV).ok();
    let off = parse_defences(value.as_deref())?;
    if off != DefencesOff::default() {
        tracing::warn!(
            ?off,
            "DEFENCES SWITCHED OFF: this node is weakened on purpose"
        );
    }
    Ok(off)
}

fn parse_rate(value: Option<&str>) -> Result<Option<u32>, FaultSettingError> {
    match value.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some(text) => text
            .parse::<u32>()
            .map(Some)
            .map_err(|_| FaultSettingError::Rate(text.chars().take(64).collect())),
    }
}

/// Read `KOPNET_HOSTILE_RATE`: `None` = full rate.
pub fn hostile_rate_from_env() -> Result<Option<u32>, FaultSettingError> {
    parse_rate(std::env::var(HOSTILE_RATE_ENV).ok().as_deref())
}

static ACTIVE: OnceLock<Fault> = OnceLock::new();

/// Read `KOPNET_FAULT` once, at start-up.
pub fn init_from_env() -> Result<Fault, UnknownFault> {
    let value = std::env::var(FAULT_ENV).ok();
    let fault = parse(value.as_deref())?;
    if fault != Fault::None {
        tracing::warn!(
            ?fault,
            "FAULT INJECTION ACTIVE: this node is broken on purpose"
        );
    }
    Ok(*ACTIVE.get_or_init(|| fault))
}

pub fn active() -> Fault {
    ACTIVE.get().copied().unwrap_or(Fault::None)
}

/// Apply the active fault after a block was committed.
pub fn after_commit<S: Storage>(state: &HostState<S>, committed: &Committed) {
    if active() != Fault::DoubleCredit {
        return;
    }
    let paid = committed
        .block
        .txs
        .iter()
        .zip(&committed.outcome.results)
        .find_map(|(tx, (_, result))| match (&tx.body.action, result) {
            (Action::Payment { to, amount, .. }, Ok(())) => Some((*to, *amount)),
            _ => None,
        });
    let Some((to, amount)) = paid else { return };
    let Ok(mut ledger) = state.ledger.write() else {
        return;
    };
    let Some(mut account) = ledger.member(&to) else {
        return;
    };
    let Some(balance) = account.balance.checked_add(amount) else {
        return;
    };
    account.balance = balance;
    if ledger.fault_overwrite_member(to, account).is_ok() {
        tracing::warn!(%to, amount, "fault double-credit: credited a payment twice");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        assert_eq!(parse(None).unwrap(), Fault::None);
        assert_eq!(parse(Some("")).unwrap(), Fault::None);
        assert_eq!(parse(Some("double-credit")).unwrap(), Fault::DoubleCredit);
        assert!(parse(Some("explode")).is_err());
        for hostile in Hostile::ALL {
            assert_eq!(
                parse(Some(hostile.name())).unwrap(),
                Fault::Hostile(hostile)
            );
        }
        assert_eq!(
            parse(Some("future-flood")).unwrap(),
            Fault::Hostile(Hostile::FutureFlood)
        );
        assert_eq!(
            parse(Some("old-key")).unwrap(),
            Fault::Hostile(Hostile::OldKey)
        );
    }

    #[test]
    fn defences_and_rates_parse_and_unknown_ones_are_refused() {
        assert_eq!(parse_defences(None).unwrap(), DefencesOff::default());
        assert!(parse_defences(Some("evidence")).unwrap().evidence);
        assert!(parse_defences(Some(" evidence, ")).unwrap().evidence);
        assert!(parse_defences(Some("evidence,firewall")).is_err());
        assert_eq!(parse_rate(None).unwrap(), None);
        assert_eq!(parse_rate(Some("0")).unwrap(), None);
        assert_eq!(parse_rate(Some("250")).unwrap(), Some(250));
        assert!(parse_rate(Some("fast")).is_err());
        assert!(parse_rate(Some("-1")).is_err());
    }
}
