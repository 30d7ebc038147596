//! The HTTP API under `/elements/api-v2`, one router per resource, plus the operations routes.

pub mod elements;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod hub;
pub mod instances;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn;

use crate::app::AppState;

/// Every route, with the request context (ids, logs, error bodies) around them.
pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let api = Router::new()
        .merge(elements::router())
        .merge(instances::router())
        .merge(hub::router())
        .merge(events::router());
    // A worker-only node answers the operations routes alone.
    let public = if state.settings.roles.api {
        Router::new()
            .nest("/elements/api-v2", api)
            .merge(crate::ui::router())
    } else {
        Router::new()
    };
    Router::new()
        .merge(public)
        .merge(health::router())
        .fallback(error::not_found)
        // Slightly above the limit, so the JSON extractor can name the limit itself.
        .layer(DefaultBodyLimit::max(limit + 1))
        .layer(from_fn(error::request_context))
        .with_state(state)
}
