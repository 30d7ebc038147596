//! Faithful stand-ins for the SaaS APIs Tributary polls, quirks included.
//!
//! No machine here reaches the real providers, so every integration test, the demo and the
//! benchmarks talk to these simulators over real HTTP. Each must behave like its provider — odd
//! paging links, second-rounded dates, rotating refresh tokens, throttles, REST hooks — so that
//! what passes against it has a good chance against the real thing.
//!
//! A tour of the modules:
//! - `engine`: what every provider shares — tenants and records (ids, created and updated
//!   times, versions, deletions and soft deletes with their times), the injected clock and its offset, faults,
//!   activity and bursts, the state export, the request log, OAuth grants (consent page, codes,
//!   tokens, expiry, rotation, revocation), budgets and the concurrency limit, the `/_sim` control
//!   API (with `/_sim/hold`, which keeps requests in flight for tests), and the accept loop
//!   ([`RunningSimulator`]). It names no provider. A provider plugs in through two traits:
//!   `engine::provider::Provider` (its resources and data, how it words errors and limits, its
//!   OAuth words and token response) and `engine::sim::Serve` (its routes and background tasks).
//! - `infusionsoft`: the Infusionsoft (Keap) REST API — the nine v1 resources, paging quirks,
//!   throttle headers, REST hooks. Contract: `shared/spec/infusionsoft-simulator.md`; sources:
//!   `shared/research/infusionsoft.md`. [`Simulator::new`] and [`consent_code`] are its.
//! - [`salesforce`]: the Salesforce REST API — the web-server flow, sessions, SOQL with locator
//!   paging, five SObjects, getUpdated/getDeleted, the daily allocation. Sources:
//!   `shared/research/providers.md` §2. Start one with [`salesforce::start`].
//! - [`hubspot`]: the HubSpot CRM v3 API — 30-minute tokens, four objects, search with its
//!   10,000-result cap and index lag, archives, the ten-secondly and search limits. Sources:
//!   `providers.md` §3. Start one with [`hubspot::start`].
//! - [`quickbooks`]: the QuickBooks Online Accounting API — `realmId` on the consent redirect,
//!   CDC with its silent 1,000-object cap, the query language, local-offset dates, per-realm
//!   limits (one of them on concurrency), Faults. Sources: `providers.md` §4. Start one with
//!   [`quickbooks::start`].
//!
//! - [`generic`]: a provider played from plain data ([`generic::Spec`]) — what `tributary
//!   simulate --element FILE` serves from an element definition (the `tools` crate translates
//!   the definition; this crate knows none). Start one with [`generic::start`].
//!
//! A new provider is one more module beside these: a `Config` that turns into the engine's
//! settings, a `Provider` and `Serve` implementation, and a constructor such as
//! [`salesforce::simulator`].
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
pub mod generic;
pub mod hubspot;
mod infusionsoft;
pub mod quickbooks;
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
