//! `DIR/config.toml`: every field has a default, unknown fields are errors,
//! and validation names the bad field.

pub use crate::http::config::HttpConfig;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::Path;

/// What a node does in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Votes in consensus with its cooperative's key.
    Validator,
    /// Follows and verifies the chain, serves reads, refuses writes.
    Observer,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Observer => "observer",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// `consensus.block_interval_min_ms` when config.toml does not say.
pub const BLOCK_INTERVAL_MIN_MS_DEFAULT: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    pub timeout_propose_ms: u64,
    pub timeout_prevote_ms: u64,
    pub timeout_precommit_ms: u64,
    pub timeout_delta_ms: u64,
    /// When idle, an empty block at most this often.
    pub empty_block_interval_ms: u64,
    /// When busy, a block at most this often: round 0 of a height waits
    /// this long after the height began (0: at once). Fewer, fuller blocks
    /// for the work every block costs whatever it holds; README,
    /// "Block interval".
    pub block_interval_min_ms: u64,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            timeout_propose_ms: 2_000,
            timeout_prevote_ms: 1_000,
            timeout_precommit_ms: 1_000,
            timeout_delta_ms: 500,
            empty_block_interval_ms: 2_000,
            block_interval_min_ms: BLOCK_INTERVAL_MIN_MS_DEFAULT,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    pub max_txs: usize,
    pub max_bytes: usize,
    /// Most pending transactions from one signer.
    pub max_per_signer: usize,
    /// Blocks a transaction may wait before it is dropped as `expired`.
    pub max_age_blocks: u64,
    /// Share (%) of `max_txs` and `max_bytes` that clients' submissions
    /// may fill; the rest is kept for transactions gossiped by peers (see
    /// `Mempool::client_room`).
    pub client_room_percent: u8,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 100_000,
            max_bytes: 64 * 1024 * 1024,
            max_per_signer: 256,
            max_age_blocks: 600,
            client_room_percent: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockConfig {
    pub max_txs: usize,
    pub max_bytes: usize,
}

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            max_txs: 5_000,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// sled page cache (sled's own default is 1 GiB; ours is modest).
    pub cache_bytes: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How many blocks the node keeps (`[pruning]` in config.toml; README,
/// "Operating a node: pruning"). `keep_blocks = 0` (the default, on every
/// role) keeps every block: an archive node. A pruning node keeps the last
/// `keep_blocks` blocks with their certificates and indexes (at least
/// [`kopnet_ledger::ledger::KEEP_BLOCKS_MIN`], and at least twice
/// `[snapshots] interval_blocks`, which must not be 0: its backups and the
/// nodes that join from it start at its newest snapshot); what is older answers
/// `410 pruned` and is served by archive nodes
/// ([`kopnet_ledger::ledger::prune`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PruningConfig {
    pub keep_blocks: u64,
}

impl PruningConfig {
    /// Whether this keeps every block.
    pub fn is_archive(&self) -> bool {
        self.keep_blocks == 0
    }
}

/// The peer network's limits a cooperative may tune (`[p2p]` in
/// config.toml): connections (in all, per IP, in their handshake),
/// timeouts, each peer's budget and the ban policy. The defaults are the
/// named constants of [`crate::p2p::config`]; the bounds that must be the
/// same on every node (message sizes, catch-up pages, the publish queue
/// that peers' budgets are sized for) are fixed there (README, "Protocol
/// limits"). A budget may be raised but not set below what one honest
/// peer's publish queue sends at once after a pause, or this node would
/// penalise honest peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct P2pLimitsConfig {
    /// Established peer connections, in all.
    pub connections_max: u32,
    /// Inbound connections from one IP address still in their handshake.
    pub pending_inbound_per_ip_max: u32,
    /// Inbound connections still in their handshake, from all addresses.
    pub pending_inbound_max: u32,
    /// Established inbound connections from one IP address.
    pub established_inbound_per_ip_max: u32,
    /// TCP connect to an authenticated, multiplexed connection, at most.
    pub handshake_timeout_ms: u64,
    /// A catch-up request not answered within this long fails (the node
    /// asks another peer).
    pub sync_request_timeout_ms: u64,
    /// Messages and requests one peer may send per second, sustained.
    pub peer_messages_per_second: u64,
    /// Bytes one peer may send per second, sustained.
    pub peer_bytes_per_second: u64,
    /// How many milliseconds' worth of its budget a peer may send at once.
    pub peer_burst_ms: u64,
    /// Penalty points at which a peer is banned.
    pub ban_penalty_points: u64,
    /// A first ban; each repeat doubles it ...
    pub ban_duration_min_ms: u64,
    /// ... up to this.
    pub ban_duration_max_ms: u64,
}

