//! Small response and request helpers every part of the engine uses: HTML pages, the control
//! API's `{"message": …}` errors, form and JSON bodies.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// `{"message": …}` with `status`: the control API's error body (and Keap's).
pub fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "message": text.into() }))).into_response()
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

/// The pairs of a query string or form body (the last of repeated names wins), or `None` when
/// it does not parse.
pub fn form_pairs(text: &str) -> Option<HashMap<String, String>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(text)
        .ok()
        .map(|pairs| pairs.into_iter().collect())
}

/// A control request refused: 400 `{"message": …}` naming what is wrong. Small to return
/// through `?`; becomes its response only at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        message(StatusCode::BAD_REQUEST, self.0)
    }
}

/// Parses a control request's JSON body into `T` (an empty body reads as `{}`), or refuses it
/// with serde's description of the problem.
pub fn control_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, BadRequest> {
    let text = if body.is_empty() {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text)
        .map_err(|error| BadRequest(format!("Invalid request body: {error}")))
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
