//! Puts the commit the binary is built from into `KOPNET_GIT_COMMIT` for
//! `kopnet --version`: `KOPNET_GIT_COMMIT` from the environment when set
//! (a package build from a tarball that knows its commit), else `git
//! rev-parse --short=12 HEAD`, else `unknown` (no git, or not a
//! checkout): the build never needs git. (No `-dirty` mark: a build script
//! cannot know when a source file changes without being rerun for every
//! one of them, so the mark would go stale.)

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KOPNET_GIT_COMMIT");
    let commit = std::env::var("KOPNET_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(from_git)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=KOPNET_GIT_COMMIT={}", commit.trim());
}

/// The checkout's commit, and the files whose change must rebuild this.
fn from_git() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(manifest_dir())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // A new commit moves HEAD or the branch it names (in a worktree too:
    // --git-path finds each where it lives).
    if let Some(file) = git(&["rev-parse", "--git-path", "HEAD"]) {
        rerun_if_changed(&file);
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(file) = git(&["rev-parse", "--git-path", &branch]) {
            rerun_if_changed(&file);
        }
        if let Some(file) = git(&["rev-parse", "--git-path", "packed-refs"]) {
            rerun_if_changed(&file);
        }
    }
    Some(commit)
}

fn rerun_if_changed(file: &str) {
    let path = manifest_dir().join(file);
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_default()
}
