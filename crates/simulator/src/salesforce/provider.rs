//! Salesforce on the engine: the [`Provider`] hooks (the five SObjects and their data, error
//! arrays, `Sforce-Limit-Info`, the web-server flow's words and token response) and the
//! [`Serve`] half (the routes).
//!
//! OAuth as `shared/research/providers.md` §2.2 has it: client credentials in the form body;
//! a token response of `access_token`, `instance_url` (this simulator's own origin),
//! `id` (`{instance_url}/id/{orgId}/{userId}`), `issued_at` (ms, as a string), `signature`,
//! `token_type: "Bearer"`, `scope` and — unless a refresh does not rotate — `refresh_token`,
//! and no `expires_in`: a session ends after inactivity instead (401 `INVALID_SESSION_ID`).
//! Choices where undocumented: a code lives 15 minutes; a refresh token until revoked; Basic
//! auth at the token endpoint is not read; `signature` is random (not an HMAC); scopes are
//! checked against Salesforce's list, and a refresh token is issued when the scope is absent
//! or includes `refresh_token`, `offline_access` or `full`; token errors are `invalid_grant`
//! (bad code or refresh token), `invalid_client_id` / `invalid_client` (unknown app, wrong
//! secret), `unsupported_grant_type`, `invalid_request` (a missing parameter), all 400.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::engine::dates::{floor_to_second, format_offset};
use crate::engine::http::html;
use crate::engine::provider::{
    Admission, AuthFailure, GrantedScope, Issued, OAuthStyle, Provider, TokenError,
};
use crate::engine::records::{Deleted, Row, Table, Tenant};
use crate::engine::sim::{Serve, Simulator};
use crate::engine::{activity, control, gateway, oauth};
use crate::salesforce::errors::SfError;
use crate::salesforce::limits::{self, limit_info};
use crate::salesforce::schema::{self, NAMES, SObject, View};
use crate::salesforce::state::{Salesforce, Sf};
use crate::salesforce::{data, query, replication, sobjects};

static OAUTH: OAuthStyle = OAuthStyle {
    authorize_path: "/services/oauth2/authorize",
    token_path: "/services/oauth2/token",
    brand: "Salesforce",
    tenant_label: "Salesforce org",
    denied: "end-user denied authorization",
    basic_auth: false,
};

/// Scopes a connected app may ask for.
const SCOPES: &[&str] = &[
    "api",
    "refresh_token",
    "offline_access",
    "full",
    "id",
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "web",
    "chatter_api",
];

