//! Logging: `tracing` to stderr, filtered by `RUST_LOG` (default `info`), as text or as one JSON
//! object a line (`TRIBUTARY_LOG_FORMAT=json`, for a log shipper).
//!
//! The work a line belongs to is a span: every line of a request carries its `request_id`
//! (the `x-request-id` header and the error body's `requestId`), every line of a poll its
//! `instance_id` and `resource`, every line of a send its `instance_id` and `notification_id`.
//! In JSON they are the fields of `span` (the innermost) and `spans` (all, outermost first).
//!
//! Nothing secret is ever a field or part of a message: request logs carry method, path (never
//! the query string, which may hold codes) and status; errors carry messages built from our own
//! words and field names, never from secret values.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: one readable line per event, its spans' fields before it.
    #[default]
    Text,
    /// For machines: one JSON object per line, with its spans' fields.
    Json,
}

impl LogFormat {
    /// `text` or `json`, any case.
    pub fn parse(text: &str) -> Result<LogFormat, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?}: must be text or json")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// Installs the global subscriber writing text to `writer` (tests pass a buffer), with colours
/// only when `ansi`. A second call is a no-op.
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
    init_as(writer, LogFormat::Text, ansi, default);
}

/// Installs the global subscriber writing `format` to `writer` (colours only for text, when
/// `ansi`), filtered by `RUST_LOG` or else `default`. A second call is a no-op.
pub fn init_as<W>(writer: W, format: LogFormat, ansi: bool, default: &str)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

/// Logs text to stderr, in colour when stderr is a terminal.
pub fn init_stderr() {
    init_stderr_as(LogFormat::Text);
}

/// Logs `format` to stderr (text in colour when stderr is a terminal).
pub fn init_stderr_as(format: LogFormat) {
    use std::io::IsTerminal;
    init_as(
        std::io::stderr,
        format,
        std::io::stderr().is_terminal(),
        "info",
    );
}
