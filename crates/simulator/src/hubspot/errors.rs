//! HubSpot's error bodies (`shared/research/providers.md` §3.8): the spec's `Error` —
//! `{"status": "error", "message", "correlationId", "category", "subCategory"?, "context"?,
//! "errors"?}` — and the two 429 bodies of §3.7, whose `policyName` or `message` tells a client
//! which limit it met.
//!
//! Choices where undocumented: an unknown object or record is 404 `OBJECT_NOT_FOUND`; a missing
//! or unknown token is 401 `INVALID_AUTHENTICATION`; a bad request names what is wrong in
//! `message` (`VALIDATION_ERROR`), except paging past the 10,000th search result, which gets
//! HubSpot's bare "There was a problem with the request."; the secondly (search) 429 carries no
//! `policyName`, since HubSpot's SDK tells it by its message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Map, Value, json};

/// A refused API request. Small to return through `?`; becomes its response only at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct HsError {
    pub status: StatusCode,
    pub category: &'static str,
    pub message: String,
    /// `context`, `errors`, `subCategory` when the error has them.
    pub extra: Map<String, Value>,
}

/// A fresh `correlationId`: a random UUID (version 4 layout).
pub fn correlation_id() -> String {
    let bits: u128 = rand::rng().random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl HsError {
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> HsError {
        HsError {
            status,
            category,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn validation(message: impl Into<String>) -> HsError {
        HsError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> HsError {
        HsError::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    /// 401 for a missing or unknown token.
    pub fn invalid_authentication(missing: bool) -> HsError {
        let message = if missing {
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
        } else {
            "Authentication credentials are invalid: the OAuth token is not recognized"
        };
        HsError::new(StatusCode::UNAUTHORIZED, "INVALID_AUTHENTICATION", message)
    }

    /// 401 for a token that expired `ago_ms` ago, at `expired_at` (ISO).
    pub fn expired(ago_ms: i64, expired_at: &str) -> HsError {
        HsError::new(
            StatusCode::UNAUTHORIZED,
            "EXPIRED_AUTHENTICATION",
            format!(
                "The OAuth token used to make this call expired {} second(s) ago.",
                ago_ms.max(0) / 1000
            ),
        )
        .with("context", json!({"expire time": [expired_at]}))
    }

    pub fn with(mut self, key: &str, value: Value) -> HsError {
        self.extra.insert(key.to_owned(), value);
        self
    }
}

impl IntoResponse for HsError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("status".into(), "error".into());
        body.insert("message".into(), self.message.into());
        body.insert("correlationId".into(), correlation_id().into());
        body.insert("category".into(), self.category.into());
        body.extend(self.extra);
        (self.status, axum::Json(Value::Object(body))).into_response()
    }
}

/// The 429 of the ten-secondly limit (§3.7).
pub fn ten_secondly() -> Response {
    too_many(json!({
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": "TEN_SECONDLY_ROLLING",
    }))
}

/// The 429 of the search limit (§3.7).
pub fn secondly() -> Response {
    too_many(json!({
        "status": "error",
        "message": "You have reached your secondly limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
    }))
}

fn too_many(body: Value) -> Response {
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_look_like_uuids() {
        let id = correlation_id();
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
        assert_ne!(id, correlation_id());
    }
}
