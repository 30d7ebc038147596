//! The `tributary` server: a library, so tests drive the same code as the binary.
//!
//! A tour:
//! - [`settings`]: flags and `TRIBUTARY_*` variables, validated at start.
//! - [`app`]: `Application::build → port() → run_until_stopped()`, the shared [`app::AppState`],
//!   and the first organization's bootstrap.
//! - [`api`]: the HTTP API, one router per resource; errors with request ids.
//! - [`secrets`]: random secrets, their hashes, and the AES-256-GCM vault.
//! - [`clients`]: the provider client of each instance (cached) and where it stores tokens.
//! - [`poller`]: one poll of one resource: read, decide, commit in one transaction.
//! - [`scheduler`]: claims due pollers with leases and runs their polls.
//! - [`delivery`]: stored events become signed notifications, sent with retries.
//! - [`tenants`]: `tributary tenants create`.
//! - [`demo`]: `tributary demo`, the whole loop on one machine with a live view and a check.
//! - [`bench`]: `tributary bench`, the dates, polling and delivery benchmarks, each figure next
//!   to a ceiling measured in the same run; one table, and JSON.
//! - [`telemetry`]: logging to stderr.
//! - [`cli`]: the command line (`serve`, `simulate`, `demo`, `bench`, `tenants`, `dates`), and
//!   [`dates_cli`] for `dates parse|format`.
//! - [`ui`]: the web UI at `/` (sign-in, sessions and CSRF, the instances list).

pub mod api;
pub mod app;
pub mod bench;
pub mod cli;
pub mod clients;
pub mod configuration;
pub mod dates_cli;
pub mod delivery;
pub mod demo;
pub mod poller;
pub mod scheduler;
pub mod secrets;
pub mod services;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod ui;

pub use app::{AppState, Application};
pub use settings::Settings;
