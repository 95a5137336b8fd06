//! The Debian package, installed in a container: built from
//! `[package.metadata.deb]` (cli/Cargo.toml) with dpkg-deb, installed with
//! `dpkg -i` in a Debian image made from this host's own packages (nothing
//! is pulled), where its postinst creates the `kopnet` user and its home;
//! the binary, unit, completions and manual pages are where the table
//! puts them; a node home is made there with `kopnet node init --join
//! GENESIS_FILE` as that user, and the unit's own `ExecStart` line, run as
//! the unit's `User`, serves `/health` 200 (a one-validator network that
//! commits). systemd itself does not run in the container (it would need a
//! privileged one); `deploy_kit.rs` checks the unit with `systemd-analyze
//! verify`.
//!
//! Skips, saying why, where no Docker engine answers or the host is not
//! Debian — unless `KOPNET_REQUIRE_DOCKER` is set (`.ci/run` sets it where
//! an engine answers), then that fails.

mod common;
mod deb;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Skip saying why, or fail when the environment says this must run.
fn skip_or_fail(why: &str) {
    if std::env::var_os("KOPNET_REQUIRE_DOCKER").is_some() {
        panic!("KOPNET_REQUIRE_DOCKER is set but: {why}");
    }
    eprintln!("skipping the package test: {why}");
}

/// The test container; removed however the test ends.
struct Container(String);

impl Container {
    fn exec(&self, user: &str, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["exec", "--user", user, &self.0])
            .args(args)
            .output()
            .unwrap()
    }

    /// `exec` that must succeed; its stdout.
    fn ok(&self, user: &str, args: &[&str]) -> String {
        let out = self.exec(user, args);
        assert!(
            out.status.success(),
            "{args:?} as {user}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn copy_in(&self, from: &Path, to: &str) {
        let status = Command::new("docker")
            .args(["cp"])
            .arg(from)
            .arg(format!("{}:{to}", self.0))
            .status()
            .unwrap();
        assert!(status.success(), "docker cp {}", from.display());
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The value of `Key=` in the unit's [Service] section.
fn unit_value<'a>(unit: &'a str, key: &str) -> &'a str {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
}

/// `GET /health` from inside the container (bash's /dev/tcp: the image
/// has no HTTP client); the status line.
fn health(container: &Container, port: u16) -> String {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3"
    );
    let out = container.exec("root", &["bash", "-c", &script]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_package_installs_and_its_service_answers_health() {
    if let Err(why) = common::docker_engine() {
        return skip_or_fail(&format!("no Docker engine answers ({why})"));
    }
    if Command::new("dpkg-deb").arg("--version").output().is_err() {
        return skip_or_fail("dpkg-deb is not installed");
    }
    let meta = deb::stage::metadata();
    let depends: Vec<String> = meta
        .depends
        .split(',')
        .filter_map(|d| d.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let image = match deb::host_image::ensure(&depends) {
        Ok(image) => image,
        Err(why) => return skip_or_fail(&format!("cannot make a Debian image here: {why}")),
    };
    let work = tempfile::tempdir().unwrap();
    let package = deb::stage::build(&meta, work.path());

    let name = format!("kopnet-deb-test-{}", std::process::id());
    let started = Command::new("docker")
        .args(["run", "-d", "--name", &name, &image, "sleep", "infinity"])
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let container = Container(name);

    // Install: the postinst makes the user and its home.
    container.copy_in(&package, "/tmp/kopnet.deb");
    container.ok("root", &["dpkg", "-i", "/tmp/kopnet.deb"]);
    let passwd = container.ok("root", &["getent", "passwd", "kopnet"]);
    assert!(
        passwd.contains(":/var/lib/kopnet:/usr/sbin/nologin"),
        "{passwd}"
    );
    let home = container.ok("root", &["stat", "-c", "%U %G %a", "/var/lib/kopnet"]);
    assert_eq!(home.trim(), "kopnet kopnet 750");
    for file in [
        "/usr/bin/kopnet",
        "/lib/systemd/system/kopnet.service",
        "/usr/share/bash-completion/completions/kopnet",
        "/usr/share/zsh/vendor-completions/_kopnet",
        "/usr/share/fish/vendor_completions.d/kopnet.fish",
        "/usr/share/man/man1/kopnet.1.gz",
        "/usr/share/man/man1/kopnet-node-init.1.gz",
        "/usr/share/doc/kopnet/examples/Caddyfile",
    ] {
        container.ok("root", &["test", "-f", file]);
    }
    let version = container.ok("kopnet", &["kopnet", "--version"]);
    assert!(version.contains("protocol"), "{version}");
    // Installing again (an upgrade) keeps the user and the home.
    container.ok("root", &["dpkg", "-i", "/tmp/kopnet.deb"]);

    // A one-validator network's genesis and keys, made here, joined there
    // by the kopnet user.
    let net = work.path().join("net");
    let init = Command::new(common::kopnet())
        .args([
            "testnet",
            "init",
            "--validators",
            "1",
            "--observers",
            "0",
            "--dir",
        ])
        .arg(&net)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(init.success());
    let validator_home = std::fs::read_dir(&net)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("validator.key").is_file())
        .expect("a validator home");
    let seed = work.path().join("seed");
    std::fs::create_dir(&seed).unwrap();
    for (from, to) in [
        (net.join("genesis.json"), "genesis.json"),
        (validator_home.join("node.key"), "node.key"),
        (validator_home.join("validator.key"), "validator.key"),
    ] {
        std::fs::copy(from, seed.join(to)).unwrap();
    }
    container.copy_in(&seed, "/tmp/seed");
    container.ok("root", &["chown", "-R", "kopnet:kopnet", "/tmp/seed"]);
    let port = 8080;
    let unit = container.ok("root", &["cat", "/lib/systemd/system/kopnet.service"]);
    let user = unit_value(&unit, "User");
    container.ok(
        user,
        &[
            "kopnet",
            "node",
            "init",
            "--home",
            "/var/lib/kopnet",
            "--join",
            "/tmp/seed/genesis.json",
            "--key",
            "/tmp/seed/node.key",
            "--validator-key",
            "/tmp/seed/validator.key",
            "--api",
            "127.0.0.1:8080",
            "--listen",
            "/ip4/127.0.0.1/tcp/26656",
        ],
    );
    let modes = container.ok("root", &["stat", "-c", "%a %U", "/var/lib/kopnet/node.key"]);
    assert_eq!(modes.trim(), "600 kopnet");

    // The unit's own command line, as its user, in its directory.
    let exec_start = unit_value(&unit, "ExecStart");
    let workdir = unit_value(&unit, "WorkingDirectory");
    let logged = format!("exec {exec_start} >/tmp/kopnet-node.log 2>&1");
    let started = Command::new("docker")
        .args([
            "exec",
            "-d",
            "--user",
            user,
            "--workdir",
            workdir,
            &container.0,
        ])
        .args(["bash", "-c", &logged])
        .status()
        .unwrap();
    assert!(started.success());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status = health(&container, port);
        if status.contains(" 200 ") {
            break;
        }
        if Instant::now() > deadline {
            let log = container.exec("root", &["cat", "/tmp/kopnet-node.log"]);
            panic!(
                "/health never answered 200 (last: {status:?}); the node's log: {}",
                String::from_utf8_lossy(&log.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // It runs as the unit's user and wrote its ledger in the home.
    let owner = container.ok("root", &["stat", "-c", "%U", "/var/lib/kopnet/data"]);
    assert_eq!(owner.trim(), user);
}
