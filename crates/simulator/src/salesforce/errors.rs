//! Salesforce's error bodies: always a JSON array of `{message, errorCode, fields?}`
//! (`shared/research/providers.md` §2.8), with the status telling the class and `errorCode`
//! the cause (a 403 is a spent quota or a missing permission; only the code says which).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refused API request. Small to return through `?`; becomes its response only at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The fields the error is about (`REQUIRED_FIELD_MISSING`), when any.
    pub fields: Vec<String>,
}

impl SfError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> SfError {
        SfError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> SfError {
        SfError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found() -> SfError {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub fn session() -> SfError {
        SfError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    pub fn quota() -> SfError {
        SfError::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    }

    pub fn malformed_query(message: impl Into<String>) -> SfError {
        SfError::bad_request("MALFORMED_QUERY", message)
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> SfError {
        self.fields = fields;
        self
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        let mut body = json!({"message": self.message, "errorCode": self.code});
        if !self.fields.is_empty()
            && let Some(map) = body.as_object_mut()
        {
            map.insert("fields".into(), self.fields.into());
        }
        (self.status, axum::Json(json!([body]))).into_response()
    }
}
