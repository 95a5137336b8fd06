//! The node image for the docker backend, built locally because no registry
//! can be pulled from: `FROM scratch` holding the `kopnet` binary, the
//! shared libraries `ldd` lists for it and the dynamic loader. The tag is a
//! hash of the binary, so an image is built once per binary and reused.

use super::docker_cli::{docker, DockerError, DOCKER_TIMEOUT};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `docker build` of a ~300 MB context can take a while on a busy machine.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest `ldd` output we accept (a handful of lines in practice).
const LDD_LIBS_MAX: usize = 64;

/// The image tag for `binary`: `kopnet-node:<first 16 hex of blake3>`.
pub fn tag_for(binary: &Path) -> Result<String, DockerError> {
    let mut hasher = blake3::Hasher::new();
    let mut file = std::fs::File::open(binary).map_err(|e| DockerError::Image {
        reason: format!("cannot read {}: {e}", binary.display()),
    })?;
    std::io::copy(&mut file, &mut hasher).map_err(|e| DockerError::Image {
        reason: format!("cannot read {}: {e}", binary.display()),
    })?;
    let hex = hasher.finalize().to_hex();
    Ok(format!(
        "kopnet-node:{}",
        hex.get(..16).unwrap_or("unknown")
    ))
}

/// The shared libraries (absolute paths) the dynamic binary needs, from
/// `ldd`. A static binary gives an empty list.
pub fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, DockerError> {
    let out = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| DockerError::Image {
            reason: format!("cannot run ldd: {e}"),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(parse_ldd(&text))
}

/// Paths from `ldd` lines like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
/// (0x...)` and `/lib64/ld-linux-x86-64.so.2 (0x...)`; vdso lines have no path.
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let candidate = match line.split_once("=>") {
                Some((_, right)) => right.trim(),
                None => line,
            };
            let path = candidate.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .take(LDD_LIBS_MAX)
        .collect()
}

/// Make sure an image for `binary` exists; returns its tag.
pub async fn ensure(binary: &Path) -> Result<String, DockerError> {
    let tag = tag_for(binary)?;
    if docker(&["image", "inspect", &tag], DOCKER_TIMEOUT)
        .await
        .is_ok()
    {
        return Ok(tag);
    }
    let context = tempfile::tempdir().map_err(|e| DockerError::Image {
        reason: format!("no temp dir: {e}"),
    })?;
    assemble(binary, context.path())?;
    docker(
        &["build", "-q", "-t", &tag, &context.path().to_string_lossy()],
        BUILD_TIMEOUT,
    )
    .await?;
    Ok(tag)
}

/// Lay out the build context: `/kopnet`, each library at its own absolute
/// path, an empty `/tmp` (mode 1777), and the Dockerfile.
fn assemble(binary: &Path, dir: &Path) -> Result<(), DockerError> {
    let fail = |what: String| DockerError::Image { reason: what };
    let copy = |from: &Path, to: &Path| -> Result<(), DockerError> {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| fail(format!("{}: {e}", parent.display())))?;
        }
        // std::fs::copy follows symlinks, so the real library lands here.
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| fail(format!("copy {}: {e}", from.display())))
    };
    copy(binary, &dir.join("kopnet"))?;
    for lib in shared_libraries(binary)? {
        let relative = lib.strip_prefix("/").unwrap_or(&lib);
        copy(&lib, &dir.join(relative))?;
    }
    std::fs::create_dir_all(dir.join("tmp")).map_err(|e| fail(format!("tmp: {e}")))?;
    // Writable by the image's non-root user, like any /tmp (sticky).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .map_err(|e| fail(format!("tmp: {e}")))?;
    }
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE)
        .map_err(|e| fail(format!("Dockerfile: {e}")))?;
    Ok(())
}

/// The same file as `docker/Dockerfile`: the node runs as the numeric
/// user [`super::docker_user::IMAGE_USER`] (a scratch image has no
/// `/etc/passwd`; a number needs none).
const DOCKERFILE: &str = "FROM scratch\nCOPY . /\nUSER 10001:10001\nENTRYPOINT [\"/kopnet\"]\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_library_paths_only() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
            \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f49)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f49)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f49)\n\
            \tnot a dynamic executable\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert!(parse_ldd("\tstatically linked\n").is_empty());
    }

    #[test]
    fn the_shipped_dockerfile_is_the_one_used() {
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker/Dockerfile"),
        )
        .unwrap();
        let body: String = shipped
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(body, DOCKERFILE);
        let (uid, gid) = super::super::docker_user::IMAGE_USER;
        assert!(DOCKERFILE.contains(&format!("\nUSER {uid}:{gid}\n")));
    }
}
