//! Runs `manual_path.sh`: testnet init, nodes started with `node run`, a
//! cross-cooperative payment with `wallet pay`, balances and positions read
//! with `--output json`, a window closed on the schedule and reported,
//! `audit verify` OK, and bad input (proposals past a bound included)
//! answered with one clear line.

use std::process::Command;

#[test]
fn manual_path_with_the_kopnet_binary() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/manual_path.sh");
    let output = Command::new("bash")
        .arg(script)
        .env("KOPNET", env!("CARGO_BIN_EXE_kopnet"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "manual path failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("manual path OK"));
    assert!(stdout.contains("OK height="));
}
