//! Which protocol versions this build speaks, and the stop for a scheduled
//! upgrade ([`kopnet_ledger::upgrades`] holds the chain's side).
//!
//! A build speaks every version up to [`PROTOCOL_VERSION`]. When the chain
//! has scheduled a version this build does not speak, the node commits up
//! to the block before the upgrade's height and then stops cleanly (exit
//! code [`crate::runtime::fail_stop::EXIT_UPGRADE_REQUIRED`]) with one line
//! naming the version to install and the height; started again on the same
//! build it refuses at once with the same line. Its store is kept: the new
//! build opens it and goes on. It never votes on a block of a version it
//! does not speak.
//!
//! Builds with the `fault-injection` feature read `KOPNET_SPEAKS_PROTOCOL`
//! to speak another version: how tests and the fault runner play a "new
//! build" without compiling a second binary.

use kopnet_ledger::state::Params;

/// The highest protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The variable a fault-injection build reads to speak another version.
pub const SPEAKS_PROTOCOL_ENV: &str = "KOPNET_SPEAKS_PROTOCOL";

/// The highest version this process speaks: [`PROTOCOL_VERSION`], or in a
/// fault-injection build the version `KOPNET_SPEAKS_PROTOCOL` names.
pub fn speaks() -> u32 {
    #[cfg(feature = "fault-injection")]
    if let Some(version) = std::env::var(SPEAKS_PROTOCOL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
    {
        return version;
    }
    PROTOCOL_VERSION
}

/// The chain needs a version this build does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the network runs protocol version {version} from height {height} on (scheduled by governance); \
     this kopnet speaks up to version {speaks}: install a kopnet that speaks version {version} and \
     start it on this home (the store is kept; the node committed up to height {committed})"
)]
pub struct UpgradeRequired {
    pub version: u32,
    pub height: u64,
    pub speaks: u32,
    pub committed: u64,
}

/// Whether a node that speaks up to `speaks` and has committed `committed`
/// may go on to the next height under `params`.
pub fn check(params: &Params, committed: u64, speaks: u32) -> Result<(), UpgradeRequired> {
    if params.protocol_version > speaks {
        return Err(UpgradeRequired {
            version: params.protocol_version,
            height: committed,
            speaks,
            committed,
        });
    }
    match params.upgrade {
        Some(upgrade)
            if upgrade.version > speaks && committed.saturating_add(1) >= upgrade.height =>
        {
            Err(UpgradeRequired {
                version: upgrade.version,
                height: upgrade.height,
                speaks,
                committed,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopnet_ledger::upgrades::ScheduledUpgrade;

    fn params(version: u32, upgrade: Option<(u32, u64)>) -> Params {
        let genesis = kopnet_ledger::testkit::demo_genesis("upgrade-test", 4, 50_000_000);
        let ledger =
            kopnet_ledger::Ledger::open(kopnet_ledger::MemoryStorage::new(), &genesis).unwrap();
        let mut params = ledger.params().unwrap();
        params.protocol_version = version;
        params.upgrade = upgrade.map(|(version, height)| ScheduledUpgrade { version, height });
        params
    }

    #[test]
    fn an_old_build_stops_before_the_upgrade_height_and_a_new_one_goes_on() {
        let scheduled = params(1, Some((2, 100)));
        assert!(
            check(&scheduled, 98, 1).is_ok(),
            "block 99 is still version 1"
        );
        let stop = check(&scheduled, 99, 1).unwrap_err();
        assert_eq!((stop.version, stop.height, stop.committed), (2, 100, 99));
        assert!(stop
            .to_string()
            .contains("install a kopnet that speaks version 2"));
        assert!(check(&scheduled, 99, 2).is_ok(), "a new build goes on");
        // Past the height, an old build refuses at once.
        assert!(check(&params(2, None), 150, 1).is_err());
        assert!(check(&params(2, None), 150, 2).is_ok());
    }
}
