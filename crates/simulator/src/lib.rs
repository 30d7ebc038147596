//! A faithful stand-in for the Infusionsoft (Keap) REST API, quirks included.
//!
//! No machine here reaches the real Infusionsoft, so every integration test, the demo and the
//! benchmarks talk to this simulator over real HTTP. It must behave like the provider — odd
//! paging links, second-rounded dates, rotating refresh tokens, throttles, REST hooks — so that
//! what passes against it has a good chance against the real thing. The contract is
//! `shared/spec/infusionsoft-simulator.md`; every quirk is sourced in
//! `shared/research/infusionsoft.md`.
//!
//! A tour of the modules:
//! - [`config`]: the flags and their real-API defaults.
//! - `sim`: the state behind one mutex — tenants, records, grants, budgets, faults, the log.
//! - `resources`: the nine resources as data — names, date styles, filters, orderings.
//! - `oauth`: the consent page, codes and `/token`.
//! - `gateway`: the request log, injected faults, authentication and throttling.
//! - `api`: list/get/create/patch/delete of records.
//! - `hooks`: REST hook subscriptions, verification and batched delivery.
//! - `control`: the `/_sim` control API (faults, clock, activity, state, request log, tokens).
//! - `server`: the accept loop, and [`RunningSimulator`] for tests.
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

mod api;
pub mod config;
mod control;
mod faults;
mod gateway;
mod hooks;
mod http;
mod oauth;
mod resources;
mod seed;
mod server;
mod sim;
mod throttle;

use axum::Router;
use axum::middleware::from_fn_with_state;

pub use config::{ClientApp, Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
pub use faults::FaultKind;
pub use resources::Kind;
pub use server::{RunningSimulator, consent_code, serve};
pub use sim::{RequestRecord, Simulator};

/// Every route of the simulator, ready to serve.
pub fn router(sim: Simulator) -> Router {
    let crm = api::router()
        .merge(hooks::router())
        .layer(from_fn_with_state(sim.clone(), gateway::authenticate));
    let provider = Router::new()
        .nest("/crm/rest/v1", crm)
        .merge(oauth::token_router())
        .layer(from_fn_with_state(sim.clone(), gateway::gateway));
    Router::new()
        .merge(provider)
        .merge(oauth::consent_router())
        .merge(control::router())
        .fallback(|| async { http::not_found_page() })
        .with_state(sim)
}
