//! Faithful stand-ins for the SaaS APIs Tributary polls, quirks included.
//!
//! No machine here reaches the real providers, so every integration test, the demo and the
//! benchmarks talk to these simulators over real HTTP. Each must behave like its provider — odd
//! paging links, second-rounded dates, rotating refresh tokens, throttles, REST hooks — so that
//! what passes against it has a good chance against the real thing.
//!
//! A tour of the modules:
//! - `engine`: what every provider shares — tenants and records, the clock and its offset,
//!   faults, activity, the state export, the request log, OAuth grants, budgets, the `/_sim`
//!   control API, the accept loop ([`RunningSimulator`]). A provider plugs in through two traits:
//!   `engine::provider::Provider` (its data, words and limits) and `engine::sim::Serve` (its
//!   routes and background tasks).
//! - `infusionsoft`: the Infusionsoft (Keap) REST API (contract:
//!   `shared/spec/infusionsoft-simulator.md`; sources: `shared/research/infusionsoft.md`).
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use tributary_simulator::{Config, RunningSimulator, Simulator};
//! let sim = Simulator::new(Config::default(), Arc::new(tributary_domain::SystemClock));
//! let running = RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap()).await?;
//! println!("Infusionsoft at {}", running.url());
//! # Ok(()) }
//! ```

mod engine;
mod infusionsoft;
pub mod salesforce;

use axum::Router;

pub use engine::faults::FaultKind;
pub use engine::server::{RunningSimulator, serve};
pub use engine::settings::{ClientApp, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
pub use engine::sim::{RequestRecord, Simulator};
pub use infusionsoft::config::Config;
pub use infusionsoft::consent_code;
pub use infusionsoft::resources::Kind;

/// The Infusionsoft simulator's settings (also at the crate root).
pub mod config {
    pub use crate::engine::settings::{ClientApp, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
    pub use crate::infusionsoft::config::Config;
}

/// Every route of the simulator, ready to serve.
pub fn router(sim: Simulator) -> Router {
    sim.router()
}
