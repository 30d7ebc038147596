//! `tributary`: see `tributary --help`. The command line ([`cli`]) over the server, the tools
//! (demo, bench) and the simulator; [`serve`] for `serve` and `config`, [`dates_cli`] for
//! `dates parse|format`, [`elements_cli`] for `elements check|export`.

mod cli;
mod dates_cli;
mod elements_cli;
mod process;
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
