//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Nothing secret is ever a field or part of a message: request logs carry method, path (never
//! the query string, which may hold codes) and status; errors carry messages built from our own
//! words and field names, never from secret values.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber writing to `writer` (tests pass a buffer), with colours only
/// when `ansi`. A second call is a no-op.
pub fn init<W>(writer: W, ansi: bool)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    init_with_default(writer, ansi, "info");
}

/// As [`init`], with `default` as the filter when `RUST_LOG` is unset (the demo keeps its live
/// view clean with `warn`).
pub fn init_with_default<W>(writer: W, ansi: bool, default: &str)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Logs to stderr, in colour when stderr is a terminal.
pub fn init_stderr() {
    use std::io::IsTerminal;
    init(std::io::stderr, std::io::stderr().is_terminal());
}
