//! Request extractors with the API's own error messages: the caller's identity from the
//! `Authorization` header (with the instance token of token-scoped calls), JSON bodies, and
//! numeric path ids.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde_json::Value;
use tributary_domain::auth_header::parse_authorization;
use tributary_store::Principal;

use crate::api::error::ApiError;
use crate::secrets::hash_secret;
use crate::state::AppState;

const EXPECTED: &str =
    "expected `Authorization: User <userSecret>, Organization <organizationSecret>`";

/// An authenticated organization user.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub Principal);

/// An authenticated organization user, with the instance token the header names, if any
/// (`Authorization: User …, Organization …, Element <token>`): the token-scoped calls act on
/// that instance.
#[derive(Clone)]
pub struct Scoped {
    pub principal: Principal,
    pub instance_token: Option<String>,
}

impl std::fmt::Debug for Scoped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoped")
            .field("principal", &self.principal)
            .field(
                "instance_token",
                &self.instance_token.as_ref().map(|_| "********"),
            )
            .finish()
    }
}

/// Checks the User and Organization secrets of a request; returns who it is and the Element
/// token it names, if any.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<(Principal, Option<String>), ApiError> {
    let Some(header) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(format!(
            "missing Authorization header; {EXPECTED}"
        )));
    };
    let header = header.to_str().map_err(|_| {
        ApiError::Unauthorized(format!("unreadable Authorization header; {EXPECTED}"))
    })?;
    let presented = parse_authorization(header)
        .map_err(|e| ApiError::Unauthorized(format!("{e}; {EXPECTED}")))?;
    let (Some(user), Some(organization)) = (&presented.user, &presented.organization) else {
        return Err(ApiError::Unauthorized(format!(
            "the Authorization header needs both User and Organization; {EXPECTED}"
        )));
    };
    match state
        .store
        .principal(&hash_secret(organization), &hash_secret(user))
        .await?
    {
        Some(principal) => Ok((principal, presented.element)),
        None => Err(ApiError::Unauthorized(
            "the User or Organization secret is wrong".into(),
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state)
            .await
            .map(|(principal, _)| Caller(principal))
    }
}

impl FromRequestParts<AppState> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (principal, instance_token) = authenticate(parts, state).await?;
        Ok(Scoped {
            principal,
            instance_token,
        })
    }
}

/// The operator, by the administrator secret (`Authorization: Admin <TRIBUTARY_ADMIN_SECRET>`):
/// for calls that act on the whole server, not on one organization. With no secret set, such
/// calls are off (403, saying how to turn them on).
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        use secrecy::ExposeSecret;
        let Some(secret) = &state.settings.admin_secret else {
            return Err(ApiError::Forbidden(
                "administrator calls are off: the operator turns them on by setting                  TRIBUTARY_ADMIN_SECRET (SIGHUP reloads the elements without it)"
                    .into(),
            ));
        };
        const ADMIN: &str = "expected `Authorization: Admin <TRIBUTARY_ADMIN_SECRET>`";
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("admin").then(|| rest.trim())
            })
            .ok_or_else(|| ApiError::Unauthorized(format!("not an administrator; {ADMIN}")))?;
        // Compared as hashes: equal-length digests, so the time taken says nothing of the
        // secret's prefix.
        if hash_secret(presented) != hash_secret(secret.expose_secret()) {
            return Err(ApiError::Unauthorized(
                "the administrator secret is wrong".into(),
            ));
        }
        Ok(Admin)
    }
}

/// A JSON request body, parsed into a `Value` (handlers read fields and name bad ones); a NUL
/// in any string or key is refused here, naming where (`api::nul`).
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.trim().to_ascii_lowercase();
                v.starts_with("application/json")
                    || (v.starts_with("application/") && v.contains("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "the request body must be JSON with Content-Type: application/json".into(),
            ));
        }
        let limit = state.settings.max_body_bytes;
        // Over the limit is a 413; a body that breaks off or is malformed (bad chunked
        // framing) is the client's 400.
        let waited = state.settings.body_timeout;
        let bytes = tokio::time::timeout(waited, Bytes::from_request(request, state))
            .await
            .map_err(|_| ApiError::body_timed_out(waited))?
            .map_err(|rejection| match rejection.status() {
                axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!(
                    "the request body is larger than {limit} bytes"
                )),
                _ => ApiError::BadRequest(format!(
                    "the request body could not be read: {}",
                    rejection.body_text()
                )),
            })?;
        if bytes.len() > limit {
            return Err(ApiError::PayloadTooLarge(format!(
                "the request body is larger than {limit} bytes"
            )));
        }
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::BadRequest(format!("the request body is not valid JSON: {e}"))
        })?;
        match crate::api::nul::json_nul(&value) {
            Some(problem) => Err(ApiError::BadRequest(problem)),
            None => Ok(JsonBody(value)),
        }
    }
}

/// Parses a numeric id from a path segment, naming it when it is not one.
pub fn path_id(what: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("no {what} {text:?}: ids are positive integers")))
}