impl Default for P2pLimitsConfig {
    fn default() -> Self {
        use crate::p2p::config as p2p;
        P2pLimitsConfig {
            connections_max: 64,
            pending_inbound_per_ip_max: p2p::PENDING_INBOUND_PER_IP_MAX,
            pending_inbound_max: p2p::PENDING_INBOUND_MAX,
            established_inbound_per_ip_max: p2p::ESTABLISHED_INBOUND_PER_IP_MAX,
            handshake_timeout_ms: duration_ms(p2p::HANDSHAKE_TIMEOUT),
            sync_request_timeout_ms: duration_ms(p2p::SYNC_REQUEST_TIMEOUT),
            peer_messages_per_second: p2p::PEER_BUDGET_MESSAGES_PER_S,
            peer_bytes_per_second: p2p::PEER_BUDGET_BYTES_PER_S,
            peer_burst_ms: duration_ms(p2p::PEER_BUDGET_BURST),
            ban_penalty_points: p2p::BAN_PENALTY_POINTS,
            ban_duration_min_ms: duration_ms(p2p::BAN_DURATION_MIN),
            ban_duration_max_ms: duration_ms(p2p::BAN_DURATION_MAX),
        }
    }
}

fn duration_ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl P2pLimitsConfig {
    /// The p2p layer's per-peer limits: these fields over its defaults.
    pub fn peer_limits(&self) -> crate::p2p::PeerLimits {
        use std::time::Duration;
        crate::p2p::PeerLimits {
            messages_per_s: self.peer_messages_per_second,
            bytes_per_s: self.peer_bytes_per_second,
            burst: Duration::from_millis(self.peer_burst_ms),
            ban_penalty_points: self.ban_penalty_points,
            ban_duration_min: Duration::from_millis(self.ban_duration_min_ms),
            ban_duration_max: Duration::from_millis(self.ban_duration_max_ms),
            ..crate::p2p::PeerLimits::default()
        }
    }

    /// The p2p layer's inbound connection bounds: these fields.
    pub fn inbound_limits(&self) -> crate::p2p::ip_limits::IpLimitsConfig {
        crate::p2p::ip_limits::IpLimitsConfig {
            pending_per_ip_max: self.pending_inbound_per_ip_max,
            pending_max: self.pending_inbound_max,
            established_per_ip_max: self.established_inbound_per_ip_max,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        use crate::p2p::config as p2p;
        if !(1..=4_096).contains(&self.connections_max) {
            return Err(field("p2p.connections_max", "must be between 1 and 4096"));
        }
        if !(1..=1_024).contains(&self.pending_inbound_per_ip_max) {
            return Err(field(
                "p2p.pending_inbound_per_ip_max",
                "must be between 1 and 1024",
            ));
        }
        if !(self.pending_inbound_per_ip_max..=65_536).contains(&self.pending_inbound_max) {
            return Err(field(
                "p2p.pending_inbound_max",
                "must be between p2p.pending_inbound_per_ip_max and 65536",
            ));
        }
        if !(1..=4_096).contains(&self.established_inbound_per_ip_max) {
            return Err(field(
                "p2p.established_inbound_per_ip_max",
                "must be between 1 and 4096",
            ));
        }
        for (name, value) in [
            ("p2p.handshake_timeout_ms", self.handshake_timeout_ms),
            ("p2p.sync_request_timeout_ms", self.sync_request_timeout_ms),
        ] {
            if !(1_000..=120_000).contains(&value) {
                return Err(field(name, "must be between 1000 and 120000"));
            }
        }
        if !(1_000..=60_000).contains(&self.peer_burst_ms) {
            return Err(field("p2p.peer_burst_ms", "must be between 1000 and 60000"));
        }
        // What one honest peer's publish queue may send at once must pass.
        let burst = |per_second: u64| {
            u128::from(per_second).saturating_mul(u128::from(self.peer_burst_ms)) / 1_000
        };
        let messages_needed = p2p::PUBLISH_QUEUE_MESSAGES_MAX as u128;
        if burst(self.peer_messages_per_second) < messages_needed {
            return Err(field(
                "p2p.peer_messages_per_second",
                format!("times p2p.peer_burst_ms must allow at least {messages_needed} messages (one honest peer's publish queue)"),
            ));
        }
        let bytes_needed = p2p::PUBLISH_QUEUE_BYTES_MAX as u128;
        if burst(self.peer_bytes_per_second) < bytes_needed {
            return Err(field(
                "p2p.peer_bytes_per_second",
                format!("times p2p.peer_burst_ms must allow at least {bytes_needed} bytes (one honest peer's publish queue)"),
            ));
        }
        if self.ban_penalty_points == 0 {
            return Err(field("p2p.ban_penalty_points", "must be at least 1"));
        }
        if !(1_000..=86_400_000).contains(&self.ban_duration_min_ms)
            || !(self.ban_duration_min_ms..=86_400_000).contains(&self.ban_duration_max_ms)
        {
            return Err(field(
                "p2p.ban_duration_min_ms",
                "bans must last between 1000 ms and a day, min <= p2p.ban_duration_max_ms",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    pub role: Role,
    /// The node identity's key file: its libp2p key, what the other nodes'
    /// allow lists admit (relative paths are relative to the home
    /// directory, like every key file below). Never the cooperative key.
    pub key_file: String,
    /// The node identity a rotation replaces it with (`kopnet node
    /// next-keys` writes it): at start the node uses it instead of
    /// `key_file` once the ledger names it as its cooperative's node key.
    pub next_key_file: String,
    /// Validators: the key that signs consensus messages.
    pub validator_key_file: String,
    /// Validators: the cooperative's next validator key, when a rotation
    /// is under way. Read at start and again after every block while it
    /// is not held: the node signs with whichever of its validator keys
    /// the height's validator set lists.
    pub next_validator_key_file: String,
    /// libp2p listen addresses.
    pub listen: Vec<String>,
    /// Addresses of other nodes to dial.
    pub peers: Vec<String>,
    /// HTTP API address.
    pub api: SocketAddr,
    pub log_format: LogFormat,
    /// Largest HTTP request body, in bytes.
    pub api_body_max_bytes: usize,
    /// Enables `POST /v1/admin/isolate` (fault injection for test networks;
    /// it needs the token in `admin.token` and an API bound to loopback).
    pub admin_api: bool,
    pub consensus: ConsensusConfig,
    pub mempool: MempoolConfig,
    pub block: BlockConfig,
    pub storage: StorageConfig,
    pub pruning: PruningConfig,
    pub http: HttpConfig,
    pub p2p: P2pLimitsConfig,
    /// Page sizes of the API's list endpoints.
    pub pages: crate::api::paging::PagesConfig,
    pub health: HealthConfig,
    /// Observers: the thresholds of the regulator's desk's review flags
    /// ([`crate::audit::flags`]).
    pub audit: AuditConfig,
    /// Snapshots this node takes and serves to nodes that join
    /// ([`crate::snapshots`]).
    pub snapshots: crate::snapshots::SnapshotConfig,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            role: Role::Validator,
            key_file: "node.key".into(),
            next_key_file: "node.next.key".into(),
            validator_key_file: "validator.key".into(),
            next_validator_key_file: "validator.next.key".into(),
            listen: vec!["/ip4/127.0.0.1/tcp/26656".into()],
            peers: vec![],
            api: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Human,
            api_body_max_bytes: 64 * 1024,
            admin_api: false,
            consensus: ConsensusConfig::default(),
            mempool: MempoolConfig::default(),
            block: BlockConfig::default(),
            storage: StorageConfig::default(),
            pruning: PruningConfig::default(),
            http: HttpConfig::default(),
            p2p: P2pLimitsConfig::default(),
            pages: Default::default(),
            health: HealthConfig::default(),
            audit: AuditConfig::default(),
            snapshots: Default::default(),
        }
    }
}

/// A configuration problem, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("config field `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
}

pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        reason: reason.into(),
    }
}

