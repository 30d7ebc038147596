//! `tributary`: see `tributary --help`. The command line ([`cli`]) over the server, the tools
//! (demo, bench) and the simulator; [`serve`] for `serve` and `config`, [`dates_cli`] for
//! `dates parse|format`.

mod cli;
mod dates_cli;
mod process;
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run()
}
