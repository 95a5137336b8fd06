//! Table or JSON output, and the one way the binary writes to stdout.
//!
//! # One result, in the format asked for
//!
//! `--output text|json` is a global option of every command (it may stand
//! anywhere on the line). With `json`, a command prints its result as one
//! JSON value on stdout ([`print_json`]), and every line meant for a
//! person ([`say!`]: progress, hints, "tx ..." while waiting) goes to
//! stderr instead, so `kopnet ... --output json | jq` always reads JSON. A
//! command that streams (`wallet watch`) prints one JSON value per line.
//!
//! # A closed stdout
//!
//! Every line a command prints goes through [`say!`] / [`say_part!`] or
//! [`print_json`], not `println!`: `println!` panics when the reader has
//! gone (`kopnet settlement report | grep -q open` — `grep -q` exits at its
//! first match). Here a closed stdout (`BrokenPipe`) ends the command
//! quietly with exit code 0, the way Unix filters behave under `set -o
//! pipefail`: the reader took what it wanted. Any other write error ends
//! it with one line on stderr and exit 1.

use std::sync::OnceLock;

/// Print one line for a person: on stdout, or on stderr when the output
/// format is JSON (see the module docs).
macro_rules! say {
    () => {
        $crate::output::write_human(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_human(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Print for a person without a line end (see [`say!`]).
macro_rules! say_part {
    ($($arg:tt)*) => {
        $crate::output::write_human(format_args!($($arg)*))
    };
}

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON value on stdout (everything else on stderr).
    Json,
}

/// The format of this run, set once from the command line.
static FORMAT: OnceLock<OutputFormat> = OnceLock::new();

/// Set the format of this run (the first call wins).
pub fn set_format(format: OutputFormat) {
    let _ = FORMAT.set(format);
}

/// The format of this run (text until set).
pub fn format() -> OutputFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Whether this run prints JSON.
pub fn json() -> bool {
    format() == OutputFormat::Json
}

/// Print a JSON value on stdout as one line.
pub fn print_json(value: &serde_json::Value) {
    write_stdout(format_args!("{value}\n"));
}

/// Write a person's line: to stdout, or to stderr under `--output json`.
pub fn write_human(args: std::fmt::Arguments<'_>) {
    if json() {
        use std::io::Write;
        // stderr may be gone; nothing more can be said then.
        let _ = std::io::stderr().lock().write_fmt(args);
    } else {
        write_stdout(args);
    }
}

/// Write to stdout; a reader that has gone ends the process with exit 0, any
/// other failure with exit 1 and one line on stderr.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args);
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        // stderr may be gone too; nothing more can be said then.
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}
