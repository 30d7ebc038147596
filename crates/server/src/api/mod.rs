//! The HTTP API under `/elements/api-v2`, one router per resource, plus the operations routes.
//!
//! Each handler is an adapter: it reads the request into a service's typed input
//! ([`crate::services`]), calls the service, and renders the answer as Cloud Elements does;
//! [`error::ApiError`] is the one place a service error becomes an HTTP status.

pub mod analytics;
pub mod elements;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod hub;
pub mod instances;
pub mod nul;

use axum::Router;

use crate::state::AppState;

/// The API's routes (mounted under `/elements/api-v2` by `app::router`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(elements::router())
        .merge(instances::router())
        .merge(hub::router())
        .merge(events::router())
        .merge(analytics::router())
}
