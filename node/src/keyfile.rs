//! Key files: one line of JSON holding the 32-byte secret seed in hex and,
//! for people, the address. Created with mode 0600 and never overwritten;
//! a key file that group or others may read is refused (with the `chmod`
//! that fixes it), and the secret never appears in `Debug` output.

use kopnet_consensus::Keypair;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    address: String,
    secret_seed_hex: String,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("address", &self.address)
            .field("secret_seed_hex", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file {0} already exists; refusing to overwrite it")]
    Exists(String),
    #[error("cannot read key file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write key file {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("key file {path} is not a kopnet key: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "key file {path} has mode {mode:o}: group or others may read the secret; run `chmod 600 {path}`"
    )]
    Exposed { path: String, mode: u32 },
}

/// Refuse a key file that group or others may read or write.
#[cfg(unix)]
fn check_private(path: &Path, shown: &str) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| KeyFileError::Read {
            path: shown.to_string(),
            reason: e.to_string(),
        })?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Exposed {
            path: shown.to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _shown: &str) -> Result<(), KeyFileError> {
    Ok(())
}

/// Write a new key file (mode 0600); fails if the file exists.
pub fn write_new(path: &Path, key: &Keypair) -> Result<(), KeyFileError> {
    let shown = path.display().to_string();
    let body = KeyFile {
        address: key.public().to_address(),
        secret_seed_hex: hex::encode(key.seed()),
    };
    let text = serde_json::to_string(&body).map_err(|e| KeyFileError::Write {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists(shown.clone())
        } else {
            KeyFileError::Write {
                path: shown.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    writeln!(file, "{text}")
        .and_then(|_| file.sync_all())
        .map_err(|e| KeyFileError::Write {
            path: shown,
            reason: e.to_string(),
        })
}

/// Read a key file.
pub fn read(path: &Path) -> Result<Keypair, KeyFileError> {
    let shown = path.display().to_string();
    check_private(path, &shown)?;
    let text = std::fs::read_to_string(path).map_err(|e| KeyFileError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let invalid = |reason: &str| KeyFileError::Invalid {
        path: shown.clone(),
        reason: reason.to_string(),
    };
    let body: KeyFile = serde_json::from_str(text.trim()).map_err(|_| invalid("not JSON"))?;
    let bytes = hex::decode(body.secret_seed_hex.trim()).map_err(|_| invalid("bad hex"))?;
    let seed =
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| invalid("seed is not 32 bytes"))?;
    let key = Keypair::from_seed(seed);
    if key.public().to_address() != body.address {
        return Err(invalid("address does not match the secret"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_refuse_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let key = Keypair::from_seed([4; 32]);
        write_new(&path, &key).unwrap();
        assert_eq!(read(&path).unwrap().public(), key.public());
        assert!(matches!(
            write_new(&path, &key),
            Err(KeyFileError::Exists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let open = std::fs::Permissions::from_mode(0o644);
            std::fs::set_permissions(&path, open).unwrap();
            let refused = read(&path).unwrap_err();
            assert!(matches!(refused, KeyFileError::Exposed { mode: 0o644, .. }));
            assert!(refused.to_string().contains("chmod 600"), "{refused}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let body: KeyFile =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        let shown = format!("{body:?}");
        assert!(!shown.contains(&hex::encode([4u8; 32])), "{shown}");
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(read(&path), Err(KeyFileError::Invalid { .. })));
        assert!(matches!(
            read(&dir.path().join("missing")),
            Err(KeyFileError::Read { .. })
        ));
    }
}
