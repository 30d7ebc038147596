//! The engine every simulated provider runs on: tenants and records, the injected clock and its
//! offset, faults, activity, the state export, the request log, OAuth grants, budgets, the
//! control API and the accept loop. A provider module adds its own API on top through
//! [`provider::Provider`] and [`sim::Serve`].
//!
//! Nothing here names a provider: files import from one another (never from this `mod.rs`),
//! from the bottom up — `records`, `throttle`, `settings`, `dates`, `http`, `faults`, then
//! `provider`, then `sim`, then what serves and controls a `Simulator` (`inflight` among them).

pub(crate) mod activity;
pub(crate) mod control;
pub(crate) mod dates;
pub(crate) mod faults;
pub(crate) mod gateway;
pub(crate) mod http;
pub(crate) mod inflight;
pub(crate) mod oauth;
pub(crate) mod provider;
pub(crate) mod records;
pub(crate) mod server;
pub(crate) mod settings;
pub(crate) mod sim;
pub(crate) mod throttle;
