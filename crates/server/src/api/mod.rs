//! The HTTP API under `/elements/api-v2`, one router per resource, plus the operations routes.
//!
//! Each handler is an adapter: it reads the request into a service's typed input
//! ([`crate::services`]), calls the service, and renders the answer as Cloud Elements does, as
//! a typed `*Out` that the OpenAPI document's schema is derived from ([`openapi`]);
//! [`error::ApiError`] is the one place a service error becomes an HTTP status. Every route is
//! registered with `routes!`, which documents it as it routes it.

pub mod analytics;
pub mod elements;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod hooks;
pub mod hub;
pub mod instances;
pub mod nul;
pub mod openapi;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Where the API is mounted.
pub const BASE: &str = "/elements/api-v2";

/// The API's routes (mounted under [`BASE`] by [`documented`]).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(elements::router())
        .merge(instances::router())
        .merge(hub::router())
        .merge(events::router())
        .merge(hooks::router())
        .merge(analytics::router())
}

/// Every documented route: the API under [`BASE`] and the operations routes, with the
/// document that describes them.
pub fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::Frame::openapi())
        .nest(BASE, routes())
        .merge(health::router())
}

/// The OpenAPI document of every route.
pub fn document() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}
