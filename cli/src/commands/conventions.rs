//! The command line's conventions, checked on the clap definitions
//! themselves (every command and argument, as `Cli::command()` builds
//! them): clap's own consistency checks, a help line on every command and
//! argument, and `KOPNET_NODE` / `KOPNET_KEY` beside every `--node` and
//! signing `--key`. `cli/tests/cli_conventions.rs` checks the same from
//! the outside, on the binary's `--help`.

use super::{Cli, KEY_ENV, NODE_ENV};
use clap::{Arg, Command, CommandFactory};

/// `--key` that is not the signing key of the person at the keyboard:
/// a node's own identity, or a key's address in a proposal. (And `audit
/// verify`, which reads both variables itself: see `VerifyArgs`.)
const KEY_NOT_SIGNER: &[&str] = &[
    "kopnet node init",
    "kopnet coop propose add-observer",
    "kopnet coop propose remove-observer",
    "kopnet audit verify",
];
/// `--node` read from the environment by the command itself.
const NODE_ENV_IN_CODE: &[&str] = &["kopnet audit verify"];

/// Every command with its path (`kopnet wallet pay`), depth first.
fn walk(command: &Command, path: &str, out: &mut Vec<(String, Command)>) {
    out.push((path.to_string(), command.clone()));
    // clap's own `help` subcommands are not ours.
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        walk(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

fn all_commands() -> Vec<(String, Command)> {
    let mut command = Cli::command();
    command.build();
    let mut out = Vec::new();
    walk(&command, "kopnet", &mut out);
    out
}

fn has_text(text: Option<&clap::builder::StyledStr>) -> bool {
    text.is_some_and(|t| !t.to_string().trim().is_empty())
}

fn own_args(command: &Command) -> impl Iterator<Item = &Arg> {
    command
        .get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
}

#[test]
fn clap_finds_the_definitions_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn every_command_and_argument_has_a_help_line() {
    let mut missing = Vec::new();
    for (path, command) in all_commands() {
        if path != "kopnet" && !has_text(command.get_about()) {
            missing.push(path.clone());
        }
        for arg in own_args(&command).filter(|a| !a.is_hide_set()) {
            if !has_text(arg.get_help()) && !has_text(arg.get_long_help()) {
                let name = arg
                    .get_long()
                    .map_or_else(|| format!("<{}>", arg.get_id()), |l| format!("--{l}"));
                missing.push(format!("{path} {name}"));
            }
        }
    }
    assert!(missing.is_empty(), "no help line: {missing:#?}");
}

#[test]
fn node_and_signing_key_can_come_from_the_environment() {
    let mut wrong = Vec::new();
    for (path, command) in all_commands() {
        for arg in own_args(&command) {
            let env = arg.get_env().and_then(|e| e.to_str());
            let expected = match arg.get_long() {
                Some("node") if !NODE_ENV_IN_CODE.contains(&path.as_str()) => Some(NODE_ENV),
                Some("key") if !KEY_NOT_SIGNER.contains(&path.as_str()) => Some(KEY_ENV),
                _ => None,
            };
            if env != expected {
                let name = arg.get_id();
                wrong.push(format!("{path} {name}: env {env:?}, not {expected:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn output_is_one_global_option() {
    let commands = all_commands();
    for (path, command) in &commands {
        let output: Vec<&Arg> = command
            .get_arguments()
            .filter(|a| a.get_long() == Some("output"))
            .collect();
        assert_eq!(output.len(), 1, "{path}: --output");
        assert!(
            output[0].is_global_set(),
            "{path}: --output is not the global one"
        );
    }
    assert!(
        commands.len() > 80,
        "only {} commands walked",
        commands.len()
    );
}

#[test]
fn version_names_the_protocol_and_the_commit() {
    let version = Cli::command().render_version();
    let protocol = format!("protocol {}", kopnet_node::upgrade::PROTOCOL_VERSION);
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    assert!(version.contains(&protocol), "{version}");
    assert!(version.contains("commit "), "{version}");
}
