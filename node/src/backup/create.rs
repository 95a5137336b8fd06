//! `kopnet node backup --home DIR --out FILE`: write a backup of a node's
//! home, from the running node's API or, when it is stopped, from its
//! stores (module docs of [`super`]).

use super::format::{Kind, Writer};
use super::{is_home_file_name, Header, HOME_FILES};
use crate::api::client::{Client, ClientError};
use crate::chain_store::certificate_key;
use crate::config::NodeConfig;
use crate::genesis_file::NetworkGenesis;
use crate::personal::PersonalStore;
use crate::snapshots::dir::SnapshotDir;
use crate::NodeHome;
use base64::Engine as _;
use kopnet_consensus::{Keypair, PublicKey};
use kopnet_ledger::snapshot::{Importer, Manifest, CHUNK_BYTES_MAX, MANIFEST_BYTES_MAX};
use kopnet_ledger::{Ledger, SledStorage};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Members read per page of the personal-data export.
pub const MEMBERS_PAGE: usize = 500;

/// Why a backup could not be written. Nothing is left at the output path
/// when it fails (the partial file is removed).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Genesis(#[from] crate::genesis_file::GenesisFileError),
    #[error(transparent)]
    Key(#[from] crate::keyfile::KeyFileError),
    #[error("{path} exists: a backup never overwrites a file; choose another --out")]
    OutExists { path: String },
    #[error(
        "the node's API at {api} does not answer ({api_error}) and its store cannot be opened \
         ({store_error}): start the node, or stop whatever holds its store"
    )]
    Unreachable {
        api: String,
        api_error: String,
        store_error: String,
    },
    #[error("the node at {api} serves chain {found}, but this home's genesis is chain {expected}")]
    WrongChain {
        api: String,
        expected: String,
        found: String,
    },
    #[error(
        "{field} = {path:?} is outside the home: a backup carries only files inside it (move the key into the home, or keep a copy of it yourself)"
    )]
    KeyOutsideHome { field: &'static str, path: String },
    #[error(
        "the node holds no block 1 (its base is {base}: it was pruned or started from a \
         snapshot) and none of its snapshots ({snapshots:?}) is followed by the blocks a \
         restore needs (the block after it, and every block from the one after that to \
         {height} with its certificate): wait for its next snapshot (`[snapshots] \
         interval_blocks`), or enable snapshots if they are off"
    )]
    NoStartingPoint {
        base: u64,
        height: u64,
        snapshots: Vec<u64>,
    },
    #[error(
        "the node removed its snapshot at height {height} while the backup read it (it keeps \
         only the newest few): run the backup again"
    )]
    SnapshotGone { height: u64 },
    #[error("block {height} has no commit certificate at the node")]
    NoCertificate { height: u64 },
    #[error("reading from the node: {0}")]
    Api(String),
    #[error("reading the node's store: {0}")]
    Store(String),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub header: Header,
    /// `api` or `store`: where the chain was read.
    pub source: &'static str,
    pub files: usize,
    /// The snapshot the chain starts from (`None`: from block 1).
    pub snapshot: Option<u64>,
    pub blocks: u64,
    pub members: u64,
    pub bytes: u64,
}

/// Where the chain and the personal data are read.
enum Source {
    Api(Client),
    Store {
        ledger: Box<Ledger<SledStorage>>,
        personal: Option<PersonalStore>,
        snapshots: SnapshotDir,
    },
}

/// The API address a local client dials: the configured one, with an
/// unspecified address (`0.0.0.0`, `::`) replaced by loopback.
fn local_api(api: SocketAddr) -> String {
    let ip = if api.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        api.ip()
    };
    format!("http://{}", SocketAddr::new(ip, api.port()))
}

fn api_error(e: ClientError) -> BackupError {
    BackupError::Api(e.to_string())
}