impl NodeConfig {
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<NodeConfig, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            reason: e.to_string().trim().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, file) in [
            ("key_file", &self.key_file),
            ("next_key_file", &self.next_key_file),
            ("validator_key_file", &self.validator_key_file),
            ("next_validator_key_file", &self.next_validator_key_file),
        ] {
            if file.trim().is_empty() {
                return Err(field(name, "must name a file"));
            }
        }
        if self.listen.is_empty() {
            return Err(field("listen", "needs at least one address"));
        }
        for addr in &self.listen {
            addr.parse::<libp2p::Multiaddr>()
                .map_err(|e| field("listen", format!("{addr:?}: {e}")))?;
        }
        for addr in &self.peers {
            let parsed = addr
                .parse::<libp2p::Multiaddr>()
                .map_err(|e| field("peers", format!("{addr:?}: {e}")))?;
            // The node's transport is TCP on an IP address: it resolves no
            // DNS name, so such a peer would never be reached.
            let mut parts = parsed.iter();
            let ip = matches!(
                parts.next(),
                Some(libp2p::multiaddr::Protocol::Ip4(_) | libp2p::multiaddr::Protocol::Ip6(_))
            );
            let tcp = matches!(parts.next(), Some(libp2p::multiaddr::Protocol::Tcp(_)));
            if !(ip && tcp) {
                return Err(field(
                    "peers",
                    format!("{addr:?}: write /ip4/ADDRESS/tcp/PORT or /ip6/ADDRESS/tcp/PORT (DNS names are not resolved)"),
                ));
            }
        }
        self.snapshots.validate()?;
        let c = &self.consensus;
        for (name, value) in [
            ("consensus.timeout_propose_ms", c.timeout_propose_ms),
            ("consensus.timeout_prevote_ms", c.timeout_prevote_ms),
            ("consensus.timeout_precommit_ms", c.timeout_precommit_ms),
            (
                "consensus.empty_block_interval_ms",
                c.empty_block_interval_ms,
            ),
        ] {
            if !(10..=600_000).contains(&value) {
                return Err(field(name, "must be between 10 and 600000"));
            }
        }
        // A busy network must not wait longer for its next block than an
        // idle one does.
        if c.block_interval_min_ms > c.empty_block_interval_ms {
            return Err(field(
                "consensus.block_interval_min_ms",
                "must be between 0 and consensus.empty_block_interval_ms",
            ));
        }
        // Added per round to every timeout: 0 would keep rounds from
        // growing, so a slow network might never decide.
        if !(1..=600_000).contains(&c.timeout_delta_ms) {
            return Err(field(
                "consensus.timeout_delta_ms",
                "must be between 1 and 600000",
            ));
        }
        if !(1..=10_000_000).contains(&self.mempool.max_txs) {
            return Err(field("mempool.max_txs", "must be between 1 and 10000000"));
        }
        if !(1..=100).contains(&self.mempool.client_room_percent) {
            return Err(field(
                "mempool.client_room_percent",
                "must be between 1 and 100",
            ));
        }
        if self.mempool.max_bytes < 64 * 1024 {
            return Err(field("mempool.max_bytes", "must be at least 65536"));
        }
        if self.mempool.max_per_signer == 0 {
            return Err(field("mempool.max_per_signer", "must be at least 1"));
        }
        if self.mempool.max_age_blocks == 0 {
            return Err(field("mempool.max_age_blocks", "must be at least 1"));
        }
        if !(1..=kopnet_ledger::block::BLOCK_TXS_MAX).contains(&self.block.max_txs) {
            return Err(field("block.max_txs", "must be between 1 and 20000"));
        }
        if !(16 * 1024..=kopnet_ledger::block::BLOCK_BYTES_MAX / 2).contains(&self.block.max_bytes)
        {
            return Err(field(
                "block.max_bytes",
                "must be between 16384 and 4194304",
            ));
        }
        if self.storage.cache_bytes < 1024 * 1024 {
            return Err(field("storage.cache_bytes", "must be at least 1048576"));
        }
        let keep_min = kopnet_ledger::ledger::KEEP_BLOCKS_MIN;
        if self.pruning.keep_blocks != 0 && self.pruning.keep_blocks < keep_min {
            return Err(field(
                "pruning.keep_blocks",
                format!("must be 0 (keep every block) or at least {keep_min}"),
            ));
        }
        self.pruning_keeps_a_snapshot()?;
        if !(1024..=1024 * 1024).contains(&self.api_body_max_bytes) {
            return Err(field(
                "api_body_max_bytes",
                "must be between 1024 and 1048576",
            ));
        }
        self.http.validate()?;
        self.p2p.validate()?;
        self.pages.validate()?;
        self.health.validate(&self.consensus)?;
        self.audit.validate()?;
        Ok(())
    }
}

