//! Deliberate faults for proving that the fault-injection runner catches a
//! broken node (`kopnet testnet run --fault validator-2=double-credit`).
//! Off unless the environment variable `KOPNET_FAULT` names one; an unknown
//! name, or any name in a build without the `fault-injection` feature, stops
//! the node at start-up. Never set this on a real network.

use kopnet_ledger::storage::Storage;
use kopnet_ledger::{Block, BlockOutcome, Ledger};
use std::sync::OnceLock;

/// The environment variable that switches a fault on.
pub const FAULT_ENV: &str = "KOPNET_FAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// After each block, credit the payee of the block's first successful
    /// payment a second time, straight into storage: a node that "applies a
    /// transfer twice". Its money no longer adds up and its state drifts
    /// from the other nodes'.
    DoubleCredit,
}

#[derive(Debug, thiserror::Error)]
pub enum UnknownFault {
    #[error("unknown {FAULT_ENV} value {0:?} (known: double-credit)")]
    Name(String),
    #[error("{FAULT_ENV} is set, but this node was built without the fault-injection feature")]
    NotBuiltIn,
}

fn parse(value: Option<&str>) -> Result<Fault, UnknownFault> {
    match value {
        None | Some("") => Ok(Fault::None),
        Some("double-credit") => Ok(Fault::DoubleCredit),
        Some(other) => Err(UnknownFault::Name(other.chars().take(64).collect())),
    }
}

static ACTIVE: OnceLock<Fault> = OnceLock::new();

/// Read `KOPNET_FAULT` once, at start-up.
pub fn init_from_env() -> Result<Fault, UnknownFault> {
    let value = std::env::var(FAULT_ENV).ok();
    let fault = parse(value.as_deref())?;
    if fault != Fault::None && !cfg!(feature = "fault-injection") {
        return Err(UnknownFault::NotBuiltIn);
    }
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

/// Apply the active fault after `block` was committed (nothing in a build
/// without the fault-injection feature, whose start-up refuses any fault).
#[cfg(not(feature = "fault-injection"))]
pub fn after_commit<S: Storage>(_: &mut Ledger<S>, _: &Block, _: &BlockOutcome) {}

/// Apply the active fault after `block` was committed.
#[cfg(feature = "fault-injection")]
pub fn after_commit<S: Storage>(ledger: &mut Ledger<S>, block: &Block, outcome: &BlockOutcome) {
    use kopnet_ledger::Action;
    if active() != Fault::DoubleCredit {
        return;
    }
    let paid = block
        .txs
        .iter()
        .zip(&outcome.results)
        .find_map(|(tx, (_, result))| match (&tx.body.action, result) {
            (Action::Payment { to, amount, .. }, Ok(())) => Some((*to, *amount)),
            _ => None,
        });
    let Some((to, amount)) = paid else { return };
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
    }
}
