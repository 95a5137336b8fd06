//! Table or JSON output for commands that read.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Print a JSON value on stdout as one line.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
