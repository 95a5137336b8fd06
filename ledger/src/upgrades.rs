//! Scheduled protocol upgrades.
//!
//! The chain's parameters carry the **protocol version** its blocks are
//! executed under (`Params::protocol_version`, 1 at genesis) and at most
//! one **scheduled upgrade** (`Params::upgrade`): a version and the height
//! of the first block under it. Governance schedules one
//! (`GovAction::ScheduleUpgrade`) or withdraws it (`CancelUpgrade`) like
//! any other change, with a supermajority of voting power.
//!
//! - A schedule names the next version only (`version = current + 1`) and
//!   a height at least [`UPGRADE_LEAD_MIN_BLOCKS`] after the block that
//!   executes it, so every operator has those blocks to install the new
//!   build; a second schedule while one is pending is refused
//!   (`upgrade_out_of_range`); cancelling with none pending is
//!   `no_upgrade_scheduled`.
//! - The block at the scheduled height switches the version before its
//!   transactions run ([`begin_block`]), on every node alike.
//! - A node whose build does not speak the new version stops cleanly once
//!   it has committed the block before that height, saying which version
//!   to install (`kopnet_node::upgrade`); it never votes on a block of a
//!   version it does not speak. A new build speaks the old versions too,
//!   so validators switch binaries one by one before the height (a rolling
//!   restart, no vote needed for that) and the network never stops.

use crate::rejection::Rejection;
use crate::state::{Overlay, Params, StateRead};
use serde::{Deserialize, Serialize};

/// The protocol version of a new chain.
pub const GENESIS_PROTOCOL_VERSION: u32 = 1;
/// Fewest blocks between the block that schedules an upgrade and the
/// upgrade's height.
pub const UPGRADE_LEAD_MIN_BLOCKS: u64 = 10;

/// An upgrade governance scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledUpgrade {
    /// The version blocks from `height` on are executed under.
    pub version: u32,
    /// The first block under `version`.
    pub height: u64,
}

fn out_of_range(why: String) -> Rejection {
    Rejection::UpgradeOutOfRange(why)
}

/// What can be said of a schedule without knowing its executing height.
pub fn check_schedule(params: &Params, version: u32) -> Result<(), Rejection> {
    if let Some(pending) = params.upgrade {
        return Err(out_of_range(format!(
            "an upgrade to version {} at height {} is already scheduled: cancel it first",
            pending.version, pending.height
        )));
    }
    if Some(version) != params.protocol_version.checked_add(1) {
        return Err(out_of_range(format!(
            "the next version is {} (the chain runs {}), not {version}",
            params.protocol_version.saturating_add(1),
            params.protocol_version
        )));
    }
    Ok(())
}

/// Schedule `version` at `at_height`, executed in block `height`.
pub fn schedule<B: StateRead + ?Sized>(
    state: &mut Overlay<'_, B>,
    version: u32,
    at_height: u64,
    height: u64,
) -> Result<(), Rejection> {
    let mut params = state.params_ref().cloned().ok_or(Rejection::Overflow)?;
    check_schedule(&params, version)?;
    let earliest = height.saturating_add(UPGRADE_LEAD_MIN_BLOCKS);
    if at_height < earliest {
        return Err(out_of_range(format!(
            "height {at_height} leaves operators fewer than {UPGRADE_LEAD_MIN_BLOCKS} blocks: the earliest is {earliest}"
        )));
    }
    params.upgrade = Some(ScheduledUpgrade {
        version,
        height: at_height,
    });
    state.put_params(params);
    Ok(())
}

/// Withdraw the pending upgrade.
pub fn cancel<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>) -> Result<(), Rejection> {
    let mut params = state.params_ref().cloned().ok_or(Rejection::Overflow)?;
    if params.upgrade.take().is_none() {
        return Err(Rejection::NoUpgradeScheduled);
    }
    state.put_params(params);
    Ok(())
}

/// The start of block `height`: the scheduled version takes over at its
/// height.
pub fn begin_block<B: StateRead + ?Sized>(state: &mut Overlay<'_, B>, height: u64) {
    let Some(mut params) = state.params_ref().cloned() else {
        return;
    };
    match params.upgrade {
        Some(upgrade) if upgrade.height <= height => {
            params.protocol_version = upgrade.version;
            params.upgrade = None;
            state.put_params(params);
        }
        _ => {}
    }
}
