//! A reader that has gone (`kopnet … | grep -q …`, `| head -1`) ends a
//! command quietly with exit 0 — no panic, no backtrace. CI once failed on
//! `kopnet settlement report | grep -q …` under `set -o pipefail`: `grep -q`
//! exited at its first match and `println!` panicked on the next line.

use std::process::{Command, Stdio};

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The pipe's read end is closed before the command starts, so its first
    // write meets EPIPE every time (no race with a reader).
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_kopnet"))
        .args(["keys", "new", "--out"])
        .arg(dir.path().join("k.key"))
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("kopnet runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "kopnet panicked: {stderr}");
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    // The key was still written: the command did its work before printing.
    assert!(dir.path().join("k.key").exists());
}
