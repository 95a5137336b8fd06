//! Corruption is detected and named (issue 15, point 3), on real processes:
//! a validator of a running network is stopped, and copies of its home are
//! damaged four ways — a flipped bit in an old block's record, a flipped
//! bit in the tip block's record, a flipped byte in sled's own log file
//! (sled then drops everything after it, silently), a truncated safety
//! record. `kopnet node check` passes the sound original (without changing
//! a byte of it) and names the first bad height of each damaged copy;
//! `kopnet node run` refuses each copy whose damage it can see at start,
//! with one line naming the file and the height, and a non-zero exit.

mod common;
use common::*;
use kopnet_ledger::{keys, SledStorage, Storage};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Copy a directory tree (a node home: config, genesis, key, data/).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            files.extend(snapshot(&entry.path()));
        } else {
            files.insert(entry.path(), std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

fn check(home: &Path) -> Output {
    Command::new(kopnet())
        .args(["node", "check", "--home"])
        .arg(home)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// `kopnet node run` on `home`, which must refuse: its exit code and what
/// it wrote on stderr, which must be one line.
fn refused_run(home: &Path) -> (i32, String) {
    let mut child = Command::new(kopnet())
        .args(["node", "run", "--home"])
        .arg(home)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exited = wait_for(
        "the node to refuse the damaged home",
        Duration::from_secs(30),
        || child.try_wait().unwrap(),
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    (exited.code().unwrap_or(-1), lines[0].to_string())
}

/// A node run on a copied home, in place of the stopped victim (same key,
/// same ports); killed if still running when dropped.
struct Replacement(std::process::Child);

impl Replacement {
    fn start(home: &Path) -> Replacement {
        let log = std::fs::File::create(home.join("node.log")).unwrap();
        let child = Command::new(kopnet())
            .args(["node", "run", "--home"])
            .arg(home)
            .env("RUST_LOG", "info,libp2p=warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Replacement(child)
    }

    /// SIGTERM, then its exit status (with a deadline).
    fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        wait_for("the replacement to stop", Duration::from_secs(30), || {
            self.0.try_wait().unwrap()
        })
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Flip one bit in the middle of the stored record of block `height`,
/// through sled: damage sled's own checksums cannot see.
fn flip_block_record(home: &Path, height: u64) {
    let store = SledStorage::open(&home.join("data").join("ledger"), 1 << 24).unwrap();
    let mut bytes = store.get(&keys::block(height)).unwrap().unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x08;
    let mut batch = kopnet_ledger::storage::WriteBatch::default();
    batch.put(keys::block(height), bytes);
    store.commit(batch).unwrap();
}

#[test]
fn a_damaged_store_is_named_offline_and_refused_at_start() {
    let mut cluster = Cluster::start(4, 0);
    let victim = cluster.node_of("taksi-bersama");
    cluster.wait_height_all(8, Duration::from_secs(120));
    assert!(cluster.terminate(victim).success());
    // Never opened by sled here: opening a sled store writes to it.
    let home = cluster.nodes[victim].home.clone();
    let work = tempfile::tempdir().unwrap();

    // (a) The sound original: OK with its height, and not a byte changed.
    let before = snapshot(&home.join("data"));
    let sound = check(&home);
    let out = stdout(&sound);
    eprintln!(
        "node check (sound home): exit {:?}: {out}",
        sound.status.code()
    );
    assert_eq!(sound.status.code(), Some(0), "{out}");
    let top: u64 = out
        .strip_prefix("OK height=")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("no height in {out:?}"));
    assert!(top >= 8, "{out}");
    assert_eq!(before, snapshot(&home.join("data")), "node check wrote");

    // (b) A flipped bit in an old block: check names that height; the
    // start-up check reads only the tip, so that one is check's to find.
    let old = work.path().join("old-block");
    copy_tree(&home, &old);
    flip_block_record(&old, 3);
    let damaged = check(&old);
    eprintln!(
        "node check (old block flipped): exit {:?}: {}",
        damaged.status.code(),
        stdout(&damaged)
    );
    assert_eq!(damaged.status.code(), Some(1));
    assert!(
        stdout(&damaged).starts_with("FAIL height=3 "),
        "{}",
        stdout(&damaged)
    );

    // (c) A flipped bit in the tip block: check names it, run refuses.
    let tip = work.path().join("tip-block");
    copy_tree(&home, &tip);
    flip_block_record(&tip, top);
    let damaged = check(&tip);
    eprintln!(
        "node check (tip block flipped): exit {:?}: {}",
        damaged.status.code(),
        stdout(&damaged)
    );
    assert_eq!(damaged.status.code(), Some(1));
    assert!(
        stdout(&damaged).starts_with(&format!("FAIL height={top} ")),
        "{}",
        stdout(&damaged)
    );
    let (code, line) = refused_run(&tip);
    eprintln!("node run (tip block flipped): exit {code}: {line}");
    assert_ne!(code, 0);
    let store_path = tip.join("data").join("ledger").display().to_string();
    assert!(line.contains(&store_path), "{line}");
    assert!(line.contains(&format!("at height {top}")), "{line}");

    // Recovery by resync: move the store aside, keep the safety record,
    // start. The node marks where it had signed, catches up from its
    // peers, and the recovered store checks sound.
    std::fs::rename(tip.join("data").join("ledger"), tip.join("ledger.damaged")).unwrap();
    let mut replacement = Replacement::start(&tip);
    let other = (victim + 1) % cluster.nodes.len();
    let network = cluster.height(other).unwrap();
    cluster.wait_height(victim, network, Duration::from_secs(120));
    let log = std::fs::read_to_string(tip.join("node.log")).unwrap();
    let resync_line = log
        .lines()
        .find(|l| l.contains("resyncing from peers"))
        .unwrap_or_else(|| panic!("no resync line in {log}"))
        .to_string();
    eprintln!("node run (store moved aside): {resync_line}");
    assert!(replacement.stop().success());
    let recovered = check(&tip);
    eprintln!(
        "node check (after the resync): exit {:?}: {}",
        recovered.status.code(),
        stdout(&recovered)
    );
    assert_eq!(recovered.status.code(), Some(0), "{}", stdout(&recovered));

    // (d) A byte flipped in sled's own log file. What sled makes of it
    // depends on where the byte lands: mostly it takes the bad message for
    // a torn end and drops everything from there on, silently (the store
    // opens at an earlier height, or empty); sometimes it refuses to open.
    // Each chain-id occurrence (one per block header, and more) is tried
    // on a probe copy; the first of each kind is then checked and run.
    let db_bytes = std::fs::read(home.join("data").join("ledger").join("db")).unwrap();
    let needle = cluster.chain_id.as_bytes();
    let hits: Vec<usize> = db_bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert!(hits.len() > 4, "the chain id appears in the blocks");
    let flipped = |name: &str, at: usize| -> PathBuf {
        let copy = work.path().join(name);
        copy_tree(&home, &copy);
        let mut bytes = db_bytes.clone();
        bytes[at] ^= 0xff;
        std::fs::write(copy.join("data").join("ledger").join("db"), bytes).unwrap();
        copy
    };
    let (mut cut_back, mut emptied, mut unopenable) = (None, None, None);
    for (n, at) in hits.iter().enumerate() {
        let probe = flipped(&format!("probe-{n}"), *at);
        let opened = SledStorage::open(&probe.join("data").join("ledger"), 1 << 24);
        match opened.map(|store| store.get(keys::META_HEIGHT).unwrap()) {
            Err(_) => {
                unopenable.get_or_insert(*at);
            }
            Ok(None) => {
                emptied.get_or_insert(*at);
            }
            Ok(Some(height)) => {
                let height = u64::from_be_bytes(height.try_into().unwrap());
                if (1..top.saturating_sub(1)).contains(&height) {
                    cut_back.get_or_insert((*at, height));
                }
            }
        }
        std::fs::remove_dir_all(&probe).unwrap();
    }
    // Cut back to an earlier height: named at the first missing height.
    let (at, kept) = cut_back.expect("a flipped byte that makes sled drop the later blocks");
    let raw = flipped("sled-cut-back", at);
    let raw_store = raw.join("data").join("ledger");
    let damaged = check(&raw);
    let out = stdout(&damaged);
    eprintln!(
        "node check (sled log byte flipped, store cut back to {kept}): exit {:?}: {out}",
        damaged.status.code()
    );
    assert_eq!(damaged.status.code(), Some(1), "{out}");
    let first_missing = kept + 1;
    let named = format!("FAIL height={first_missing} store={}:", raw_store.display());
    assert!(out.starts_with(&named), "{out}");
    assert!(out.contains("committed blocks were lost"), "{out}");
    let (code, line) = refused_run(&raw);
    eprintln!("node run (sled log byte flipped, store cut back): exit {code}: {line}");
    assert_eq!(code, 1);
    assert!(line.contains(&raw_store.display().to_string()), "{line}");
    assert!(
        line.contains(&format!("at height {first_missing}")),
        "{line}"
    );
    // Recovery by keeping what is left: the operator accepts the store as
    // older than the record; it then checks sound at the height it kept,
    // and the node would catch up from there.
    let accepted = Command::new(kopnet())
        .args(["node", "accept-older-store", "--home"])
        .arg(&raw)
        .output()
        .unwrap();
    let out = stdout(&accepted);
    eprintln!(
        "node accept-older-store: exit {:?}: {out}",
        accepted.status.code()
    );
    assert!(accepted.status.success(), "{out}");
    assert!(
        out.starts_with(&format!("accepted: the store ends at height {kept}")),
        "{out}"
    );
    let kept_check = check(&raw);
    let out = stdout(&kept_check);
    eprintln!(
        "node check (accepted): exit {:?}: {out}",
        kept_check.status.code()
    );
    assert_eq!(kept_check.status.code(), Some(0), "{out}");
    assert!(out.starts_with(&format!("OK height={kept} ")), "{out}");
    // Emptied, or refused by sled: shown where the file has such a place.
    for (kind, at, expected) in [
        ("emptied", emptied, "holds no chain"),
        ("refused by sled", unopenable, "sled cannot open it"),
    ] {
        let Some(at) = at else {
            eprintln!("(no flipped byte left the store {kind} in this run)");
            continue;
        };
        let raw = flipped(&format!("sled-{}", kind.replace(' ', "-")), at);
        let raw_store = raw.join("data").join("ledger");
        let damaged = check(&raw);
        let out = stdout(&damaged);
        eprintln!(
            "node check (sled log byte flipped, store {kind}): exit {:?}: {out}",
            damaged.status.code()
        );
        assert_eq!(damaged.status.code(), Some(1), "{out}");
        assert!(out.contains(&raw_store.display().to_string()), "{out}");
        assert!(out.contains(expected), "{out}");
        let (code, line) = refused_run(&raw);
        eprintln!("node run (sled log byte flipped, store {kind}): exit {code}: {line}");
        assert_eq!(code, 1);
        assert!(line.contains(&raw_store.display().to_string()), "{line}");
    }

    // (e) A truncated safety record: both name the file.
    let safety = work.path().join("safety");
    copy_tree(&home, &safety);
    let record = safety.join("data").join("safety.bin");
    let bytes = std::fs::read(&record).unwrap();
    std::fs::write(&record, &bytes[..bytes.len() / 2]).unwrap();
    let damaged = check(&safety);
    eprintln!(
        "node check (safety record truncated): exit {:?}: {}",
        damaged.status.code(),
        stdout(&damaged)
    );
    assert_eq!(damaged.status.code(), Some(1));
    let out = stdout(&damaged);
    assert!(out.contains("FAIL safety record"), "{out}");
    assert!(out.contains(&record.display().to_string()), "{out}");
    assert!(out.contains("truncated"), "{out}");
    let (code, line) = refused_run(&safety);
    eprintln!("node run (safety record truncated): exit {code}: {line}");
    assert_eq!(code, 1);
    assert!(line.contains(&record.display().to_string()), "{line}");
    assert!(line.contains("truncated"), "{line}");
    assert_eq!(
        std::fs::read(&record).unwrap(),
        &bytes[..bytes.len() / 2],
        "the damaged record was left as it was"
    );

    // The network never noticed: the other three keep committing.
    let now = cluster.height(other).unwrap();
    cluster.wait_height_all(now + 2, Duration::from_secs(60));
}
