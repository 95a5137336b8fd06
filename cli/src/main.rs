//! `kopnet`: one binary for cooperatives' IT people, tellers, members and
//! regulators. Errors print as one line on stderr with a non-zero exit.

mod amount;
use kopnet_testnet::cluster::client;
mod commands;
mod output;
mod sender;
mod testnet;

use clap::Parser;

fn main() {
    let cli = commands::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            1
        }
    };
    std::process::exit(code);
}
