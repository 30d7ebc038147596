//! Response helpers shared by the routes: the real API's error bodies and HTML pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `{"message": …}` with `status`, the body the v1 API uses for 400s and 404s.
pub fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": text.into() }))).into_response()
}

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

/// An HTML page with `status`.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
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

/// Escapes text for an HTML element or a double-quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_covers_markup_and_both_quote_kinds() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