impl NodeConfig {
    /// A pruning node must always hold a snapshot and the blocks after it:
    /// its backups start there (a pruned node has no block 1), and so do
    /// the nodes that state-sync from it. So pruning needs snapshots, and
    /// keeps at least two snapshot intervals of blocks (one snapshot may be
    /// skipped while the previous one is still being written).
    fn pruning_keeps_a_snapshot(&self) -> Result<(), ConfigError> {
        if self.pruning.is_archive() {
            return Ok(());
        }
        let interval = self.snapshots.interval_blocks;
        if interval == 0 {
            return Err(field(
                "pruning.keep_blocks",
                "a pruning node must take snapshots (set snapshots.interval_blocks): its \
                 backups, and the nodes that join from it, start at its newest snapshot",
            ));
        }
        let needed = interval.saturating_mul(2);
        if self.pruning.keep_blocks < needed {
            return Err(field(
                "pruning.keep_blocks",
                format!(
                    "must be at least twice snapshots.interval_blocks ({needed}), so that the \
                     blocks after the newest snapshot are always kept (or lower \
                     snapshots.interval_blocks)"
                ),
            ));
        }
        Ok(())
    }
}

/// The thresholds of the regulator's desk's review flags (`[audit]` in an
/// observer's config.toml; what each rule means is in
/// [`crate::audit::flags`]). Times are ms of block time, amounts rupiah.
/// The defaults raise no flag on ordinary traffic; the reporting threshold
/// itself is not here: it is the ledger's (governed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// `structuring`: a cash transaction is "just under" the threshold
    /// when within this many per mille below it (200: 80 % to 100 %).
    pub structuring_band_per_mille: u32,
    /// `structuring`: this many such pieces (3)...
    pub structuring_count_min: u32,
    /// ...within this span (7 days).
    pub structuring_span_ms: u64,
    /// `dormant_awakening`: silent this long (180 days)...
    pub dormant_after_ms: u64,
    /// ...then at least `awakening_volume_min` (Rp100.000.000)...
    pub awakening_volume_min: u64,
    /// ...within this span after waking (7 days).
    pub awakening_span_ms: u64,
    /// `volume_above_norm`: a month's volume at least this many times the
    /// median of the account's peers (10)...
    pub norm_multiple: u32,
    /// ...and at least this much (Rp250.000.000)...
    pub norm_volume_min: u64,
    /// ...among at least this many peers active that month (5).
    pub norm_group_min: u32,
    /// `fan_in_new_accounts`: a payer is new this long after its
    /// registration (30 days);
    pub new_account_age_ms: u64,
    /// this many distinct new payers (10)...
    pub fan_in_payers_min: u32,
    /// ...paying at least this much together (Rp50.000.000)...
    pub fan_in_amount_min: u64,
    /// ...within this span (7 days).
    pub fan_in_span_ms: u64,
}

