//! `kopnet man`: the manual pages, generated from the command definitions
//! (`clap_mangen`) like `kopnet --help`, so they never fall behind them.
//! Without `--dir`, the page of `kopnet` itself on stdout (`kopnet man |
//! man -l -`); with `--dir`, one page per command and subcommand
//! (`kopnet.1`, `kopnet-wallet-pay.1`, ...), as the Debian package ships
//! them.

use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write every command's page into this folder (created if missing;
    /// pages already there are replaced) instead of printing kopnet.1.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(args: ManArgs) -> Result<i32> {
    super::refuse_json("man", "roff")?;
    let command = super::Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
            say!("wrote the manual pages into {}", dir.display());
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .context("cannot render the manual page")?;
            crate::output::write_stdout(format_args!("{}", String::from_utf8_lossy(&page)));
        }
    }
    Ok(0)
}