impl Provider for Salesforce {
    fn resources(&self) -> &'static [&'static str] {
        &NAMES
    }

    fn active_resources(&self) -> &'static [&'static str] {
        &NAMES
    }

    /// Org ids: `00DD00000000001…`.
    fn tenant_name(&self, index: usize) -> String {
        schema::org_id(index)
    }

    fn seed(&self, tenant: &mut Tenant, rng: &mut StdRng, now_ms: i64) {
        data::seed_org(tenant, rng, self.config.seed, now_ms);
    }

    fn new_fields(
        &self,
        resource: &'static str,
        rng: &mut StdRng,
        tenant: &Tenant,
        now_ms: i64,
        linked: bool,
    ) -> Map<String, Value> {
        SObject::named(resource)
            .map(|object| data::new_fields(object, rng, tenant, now_ms, linked))
            .unwrap_or_default()
    }

    fn edit_fields(&self, resource: &'static str, rng: &mut StdRng) -> Map<String, Value> {
        SObject::named(resource)
            .map(|object| data::edit_fields(object, rng))
            .unwrap_or_default()
    }

    fn export_record(
        &self,
        resource: &'static str,
        tenant: usize,
        row: &Row,
        out: &mut Map<String, Value>,
    ) {
        let Some(object) = SObject::named(resource) else {
            return;
        };
        let view = View {
            object,
            row,
            org: tenant,
            deleted_ms: None,
        };
        for name in ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            if let Some(field) = object.field(name) {
                out.insert(name.into(), view.value(field));
            }
        }
    }

    fn export_deletion(
        &self,
        resource: &'static str,
        _tenant: usize,
        deleted: &Deleted,
        out: &mut Map<String, Value>,
    ) {
        if let Some(object) = SObject::named(resource) {
            out.insert(
                "Id".into(),
                crate::salesforce::ids::encode(object.prefix, deleted.id).into(),
            );
            out.insert(
                "deletedDate".into(),
                format_offset(floor_to_second(deleted.deleted_ms)).into(),
            );
        }
    }

    fn export_table(
        &self,
        resource: &'static str,
        tenant: usize,
        _table: &Table,
        out: &mut Map<String, Value>,
    ) {
        if let Some(before) = self.inner().purged(tenant, resource) {
            out.insert("deletes_purged_before_ms".into(), before.into());
        }
    }

    fn resource_of(&self, path: &str) -> Option<String> {
        if path == OAUTH.token_path {
            return Some("token".into());
        }
        let mut segments = path.strip_prefix("/services/data/")?.split('/').skip(1);
        match segments.next()? {
            "query" | "queryAll" => Some("query".into()),
            "sobjects" => {
                let name = segments.next()?;
                Some(
                    SObject::named(name)
                        .map_or(name, |object| object.name)
                        .to_owned(),
                )
            }
            _ => None,
        }
    }

    fn fault_targets(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .chain(["query", "token"].iter())
            .copied()
            .collect()
    }

    fn fault_status(&self, status: u16) -> Response {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        match status {
            401 => SfError::session(),
            403 => SfError::quota(),
            404 => SfError::not_found(),
            500 => SfError::new(
                code,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact \
                 support: 1234567890-12345 (-1234567890)",
            ),
            503 => SfError::new(code, "SERVER_UNAVAILABLE", "Server temporarily unavailable"),
            _ => SfError::new(
                code,
                "SIMULATED_FAULT",
                format!(
                    "Simulated fault: {}",
                    code.canonical_reason().unwrap_or("error")
                ),
            ),
        }
        .into_response()
    }

    fn fault_html(&self, status: u16) -> Response {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let reason = code.canonical_reason().unwrap_or("Error");
        html(
            code,
            format!(
                "<!DOCTYPE html>\n<html><head><title>{reason}</title></head>\n<body>\
                 <h1>{status} {reason}</h1><p>The service is temporarily unavailable. Please try \
                 again later.</p></body></html>\n"
            ),
        )
    }

    fn fault_malformed(&self, _resource: Option<&str>) -> Response {
        let mut response = (
            StatusCode::OK,
            "{\"totalSize\":2,\"done\":true,\"records\":[{\"attributes\":{\"type\":\"Acc",
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        response
    }

    /// `Authorization: Bearer …` (or the older `OAuth …`).
    fn credential(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
            .then(|| token.trim().to_owned())
    }

    fn unauthorized(&self, _failure: AuthFailure) -> Response {
        SfError::session().into_response()
    }

    fn limit_headers(&self, headers: &mut HeaderMap, admission: &Admission, _tenant: &str) {
        limit_info(headers, &admission.tenant);
    }

    fn over_limit(&self, admission: &Admission, tenant: &str) -> Response {
        let mut response = SfError::quota().into_response();
        self.limit_headers(response.headers_mut(), admission, tenant);
        response
    }

    fn oauth(&self) -> &OAuthStyle {
        &OAUTH
    }

    fn check_scope(&self, scope: Option<&str>) -> Result<GrantedScope, &'static str> {
        let Some(scope) = scope else {
            return Ok(GrantedScope {
                scope: "api refresh_token".into(),
                refresh: true,
            });
        };
        let asked: Vec<&str> = scope.split_whitespace().collect();
        if asked.is_empty() || asked.iter().any(|one| !SCOPES.contains(one)) {
            return Err("invalid_scope: the requested scope is not allowed");
        }
        let refresh = asked
            .iter()
            .any(|one| matches!(*one, "refresh_token" | "offline_access" | "full"));
        Ok(GrantedScope {
            scope: asked.join(" "),
            refresh,
        })
    }

    fn token_error(&self, error: TokenError) -> Response {
        let (code, text) = match error {
            TokenError::NotAForm
            | TokenError::MissingGrantType
            | TokenError::UnsupportedGrantType(_) => {
                ("unsupported_grant_type", "grant type not supported")
            }
            TokenError::MissingClient | TokenError::UnknownClient => {
                ("invalid_client_id", "client identifier invalid")
            }
            TokenError::WrongSecret => ("invalid_client", "invalid client credentials"),
            TokenError::MissingCode => ("invalid_request", "missing required code parameter"),
            TokenError::MissingRedirectUri => {
                ("invalid_request", "missing required redirect_uri parameter")
            }
            TokenError::MissingRefreshToken => (
                "invalid_request",
                "missing required refresh_token parameter",
            ),
            TokenError::CodeExpired => ("invalid_grant", "expired authorization code"),
            TokenError::InvalidCode => ("invalid_grant", "invalid authorization code"),
            TokenError::RedirectMismatch => {
                ("invalid_grant", "redirect_uri must match configuration")
            }
            TokenError::InvalidRefreshToken => ("invalid_grant", "expired access/refresh token"),
        };
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": code, "error_description": text})),
        )
            .into_response()
    }

    fn token_issued(&self, issued: &Issued) -> Response {
        let instance = self
            .config
            .public_origin
            .clone()
            .unwrap_or_else(|| issued.origin.clone());
        let mut body = json!({
            "access_token": issued.access_token,
            "instance_url": instance,
            "id": format!("{instance}/id/{}/{}", schema::org_id(issued.tenant),
                          schema::user_id(issued.tenant)),
            "issued_at": issued.issued_at_ms.to_string(),
            "signature": self.inner().signature(),
            "scope": issued.scope.scope,
            "token_type": "Bearer",
        });
        if let (Some(refresh), Some(map)) = (&issued.refresh_token, body.as_object_mut()) {
            map.insert("refresh_token".into(), refresh.clone().into());
        }
        let mut response = axum::Json(body).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

async fn method_not_allowed(method: Method) -> SfError {
    SfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed."),
    )
}

impl Serve for Salesforce {
    fn router(self: Arc<Self>, sim: &Simulator) -> Router {
        let sf = Sf {
            sim: sim.clone(),
            sf: self,
        };
        let api = Router::new()
            .merge(query::router())
            .merge(sobjects::router())
            .merge(replication::router())
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(sf.clone())
            .layer(from_fn_with_state(sim.clone(), gateway::authenticate));
        let provider = Router::new()
            .merge(api)
            .merge(oauth::token_router(OAUTH.token_path).with_state(sim.clone()))
            .layer(from_fn_with_state(sim.clone(), gateway::gateway));
        Router::new()
            .merge(provider)
            .merge(oauth::consent_router(OAUTH.authorize_path).with_state(sim.clone()))
            .merge(control::router().with_state(sim.clone()))
            .merge(activity::router().with_state(sim.clone()))
            .merge(
                limits::control_router()
                    .merge(replication::control_router())
                    .with_state(sf),
            )
            .fallback(|| async { SfError::not_found() })
    }
}