const AUDIT_DAY_MS: u64 = 86_400_000;

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            structuring_band_per_mille: 200,
            structuring_count_min: 3,
            structuring_span_ms: 7 * AUDIT_DAY_MS,
            dormant_after_ms: 180 * AUDIT_DAY_MS,
            awakening_volume_min: 100_000_000,
            awakening_span_ms: 7 * AUDIT_DAY_MS,
            norm_multiple: 10,
            norm_volume_min: 250_000_000,
            norm_group_min: 5,
            new_account_age_ms: 30 * AUDIT_DAY_MS,
            fan_in_payers_min: 10,
            fan_in_amount_min: 50_000_000,
            fan_in_span_ms: 7 * AUDIT_DAY_MS,
        }
    }
}

impl AuditConfig {
    /// A local demo network's observer (`kopnet testnet up`): an account is
    /// dormant after 45 seconds (a demo setting: a real one is months) and
    /// wakes with Rp30.000.000 within 2 minutes; a month is "far above the
    /// norm" from Rp50.000.000. The demo's ordinary accounts never reach
    /// these: a member quiet for 45 s sends a few payments of at most
    /// Rp250.000 in the next 2 minutes, and its balance is capped at
    /// Rp20.000.000.
    pub fn demo() -> AuditConfig {
        AuditConfig {
            dormant_after_ms: 45_000,
            awakening_volume_min: 30_000_000,
            awakening_span_ms: 120_000,
            norm_volume_min: 50_000_000,
            ..AuditConfig::default()
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.structuring_band_per_mille > 1_000 {
            return Err(field(
                "audit.structuring_band_per_mille",
                "must be at most 1000",
            ));
        }
        let counts = [
            ("audit.structuring_count_min", self.structuring_count_min),
            ("audit.norm_multiple", self.norm_multiple),
            ("audit.norm_group_min", self.norm_group_min),
            ("audit.fan_in_payers_min", self.fan_in_payers_min),
        ];
        for (name, value) in counts {
            if !(1..=1_000_000).contains(&value) {
                return Err(field(name, "must be between 1 and 1000000"));
            }
        }
        let spans = [
            ("audit.structuring_span_ms", self.structuring_span_ms),
            ("audit.dormant_after_ms", self.dormant_after_ms),
            ("audit.awakening_span_ms", self.awakening_span_ms),
            ("audit.new_account_age_ms", self.new_account_age_ms),
            ("audit.fan_in_span_ms", self.fan_in_span_ms),
        ];
        for (name, value) in spans {
            if !(1_000..=3_650 * AUDIT_DAY_MS).contains(&value) {
                return Err(field(name, "must be between 1000 ms and 3650 days"));
            }
        }
        Ok(())
    }
}

/// When `GET /health` says a node is unhealthy (`[health]` in
/// config.toml; README, "Health and fail-stop").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// No block committed for this long: `stalled`. More than twice
    /// `consensus.empty_block_interval_ms`: an idle network commits an
    /// empty block at least that often.
    pub stall_after_ms: u64,
    /// Peers claim at least this many blocks more than this node has:
    /// `syncing` (one block behind is normal for a moment after each
    /// commit).
    pub syncing_lag_blocks: u64,
    /// Free space on the filesystem of the home's `data/` below this:
    /// `low_disk` (none at all: `disk_full`). 0 switches the floor off.
    pub disk_free_bytes_min: u64,
    /// How often the free space is read.
    pub disk_check_interval_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            stall_after_ms: 30_000,
            syncing_lag_blocks: 2,
            disk_free_bytes_min: 512 * 1024 * 1024,
            disk_check_interval_ms: 5_000,
        }
    }
}

