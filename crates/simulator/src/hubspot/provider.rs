//! HubSpot on the engine: the [`Provider`] hooks (the four objects and their data, the `Error`
//! bodies, the OAuth words and token response) and the [`Serve`] half (the routes).
//!
//! OAuth as `shared/research/providers.md` §3.2 has it: consent at `/oauth/authorize` (HubSpot's
//! path on `app.hubspot.com`); the token endpoint at both `/oauth/v1/token` and
//! `/oauth/v3/token`, client credentials in the form body; the answer in snake_case —
//! `access_token`, `refresh_token` (in every answer, also a refresh's), `expires_in: 1800`,
//! `token_type: "bearer"`, `token_use: "access_token"`, `hub_id`, `user_id`, `scopes`. Errors
//! carry both the RFC 6749 fields and HubSpot's legacy ones
//! (`{"error", "error_description", "status": "BAD_REFRESH_TOKEN", "message", "correlationId"}`).
//!
//! Choices where undocumented: a refresh token does not rotate (the same one comes back) and
//! lives until revoked; a code lives 10 minutes; HTTP Basic at the token endpoint is not read;
//! without `scope` the consent grants `oauth` and the read scopes of the four objects, and an
//! unknown scope is refused on the consent page; all token errors are 400.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::engine::dates::format_zulu;
use crate::engine::http::html;
use crate::engine::provider::{
    Admission, AuthFailure, GrantedScope, Issued, OAuthStyle, Provider, TokenError,
};
use crate::engine::records::{Deleted, Row, Tenant};
use crate::engine::sim::{Serve, Simulator};
use crate::engine::{activity, control, gateway, oauth};
use crate::hubspot::errors::{self, HsError, correlation_id};
use crate::hubspot::limits::{self, rate_limit_headers};
use crate::hubspot::schema::{NAMES, Object};
use crate::hubspot::state::{Hs, HubSpot};
use crate::hubspot::{data, objects, search};

static OAUTH: OAuthStyle = OAuthStyle {
    authorize_path: "/oauth/authorize",
    token_path: "/oauth/v1/token",
    brand: "HubSpot",
    tenant_label: "HubSpot account",
    denied: "The user denied access to the app",
    basic_auth: false,
};

/// The newer token endpoint, beside the legacy one (§3.2).
pub const TOKEN_V3_PATH: &str = "/oauth/v3/token";

/// Scopes an app may ask for.
const SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "tickets",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
];
const DEFAULT_SCOPE: &str =
    "oauth crm.objects.contacts.read crm.objects.companies.read crm.objects.deals.read tickets";

/// The hub id of account `index`.
pub fn hub_id(index: usize) -> u64 {
    48_120_001 + index as u64
}

