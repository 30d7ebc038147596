//! The service layer: what Tributary does for a user, with typed inputs and one error type
//! ([`error::ServiceError`]), called by the API (`api/`, JSON over HTTP) and the web UI (`ui/`,
//! forms and pages) alike, so both get the same checks and the same words. Services call the
//! store, the provider clients and the poller; they never call the API or the UI.
//!
//! - [`instances`]: create, replace, patch, delete, show, list, configuration entries.
//! - [`connect`]: consent URLs, the exchange of an authorization code, the UI's waiting Connect.
//! - [`events`]: poll now, the pollers view, the event log, one entry of it (by any id a
//!   notification carries) with its attempts, redeliver, recover, resume.
//! - [`analytics`]: the event log counted per interval, instance and account.
//! - [`activity`]: the last two days hour by hour (events per resource, delivery outcomes and
//!   latency), for the web UI's plots.
//! - [`hooks`]: webhook deliveries received (handshake, stored ids) and subscriptions shown.
//! - [`hub`]: hub calls (list, get) and the one reading of a hub query string that the poller
//!   shares.

pub mod activity;
pub mod analytics;
pub mod connect;
pub mod elements;
pub mod error;
pub mod events;
pub mod hooks;
pub mod hub;
pub mod instances;
