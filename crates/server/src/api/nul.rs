//! NUL characters are refused at the edge, in one place per kind of input: the path and the
//! query string and UI form bodies ([`refuse_nul`], a middleware around every route), and JSON
//! bodies at any depth ([`json_nul`], called by the JSON extractor).
//!
//! Why: PostgreSQL's text cannot hold `\0` (SQLite's can), so a NUL that reached the store was
//! a 500 on one backend and accepted on the other. No field of ours has a use for it, so every
//! text input refuses it alike with a 400 that names the field, before any handler runs.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api::error::ApiError;
use crate::state::AppState;

/// Refuses a request whose path, query string or form body holds a NUL, naming where.
pub async fn refuse_nul(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(problem) = uri_nul(request.uri()) {
        return ApiError::BadRequest(problem).into_response();
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return next.run(request).await;
    }
    // Forms are the UI's small bodies: read them here, look, and hand the same bytes on.
    let limit = state.settings.max_body_bytes;
    let (parts, body) = request.into_parts();
    let waited = state.settings.body_timeout;
    let bytes = match tokio::time::timeout(waited, to_bytes(body, limit)).await {
        Err(_) => return ApiError::body_timed_out(waited).into_response(),
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return ApiError::PayloadTooLarge(format!(
                "the form is larger than {limit} bytes or was cut short"
            ))
            .into_response();
        }
    };
    if let Some(problem) = pairs_nul(&bytes, "the form field") {
        return ApiError::BadRequest(problem).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Where a URI holds a NUL: a path segment or a query parameter (a raw NUL cannot be in a URI,
/// so only `%00` can carry one).
fn uri_nul(uri: &axum::http::Uri) -> Option<String> {
    if let Some(segment) = uri.path().split('/').find(|s| s.contains("%00")) {
        return Some(format!(
            "the path segment {segment:?} contains a NUL character (%00), which no text here may hold"
        ));
    }
    uri.query()
        .filter(|q| q.contains("%00"))
        .and_then(|q| pairs_nul(q.as_bytes(), "the query parameter"))
}

/// The first `application/x-www-form-urlencoded` pair holding a NUL, named.
fn pairs_nul(encoded: &[u8], what: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded).ok()?;
    pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| {
            format!(
                "{what} {:?} contains a NUL character, which no text here may hold",
                k.replace('\0', "\\u0000")
            )
        })
}

/// The first string or key holding a NUL in a JSON value, named by its path (`name`,
/// `configuration.event.notification.callback.url`, `tags[2]`), as the message of a 400.
pub fn json_nul(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(s) if s.contains('\0') => Some(path.to_owned()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if path.is_empty() {
                    k.replace('\0', "\\u0000")
                } else {
                    format!("{path}.{}", k.replace('\0', "\\u0000"))
                };
                if k.contains('\0') {
                    Some(here)
                } else {
                    walk(v, &here)
                }
            }),
            _ => None,
        }
    }
    walk(value, "").map(|path| {
        let path = if path.is_empty() {
            "the body".to_owned()
        } else {
            format!("`{path}`")
        };
        format!("{path} contains a NUL character (\\u0000), which no text here may hold")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_named_by_where_it_is() {
        let uri: axum::http::Uri = "/e/instances/events/a%00b?x=1".parse().unwrap_or_default();
        assert!(uri_nul(&uri).is_some_and(|m| m.contains("\"a%00b\"")));
        let uri: axum::http::Uri = "/e/events?pageSize=1&objectType=a%00b"
            .parse()
            .unwrap_or_default();
        assert!(uri_nul(&uri).is_some_and(|m| m.contains("\"objectType\"")));
        let uri: axum::http::Uri = "/e/events?objectType=a%2500b".parse().unwrap_or_default();
        assert_eq!(uri_nul(&uri), None, "an encoded percent sign is no NUL");
        let body = serde_json::json!({"name": "ok", "configuration": {"a.b": ["x", "y\u{0}"]}});
        assert!(json_nul(&body).is_some_and(|m| m.starts_with("`configuration.a.b[1]`")));
        let body = serde_json::json!({"tags": {"k\u{0}": 1}});
        assert!(json_nul(&body).is_some_and(|m| m.starts_with("`tags.k\\u0000`")));
        assert_eq!(json_nul(&serde_json::json!({"name": "fine"})), None);
        assert!(
            pairs_nul(b"csrf=1&name=a%00", "the form field")
                .is_some_and(|m| m.contains("\"name\""))
        );
    }
}