impl Provider for HubSpot {
    fn resources(&self) -> &'static [&'static str] {
        &NAMES
    }

    fn active_resources(&self) -> &'static [&'static str] {
        &NAMES
    }

    /// Hub ids: `48120001`, `48120002`, ….
    fn tenant_name(&self, index: usize) -> String {
        hub_id(index).to_string()
    }

    fn seed(&self, tenant: &mut Tenant, rng: &mut StdRng, now_ms: i64) {
        data::seed_account(tenant, rng, self.config.seed, now_ms);
    }

    fn new_fields(
        &self,
        resource: &'static str,
        rng: &mut StdRng,
        _tenant: &Tenant,
        now_ms: i64,
        _linked: bool,
    ) -> Map<String, Value> {
        Object::named(resource)
            .map(|object| data::new_fields(object, rng, now_ms))
            .unwrap_or_default()
    }

    fn edit_fields(&self, resource: &'static str, rng: &mut StdRng) -> Map<String, Value> {
        Object::named(resource)
            .map(|object| data::edit_fields(object, rng))
            .unwrap_or_default()
    }

    fn export_record(
        &self,
        _resource: &'static str,
        _tenant: usize,
        row: &Row,
        out: &mut Map<String, Value>,
    ) {
        out.insert("createdAt".into(), format_zulu(row.created_ms).into());
        out.insert("updatedAt".into(), format_zulu(row.updated_ms).into());
    }

    /// An archive: `archivedAt`, and `updatedAt`, which the archive left alone.
    fn export_deletion(
        &self,
        _resource: &'static str,
        _tenant: usize,
        deleted: &Deleted,
        out: &mut Map<String, Value>,
    ) {
        out.insert("archivedAt".into(), format_zulu(deleted.deleted_ms).into());
        out.insert(
            "updatedAt".into(),
            format_zulu(deleted.row.updated_ms).into(),
        );
        out.insert("kind".into(), "archived".into());
    }

    fn resource_of(&self, path: &str) -> Option<String> {
        if path == OAUTH.token_path || path == TOKEN_V3_PATH {
            return Some("token".into());
        }
        let rest = path.strip_prefix("/crm/v3/objects/").or_else(|| {
            path.strip_prefix("/crm/objects/")?
                .split_once('/')
                .map(|(_, r)| r)
        })?;
        let name = rest.split('/').next()?;
        Object::named(name).map(|object| object.name.to_owned())
    }

    fn fault_targets(&self) -> Vec<&'static str> {
        NAMES.iter().chain(["token"].iter()).copied().collect()
    }

    fn fault_status(&self, status: u16) -> Response {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        match status {
            401 => HsError::invalid_authentication(false).into_response(),
            429 => errors::ten_secondly(),
            _ => HsError::new(
                code,
                "INTERNAL_ERROR",
                format!(
                    "Simulated fault: {}",
                    code.canonical_reason().unwrap_or("error")
                ),
            )
            .into_response(),
        }
    }

    fn fault_html(&self, status: u16) -> Response {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let reason = code.canonical_reason().unwrap_or("Error");
        html(
            code,
            format!(
                "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n<body>\
                 <h1>{status} {reason}</h1><p>cloudflare</p></body></html>\n"
            ),
        )
    }

    fn fault_malformed(&self, _resource: Option<&str>) -> Response {
        let mut response = (
            StatusCode::OK,
            "{\"total\":2,\"results\":[{\"id\":\"51\",\"properties\":{\"createdate\":\"2026-",
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        response
    }

    fn credential(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    }

    /// Used only where the engine refuses a token itself; `limits` words the usual 401s.
    fn unauthorized(&self, failure: AuthFailure) -> Response {
        HsError::invalid_authentication(failure == AuthFailure::Missing).into_response()
    }

    fn limit_headers(&self, headers: &mut HeaderMap, admission: &Admission, _tenant: &str) {
        rate_limit_headers(headers, &admission.tenant);
    }

    fn over_limit(&self, admission: &Admission, _tenant: &str) -> Response {
        let mut response = errors::ten_secondly();
        rate_limit_headers(response.headers_mut(), &admission.tenant);
        response
    }

    fn oauth(&self) -> &OAuthStyle {
        &OAUTH
    }

    fn check_scope(&self, scope: Option<&str>) -> Result<GrantedScope, &'static str> {
        let scope = scope.unwrap_or(DEFAULT_SCOPE);
        let asked: Vec<&str> = scope.split_whitespace().collect();
        if asked.is_empty() || asked.iter().any(|one| !SCOPES.contains(one)) {
            return Err(
                "Authorization failed because there is a mismatch between the scopes \
                        in the install URL and the app's configured scopes",
            );
        }
        Ok(GrantedScope {
            scope: asked.join(" "),
            refresh: true,
        })
    }

    fn token_error(&self, error: TokenError) -> Response {
        let (rfc, legacy, text) = match error {
            TokenError::NotAForm
            | TokenError::MissingGrantType
            | TokenError::UnsupportedGrantType(_) => (
                "unsupported_grant_type",
                "BAD_GRANT_TYPE",
                "grant_type must be authorization_code or refresh_token",
            ),
            TokenError::MissingClient | TokenError::UnknownClient => (
                "invalid_client",
                "BAD_CLIENT_ID",
                "missing or unknown client id",
            ),
            TokenError::WrongSecret => (
                "invalid_client",
                "BAD_CLIENT_SECRET",
                "client secret does not match the client id",
            ),
            TokenError::MissingCode | TokenError::InvalidCode | TokenError::CodeExpired => (
                "invalid_grant",
                "BAD_AUTH_CODE",
                "missing or unknown auth code",
            ),
            TokenError::MissingRedirectUri | TokenError::RedirectMismatch => (
                "invalid_grant",
                "BAD_REDIRECT_URI",
                "redirect_uri does not match the one of the authorization",
            ),
            TokenError::MissingRefreshToken | TokenError::InvalidRefreshToken => (
                "invalid_grant",
                "BAD_REFRESH_TOKEN",
                "refresh token is invalid, expired or revoked",
            ),
        };
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "error": rfc,
                "error_description": text,
                "status": legacy,
                "message": text,
                "correlationId": correlation_id(),
            })),
        )
            .into_response()
    }

    fn token_issued(&self, issued: &Issued) -> Response {
        let refresh = issued
            .refresh_token
            .clone()
            .or_else(|| issued.presented_refresh_token.clone());
        let scopes: Vec<&str> = issued.scope.scope.split_whitespace().collect();
        let body = json!({
            "token_type": "bearer",
            "token_use": "access_token",
            "access_token": issued.access_token,
            "refresh_token": refresh,
            "expires_in": issued.access_ttl_secs,
            "hub_id": hub_id(issued.tenant),
            "user_id": 7_000_001 + issued.tenant as u64,
            "scopes": scopes,
        });
        let mut response = axum::Json(body).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

async fn method_not_allowed(method: Method) -> HsError {
    HsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "VALIDATION_ERROR",
        format!("HTTP method {method} is not supported by this endpoint"),
    )
}

impl Serve for HubSpot {
    fn router(self: Arc<Self>, sim: &Simulator) -> Router {
        let hs = Hs {
            sim: sim.clone(),
            hs: self,
        };
        let searches = Router::new()
            .route("/crm/v3/objects/{object}/search", post(search::search))
            .route(
                "/crm/objects/{version}/{object}/search",
                post(search::search),
            )
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(hs.clone())
            .layer(from_fn_with_state(hs.clone(), limits::search));
        let object_routes = |prefix: &str| {
            Router::new()
                .route(
                    &format!("{prefix}/{{object}}"),
                    axum::routing::get(objects::list).post(objects::create),
                )
                .route(
                    &format!("{prefix}/{{object}}/{{id}}"),
                    axum::routing::get(objects::show)
                        .patch(objects::update)
                        .delete(objects::archive),
                )
        };
        let api = object_routes("/crm/v3/objects")
            .merge(object_routes("/crm/objects/{version}"))
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(hs.clone())
            .layer(from_fn_with_state(hs, limits::api));
        let provider = Router::new()
            .merge(searches)
            .merge(api)
            .merge(oauth::token_router(OAUTH.token_path).with_state(sim.clone()))
            .merge(oauth::token_router(TOKEN_V3_PATH).with_state(sim.clone()))
            .layer(from_fn_with_state(sim.clone(), gateway::gateway));
        Router::new()
            .merge(provider)
            .merge(oauth::consent_router(OAUTH.authorize_path).with_state(sim.clone()))
            .merge(control::router().with_state(sim.clone()))
            .merge(activity::router().with_state(sim.clone()))
            .fallback(|| async { HsError::not_found("resource not found") })
    }
}
