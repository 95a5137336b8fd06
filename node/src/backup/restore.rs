//! `kopnet node restore --from FILE --home NEWDIR`: check a backup whole,
//! then build the home in a staging directory beside `NEWDIR` and move it
//! into place. A bad file changes nothing; a failure while building
//! removes the staging directory.

use super::create::split_block_payload;
use super::format::{FormatError, Kind, Reader, Section};
use super::{is_home_file_name, Header, HOME_FILES};
use crate::chain_store;
use crate::config::NodeConfig;
use crate::genesis_file::NetworkGenesis;
use crate::host::catch_up::{take_one, SyncedBlockOutcome};
use crate::host::state::HostState;
use crate::personal::PersonalStore;
use crate::snapshots::anchor;
use crate::snapshots::dir::{Partial, SnapshotDir};
use crate::wire::SyncedBlock;
use crate::NodeHome;
use kopnet_consensus::{codec, PublicKey};
use kopnet_ledger::block::{Block, BlockHeader};
use kopnet_ledger::snapshot::{Importer, Manifest};
use kopnet_ledger::{Ledger, SledStorage};
use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

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
    /// Blocks verified and executed (after the snapshot, when the backup
    /// starts at one: [`Header::snapshot_height`]).
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
    /// The snapshot the chain starts from, when it does not start at 1.
    snapshot: Option<SnapshotStart>,
}

/// A backup's snapshot and the block after it.
struct SnapshotStart {
    manifest: Manifest,
    /// Block `S + 1`: taken on its hash, which block `S + 2` names as its
    /// parent ([`crate::snapshots::anchor`]).
    first: Block,
}

/// Where pass one is in the file: sections come in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    HomeFiles,
    Snapshot,
    Blocks,
    Members,
}

