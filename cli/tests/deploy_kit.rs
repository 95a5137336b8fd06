//! The deployment kit (`deploy/`) checked by the tools that will read it:
//! the systemd unit by `systemd-analyze verify` (with the binary under test
//! in ExecStart), the compose file by `docker-compose config`, the
//! Caddyfile by `caddy validate`. Each tool that is not installed is
//! skipped saying so. And the kit agrees with itself: the unit runs the
//! binary where the package puts it, as the user and in the home the
//! package's postinst makes.

use std::path::PathBuf;
use std::process::Command;

fn kit(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(kit(path)).unwrap()
}

/// Run `program args`; None (and a line saying so) when it is not installed.
fn tool(program: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("skipping the {program} check: cannot run {program} ({e})");
            None
        }
    }
}

#[test]
fn the_unit_verifies_and_matches_the_package() {
    let unit = read("systemd/kopnet.service");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert!(
        exec.starts_with("/usr/bin/kopnet node run --home /var/lib/kopnet"),
        "{exec}"
    );
    for line in [
        "User=kopnet",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/kopnet",
        "Restart=on-failure",
        "RestartPreventExitStatus=75",
        "NoNewPrivileges=true",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    assert!(unit.lines().any(|l| l.starts_with("LimitNOFILE=")));
    // The package puts the binary and the unit where the unit expects.
    let manifest =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .unwrap();
    assert!(manifest.contains(r#"["target/release/kopnet", "usr/bin/", "755"]"#));
    assert!(manifest.contains(
        r#"["../deploy/systemd/kopnet.service", "lib/systemd/system/kopnet.service", "644"]"#
    ));
    let postinst = read("deb/postinst");
    assert!(postinst.contains("--home-dir /var/lib/kopnet"));
    assert!(postinst.contains("install -d -o kopnet -g kopnet -m 0750 /var/lib/kopnet"));

    // systemd's own check, with the binary under test in ExecStart (the
    // unit's path exists only once the package is installed).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("kopnet.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/bin/kopnet", env!("CARGO_BIN_EXE_kopnet")),
    )
    .unwrap();
    if let Some(out) = tool(
        "systemd-analyze",
        &["verify", "--man=no", copy.to_str().unwrap()],
    ) {
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "systemd-analyze: {said}"
        );
    }
}

#[test]
fn the_compose_file_is_valid() {
    let file = kit("docker-compose.yml");
    let file = file.to_str().unwrap();
    let Some(out) = tool("docker-compose", &["-f", file, "config", "--quiet"]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_caddyfile_is_valid() {
    let file = kit("caddy/Caddyfile");
    let file = file.to_str().unwrap();
    let Some(out) = tool(
        "caddy",
        &["adapt", "--config", file, "--adapter", "caddyfile"],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The proxy is on loopback, the address the node's config trusts.
    let adapted = String::from_utf8_lossy(&out.stdout);
    assert!(adapted.contains("127.0.0.1:8080"), "{adapted}");
}
