//! The files a node reads from outside: `config.toml` and `genesis.json`
//! at start, a backup file (`kopnet node restore`), and a snapshot
//! fetched from peers (`kopnet node state-sync`).

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

/// A backup file (`kopnet node restore` reads it section by section,
/// [`kopnet_node::backup::format`]): what the reader accepts, written
/// again section by section, gives the very same bytes (one file, one
/// encoding); a refusal is the reader's typed error.
pub fn backup(data: &[u8]) -> Outcome {
    use kopnet_node::backup::format::{Reader, Writer, MAGIC};
    let mut reader = match Reader::new(data) {
        Ok(reader) => reader,
        Err(e) => return Outcome::refused(e),
    };
    let mut sections = Vec::new();
    loop {
        match reader.next_section() {
            Ok(Some(section)) => sections.push(section),
            Ok(None) => break,
            Err(e) => return Outcome::refused(e),
        }
    }
    let mut writer = Writer::new(Vec::new()).expect("writing to memory");
    for s in &sections {
        writer
            .section(s.kind, &s.name, &s.payload)
            .expect("an accepted section is within the bounds");
    }
    let written = writer.finish().expect("writing to memory");
    // The writer writes the current format; an older one read (format 1,
    // the same sections without snapshots) differs only in its version.
    let version_at = MAGIC.len()..MAGIC.len() + 4;
    assert_eq!(
        written[version_at.end..],
        data[version_at.end..],
        "an accepted backup is not written back the same"
    );
    assert_eq!(written[..version_at.start], data[..version_at.start]);
    Outcome::Accepted
}

/// A snapshot from peers (`kopnet node state-sync`): the input is a
/// manifest (its length as 4 bytes LE, then the manifest) followed by one
/// chunk, imported for the fuzz city's genesis against the root the
/// manifest claims (the fuzzer cannot forge a certified root, so it gets
/// the claimed one). An accepted import opens a ledger at the manifest's
/// height and root whose invariants hold; every refusal is typed.
pub fn snapshot(data: &[u8]) -> Outcome {
    use kopnet_ledger::snapshot::{Importer, Manifest};
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return Outcome::refused("shorter than a length");
    };
    let len = u32::from_le_bytes(*len) as usize;
    let Some((manifest, chunk)) = (len <= rest.len()).then(|| rest.split_at(len)) else {
        return Outcome::refused("manifest longer than the input");
    };
    let manifest = match Manifest::decode(manifest) {
        Ok(m) => m,
        Err(e) => return Outcome::refused(e),
    };
    crate::city::with_city(|city| {
        let root = manifest.state_root;
        let (height, chunks) = (manifest.height, manifest.chunks.len());
        let mut importer =
            match Importer::new(MemoryStorage::new(), &city.genesis.ledger, manifest, root) {
                Ok(i) => i,
                Err(e) => return Outcome::refused(e),
            };
        if let Err(e) = importer.chunk(0, chunk) {
            return Outcome::refused(e);
        }
        if chunks != 1 {
            return Outcome::refused("more chunks than the input holds");
        }
        match importer.finish(&city.genesis.ledger) {
            Ok(ledger) => {
                assert_eq!(ledger.height(), height);
                assert_eq!(ledger.state_root(), root);
                if let Err(e) = ledger.check_invariants() {
                    panic!("an imported snapshot breaks an invariant: {e}");
                }
                Outcome::Accepted
            }
            Err(e) => Outcome::refused(e),
        }
    })
}