/// Pass one: every checksum, the order of the sections (header, home
/// files, the snapshot's manifest and chunks when the chain starts at one,
/// the blocks from 1 or from the snapshot's next, members), the
/// configuration and genesis parse, each chunk matches the manifest, each
/// block section splits (the two after a snapshot decode and chain), each
/// member decodes. Writes nothing.
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
    let mut stage = Stage::HomeFiles;
    let mut files = BTreeSet::new();
    let mut config = None;
    let mut genesis = None;
    let mut manifest: Option<Manifest> = None;
    let mut next_chunk = 0usize;
    let mut first_block: Option<Block> = None;
    let mut next_block = 1u64;
    let mut members = BTreeSet::new();
    let mut enter = |next: Stage, name: &str| {
        if next < stage {
            return Err(content(format!("section {name} is out of order")));
        }
        stage = next;
        Ok(())
    };
    while let Some(Section {
        kind,
        name,
        payload,
    }) = reader.next_section()?
    {
        match kind {
            Kind::HomeFile => {
                enter(Stage::HomeFiles, &name)?;
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
            Kind::SnapshotManifest => {
                enter(Stage::Snapshot, &name)?;
                let decoded = Manifest::decode(&payload)
                    .map_err(|e| content(format!("the snapshot's manifest: {e}")))?;
                if manifest.is_some()
                    || header.snapshot_height != Some(decoded.height)
                    || name != decoded.height.to_string()
                {
                    return Err(content(format!(
                        "a snapshot at height {name} where its header names {:?}",
                        header.snapshot_height
                    )));
                }
                next_block = decoded.height.saturating_add(1);
                manifest = Some(decoded);
            }
            Kind::SnapshotChunk => {
                enter(Stage::Snapshot, &name)?;
                let Some(manifest) = &manifest else {
                    return Err(content("a snapshot chunk before the snapshot's manifest"));
                };
                if name != next_chunk.to_string()
                    || !Importer::<SledStorage>::matches(manifest, next_chunk, &payload)
                {
                    return Err(content(format!(
                        "snapshot chunk {name} is not chunk {next_chunk} of the manifest"
                    )));
                }
                next_chunk += 1;
            }
            Kind::Block => {
                enter(Stage::Blocks, &name)?;
                if name != next_block.to_string() {
                    return Err(content(format!(
                        "block section {name} where block {next_block} was due"
                    )));
                }
                let (block, _) = split_block_payload(&payload)
                    .ok_or_else(|| content(format!("block section {name} does not split")))?;
                if let Some(manifest) = &manifest {
                    anchored(manifest, next_block, block, &mut first_block)?;
                }
                next_block += 1;
            }
            Kind::Member => {
                enter(Stage::Members, &name)?;
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
    let snapshot = match (header.snapshot_height, manifest) {
        (None, None) => None,
        (Some(height), Some(manifest)) => {
            if next_chunk != manifest.chunks.len() {
                return Err(content(format!(
                    "it holds {next_chunk} of the snapshot's {} chunks",
                    manifest.chunks.len()
                )));
            }
            // Block S + 2 is what ties block S + 1, and so the snapshot, to
            // a certificate.
            if next_block < height.saturating_add(3) {
                return Err(content(format!(
                    "it holds no block {} after its snapshot at {height}",
                    height.saturating_add(2)
                )));
            }
            let first = first_block.ok_or_else(|| content("no block after the snapshot"))?;
            Some(SnapshotStart { manifest, first })
        }
        (Some(height), None) => {
            return Err(content(format!(
                "its header names a snapshot at {height}, it holds none"
            )))
        }
        (None, Some(_)) => return Err(content("a snapshot its header does not name")),
    };
    Ok(Checked {
        header,
        genesis,
        snapshot,
    })
}

/// The two blocks after the snapshot: block `S + 1` must follow the
/// snapshot's block and carry its state root (kept in `first`), block
/// `S + 2` must name block `S + 1` as its parent.
fn anchored(
    manifest: &Manifest,
    height: u64,
    bytes: &[u8],
    first: &mut Option<Block>,
) -> Result<(), RestoreError> {
    let refused = |reason: &str| RestoreError::Block {
        height,
        reason: reason.to_string(),
    };
    if height == manifest.height.saturating_add(1) {
        let block = Block::decode(bytes).map_err(|e| refused(&e.to_string()))?;
        if block.header.parent != manifest.block_hash
            || block.header.prev_state_root != manifest.state_root
        {
            return Err(refused(
                "it does not follow the snapshot (parent or state root differ)",
            ));
        }
        *first = Some(block);
    } else if height == manifest.height.saturating_add(2) {
        let header: BlockHeader =
            codec::decode_prefix(bytes).map_err(|e| refused(&e.to_string()))?;
        if first.as_ref().map(Block::hash) != Some(header.parent) {
            return Err(refused("its parent is not the block after the snapshot"));
        }
    }
    Ok(())
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
                blocks: checked.header.height - checked.header.snapshot_height.unwrap_or(0),
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

/// The ledger as pass two builds it: a snapshot being imported, then the
/// blocks being executed.
enum Building {
    Importing {
        importer: Box<Importer<SledStorage>>,
        kept: Partial,
    },
    Executing(Box<HostState<SledStorage>>),
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
    let chain_id = &checked.genesis.ledger.chain_id;
    let store = SledStorage::open(&home.ledger(), 64 * 1024 * 1024).map_err(|e| write(&e))?;
    let mut building = match &checked.snapshot {
        None => {
            let ledger = Ledger::open(store, &checked.genesis.ledger).map_err(|e| write(&e))?;
            chain_store::init_validator_sets(&ledger).map_err(|e| write(&e))?;
            Building::Executing(Box::new(anchor::offline_state(chain_id, ledger)))
        }
        Some(start) => {
            let importer = Importer::new(
                store,
                &checked.genesis.ledger,
                start.manifest.clone(),
                start.first.header.prev_state_root,
            )
            .map_err(|e| snapshot_refused(&start.manifest, &e))?;
            let kept = SnapshotDir::of_data(&home.data())
                .begin(start.manifest.height)
                .map_err(|e| write(&e))?;
            Building::Importing {
                importer: Box::new(importer),
                kept,
            }
        }
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
            Kind::SnapshotChunk => {
                let (Building::Importing { importer, kept }, Some(start)) =
                    (&mut building, &checked.snapshot)
                else {
                    return Err(content("a snapshot chunk after the blocks began"));
                };
                let index: usize = section.name.parse().unwrap_or(usize::MAX);
                importer
                    .chunk(index, &section.payload)
                    .map_err(|e| snapshot_refused(&start.manifest, &e))?;
                kept.chunk(&section.payload).map_err(|e| write(&e))?;
            }
            Kind::Block => {
                let height: u64 = section.name.parse().unwrap_or(0);
                if let Building::Importing { .. } = building {
                    building = first_after_snapshot(building, checked)?;
                    progress(height, top);
                    continue;
                }
                let Building::Executing(state) = &building else {
                    return Err(content("blocks while the ledger is not built"));
                };
                let (block, certificate) = split_block_payload(&section.payload)
                    .ok_or_else(|| content("a block section does not split"))?;
                let synced = SyncedBlock {
                    block: block.to_vec(),
                    certificate: certificate.to_vec(),
                };
                match take_one(state, &synced) {
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
            Kind::Header | Kind::SnapshotManifest | Kind::End => {}
        }
    }
    if let (Some(start), Building::Executing(state)) = (&checked.snapshot, &building) {
        // The node holds no certified block below S + 2, like a node that
        // state-synced from the same snapshot.
        let ledger = state
            .ledger
            .read()
            .map_err(|_| write(&"ledger lock poisoned"))?;
        anchor::set_base(&ledger, start.manifest.height + 2).map_err(|e| write(&e))?;
    }
    Ok((files, members))
}

fn snapshot_refused(manifest: &Manifest, e: &dyn std::fmt::Display) -> RestoreError {
    content(format!("its snapshot at height {}: {e}", manifest.height))
}

/// The snapshot is imported whole: check it (root, day commitments), keep
/// it on disk, and apply block `S + 1` on its hash (pass one checked that
/// block `S + 2` names it; `S + 2`'s certificate is checked next).
fn first_after_snapshot(building: Building, checked: &Checked) -> Result<Building, RestoreError> {
    let write = |e: &dyn std::fmt::Display| RestoreError::Write(e.to_string());
    let (Building::Importing { importer, kept }, Some(start)) = (building, &checked.snapshot)
    else {
        return Err(content("no snapshot to finish"));
    };
    let mut ledger = importer
        .finish(&checked.genesis.ledger)
        .map_err(|e| snapshot_refused(&start.manifest, &e))?;
    kept.finish(&start.manifest).map_err(|e| write(&e))?;
    anchor::apply_first_block(&mut ledger, &start.first).map_err(|e| RestoreError::Block {
        height: start.first.header.height,
        reason: e.to_string(),
    })?;
    Ok(Building::Executing(Box::new(anchor::offline_state(
        &checked.genesis.ledger.chain_id,
        ledger,
    ))))
}
