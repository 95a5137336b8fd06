//! The two files a node reads at start: `config.toml` and `genesis.json`.

use crate::Outcome;
use kopnet_ledger::{Ledger, MemoryStorage};
use kopnet_node::config::{ConfigError, NodeConfig};
use kopnet_node::genesis_file::{GenesisFileError, NetworkGenesis};

/// `config.toml`: what the loader accepts validates, survives its own
/// writer (`to_toml`, which `kopnet node init` uses) unchanged, and gives
/// the p2p layer its limits; a refusal names a field or the parse error.
pub fn config(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::refused("not UTF-8");
    };
    match NodeConfig::parse(text, "config.toml") {
        Ok(config) => {
            assert_eq!(config.validate(), Ok(()));
            let written = config.to_toml();
            assert_eq!(
                NodeConfig::parse(&written, "written").as_ref(),
                Ok(&config),
                "config does not survive its writer:\n{written}"
            );
            let _ = config.p2p.peer_limits();
            Outcome::Accepted
        }
        Err(e) => {
            assert!(
                matches!(e, ConfigError::Parse { .. } | ConfigError::Field { .. }),
                "{e}"
            );
            Outcome::refused(e)
        }
    }
}

/// `genesis.json`: what the loader accepts survives its own writer and
/// opens a ledger whose invariants hold, with an allow-list of distinct
/// keys; a refusal is `Invalid`.
pub fn genesis(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        return Outcome::refused("not UTF-8");
    };
    match NetworkGenesis::parse(text, "genesis.json") {
        Ok(genesis) => {
            let written = genesis.to_json();
            assert_eq!(
                NetworkGenesis::parse(&written, "written").as_ref(),
                Ok(&genesis),
                "genesis does not survive its writer:\n{written}"
            );
            let keys = genesis.allowed_keys();
            assert!(keys.windows(2).all(|w| w[0] < w[1]));
            let ledger = match Ledger::open(MemoryStorage::new(), &genesis.ledger) {
                Ok(ledger) => ledger,
                Err(e) => panic!("an accepted genesis does not open a ledger: {e}"),
            };
            if let Err(e) = ledger.check_invariants() {
                panic!("an accepted genesis breaks an invariant: {e}");
            }
            Outcome::Accepted
        }
        Err(e) => {
            assert!(matches!(e, GenesisFileError::Invalid { .. }), "{e}");
            Outcome::refused(e)
        }
    }
}
