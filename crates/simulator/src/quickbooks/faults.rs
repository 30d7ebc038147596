//! QuickBooks' error bodies (`shared/research/providers.md` §4.7, §4.8): the JSON Fault
//! `{"Fault": {"Error": [{"Message", "Detail", "code", "element"?}], "type"}, "time"?}` — with
//! its mixed casing — the lowercase `fault` of a 401, the 429 of Fault 3001, and the Fault that
//! arrives inside an HTTP 200.
//!
//! Choices where undocumented (the codes are Intuit's where the research names one): a request
//! problem — a missing or old `minorversion`, an unknown or unsupported CDC entity, a bad or
//! too-old `changedSince`, a missing `Accept: application/json`, an unknown field, a delete of a
//! list entity — is 400 `ValidationFault` code 2010 with the detail naming it; a missing required
//! field 2020; an unknown id 610 (also 400, as QuickBooks answers); a stale `SyncToken` 5010; a
//! query that does not parse 4000 `QueryParserError`, one naming an unknown entity or property
//! 4001 `QueryValidationError`; a token of another company 403 `AuthorizationFault` 3100; the
//! Fault inside a 200 a `SystemFault` 10000.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A refused request. Small to return through `?` (the texts are boxed); becomes its response
/// only at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QboFault {
    pub status: StatusCode,
    /// `ValidationFault`, `SystemFault`, `AuthorizationFault`, `SERVICE`.
    pub kind: &'static str,
    pub code: &'static str,
    texts: Box<Texts>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Texts {
    message: String,
    detail: String,
    element: Option<String>,
    /// The response's `time` in the company's offset, when the company is known.
    time: Option<String>,
}

impl QboFault {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
        detail: impl Into<String>,
    ) -> QboFault {
        QboFault {
            status,
            kind,
            code,
            texts: Box::new(Texts {
                message: message.into(),
                detail: detail.into(),
                element: None,
                time: None,
            }),
        }
    }

    /// 400 `ValidationFault` 2010: something of the request is wrong; `detail` says what.
    pub fn invalid(detail: impl Into<String>) -> QboFault {
        QboFault::new(
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "2010",
            "Request has invalid or unsupported property",
            detail,
        )
    }

    pub fn required(field: &str) -> QboFault {
        QboFault::new(
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "2020",
            "Required param missing, need to supply the required value for the API",
            format!("Required parameter {field} is missing in the request"),
        )
        .element(field)
    }

    pub fn not_found(entity: &str, id: &str) -> QboFault {
        QboFault::new(
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "610",
            "Object Not Found",
            format!(
                "Object Not Found : Something you're trying to use has been made inactive. \
                 Check the fields with accounts, customers, items, vendors or employees. \
                 ({entity} {id})"
            ),
        )
    }

    pub fn stale(entity: &str) -> QboFault {
        QboFault::new(
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "5010",
            "Stale Object Error",
            format!(
                "Stale Object Error : You and someone else were working on this {entity} at \
                 the same time; they finished first, so your work was not saved."
            ),
        )
    }

    pub fn parse_error(detail: impl Into<String>) -> QboFault {
        QboFault::new(
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "4000",
            "Error parsing query",
            format!("QueryParserError: {}", detail.into()),
        )
    }

    pub fn query_invalid(detail: impl Into<String>) -> QboFault {
        QboFault::new(
            StatusCode::BAD_REQUEST,
            "ValidationFault",
            "4001",
            "Invalid query",
            format!("QueryValidationError: {}", detail.into()),
        )
    }

    pub fn other_company() -> QboFault {
        QboFault::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFault",
            "3100",
            "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
            "The token does not give access to this company (realmId)",
        )
    }

    /// The Fault QuickBooks sometimes answers with HTTP 200 (§4.8).
    pub fn in_200() -> QboFault {
        QboFault::new(
            StatusCode::OK,
            "SystemFault",
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: a simulated fault answered with HTTP 200",
        )
    }

    pub fn element(mut self, element: &str) -> QboFault {
        self.texts.element = Some(element.to_owned());
        self
    }

    /// Dates the body with the response's `time`.
    pub fn at(mut self, time: String) -> QboFault {
        self.texts.time = Some(time);
        self
    }
}

impl IntoResponse for QboFault {
    fn into_response(self) -> Response {
        let Texts {
            message,
            detail,
            element,
            time,
        } = *self.texts;
        let mut error = Map::new();
        error.insert("Message".into(), message.into());
        error.insert("Detail".into(), detail.into());
        error.insert("code".into(), self.code.into());
        error.insert("element".into(), element.unwrap_or_default().into());
        let mut body = json!({"Fault": {"Error": [error], "type": self.kind}});
        if let (Some(time), Some(map)) = (time, body.as_object_mut()) {
            map.insert("time".into(), time.into());
        }
        json_response(self.status, body)
    }
}

/// JSON with QuickBooks' content type.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

/// The 401 with the lowercase `fault` body (§4.8).
pub fn unauthorized(detail: &str) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        json!({"fault": {"error": [{
            "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
            "detail": detail,
            "code": "3200",
        }], "type": "AUTHENTICATION"}}),
    )
}

/// The 429 of Fault 3001 (§4.7).
pub fn throttled() -> Response {
    json_response(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"Fault": {"Error": [{
            "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "Detail": "The request limit was reached. Wait 60 seconds before retrying.",
            "code": "3001",
        }], "type": "SERVICE"}}),
    )
}
