//! Key files: one line of JSON holding the 32-byte secret seed in hex and,
//! for people, the address. Created with mode 0600 and never overwritten;
//! a key file that group or others may read is refused (with the `chmod`
//! that fixes it), and the secret never appears in `Debug` output.

use crate::secret::Secret;
use kopnet_consensus::Keypair;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    address: String,
    secret_seed_hex: Secret<String>,
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
        secret_seed_hex: Secret::new(hex::encode(key.seed())),
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
    let bytes = Secret::new(
        hex::decode(body.secret_seed_hex.expose().trim()).map_err(|_| invalid("bad hex"))?,
    );
    let seed = <[u8; 32]>::try_from(bytes.expose().as_slice())
        .map_err(|_| invalid("seed is not 32 bytes"))?;
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
        let body: KeyFile =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        for shown in [format!("{body:?}"), format!("{body:#?}")] {
            assert!(shown.contains("Secret(redacted)"), "{shown}");
            assert!(shown.contains(&key.public().to_address()), "{shown}");
            crate::secret::assert_hidden(&shown, &[4u8; 32]);
        }
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(read(&path), Err(KeyFileError::Invalid { .. })));
        assert!(matches!(
            read(&dir.path().join("missing")),
            Err(KeyFileError::Read { .. })
        ));
    }

    /// Any access for group or others is refused, naming the fix; owner
    /// read-only is fine; a refused file is not read at all.
    #[cfg(unix)]
    #[test]
    fn a_key_file_group_or_others_may_touch_is_refused_with_the_chmod() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coop.key");
        let key = Keypair::from_seed([9; 32]);
        write_new(&path, &key).unwrap();
        let set = |mode: u32| {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        for mode in [
            0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666, 0o610, 0o601,
        ] {
            set(mode);
            let refused = read(&path).unwrap_err();
            assert_eq!(
                refused,
                KeyFileError::Exposed {
                    path: path.display().to_string(),
                    mode
                }
            );
            let shown = refused.to_string();
            assert!(
                shown.contains(&format!("run `chmod 600 {}`", path.display())),
                "{shown}"
            );
            assert!(shown.contains(&format!("{mode:o}")), "{shown}");
            crate::secret::assert_hidden(&shown, &[9u8; 32]);
        }
        for mode in [0o600, 0o400] {
            set(mode);
            assert_eq!(read(&path).unwrap().public(), key.public());
        }
    }
}
