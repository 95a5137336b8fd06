//! Where `kopnet node init --join` takes the genesis of a running network
//! from: a node's API (`GET /v1/genesis`) or a genesis file.
//!
//! The genesis decides which keys may connect and what the ledger starts
//! from, so whatever answers is checked like any other outside input: at
//! most [`GENESIS_BYTES_MAX`] bytes (refused while it is read), within the
//! API client's timeout, parsed and validated as a genesis; every way it
//! can fail is a [`JoinError`] naming the source. Nothing is written
//! before it passed. Its hash is printed (and may be pinned with
//! `--genesis-hash`): the node answering is trusted only as far as the
//! operator compares that hash with what the other cooperatives see.

use kopnet_node::api::client::Client;
use kopnet_node::genesis_file::{GenesisFileError, NetworkGenesis};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// Largest genesis accepted from a node, in bytes. A genesis holds at most
/// 256 cooperatives (`GENESIS_COOPERATIVES_MAX`, a few hundred bytes
/// each), the fee rules and the observers: tens of kilobytes. 4 MiB leaves
/// room for any real one and caps what a wrong URL can make us read.
pub const GENESIS_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The p2p port a node listens on unless configured otherwise (the
/// default of `kopnet node init --listen`, and the kit's).
pub const P2P_PORT_DEFAULT: u16 = 26656;

/// Where the genesis comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinSource {
    /// A running node's API base URL (`http://host:port[/prefix]`).
    Node { base: String, host: Host },
    /// A genesis file.
    File(PathBuf),
}

/// Why a genesis could not be had from a join source.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("--join {0:?}: not a node URL (http://HOST[:PORT]) nor a genesis file that exists")]
    NotASource(String),
    #[error("--join {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot fetch the genesis from {url}")]
    Fetch {
        url: String,
        #[source]
        source: kopnet_node::api::client::ClientError,
    },
    #[error("cannot resolve {host} for the bootstrap peer: {reason} (give --peer /ip4/ADDRESS/tcp/PORT)")]
    Resolve { host: String, reason: String },
    #[error("the genesis from {url} is not UTF-8 text")]
    NotText { url: String },
    #[error(transparent)]
    Invalid(#[from] GenesisFileError),
}

impl JoinSource {
    /// `http://...` / `https://...` is a node; anything else a file that
    /// must exist.
    pub fn parse(text: &str) -> Result<JoinSource, JoinError> {
        let text = text.trim();
        if text.starts_with("http://") || text.starts_with("https://") {
            let url = reqwest::Url::parse(text).map_err(|e| JoinError::BadUrl {
                url: text.to_string(),
                reason: e.to_string(),
            })?;
            let host = Host::of(&url).ok_or_else(|| JoinError::BadUrl {
                url: text.to_string(),
                reason: "no host".into(),
            })?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(JoinError::BadUrl {
                    url: text.to_string(),
                    reason: "give the node's base URL, without ?query or #fragment".into(),
                });
            }
            // `https://node.example/kopnet/v1/genesis` and
            // `https://node.example/kopnet` name the same node.
            let path = url.path().trim_end_matches('/');
            let path = path.strip_suffix("/v1/genesis").unwrap_or(path);
            let base = format!("{}{path}", url.origin().ascii_serialization());
            return Ok(JoinSource::Node { base, host });
        }
        let path = PathBuf::from(text);
        if path.is_file() {
            Ok(JoinSource::File(path))
        } else {
            Err(JoinError::NotASource(text.to_string()))
        }
    }

    /// The bootstrap peer a node URL suggests: its host on the default p2p
    /// port (a name resolved now: the node dials IP addresses only). A
    /// file suggests none.
    pub async fn default_peer(&self) -> Result<Option<String>, JoinError> {
        let JoinSource::Node { host, .. } = self else {
            return Ok(None);
        };
        let ip = match host {
            Host::Ip(ip) => *ip,
            Host::Name(name) => {
                let mut found = tokio::net::lookup_host((name.as_str(), P2P_PORT_DEFAULT))
                    .await
                    .map_err(|e| JoinError::Resolve {
                        host: name.clone(),
                        reason: e.to_string(),
                    })?;
                found
                    .next()
                    .map(|a| a.ip())
                    .ok_or_else(|| JoinError::Resolve {
                        host: name.clone(),
                        reason: "no address".into(),
                    })?
            }
        };
        Ok(Some(p2p_address(ip, P2P_PORT_DEFAULT)))
    }
}

impl fmt::Display for JoinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinSource::Node { base, .. } => write!(f, "{base}/v1/genesis"),
            JoinSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Read and check the genesis of `source`.
pub async fn fetch_genesis(source: &JoinSource) -> Result<NetworkGenesis, JoinError> {
    match source {
        JoinSource::File(path) => Ok(NetworkGenesis::load(path)?),
        JoinSource::Node { base, .. } => {
            let url = source.to_string();
            let bytes = Client::new(base)
                .get_bytes("/v1/genesis", GENESIS_BYTES_MAX)
                .await
                .map_err(|source| JoinError::Fetch {
                    url: url.clone(),
                    source,
                })?;
            let text =
                String::from_utf8(bytes).map_err(|_| JoinError::NotText { url: url.clone() })?;
            Ok(NetworkGenesis::parse(&text, &url)?)
        }
    }
}

/// A URL's host: an IP address or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Host {
    pub fn of(url: &reqwest::Url) -> Option<Host> {
        let text = url.host_str()?;
        // An IPv6 host is written in brackets in a URL.
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        Some(match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(text.to_string()),
        })
    }
}

/// `/ip4/A/tcp/PORT` or `/ip6/A/tcp/PORT`.
fn p2p_address(ip: IpAddr, port: u16) -> String {
    match ip.to_canonical() {
        IpAddr::V4(ip) => format!("/ip4/{ip}/tcp/{port}"),
        IpAddr::V6(ip) => format!("/ip6/{ip}/tcp/{port}"),
    }
}
