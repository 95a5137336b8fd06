//! Table or JSON output for commands that read, and the one way the
//! binary writes to stdout.
//!
//! Every line a command prints goes through [`say!`] / [`say_part!`], not
//! `println!`: `println!` panics when the reader has gone (`kopnet settlement
//! report | grep -q open` — `grep -q` exits at its first match). Here a closed
//! stdout (`BrokenPipe`) ends the command quietly with exit code 0, the way
//! Unix filters behave under `set -o pipefail`: the reader took what it
//! wanted. Any other write error ends it with one line on stderr and exit 1.

/// Print one line on stdout (see the module docs for a closed stdout).
macro_rules! say {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Print on stdout without a line end (see the module docs).
macro_rules! say_part {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Print a JSON value on stdout as one line.
pub fn print_json(value: &serde_json::Value) {
    say!("{value}");
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
