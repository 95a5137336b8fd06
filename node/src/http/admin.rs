//! Who may use the admin endpoint (`POST /v1/admin/isolate`, fault
//! injection for test networks): only with `admin_api = true`, only on a
//! node whose API is bound to a loopback address and from a loopback
//! client, and only with the token in the home's `admin.token`, sent as
//! `Authorization: Bearer <token>` and compared in constant time.
//!
//! The token is 32 random bytes in hex, written by the node at its first
//! start with `admin_api = true` (file mode 0600); delete the file to get
//! a new one at the next start. A home whose API is re-bound to
//! `0.0.0.0` (or any other non-loopback address) refuses the endpoint
//! whatever the token, so a test layout exposed by mistake exposes
//! nothing.

use super::ClientAddr;
use crate::http_error::ApiError;
use crate::secret::Secret;
use axum::http::{header, HeaderMap, StatusCode};
use rand::RngCore;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use subtle::ConstantTimeEq;

/// The token file in a node's home.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// Random bytes in a token (hex in the file: twice as many characters).
const TOKEN_BYTES: usize = 32;

/// Why the token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    #[error("cannot read the admin token {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write the admin token {path}: {reason}")]
    Write { path: String, reason: String },
    #[error(
        "the admin token {path} is not {TOKEN_BYTES} bytes in hex (delete it to get a new one)"
    )]
    Malformed { path: String },
}

/// The secret the admin endpoint asks for (never printed: [`Secret`]).
#[derive(Debug, Clone)]
pub struct AdminToken(Secret<String>);

impl AdminToken {
    /// Read the token at `path`, or make one there (mode 0600) if there is
    /// none.
    pub fn load_or_create(path: &Path) -> Result<AdminToken, AdminTokenError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let token = text.trim();
                let well_formed =
                    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit());
                if !well_formed {
                    return Err(AdminTokenError::Malformed { path: shown });
                }
                warn_if_readable_by_others(path);
                Ok(AdminToken(Secret::new(token.to_ascii_lowercase())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(AdminTokenError::Read {
                path: shown,
                reason: e.to_string(),
            }),
        }
    }

    fn create(path: &Path) -> Result<AdminToken, AdminTokenError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let failed = |e: std::io::Error| AdminTokenError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(failed)?;
        file.write_all(format!("{token}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(failed)?;
        tracing::info!(path = %path.display(), "admin token written");
        Ok(AdminToken(Secret::new(token)))
    }

    /// Whether `given` is the token, in time independent of where they
    /// differ.
    pub fn matches(&self, given: &str) -> bool {
        bool::from(self.0.expose().as_bytes().ct_eq(given.trim().as_bytes()))
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the admin token can be read by other users: chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The admin endpoint's gate.
#[derive(Debug, Clone, Default)]
pub struct AdminAccess {
    /// `admin_api = true`.
    pub enabled: bool,
    /// The API is bound to a loopback address.
    pub loopback_bind: bool,
    pub token: Option<AdminToken>,
}

impl AdminAccess {
    /// The gate of a node configured with `enabled` and serving its API on
    /// `api`, with `token` (needed when enabled).
    pub fn new(enabled: bool, api: SocketAddr, token: Option<AdminToken>) -> Self {
        AdminAccess {
            enabled,
            loopback_bind: api.ip().is_loopback(),
            token,
        }
    }

    /// Let the request through, or say why not (403: not here at all; 401:
    /// the token is missing or wrong).
    pub fn check(&self, headers: &HeaderMap, client: ClientAddr) -> Result<(), ApiError> {
        if !self.enabled {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "admin API is disabled",
            ));
        }
        let client_loopback = client.0.is_none_or(|ip| ip.is_loopback());
        if !self.loopback_bind || !client_loopback {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_not_loopback",
                "the admin API is served only on a node whose API is bound to a loopback address, to loopback clients",
            ));
        }
        let Some(token) = &self.token else {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "the node has no admin token",
            ));
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "admin_token_missing",
                format!("send the token in {ADMIN_TOKEN_FILE} of the node's home as Authorization: Bearer <token>"),
            )),
            Some(given) if !token.matches(given) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "admin_token_wrong",
                format!("that is not the token in {ADMIN_TOKEN_FILE} of the node's home"),
            )),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    fn code(result: Result<(), ApiError>) -> String {
        result.map(|()| "ok".to_string()).unwrap_or_else(|e| e.code)
    }

    #[test]
    fn the_token_is_made_once_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ADMIN_TOKEN_FILE);
        let made = AdminToken::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let read = AdminToken::load_or_create(&path).unwrap();
        assert!(read.matches(made.0.expose()));
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            AdminToken::load_or_create(&path),
            Err(AdminTokenError::Malformed { .. })
        ));
    }

    #[test]
    fn admin_needs_loopback_and_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let token = AdminToken::load_or_create(&dir.path().join(ADMIN_TOKEN_FILE)).unwrap();
        let secret = token.0.expose().clone();
        let local = ClientAddr(Some("127.0.0.1".parse().unwrap()));
        let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let open = AdminAccess::new(true, loopback, Some(token.clone()));
        // Neither the token nor the gate holding it prints the secret.
        for shown in [format!("{token:?}"), format!("{open:#?}")] {
            assert!(shown.contains("Secret(redacted)"), "{shown}");
            crate::secret::assert_hidden(&shown, &hex::decode(&secret).unwrap());
            assert!(!shown.contains(&secret), "{shown}");
        }
        assert_eq!(code(open.check(&bearer(&secret), local)), "ok");
        assert_eq!(
            code(open.check(&HeaderMap::new(), local)),
            "admin_token_missing"
        );
        let mut wrong = secret.clone();
        wrong.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
        assert_eq!(
            code(open.check(&bearer(&wrong), local)),
            "admin_token_wrong"
        );
        assert_eq!(code(open.check(&bearer(""), local)), "admin_token_wrong");
        // A client from elsewhere (the API bound to a loopback address
        // cannot see one, but the gate does not rely on that).
        let remote = ClientAddr(Some("10.0.0.9".parse().unwrap()));
        assert_eq!(
            code(open.check(&bearer(&secret), remote)),
            "admin_not_loopback"
        );
        // Bound to every interface: refused whatever the token.
        let exposed = AdminAccess::new(true, "0.0.0.0:8080".parse().unwrap(), Some(token.clone()));
        assert_eq!(
            code(exposed.check(&bearer(&secret), local)),
            "admin_not_loopback"
        );
        let off = AdminAccess::new(false, loopback, Some(token));
        assert_eq!(code(off.check(&bearer(&secret), local)), "admin_disabled");
    }
}
