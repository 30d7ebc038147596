//! The Tributary server: a library, so tests, the tools and the `tributary` binary
//! (`crates/cli`) drive the same code.
//!
//! A tour, from the top of the import graph down (each layer imports only those below it):
//! - [`app`]: `Application::build → port() → run_until_stopped()`, the router of every route,
//!   and the first organization's bootstrap. It starts the workers and serves the adapters.
//! - The adapters, over HTTP: [`api`] (the Cloud Elements-compatible JSON API, one router per
//!   resource; [`api::error::ApiError`] is the one place a service error becomes a status) and
//!   [`ui`] (the web UI at `/`: sign-in, sessions and CSRF, pages). Neither calls the other.
//! - [`services`]: what Tributary does for a user — instances, connect, events, hub — with
//!   typed inputs and one [`services::error::ServiceError`].
//! - The workers: [`scheduler`] (claims due pollers with leases), [`poller`] (one poll of one
//!   resource: read, decide, commit in one transaction) and [`delivery`] (stored events become
//!   signed notifications, sent with retries), and [`hooks`] (webhook sources: subscriptions
//!   kept at the provider, stored deliveries turned into events). They use the services and the store, never the
//!   adapters.
//! - [`clients`]: the provider client and compiled pollers of each instance (cached), and where
//!   clients store rotated tokens.
//! - [`state`]: the [`AppState`] everything shares (store, elements, vault, clock, settings,
//!   clients, worker nudges).
//! - At the bottom: [`settings`] (every setting, its default and its validation, in one place),
//!   [`configuration`] (an instance's configuration sealed at rest), [`secrets`] (random
//!   secrets, their hashes, the AES-256-GCM vault), [`tenants`] (creating an organization) and
//!   [`telemetry`] (logging to stderr, as text or JSON) and [`metrics`] (the Prometheus
//!   histograms and the exposition of `/metrics`).

pub mod api;
pub mod app;
pub mod clients;
pub mod configuration;
pub mod delivery;
pub mod elements;
pub mod guard;
pub mod hooks;
pub mod listen;
pub mod metrics;
pub mod poller;
pub mod quota;
pub mod scheduler;
pub mod secrets;
pub mod services;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod tenants;
pub mod ui;

pub use app::Application;
pub use settings::Settings;
pub use state::AppState;
