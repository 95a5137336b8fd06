//! Who a node's container runs as: never root. The image's own user is
//! [`IMAGE_USER`] (`USER` in `docker/Dockerfile`). A node home owned by
//! root (a runner started as root, as CI is) is handed to that user, so
//! the container can write its data; a home owned by anyone else is used
//! as it is, with the container run as its owner, so the files stay theirs.

use super::docker_cli::DockerError;
use std::path::Path;

/// The numeric user and group the image runs as (`docker/Dockerfile`).
pub const IMAGE_USER: (u32, u32) = (10001, 10001);
/// Deepest directory nesting handed over (a home is two or three levels).
const HOME_DEPTH_MAX: usize = 8;

/// The `--user` for the container of the home at `home`, after handing a
/// root-owned home to [`IMAGE_USER`].
#[cfg(unix)]
pub fn container_user(home: &Path) -> Result<String, DockerError> {
    use std::os::unix::fs::MetadataExt;
    let fail = |reason: String| DockerError::Ownership {
        path: home.display().to_string(),
        reason,
    };
    let meta = std::fs::metadata(home).map_err(|e| fail(e.to_string()))?;
    if meta.uid() != 0 {
        return Ok(format!("{}:{}", meta.uid(), meta.gid()));
    }
    hand_over(home, 0).map_err(fail)?;
    Ok(format!("{}:{}", IMAGE_USER.0, IMAGE_USER.1))
}

#[cfg(not(unix))]
pub fn container_user(_home: &Path) -> Result<String, DockerError> {
    Ok(format!("{}:{}", IMAGE_USER.0, IMAGE_USER.1))
}

#[cfg(unix)]
fn hand_over(path: &Path, depth: usize) -> Result<(), String> {
    if depth > HOME_DEPTH_MAX {
        return Err(format!("{} is nested too deep", path.display()));
    }
    let (uid, gid) = IMAGE_USER;
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(|e| format!("chown {}: {e}", path.display()))?;
    if std::fs::symlink_metadata(path)
        .map_err(|e| e.to_string())?
        .is_dir()
    {
        for entry in std::fs::read_dir(path).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            hand_over(&entry.path(), depth.saturating_add(1))?;
        }
    }
    Ok(())
}
