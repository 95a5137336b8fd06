//! `kopnet completions SHELL`: a completion script generated from the
//! command definitions (`clap_complete`), so it never falls behind them.
//! `--dir DIR` writes the bash, zsh and fish ones under their usual names
//! (`kopnet.bash`, `_kopnet`, `kopnet.fish`), as the Debian package ships
//! them (`deploy/deb/build.sh`).

use anyhow::{bail, Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;

/// The shells whose scripts `--dir` writes (those Debian packages ship).
const PACKAGED_SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to print the script for.
    #[arg(value_enum, required_unless_present = "dir", conflicts_with = "dir")]
    pub shell: Option<Shell>,
    /// Write the bash, zsh and fish scripts into this folder instead
    /// (created if missing; scripts already there are replaced).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(args: CompletionsArgs) -> Result<i32> {
    super::refuse_json("completions", "a shell script")?;
    match (args.shell, args.dir) {
        (Some(shell), None) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut super::Cli::command(), "kopnet", &mut script);
            crate::output::write_stdout(format_args!("{}", String::from_utf8_lossy(&script)));
        }
        (None, Some(dir)) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for shell in PACKAGED_SHELLS {
                let path =
                    clap_complete::generate_to(shell, &mut super::Cli::command(), "kopnet", &dir)
                        .with_context(|| format!("cannot write into {}", dir.display()))?;
                say!("wrote {}", path.display());
            }
        }
        _ => bail!("give a shell, or --dir DIR"),
    }
    Ok(0)
}
