//! What Keap's API gateway does that the engine's does not: the `X-Keap-API-Key` header beside
//! the bearer token, the Google front end's refusal of a GET with a body, and the `x-keap-*`
//! usage headers on every response.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::engine::throttle::Usage;

/// The access token or API key a request carries.
pub fn credential(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-keap-api-key").and_then(|v| v.to_str().ok()))
        .map(|token| token.trim().to_owned())
}

/// `token` for `/token`, the first path segment after `/crm/rest/v1/` otherwise.
pub fn resource_of(path: &str) -> Option<&str> {
    if path == "/token" {
        return Some("token");
    }
    path.strip_prefix("/crm/rest/v1/")
        .and_then(|rest| rest.split('/').next())
        .filter(|segment| !segment.is_empty())
}

/// Whether a request carries a body (the front end refuses a GET that does).
pub fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    length > 0 || headers.contains_key(header::TRANSFER_ENCODING)
}

/// The `x-keap-*` headers of a real response (names and units from the captured sample).
pub fn throttle_headers(headers: &mut HeaderMap, app: &Usage, tenant: &Usage, tenant_id: &str) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put(
        "x-keap-product-throttle-limit",
        app.window_limit.to_string(),
    );
    put("x-keap-product-throttle-time-unit", "minute".into());
    put("x-keap-product-throttle-interval", "1".into());
    put(
        "x-keap-product-throttle-available",
        app.window_available().to_string(),
    );
    put("x-keap-product-throttle-used", app.window_used.to_string());
    put("x-keap-product-quota-limit", app.day_limit.to_string());
    put("x-keap-product-quota-time-unit", "day".into());
    put("x-keap-product-quota-interval", "1".into());
    put(
        "x-keap-product-quota-available",
        app.day_available().to_string(),
    );
    put("x-keap-product-quota-used", app.day_used.to_string());
    put(
        "x-keap-product-quota-expiry-time",
        app.day_expiry_ms.to_string(),
    );
    put("x-keap-tenant-id", tenant_id.to_owned());
    put(
        "x-keap-tenant-throttle-limit",
        tenant.window_limit.to_string(),
    );
    put("x-keap-tenant-throttle-time-unit", "minute".into());
    put("x-keap-tenant-throttle-interval", "1".into());
    put(
        "x-keap-tenant-throttle-available",
        tenant.window_available().to_string(),
    );
    put(
        "x-keap-tenant-throttle-used",
        tenant.window_used.to_string(),
    );
    put("via", "1.1 google".into());
}