impl HealthConfig {
    fn validate(&self, consensus: &ConsensusConfig) -> Result<(), ConfigError> {
        let stall_min = consensus
            .empty_block_interval_ms
            .saturating_mul(2)
            .max(1_000);
        if !(stall_min..=86_400_000).contains(&self.stall_after_ms) {
            return Err(field(
                "health.stall_after_ms",
                format!(
                    "must be between {stall_min} (twice consensus.empty_block_interval_ms, at least 1000) and 86400000"
                ),
            ));
        }
        if !(1..=1_000_000).contains(&self.syncing_lag_blocks) {
            return Err(field(
                "health.syncing_lag_blocks",
                "must be between 1 and 1000000",
            ));
        }
        if !(100..=600_000).contains(&self.disk_check_interval_ms) {
            return Err(field(
                "health.disk_check_interval_ms",
                "must be between 100 and 600000",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_validate() {
        let config = NodeConfig::default();
        let text = config.to_toml();
        assert_eq!(NodeConfig::parse(&text, "x").unwrap(), config);
        assert_eq!(NodeConfig::parse("", "x").unwrap(), config);
    }

    #[test]
    fn a_pruning_node_keeps_two_snapshot_intervals_of_blocks() {
        // The default interval (1,000) needs 2,000 blocks kept.
        let err = NodeConfig::parse("[pruning]\nkeep_blocks = 300\n", "c.toml").unwrap_err();
        assert!(
            err.to_string()
                .contains("twice snapshots.interval_blocks (2000)"),
            "{err}"
        );
        let text = "[pruning]\nkeep_blocks = 300\n[snapshots]\ninterval_blocks = 150\n";
        assert_eq!(
            NodeConfig::parse(text, "c.toml")
                .unwrap()
                .pruning
                .keep_blocks,
            300
        );
        let text = "[pruning]\nkeep_blocks = 300\n[snapshots]\ninterval_blocks = 151\n";
        assert!(NodeConfig::parse(text, "c.toml").is_err());
        // No snapshots: nothing a backup or a joining node could start from.
        let text = "[pruning]\nkeep_blocks = 5000\n[snapshots]\ninterval_blocks = 0\n";
        let err = NodeConfig::parse(text, "c.toml").unwrap_err();
        assert!(err.to_string().contains("must take snapshots"), "{err}");
        // An archive node may turn snapshots off.
        let text = "[snapshots]\ninterval_blocks = 0\n";
        assert!(NodeConfig::parse(text, "c.toml").is_ok());
    }

    #[test]
    fn bad_fields_are_named() {
        let err = NodeConfig::parse("[mempool]\nmax_txs = 0\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("mempool.max_txs"), "{err}");
        let err = NodeConfig::parse("listen = [\"nonsense\"]\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("`listen`"), "{err}");
        let err = NodeConfig::parse("[consensus]\ntimeout_delta_ms = 0\n", "c.toml").unwrap_err();
        assert!(
            err.to_string().contains("consensus.timeout_delta_ms"),
            "{err}"
        );
        // A busy network may not wait longer for a block than an idle one.
        let text = "[consensus]\nempty_block_interval_ms = 500\nblock_interval_min_ms = 501\n";
        let err = NodeConfig::parse(text, "c.toml").unwrap_err();
        assert!(
            err.to_string().contains("consensus.block_interval_min_ms"),
            "{err}"
        );
        let text = "[consensus]\nempty_block_interval_ms = 500\nblock_interval_min_ms = 500\n";
        assert!(NodeConfig::parse(text, "c.toml").is_ok());
        let text = "[consensus]\nblock_interval_min_ms = 0\n";
        assert!(NodeConfig::parse(text, "c.toml").is_ok());
        let err = NodeConfig::parse("colour = 1\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = NodeConfig::parse("role = \"king\"\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("role"), "{err}");
        // A peer the node could never dial: a DNS name, or no TCP port.
        for peer in ["/dns4/node.example/tcp/26656", "/ip4/10.0.0.1/udp/26656"] {
            let text = format!("peers = [\"{peer}\"]\n");
            let err = NodeConfig::parse(&text, "c.toml").unwrap_err();
            assert!(err.to_string().contains("`peers`"), "{err}");
        }
        let ok = "peers = [\"/ip4/10.0.0.1/tcp/26656\", \"/ip6/2001:db8::1/tcp/26656\"]\n";
        assert_eq!(NodeConfig::parse(ok, "c.toml").unwrap().peers.len(), 2);
    }

    #[test]
    fn trusted_proxies_round_trip_and_are_bounded() {
        let text = "[http]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n";
        let config = NodeConfig::parse(text, "c.toml").unwrap();
        assert_eq!(config.http.trusted_proxies.len(), 2);
        assert_eq!(NodeConfig::parse(&config.to_toml(), "x").unwrap(), config);
        let many: Vec<String> = (0..17).map(|i| format!("\"10.0.0.{i}\"")).collect();
        let text = format!("[http]\ntrusted_proxies = [{}]\n", many.join(", "));
        let err = NodeConfig::parse(&text, "c.toml").unwrap_err();
        assert!(err.to_string().contains("http.trusted_proxies"), "{err}");
        let err =
            NodeConfig::parse("[http]\ntrusted_proxies = [\"proxy\"]\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
    }

    #[test]
    fn http_limits_parse_round_trip_and_bad_ones_are_named() {
        let text = "[http]\nconnections_max = 8\nmetrics_listen = \"127.0.0.1:9100\"\nmetrics_on_api = false\n";
        let config = NodeConfig::parse(text, "c.toml").unwrap();
        assert_eq!(config.http.connections_max, 8);
        assert_eq!(
            config.http.metrics_listen,
            Some(([127, 0, 0, 1], 9100).into())
        );
        assert_eq!(NodeConfig::parse(&config.to_toml(), "x").unwrap(), config);
        // Every limit of the README's table is a key: a few of the newer ones.
        let text = "[http]\ntxs_per_request_max = 100\nrefusals_in_flight_max = 8\n\
                    [p2p]\npending_inbound_per_ip_max = 2\nhandshake_timeout_ms = 5000\n\
                    [pages]\nhistory_max = 50\nblocks_txs_max = 500\n";
        let config = NodeConfig::parse(text, "c.toml").unwrap();
        assert_eq!(config.http.txs_per_request_max, 100);
        assert_eq!(config.http.refusals_in_flight_max, 8);
        assert_eq!(config.p2p.inbound_limits().pending_per_ip_max, 2);
        assert_eq!(config.p2p.handshake_timeout_ms, 5_000);
        assert_eq!(config.pages.history_max, 50);
        assert_eq!(config.pages.blocks_txs_max, 500);
        let unthrottled = NodeConfig {
            http: HttpConfig::unthrottled(),
            ..NodeConfig::default()
        };
        assert_eq!(
            NodeConfig::parse(&unthrottled.to_toml(), "x").unwrap(),
            unthrottled
        );
        for (text, named) in [
            ("[http]\nconnections_max = 0\n", "http.connections_max"),
            (
                "[http]\nrequest_head_bytes_max = 4096\n",
                "http.request_head_bytes_max",
            ),
            (
                "[http]\nheader_read_timeout_ms = 0\n",
                "http.header_read_timeout_ms",
            ),
            ("[http]\nwrites_burst = 10\n", "http.writes_burst"),
            (
                "[http]\nheavy_reads_per_second = 0\n",
                "http.heavy_reads_per_second",
            ),
            ("[http]\nmetrics_on_api = false\n", "http.metrics_on_api"),
            (
                "[http]\nrate_addresses_max = 0\n",
                "http.rate_addresses_max",
            ),
            ("[http]\nspeed = 1\n", "speed"),
            ("[p2p]\nconnections_max = 0\n", "p2p.connections_max"),
            (
                "[p2p]\npeer_messages_per_second = 10\n",
                "p2p.peer_messages_per_second",
            ),
            (
                "[p2p]\nban_duration_max_ms = 10\n",
                "p2p.ban_duration_min_ms",
            ),
            (
                "[p2p]\npending_inbound_per_ip_max = 0\n",
                "p2p.pending_inbound_per_ip_max",
            ),
            (
                "[p2p]\npending_inbound_max = 2\n",
                "p2p.pending_inbound_max",
            ),
            (
                "[p2p]\nhandshake_timeout_ms = 5\n",
                "p2p.handshake_timeout_ms",
            ),
            (
                "[p2p]\nsync_request_timeout_ms = 999999\n",
                "p2p.sync_request_timeout_ms",
            ),
            (
                "[http]\ntxs_per_request_max = 0\n",
                "http.txs_per_request_max",
            ),
            ("[http]\ntxs_per_request_max = 1024\n", "http.writes_burst"),
            (
                "[http]\nrefusals_in_flight_max = 0\n",
                "http.refusals_in_flight_max",
            ),
            (
                "[http]\nmetrics_connections_max = 0\n",
                "http.metrics_connections_max",
            ),
            ("[pages]\nhistory_max = 5000\n", "pages.history_max"),
            ("[pages]\nrows = 5\n", "rows"),
        ] {
            let err = NodeConfig::parse(text, "c.toml").unwrap_err();
            assert!(err.to_string().contains(named), "{text}: {err}");
        }
    }
}
