//! `GET /openapi.json`: the OpenAPI 3.1 document of every route of the API and the operations
//! routes, generated from the code by `utoipa`.
//!
//! Why it cannot drift: every route is registered through `utoipa_axum`'s `routes!`, which
//! takes the path and method from the handler's own `#[utoipa::path]` and adds it to the
//! router and to the document in one step; the response schemas are derived from the very
//! types the handlers serialize (`*Out`), and the request schemas from the types next to the
//! readers of the bodies (`*In`). A test compares the document's operations with the routes
//! the router answers, and schemathesis checks in CI that real answers match their schemas.

use axum::Extension;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error: the request's id (also the `x-request-id` header and on the log line), what is
/// wrong, and the provider's own words when a provider refused or failed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub request_id: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_message: Option<String>,
}

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusOut {
    pub status: String,
}

/// The document's frame: title, version, the authentication schemes.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Tributary",
        description = "Reliable, signed webhooks for SaaS APIs that cannot push: the Cloud \
                       Elements-compatible platform API (instances, elements, the hub, the \
                       event log) under /elements/api-v2, and the operations routes.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody)),
    modifiers(&Authentication),
    security(("organization" = [])),
)]
pub struct Frame;

/// The `Authorization` header's two forms: an organization's user (`User <userSecret>,
/// Organization <organizationSecret>`, optionally `, Element <instanceToken>` for the
/// token-scoped calls) and a hub call (`User <userSecret>, Element <instanceToken>`).
struct Authentication;

impl Modify for Authentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "organization",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "User <userSecret>, Organization <organizationSecret>[, Element <instanceToken>]",
            ))),
        );
        components.add_security_scheme(
            "hub",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "User <userSecret>, Element <instanceToken>[, Organization <organizationSecret>]",
            ))),
        );
    }
}

/// The document as served, written once when the router is built.
#[derive(Debug, Clone)]
pub struct Document(pub std::sync::Arc<String>);

impl Document {
    pub fn new(openapi: &utoipa::openapi::OpenApi) -> Document {
        Document(std::sync::Arc::new(
            openapi.to_json().unwrap_or_else(|_| "{}".to_owned()),
        ))
    }
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "This document (OpenAPI 3.1).", body = Object),
    )
)]
pub async fn openapi_json(Extension(document): Extension<Document>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.0.as_str().to_owned(),
    )
        .into_response()
}