impl Source {
    async fn open(
        home: &NodeHome,
        api: &str,
        genesis: &NetworkGenesis,
        key: &Keypair,
    ) -> Result<Source, BackupError> {
        let api = api.to_string();
        let client = Client::signed(&api, key.clone());
        let api_error = match client.status().await {
            Ok(status) => {
                let found = status["chain_id"].as_str().unwrap_or_default().to_string();
                if found != genesis.ledger.chain_id {
                    return Err(BackupError::WrongChain {
                        api,
                        expected: genesis.ledger.chain_id.clone(),
                        found,
                    });
                }
                return Ok(Source::Api(client));
            }
            Err(e) => e.to_string(),
        };
        let store = match SledStorage::open(&home.ledger(), 16 * 1024 * 1024) {
            Ok(store) => store,
            Err(e) => {
                return Err(BackupError::Unreachable {
                    api,
                    api_error,
                    store_error: e.to_string(),
                })
            }
        };
        let ledger =
            Ledger::open(store, &genesis.ledger).map_err(|e| BackupError::Store(e.to_string()))?;
        let personal_path = home.data().join("personal");
        let personal = if personal_path.exists() {
            Some(
                PersonalStore::open(&personal_path)
                    .map_err(|e| BackupError::Store(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(Source::Store {
            ledger: Box::new(ledger),
            personal,
            snapshots: SnapshotDir::of_data(&home.data()),
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Source::Api(_) => "api",
            Source::Store { .. } => "store",
        }
    }

    async fn height(&self) -> Result<u64, BackupError> {
        match self {
            Source::Api(client) => client.status().await.map_err(api_error)?["height"]
                .as_u64()
                .ok_or_else(|| BackupError::Api("the status has no height".into())),
            Source::Store { ledger, .. } => Ok(ledger.height()),
        }
    }

    /// The lowest height whose block and certificate the node holds (1
    /// unless it was pruned or started from a snapshot).
    async fn base(&self) -> Result<u64, BackupError> {
        match self {
            Source::Api(client) => Ok(client.status().await.map_err(api_error)?["base_height"]
                .as_u64()
                .unwrap_or(1)),
            Source::Store { ledger, .. } => Ok(ledger.base_height()),
        }
    }

    /// The heights of the snapshots the node keeps, newest first.
    async fn snapshot_heights(&self) -> Result<Vec<u64>, BackupError> {
        match self {
            Source::Api(client) => {
                let body = client.get("/v1/snapshots").await.map_err(api_error)?;
                Ok(body["snapshots"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["height"].as_u64())
                    .collect())
            }
            Source::Store { snapshots, .. } => {
                Ok(snapshots.list().into_iter().map(|l| l.height).collect())
            }
        }
    }

    /// The encoded manifest of the snapshot at `height`.
    async fn manifest(&self, height: u64) -> Result<Vec<u8>, BackupError> {
        let gone = || BackupError::SnapshotGone { height };
        match self {
            Source::Api(client) => client
                .get_bytes(
                    &format!("/v1/snapshots/{height}/manifest"),
                    MANIFEST_BYTES_MAX,
                )
                .await
                .map_err(|e| match e {
                    ClientError::Api { status: 404, .. } => gone(),
                    e => api_error(e),
                }),
            Source::Store { snapshots, .. } => snapshots.manifest_bytes(height).ok_or_else(gone),
        }
    }

    /// Chunk `index` of the snapshot at `height`.
    async fn chunk(&self, height: u64, index: usize) -> Result<Vec<u8>, BackupError> {
        let gone = || BackupError::SnapshotGone { height };
        match self {
            Source::Api(client) => client
                .get_bytes(
                    &format!("/v1/snapshots/{height}/chunks/{index}"),
                    CHUNK_BYTES_MAX,
                )
                .await
                .map_err(|e| match e {
                    ClientError::Api { status: 404, .. } => gone(),
                    e => api_error(e),
                }),
            Source::Store { snapshots, .. } => snapshots.chunk(height, index).ok_or_else(gone),
        }
    }

    /// Block `height` and its certificate, encoded (the certificate may be
    /// empty for the block right after the snapshot a node started from).
    async fn block(&self, height: u64) -> Result<(Vec<u8>, Vec<u8>), BackupError> {
        match self {
            Source::Api(client) => {
                let body = client
                    .get(&format!("/v1/blocks/{height}/raw"))
                    .await
                    .map_err(api_error)?;
                let b64 = base64::engine::general_purpose::STANDARD;
                let field = |name: &str| {
                    b64.decode(body[name].as_str().unwrap_or_default())
                        .map_err(|_| {
                            BackupError::Api(format!("{name} of block {height} is not base64"))
                        })
                };
                Ok((field("block")?, field("certificate")?))
            }
            Source::Store { ledger, .. } => {
                let store = |e: kopnet_ledger::LedgerError| BackupError::Store(e.to_string());
                let block = ledger
                    .block(height)
                    .map_err(store)?
                    .ok_or_else(|| BackupError::Store(format!("block {height} is missing")))?;
                let certificate = ledger
                    .host_data(&certificate_key(height))
                    .map_err(store)?
                    .unwrap_or_default();
                let block = block
                    .encode()
                    .map_err(|e| BackupError::Store(e.to_string()))?;
                Ok((block, certificate))
            }
        }
    }

    /// Up to [`MEMBERS_PAGE`] members after `after`, in address order, in
    /// the personal store's JSON form.
    async fn members(
        &self,
        after: Option<&PublicKey>,
    ) -> Result<Vec<(PublicKey, Vec<u8>)>, BackupError> {
        match self {
            Source::Api(client) => {
                let mut path = format!("/v1/directory/export?limit={MEMBERS_PAGE}");
                if let Some(after) = after {
                    path.push_str(&format!("&after={}", after.to_address()));
                }
                let body = match client.get(&path).await {
                    Ok(body) => body,
                    // An observer keeps no personal data.
                    Err(ClientError::Api { code, .. }) if code == "not_a_cooperative_node" => {
                        return Ok(Vec::new())
                    }
                    Err(e) => return Err(api_error(e)),
                };
                let mut out = Vec::new();
                for entry in body["members"].as_array().into_iter().flatten() {
                    let address = entry["address"].as_str().unwrap_or_default();
                    let key = PublicKey::from_address(address)
                        .map_err(|e| BackupError::Api(format!("member {address:?}: {e}")))?;
                    let record =
                        crate::personal::store::decode(entry["record"].to_string().as_bytes())
                            .map_err(|e| BackupError::Api(format!("member {address}: {e}")))?;
                    let bytes = crate::personal::store::encode(&record)
                        .map_err(|e| BackupError::Api(e.to_string()))?;
                    out.push((key, bytes));
                }
                Ok(out)
            }
            Source::Store { personal, .. } => {
                let Some(personal) = personal else {
                    return Ok(Vec::new());
                };
                let page = personal
                    .page_after(after, MEMBERS_PAGE)
                    .map_err(|e| BackupError::Store(e.to_string()))?;
                page.into_iter()
                    .map(|(key, record)| {
                        crate::personal::store::encode(&record)
                            .map(|bytes| (key, bytes))
                            .map_err(|e| BackupError::Store(e.to_string()))
                    })
                    .collect()
            }
        }
    }
}

/// The key files the configuration names that exist, by their paths
/// relative to the home; a key file outside the home is refused.
fn key_files(home: &Path, config: &NodeConfig) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    for (field, path) in [
        ("key_file", &config.key_file),
        ("next_key_file", &config.next_key_file),
        ("validator_key_file", &config.validator_key_file),
        ("next_validator_key_file", &config.next_validator_key_file),
    ] {
        let exists = home.join(path).exists();
        if !is_home_file_name(path) {
            if exists {
                return Err(BackupError::KeyOutsideHome {
                    field,
                    path: path.clone(),
                });
            }
            continue;
        }
        if exists && !out.contains(path) {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A file created for writing only by its owner (mode 0600), never over an
/// existing one.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Write a backup of the node at `home` to `out`, reading a running node
/// at `api` (its configured API address, on loopback, when `None`).
/// `progress` is told each block written (height, top).
pub async fn create(
    home_dir: &Path,
    out: &Path,
    api: Option<&str>,
    mut progress: impl FnMut(u64, u64),
) -> Result<BackupSummary, BackupError> {
    if out.exists() {
        return Err(BackupError::OutExists {
            path: out.display().to_string(),
        });
    }
    let home = NodeHome::new(home_dir);
    let config = NodeConfig::load(&home.config())?;
    let genesis = NetworkGenesis::load(&home.genesis())?;
    let key = crate::keyfile::read(&home_dir.join(&config.key_file))?;
    let keys = key_files(home_dir, &config)?;
    let api = api.map_or_else(|| local_api(config.api), str::to_string);
    let source = Source::open(&home, &api, &genesis, &key).await?;
    let height = source.height().await?;
    let snapshot = plan_start(&source, height).await?;
    let header = Header {
        chain_id: genesis.ledger.chain_id.clone(),
        height,
        snapshot_height: snapshot,
        node: key.public().to_address(),
        role: format!("{:?}", config.role).to_lowercase(),
        created_ms: now_ms(),
        kopnet_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let partial: PathBuf = {
        let mut name = out.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    };
    let written = write(&partial, &header, &source, home_dir, &keys, &mut progress).await;
    let (files, members, bytes) = match written {
        Ok(counts) => counts,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out)
        .and_then(|()| super::sync_parent(out))
        .map_err(|source| BackupError::Write {
            path: out.display().to_string(),
            source,
        })?;
    Ok(BackupSummary {
        header,
        source: source.name(),
        files,
        snapshot,
        blocks: height - snapshot.unwrap_or(0),
        members,
        bytes,
    })
}

/// Where the backup's chain starts: `None` from block 1, when the node
/// holds it (an archive node's backup keeps its whole history); otherwise
/// the newest snapshot `S` the node keeps with block `S + 1` and the
/// certified blocks `S + 2 ..= height` ([`crate::snapshots::anchor`]).
async fn plan_start(source: &Source, height: u64) -> Result<Option<u64>, BackupError> {
    let base = source.base().await?;
    if base <= 1 {
        return Ok(None);
    }
    let snapshots = source.snapshot_heights().await?;
    for &snapshot in &snapshots {
        let (Some(first), Some(second)) = (snapshot.checked_add(1), snapshot.checked_add(2)) else {
            continue;
        };
        if second > height || second < base {
            continue;
        }
        if source.block(first).await.is_ok() {
            return Ok(Some(snapshot));
        }
    }
    Err(BackupError::NoStartingPoint {
        base,
        height,
        snapshots,
    })
}

/// Every section, into `path`; (home files, members, bytes).
async fn write(
    path: &Path,
    header: &Header,
    source: &Source,
    home: &Path,
    keys: &[String],
    progress: &mut impl FnMut(u64, u64),
) -> Result<(usize, u64, u64), BackupError> {
    let write_error = |source: std::io::Error| BackupError::Write {
        path: path.display().to_string(),
        source,
    };
    let file = create_private(path).map_err(write_error)?;
    let mut writer = Writer::new(std::io::BufWriter::new(file)).map_err(write_error)?;
    let header_json = serde_json::to_vec(header).map_err(|e| BackupError::Api(e.to_string()))?;
    writer
        .section(Kind::Header, "", &header_json)
        .map_err(write_error)?;
    let mut files = 0;
    for name in HOME_FILES
        .iter()
        .map(|n| n.to_string())
        .chain(keys.iter().cloned())
    {
        let bytes = std::fs::read(home.join(&name)).map_err(write_error)?;
        writer
            .section(Kind::HomeFile, &name, &bytes)
            .map_err(write_error)?;
        files += 1;
    }
    if let Some(snapshot) = header.snapshot_height {
        write_snapshot(&mut writer, source, snapshot)
            .await
            .map_err(|e| match e {
                SectionError::Write(e) => write_error(e),
                SectionError::Read(e) => e,
            })?;
    }
    let first = header.snapshot_height.map_or(1, |s| s + 1);
    for height in first..=header.height {
        let (block, certificate) = source.block(height).await?;
        // Only the block right after a snapshot may lack its certificate
        // (a node started from that snapshot never had it).
        if certificate.is_empty() && header.snapshot_height.is_none_or(|s| height != s + 1) {
            return Err(BackupError::NoCertificate { height });
        }
        let payload = block_payload(&block, &certificate);
        writer
            .section(Kind::Block, &height.to_string(), &payload)
            .map_err(write_error)?;
        progress(height, header.height);
    }
    let mut members = 0u64;
    let mut after: Option<PublicKey> = None;
    loop {
        let page = source.members(after.as_ref()).await?;
        let Some(last) = page.last().map(|(key, _)| *key) else {
            break;
        };
        for (key, record) in &page {
            writer
                .section(Kind::Member, &key.to_address(), record)
                .map_err(write_error)?;
            members += 1;
        }
        if page.len() < MEMBERS_PAGE {
            break;
        }
        after = Some(last);
    }
    let buffered = writer.finish().map_err(write_error)?;
    let file = buffered
        .into_inner()
        .map_err(|e| write_error(e.into_error()))?;
    file.sync_all().map_err(write_error)?;
    let bytes = file.metadata().map_err(write_error)?.len();
    Ok((files, members, bytes))
}

/// A failure while copying sections: reading the node, or writing the file.
enum SectionError {
    Read(BackupError),
    Write(std::io::Error),
}

/// The snapshot at `height`: its manifest, then each chunk, checked against
/// the manifest as it is copied (a snapshot that changed under the backup
/// is refused, not written).
async fn write_snapshot<W: std::io::Write>(
    writer: &mut Writer<W>,
    source: &Source,
    height: u64,
) -> Result<(), SectionError> {
    let bytes = source.manifest(height).await.map_err(SectionError::Read)?;
    let manifest = Manifest::decode(&bytes)
        .ok()
        .filter(|m| m.height == height)
        .ok_or(SectionError::Read(BackupError::SnapshotGone { height }))?;
    writer
        .section(Kind::SnapshotManifest, &height.to_string(), &bytes)
        .map_err(SectionError::Write)?;
    for index in 0..manifest.chunks.len() {
        let chunk = source
            .chunk(height, index)
            .await
            .map_err(SectionError::Read)?;
        if !Importer::<SledStorage>::matches(&manifest, index, &chunk) {
            return Err(SectionError::Read(BackupError::SnapshotGone { height }));
        }
        writer
            .section(Kind::SnapshotChunk, &index.to_string(), &chunk)
            .map_err(SectionError::Write)?;
    }
    Ok(())
}

/// A block section's payload: the block's length (u32 LE), the block, the
/// certificate.
pub fn block_payload(block: &[u8], certificate: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + block.len() + certificate.len());
    out.extend_from_slice(&u32::try_from(block.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(block);
    out.extend_from_slice(certificate);
    out
}

/// The block and the certificate of a block section's payload.
pub fn split_block_payload(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = payload.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    if len > rest.len() {
        return None;
    }
    Some(rest.split_at(len))
}
