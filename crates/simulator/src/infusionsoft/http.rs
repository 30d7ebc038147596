//! Keap's answers: the v1 API's `{"message": …}` errors (the same shape as the control API's,
//! so `message` is shared), the gateway's 401 and 429 bodies, and the HTML pages of its front
//! ends.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::engine::http::{html, message};

/// The gateway's 429 body (`code` is a string on the real API).
pub fn throttled_body() -> Value {
    json!({"code": "429", "message": "Quota Exceeded", "status": "Request Throttled",
           "details": null})
}

/// The Apigee-style 401 body for a missing, unknown or expired token.
pub fn unauthorized(expired: bool) -> Response {
    let (text, code) = if expired {
        (
            "Access Token expired",
            "keymanagement.service.access_token_expired",
        )
    } else {
        (
            "Invalid Access Token",
            "keymanagement.service.invalid_access_token",
        )
    };
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"fault": {"faultstring": text, "detail": {"errorcode": code}}})),
    )
        .into_response()
}

/// The "Keap - Page Not Found" page the real gateway answers for unknown URLs.
pub fn not_found_page() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Keap - Page Not Found</title></head>\n<body><h1>Page Not Found</h1>\
         <p>The page you are looking for could not be found.</p></body></html>\n"
            .to_owned(),
    )
}

/// Google's front-end error page, as seen for a GET with a body (400) and for 5xx from the
/// load balancer.
pub fn front_end_error(status: StatusCode) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail = if code == 400 {
        "Your client has issued a malformed or illegal request."
    } else {
        "The server encountered a temporary error and could not complete your request."
    };
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html lang=en>\n<meta charset=utf-8>\n\
             <title>Error {code} ({reason})!!1</title>\n\
             <p><b>{code}.</b> <ins>That’s an error.</ins>\n<p>{detail} <ins>That’s all we know.</ins>\n"
        ),
    )
}

/// A refused request. Small to return through `?`; becomes its response only at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// `{"message": …}` with a status.
    Message(StatusCode, String),
    /// The gateway's HTML "Page Not Found".
    NotFoundPage,
}

impl Reject {
    pub fn bad_request(text: impl Into<String>) -> Reject {
        Reject::Message(StatusCode::BAD_REQUEST, text.into())
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Reject::Message(status, text) => message(status, text),
            Reject::NotFoundPage => not_found_page(),
        }
    }
}

/// Parses a JSON request body, or refuses it with a 400 naming the problem.
pub fn json_body(bytes: &[u8]) -> Result<Value, Reject> {
    serde_json::from_slice(bytes)
        .map_err(|error| Reject::bad_request(format!("Request body is not valid JSON: {error}")))
}
