//! `tributary`: see `tributary --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    tributary_server::cli::run()
}
