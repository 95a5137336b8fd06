//! `kopnet node restore --from FILE --home NEWDIR`: check a backup whole,
//! then build the home in a staging directory beside `NEWDIR` and move it
//! into place. A bad file changes nothing; a failure while building
//! removes the staging directory.

use super::create::split_block_payload;
use super::format::{FormatError, Kind, Reader, Section};
use super::{is_home_file_name, Header, HOME_FILES};
use crate::chain_store;
use crate::config::{MempoolConfig, NodeConfig};
use crate::genesis_file::NetworkGenesis;
use crate::host::catch_up::{take_one, SyncedBlockOutcome};
use crate::host::state::HostState;
use crate::mempool::Mempool;
use crate::personal::PersonalStore;
use crate::verified::VerifiedSignatures;
use crate::wire::SyncedBlock;
use crate::NodeHome;
use kopnet_consensus::PublicKey;
use kopnet_ledger::{Ledger, SledStorage};
use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// Why a restore was refused or failed. Nothing is left at `NEWDIR`.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{path} exists and is not empty: restore into a new (or empty) directory")]
    HomeNotEmpty { path: String },
    #[error("{path} exists (left by an earlier restore?): remove it and try again")]
    StagingExists { path: String },
    #[error("cannot open the backup {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("the backup is refused: {0}")]
    Format(#[from] FormatError),
    #[error("the backup is refused: {0}")]
    Content(String),
    #[error("block {height} from the backup is refused: {reason}")]
    Block { height: u64, reason: String },
    #[error("writing the restored home: {0}")]
    Write(String),
}

/// What a restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    pub header: Header,
    pub files: usize,
    pub blocks: u64,
    pub members: u64,
}

fn content(why: impl Into<String>) -> RestoreError {
    RestoreError::Content(why.into())
}

