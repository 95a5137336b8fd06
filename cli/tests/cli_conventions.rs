//! The command line as a person meets it: every command's `--help`,
//! walked from `kopnet --help` down through every subcommand it lists,
//! shows a description for each of its arguments; `--output json` prints
//! JSON (`kopnet wallet new` its new address); `--version` names the
//! protocol version and the commit; completions and manual pages are
//! generated. (`src/commands/conventions.rs` checks the same rules on the
//! clap definitions.)

mod common;
use common::kopnet;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(kopnet()).args(args).output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "kopnet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The sections of a help text: (title, entries), each entry its first
/// line and whether a description goes with it (on that line after the
/// argument, or on the more indented lines under it).
fn sections(help: &str) -> Vec<(String, Vec<(String, bool)>)> {
    let mut sections: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    let lines: Vec<&str> = help.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with(' ') && line.ends_with(':') {
            sections.push((line.trim_end_matches(':').to_string(), Vec::new()));
            continue;
        }
        let Some((title, entries)) = sections.last_mut() else {
            continue;
        };
        // An entry starts 2 to 6 spaces in (`  -h, --help`, `      --key
        // <KEY>`, `  <FILE>`, `  keys`); its description follows two or
        // more spaces after it, or on the deeper lines below (8 or more).
        let indent = line.len() - line.trim_start().len();
        let rest = line.trim_start();
        let is_entry = (2..=6).contains(&indent)
            && !rest.is_empty()
            && (title == "Commands" || rest.starts_with(['-', '<', '[']));
        if !is_entry {
            continue;
        }
        let spec_end = rest.find("  ").unwrap_or(rest.len());
        let same_line = !rest[spec_end..].trim().is_empty();
        let below = lines.get(i + 1).is_some_and(|next| {
            next.len() - next.trim_start().len() >= 8 && !next.trim().is_empty()
        });
        entries.push((rest.to_string(), same_line || below));
    }
    sections
}

/// Every command path under `path`, by its help's "Commands" section.
fn walk(path: Vec<String>, problems: &mut Vec<String>, seen: &mut usize) {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = stdout_of(&args);
    *seen += 1;
    for (title, entries) in sections(&help) {
        for (entry, described) in &entries {
            if !described {
                problems.push(format!("kopnet {}: {title}: `{entry}`", path.join(" ")));
            }
        }
        if title == "Commands" {
            for (entry, _) in entries {
                let name = entry.split_whitespace().next().unwrap_or_default();
                if name == "help" {
                    continue;
                }
                let mut sub = path.clone();
                sub.push(name.to_string());
                walk(sub, problems, seen);
            }
        }
    }
}

#[test]
fn the_help_reader_sees_an_argument_without_a_description() {
    let help = "About.\n\nUsage: kopnet x [OPTIONS] <FILE>\n\nArguments:\n  <FILE>\n          The file\n\n\
                Options:\n      --key <KEY>\n          The key\n\n      --bare <BARE>\n\n  -h, --help\n          Print help\n\n\
                Commands:\n  keys  Keys\n  node\n";
    let found = sections(help);
    let undescribed: Vec<&str> = found
        .iter()
        .flat_map(|(_, entries)| entries)
        .filter(|(_, described)| !described)
        .map(|(entry, _)| entry.as_str())
        .collect();
    assert_eq!(undescribed, ["--bare <BARE>", "node"]);
    let entries: usize = found.iter().map(|(_, e)| e.len()).sum();
    assert_eq!(entries, 6);
}

#[test]
fn every_argument_of_every_command_has_a_help_line() {
    let mut problems = Vec::new();
    let mut seen = 0;
    walk(Vec::new(), &mut problems, &mut seen);
    assert!(problems.is_empty(), "without a description: {problems:#?}");
    // The walk reached the whole tree (node, wallet, coop propose, ...).
    assert!(seen > 80, "only {seen} commands walked");
}

#[test]
fn wallet_new_prints_its_address_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("member.key");
    let out = stdout_of(&[
        "wallet",
        "new",
        "--out",
        file.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let printed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let address = kopnet_node::keyfile::read(&file)
        .unwrap()
        .public()
        .to_address();
    assert_eq!(printed["address"], address.as_str(), "{out}");
    assert_eq!(printed["file"], file.to_str().unwrap());
    // The option may stand anywhere, and `keys show` agrees.
    let shown = stdout_of(&["--output", "json", "keys", "show", file.to_str().unwrap()]);
    let shown: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(shown["address"], address.as_str());
}

#[test]
fn node_and_key_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("member.key");
    stdout_of(&["wallet", "new", "--out", file.to_str().unwrap()]);
    // Nothing listens on a reserved loopback port: the error names the
    // node the variable gave, so the variable was read (and the key file
    // too, or the command would have stopped at it).
    let port = kopnet_testnet::cluster::ports::reserve(1).unwrap()[0];
    let node = format!("http://127.0.0.1:{port}");
    let out = Command::new(kopnet())
        .args(["wallet", "balance"])
        .env("KOPNET_NODE", &node)
        .env("KOPNET_KEY", &file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    // A flag wins over the variable.
    let out = Command::new(kopnet())
        .args(["wallet", "balance", "--key"])
        .arg(dir.path().join("missing.key"))
        .env("KOPNET_NODE", &node)
        .env("KOPNET_KEY", &file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.key"), "{stderr}");
}

#[test]
fn version_names_the_protocol_and_the_commit() {
    let version = stdout_of(&["--version"]);
    let protocol = format!("protocol {}", kopnet_node::upgrade::PROTOCOL_VERSION);
    assert!(
        version.starts_with(&format!("kopnet {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(version.contains(&protocol), "{version}");
    let commit = version.split("commit ").nth(1).unwrap_or_default();
    let commit = commit.trim().trim_end_matches(')');
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{version}"
    );
}

#[test]
fn completions_and_manual_pages_come_from_the_definitions() {
    let bash = stdout_of(&["completions", "bash"]);
    assert!(
        bash.contains("kopnet") && bash.contains("state-sync"),
        "{bash}"
    );
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH kopnet"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    stdout_of(&["man", "--dir", dir.path().to_str().unwrap()]);
    stdout_of(&["completions", "--dir", dir.path().to_str().unwrap()]);
    for name in [
        "kopnet.1",
        "kopnet-node-init.1",
        "kopnet-wallet-pay.1",
        "kopnet.bash",
        "_kopnet",
        "kopnet.fish",
    ] {
        assert!(dir.path().join(name).is_file(), "{name} not written");
    }
    // No JSON form: refused, not ignored.
    let out = run(&["completions", "bash", "--output", "json"]);
    assert!(!out.status.success());
}
