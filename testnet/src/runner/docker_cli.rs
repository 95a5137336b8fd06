//! Talking to the Docker engine through its command-line client: the one
//! `docker` command runner (with a deadline and bounded output) and the
//! error type shared by the docker backend ([`super::docker`]) and the image
//! builder ([`super::docker_image`]), which both use this module and not
//! each other.

use std::time::Duration;

/// Deadline of an ordinary docker command.
pub const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);
/// Deadline of `docker version` when asking whether an engine answers.
const ENGINE_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest docker command output kept, in characters (errors and ids are short).
const OUTPUT_CHARS_MAX: usize = 64 * 1024;

/// Why a docker step of a run failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("no Docker engine answers: {0}")]
    NoEngine(String),
    #[error("docker {command} failed: {reason}")]
    Command { command: String, reason: String },
    #[error("docker {command} did not finish within {secs} s")]
    Timeout { command: String, secs: u64 },
    #[error("building the node image failed: {reason}")]
    Image { reason: String },
    #[error("cannot prepare the docker layout: {0}")]
    Layout(#[from] super::addressing::LayoutError),
    #[error(
        "no free private subnet for the run's network (tried 10.213.0.0/24 .. 10.213.255.0/24)"
    )]
    NoSubnet,
    #[error("cannot hand the node home {path} to the container's user: {reason}")]
    Ownership { path: String, reason: String },
}

/// Run `docker args...`, with a deadline; the trimmed stdout on success.
pub async fn docker(args: &[&str], timeout: Duration) -> Result<String, DockerError> {
    let command = args.first().copied().unwrap_or("").to_string();
    let child = tokio::process::Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(timeout, child).await {
        Err(_) => {
            return Err(DockerError::Timeout {
                command,
                secs: timeout.as_secs(),
            })
        }
        Ok(Err(e)) => {
            return Err(DockerError::Command {
                command,
                reason: format!("cannot run docker: {e}"),
            })
        }
        Ok(Ok(out)) => out,
    };
    let text = |bytes: &[u8]| {
        let s = String::from_utf8_lossy(bytes);
        s.chars()
            .take(OUTPUT_CHARS_MAX)
            .collect::<String>()
            .trim()
            .to_string()
    };
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(DockerError::Command {
            command,
            reason: text(&out.stderr),
        })
    }
}

/// Whether a Docker engine answers (the server, not only the client); its
/// version when it does.
pub async fn engine_answers() -> Result<String, DockerError> {
    docker(
        &["version", "--format", "{{.Server.Version}}"],
        ENGINE_PROBE_TIMEOUT,
    )
    .await
    .map_err(|e| DockerError::NoEngine(e.to_string()))
}