fn sections(path: &Path) -> Result<Reader<BufReader<std::fs::File>>, RestoreError> {
    let file = std::fs::File::open(path).map_err(|source| RestoreError::Open {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Reader::new(BufReader::new(file))?)
}

/// The backup's checked outline: what pass two writes.
struct Checked {
    header: Header,
    genesis: NetworkGenesis,
}

/// Pass one: every checksum, the order of the sections (header, home
/// files, blocks 1..=height, members), the configuration and genesis
/// parse, each block section splits, each member decodes. Writes nothing.
fn check(path: &Path) -> Result<Checked, RestoreError> {
    let mut reader = sections(path)?;
    let first = reader
        .next_section()?
        .ok_or_else(|| content("it is empty"))?;
    if first.kind != Kind::Header {
        return Err(content("it does not start with its header"));
    }
    let header: Header = serde_json::from_slice(&first.payload)
        .map_err(|e| content(format!("its header does not read: {e}")))?;
    let mut files = BTreeSet::new();
    let mut config = None;
    let mut genesis = None;
    let mut next_block = 1u64;
    let mut members = BTreeSet::new();
    while let Some(Section {
        kind,
        name,
        payload,
    }) = reader.next_section()?
    {
        match kind {
            Kind::HomeFile => {
                if next_block != 1 || !members.is_empty() {
                    return Err(content(format!("home file {name} comes after the blocks")));
                }
                if !is_home_file_name(&name) || !files.insert(name.clone()) {
                    return Err(content(format!(
                        "home file name {name:?} is not allowed here"
                    )));
                }
                let text = || {
                    std::str::from_utf8(&payload)
                        .map_err(|_| content(format!("{name} is not text")))
                };
                if name == "config.toml" {
                    config = Some(
                        NodeConfig::parse(text()?, "config.toml in the backup")
                            .map_err(|e| content(e.to_string()))?,
                    );
                } else if name == "genesis.json" {
                    genesis = Some(
                        serde_json::from_str::<NetworkGenesis>(text()?)
                            .map_err(|e| content(format!("genesis.json: {e}")))?,
                    );
                }
            }
            Kind::Block => {
                if name != next_block.to_string() || !members.is_empty() {
                    return Err(content(format!(
                        "block section {name} where block {next_block} was due"
                    )));
                }
                if split_block_payload(&payload).is_none() {
                    return Err(content(format!("block section {name} does not split")));
                }
                next_block += 1;
            }
            Kind::Member => {
                let key = PublicKey::from_address(&name)
                    .map_err(|e| content(format!("member {name:?}: {e}")))?;
                crate::personal::store::decode(&payload)
                    .map_err(|e| content(format!("member {name}: {e}")))?;
                if !members.insert(key.0) {
                    return Err(content(format!("member {name} appears twice")));
                }
            }
            Kind::Header | Kind::End => {
                return Err(content("a second header inside the file"));
            }
        }
    }
    for needed in HOME_FILES {
        if !files.contains(needed) {
            return Err(content(format!("it has no {needed}")));
        }
    }
    let (Some(config), Some(genesis)) = (config, genesis) else {
        return Err(content("its configuration or genesis is missing"));
    };
    if !files.contains(&config.key_file) {
        return Err(content(format!(
            "it has no node key ({}, named by its configuration)",
            config.key_file
        )));
    }
    if genesis.ledger.chain_id != header.chain_id {
        return Err(content(format!(
            "its genesis is chain {}, its header says {}",
            genesis.ledger.chain_id, header.chain_id
        )));
    }
    if next_block != header.height.saturating_add(1) {
        return Err(content(format!(
            "its header says height {}, it holds blocks up to {}",
            header.height,
            next_block - 1
        )));
    }
    Ok(Checked { header, genesis })
}

/// Whether `dir` is absent or an empty directory.
fn absent_or_empty(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.sync_all()
}

/// Restore the backup at `from` into `home`. `progress` is told each block
/// imported (height, top).
pub fn restore(
    from: &Path,
    home: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<RestoreSummary, RestoreError> {
    if !absent_or_empty(home) {
        return Err(RestoreError::HomeNotEmpty {
            path: home.display().to_string(),
        });
    }
    let checked = check(from)?;
    let staging: PathBuf = {
        let mut name = home.as_os_str().to_owned();
        name.push(".restoring");
        PathBuf::from(name)
    };
    if staging.exists() {
        return Err(RestoreError::StagingExists {
            path: staging.display().to_string(),
        });
    }
    std::fs::create_dir_all(&staging).map_err(|e| RestoreError::Write(e.to_string()))?;
    match build(from, &staging, &checked, &mut progress) {
        Ok((files, members)) => {
            if home.exists() {
                std::fs::remove_dir(home).map_err(|e| RestoreError::Write(e.to_string()))?;
            }
            std::fs::rename(&staging, home)
                .and_then(|()| super::sync_parent(home))
                .map_err(|e| RestoreError::Write(e.to_string()))?;
            Ok(RestoreSummary {
                blocks: checked.header.height,
                header: checked.header,
                files,
                members,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Pass two, into `staging`: (home files, members).
fn build(
    from: &Path,
    staging: &Path,
    checked: &Checked,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(usize, u64), RestoreError> {
    let write = |e: &dyn std::fmt::Display| RestoreError::Write(e.to_string());
    let home = NodeHome::new(staging);
    std::fs::create_dir_all(home.data()).map_err(|e| write(&e))?;
    let store = SledStorage::open(&home.ledger(), 64 * 1024 * 1024).map_err(|e| write(&e))?;
    let ledger = Ledger::open(store, &checked.genesis.ledger).map_err(|e| write(&e))?;
    chain_store::init_validator_sets(&ledger).map_err(|e| write(&e))?;
    let state = HostState {
        chain_id: checked.genesis.ledger.chain_id.clone(),
        ledger: RwLock::new(ledger),
        mempool: Mutex::new(Mempool::new(MempoolConfig::default())),
        verified: VerifiedSignatures::new(1024),
        rejections: Mutex::default(),
    };
    let personal = PersonalStore::open(&home.data().join("personal")).map_err(|e| write(&e))?;
    // The double-sign check of a restored validator takes the network's
    // height as the bound of what its previous life signed.
    write_private(
        &home.data().join(crate::host::double_sign::RESTORED_MARKER),
        format!("restored to height {}\n", checked.header.height).as_bytes(),
    )
    .map_err(|e| write(&e))?;
    let mut reader = sections(from)?;
    let (mut files, mut members) = (0usize, 0u64);
    let top = checked.header.height;
    while let Some(section) = reader.next_section()? {
        match section.kind {
            Kind::HomeFile => {
                write_private(&staging.join(&section.name), &section.payload)
                    .map_err(|e| write(&e))?;
                files += 1;
            }
            Kind::Block => {
                let height: u64 = section.name.parse().unwrap_or(0);
                let (block, certificate) = split_block_payload(&section.payload)
                    .ok_or_else(|| content("a block section does not split"))?;
                let synced = SyncedBlock {
                    block: block.to_vec(),
                    certificate: certificate.to_vec(),
                };
                match take_one(&state, &synced) {
                    Ok(Ok(SyncedBlockOutcome::Committed(_))) => progress(height, top),
                    Ok(Ok(SyncedBlockOutcome::Known)) => {
                        return Err(RestoreError::Block {
                            height,
                            reason: "it is at or below the height already imported".into(),
                        })
                    }
                    Ok(Err(refusal)) => {
                        return Err(RestoreError::Block {
                            height,
                            reason: refusal.to_string(),
                        })
                    }
                    Err(e) => return Err(write(&e)),
                }
            }
            Kind::Member => {
                let key = PublicKey::from_address(&section.name)
                    .map_err(|e| content(format!("member {}: {e}", section.name)))?;
                let record = crate::personal::store::decode(&section.payload)
                    .map_err(|e| content(e.to_string()))?;
                personal.restore(&key, record).map_err(|e| write(&e))?;
                members += 1;
            }
            Kind::Header | Kind::End => {}
        }
    }
    Ok((files, members))
}
