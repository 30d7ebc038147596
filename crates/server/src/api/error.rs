//! API errors and the request context around every request.
//!
//! Every error leaves as `{"requestId", "message", "providerMessage"?}` with the right status,
//! and the same request id is on the request's log line and in the `x-request-id` header, so a
//! user's bug report leads straight to the log. Handlers return [`ApiError`]; it travels in a
//! response extension to [`request_context`], which knows the request id and writes the body.
//! Responses made by the framework itself (an unknown method, a body over the limit) are turned
//! into the same shape there too. Internal errors show an opaque message; their detail is
//! logged only.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use serde_json::json;
use tracing::Instrument;

use crate::services::error::{ProviderFailure, ServiceError};

/// An error a handler answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    Gone(String),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    /// The request body did not arrive within `TRIBUTARY_BODY_TIMEOUT`.
    RequestTimeout(String),
    /// The provider refused (`status` 400) or failed (502); `provider` is its own message.
    Provider {
        status: StatusCode,
        message: String,
        provider: String,
    },
    Unavailable(String),
    /// A bug or a broken dependency: the client sees an opaque message, the log the detail.
    Internal(String),
}

/// What [`request_context`] needs to write an error body.
#[derive(Debug, Clone)]
struct ErrorPayload {
    message: String,
    provider_message: Option<String>,
    internal_detail: Option<String>,
}

impl ApiError {
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(detail.to_string())
    }

    /// A request body that did not arrive in time (`TRIBUTARY_BODY_TIMEOUT`).
    pub fn body_timed_out(waited: std::time::Duration) -> ApiError {
        ApiError::RequestTimeout(format!(
            "the request body did not arrive within {}",
            crate::settings::format_duration(waited)
        ))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Provider { status, .. } => *status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The status of each service error; a provider's own 4xx status is kept.
impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidInstance(_) | ServiceError::BadInput(_) => {
                ApiError::BadRequest(error.to_string())
            }
            ServiceError::Unauthorized(message) => ApiError::Unauthorized(message),
            ServiceError::Forbidden(message) => ApiError::Forbidden(message),
            ServiceError::NotFound(message) => ApiError::NotFound(message),
            ServiceError::Conflict(message) => ApiError::Conflict(message),
            ServiceError::Gone(message) => ApiError::Gone(message),
            ServiceError::TooLarge(message) => ApiError::PayloadTooLarge(message),
            ServiceError::Provider {
                failure,
                message,
                provider,
            } => ApiError::Provider {
                status: match failure {
                    ProviderFailure::Refused { status: None } => StatusCode::BAD_REQUEST,
                    ProviderFailure::Refused {
                        status: Some(status),
                    } => StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    ProviderFailure::Unauthorized => StatusCode::UNAUTHORIZED,
                    ProviderFailure::Failed => StatusCode::BAD_GATEWAY,
                },
                message,
                provider,
            },
            ServiceError::Unavailable(message) => ApiError::Unavailable(message),
            ServiceError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<tributary_store::StoreError> for ApiError {
    fn from(error: tributary_store::StoreError) -> Self {
        match error {
            tributary_store::StoreError::Unavailable(_) => {
                ApiError::Unavailable("the database is unavailable; try again shortly".into())
            }
            tributary_store::StoreError::InvalidInput(message) => {
                ApiError::BadRequest(format!("a value cannot be stored: {message}"))
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let payload = match self {
            ApiError::Provider {
                message, provider, ..
            } => ErrorPayload {
                message,
                provider_message: Some(provider),
                internal_detail: None,
            },
            ApiError::Internal(detail) => ErrorPayload {
                message: "internal error; the request id leads to the details in the server log"
                    .into(),
                provider_message: None,
                internal_detail: Some(detail),
            },
            ApiError::BadRequest(message)
            | ApiError::Unauthorized(message)
            | ApiError::Forbidden(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::Gone(message)
            | ApiError::PayloadTooLarge(message)
            | ApiError::UnsupportedMediaType(message)
            | ApiError::RequestTimeout(message)
            | ApiError::Unavailable(message) => ErrorPayload {
                message,
                provider_message: None,
                internal_detail: None,
            },
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(payload);
        response
    }
}

/// The id of the request being served, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives each request an id, logs it, and writes every error body.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let id = new_request_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    // The path only: query strings may carry authorization codes.
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let payload = response.extensions_mut().remove::<ErrorPayload>();
    let payload = match payload {
        Some(payload) => Some(payload),
        None if status.is_client_error() || status.is_server_error() => {
            // A response the framework made: no JSON yet. (JSON is ours already; HTML is a UI
            // page, which says what went wrong in its own words.)
            let finished = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| {
                    v.as_bytes().starts_with(b"application/json")
                        || v.as_bytes().starts_with(b"text/html")
                });
            (!finished).then(|| ErrorPayload {
                message: framework_message(status, &method, &path),
                provider_message: None,
                internal_detail: None,
            })
        }
        None => None,
    };
    let _entered = span.enter();
    if let Some(payload) = payload {
        let mut body = json!({"requestId": id, "message": payload.message});
        if let Some(provider) = &payload.provider_message {
            body["providerMessage"] = json!(provider);
        }
        if let Some(detail) = &payload.internal_detail {
            tracing::error!(status = status.as_u16(), %detail, "internal error");
        } else {
            tracing::info!(status = status.as_u16(), reason = %payload.message, "request refused");
        }
        let headers = std::mem::take(response.headers_mut());
        response = (status, axum::Json(body)).into_response();
        for (name, value) in headers.iter() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    tracing::info!(
        status = status.as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn framework_message(status: StatusCode, method: &axum::http::Method, path: &str) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed on {path}"),
        StatusCode::NOT_FOUND => format!("no such resource: {path}"),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".into(),
        other => other
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_owned(),
    }
}

/// The fallback for unknown routes.
pub async fn not_found(request: Request<Body>) -> ApiError {
    ApiError::NotFound(format!("no such resource: {}", request.uri().path()))
}
