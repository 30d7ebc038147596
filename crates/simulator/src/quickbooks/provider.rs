//! QuickBooks on the engine: the [`Provider`] hooks (the five entities and their data, soft
//! deletes of list entities, Faults, the per-realm limits, the OAuth words and token response)
//! and the [`Serve`] half (the routes).
//!
//! OAuth as `shared/research/providers.md` §4.2 has it: consent at `/connect/oauth2` (Intuit's
//! path on `appcenter.intuit.com`), whose redirect carries `realmId` beside the code — each
//! company its own realm; the token endpoint at `/oauth2/v1/tokens/bearer` with the client's
//! credentials in HTTP Basic auth; the answer `{"token_type": "bearer", "access_token",
//! "refresh_token", "expires_in": 3600, "x_refresh_token_expires_in": 8726400}`, the refresh token
//! rotating.
//!
//! Choices where undocumented: every refresh rotates the refresh token and kills the presented
//! one (Intuit rotates about daily; this is the strict end); client credentials are also read
//! from the form when Basic is absent; a code lives 10 minutes; without `scope` the consent
//! grants `com.intuit.quickbooks.accounting`; token errors are `{"error": …}` — 400
//! `invalid_grant` / `invalid_request` / `unsupported_grant_type`, 401 `invalid_client`; the
//! concurrency refusal is the same 429 Fault 3001 as the per-minute one; no rate-limit headers
//! (none are documented, §4.7).

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::engine::http::html;
use crate::engine::provider::{
    Admission, AuthFailure, GrantedScope, Issued, OAuthStyle, Provider, TokenError,
};
use crate::engine::records::{Deactivation, Deleted, Row, Tenant};
use crate::engine::sim::{Serve, Simulator};
use crate::engine::{activity, control, gateway, oauth};
use crate::quickbooks::faults::{self, QboFault, json_response};
use crate::quickbooks::schema::{Entity, NAMES};
use crate::quickbooks::state::{Qb, QuickBooks, realm_id, realm_index};
use crate::quickbooks::time::local;
use crate::quickbooks::{cdc, data, entities, gate, query};

static OAUTH: OAuthStyle = OAuthStyle {
    authorize_path: "/connect/oauth2",
    token_path: "/oauth2/v1/tokens/bearer",
    brand: "Intuit QuickBooks",
    tenant_label: "QuickBooks company",
    denied: "User denied access to the app",
    basic_auth: true,
};

const SCOPES: &[&str] = &[
    "com.intuit.quickbooks.accounting",
    "com.intuit.quickbooks.payment",
    "openid",
    "profile",
    "email",
    "phone",
    "address",
];
const DEFAULT_SCOPE: &str = "com.intuit.quickbooks.accounting";

impl QuickBooks {
    /// The offset of the company a tenant (by name) is.
    fn company_of(&self, tenant: &Tenant) -> crate::quickbooks::config::CompanyOffset {
        self.config.offset(realm_index(&tenant.name).unwrap_or(0))
    }
}

impl Provider for QuickBooks {
    fn resources(&self) -> &'static [&'static str] {
        &NAMES
    }

    fn active_resources(&self) -> &'static [&'static str] {
        &NAMES
    }

    /// Realm ids: `9341453000174560`, ….
    fn tenant_name(&self, index: usize) -> String {
        realm_id(index)
    }

    fn seed(&self, tenant: &mut Tenant, rng: &mut StdRng, now_ms: i64) {
        let company = self.company_of(tenant);
        data::seed_company(tenant, rng, self.config.seed, now_ms, company);
    }

    fn new_fields(
        &self,
        resource: &'static str,
        rng: &mut StdRng,
        tenant: &Tenant,
        now_ms: i64,
        linked: bool,
    ) -> Map<String, Value> {
        let company = self.company_of(tenant);
        Entity::named(resource)
            .map(|entity| data::new_fields(entity, rng, tenant, now_ms, linked, company))
            .unwrap_or_default()
    }

    fn edit_fields(&self, resource: &'static str, rng: &mut StdRng) -> Map<String, Value> {
        Entity::named(resource)
            .map(|entity| data::edit_fields(entity, rng))
            .unwrap_or_default()
    }

    /// List entities are made inactive rather than deleted (§4.3).
    fn deactivation(&self, resource: &'static str) -> Option<Map<String, Value>> {
        Entity::named(resource)
            .filter(|entity| entity.is_list())
            .map(|_| {
                let mut patch = Map::new();
                patch.insert("Active".into(), false.into());
                patch
            })
    }

    fn export_record(
        &self,
        resource: &'static str,
        tenant: usize,
        row: &Row,
        out: &mut Map<String, Value>,
    ) {
        let company = self.config.offset(tenant);
        out.insert("Id".into(), row.id.to_string().into());
        out.insert(
            "SyncToken".into(),
            row.versions.saturating_sub(1).to_string().into(),
        );
        out.insert(
            "LastUpdatedTime".into(),
            local(row.updated_ms, company).into(),
        );
        if Entity::named(resource).is_some_and(Entity::is_list) {
            let active = row
                .fields
                .get("Active")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            out.insert("Active".into(), active.into());
        }
    }

    fn export_deletion(
        &self,
        _resource: &'static str,
        tenant: usize,
        deleted: &Deleted,
        out: &mut Map<String, Value>,
    ) {
        let company = self.config.offset(tenant);
        out.insert("kind".into(), "deleted".into());
        out.insert("Id".into(), deleted.id.to_string().into());
        out.insert(
            "LastUpdatedTime".into(),
            local(deleted.deleted_ms, company).into(),
        );
    }

    fn export_deactivation(
        &self,
        _resource: &'static str,
        tenant: usize,
        _row: Option<&Row>,
        deactivation: &Deactivation,
        out: &mut Map<String, Value>,
    ) {
        let company = self.config.offset(tenant);
        out.insert("Id".into(), deactivation.id.to_string().into());
        out.insert(
            "LastUpdatedTime".into(),
            local(deactivation.deactivated_ms, company).into(),
        );
    }

    fn resource_of(&self, path: &str) -> Option<String> {
        if path == OAUTH.token_path {
            return Some("token".into());
        }
        let mut segments = path.strip_prefix("/v3/company/")?.split('/').skip(1);
        match segments.next()? {
            "cdc" => Some("cdc".into()),
            "query" => Some("query".into()),
            name => Entity::named(name).map(|entity| entity.name.to_owned()),
        }
    }

    fn fault_targets(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .chain(["cdc", "query", "token"].iter())
            .copied()
            .collect()
    }

    fn fault_status(&self, status: u16) -> Response {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        match status {
            401 => faults::unauthorized("Token revoked"),
            429 => faults::throttled(),
            500 | 200 => {
                let mut fault = QboFault::in_200();
                fault.status = code;
                fault.into_response()
            }
            _ => QboFault::new(
                code,
                "SystemFault",
                "10000",
                "An application error has occurred while processing your request",
                format!(
                    "System Failure Error: simulated {}",
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
                "<html><head><title>{status} {reason}</title></head>\n<body>\
                 <center><h1>{status} {reason}</h1></center>\n<hr><center>nginx</center>\n\
                 </body></html>\n"
            ),
        )
    }

    fn fault_malformed(&self, _resource: Option<&str>) -> Response {
        let mut response = (
            StatusCode::OK,
            "{\"QueryResponse\":{\"Customer\":[{\"Taxable\":false,\"BillAddr\":{\"Id\":\"2\",",
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        response
    }

    fn fault_in_200(&self) -> Response {
        QboFault::in_200().into_response()
    }

    fn credential(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    }

    fn unauthorized(&self, failure: AuthFailure) -> Response {
        faults::unauthorized(match failure {
            AuthFailure::Missing => "Token missing: send Authorization: Bearer <access token>",
            AuthFailure::Invalid => "Token invalid",
            AuthFailure::Expired => "Token expired",
        })
    }

    fn limit_headers(&self, _headers: &mut HeaderMap, _admission: &Admission, _tenant: &str) {}

    fn over_limit(&self, _admission: &Admission, _tenant: &str) -> Response {
        faults::throttled()
    }

    fn concurrency_limit(&self) -> Option<u32> {
        Some(self.config.concurrent.max(1))
    }

    fn too_many_concurrent(&self, _tenant: &str) -> Response {
        faults::throttled()
    }

    fn oauth(&self) -> &OAuthStyle {
        &OAUTH
    }

    fn check_scope(&self, scope: Option<&str>) -> Result<GrantedScope, &'static str> {
        let scope = scope.unwrap_or(DEFAULT_SCOPE);
        let asked: Vec<&str> = scope.split_whitespace().collect();
        if asked.is_empty() || asked.iter().any(|one| !SCOPES.contains(one)) {
            return Err("invalid_scope: the requested scope is not one of the app's");
        }
        Ok(GrantedScope {
            scope: asked.join(" "),
            refresh: true,
        })
    }

    /// The redirect names the company: `realmId` (§4.2).
    fn consent_params(&self, tenant: &str, _scope: &GrantedScope) -> Vec<(&'static str, String)> {
        vec![("realmId", tenant.to_owned())]
    }

    fn token_error(&self, error: TokenError) -> Response {
        let (status, code) = match error {
            TokenError::NotAForm
            | TokenError::MissingGrantType
            | TokenError::UnsupportedGrantType(_) => {
                (StatusCode::BAD_REQUEST, "unsupported_grant_type")
            }
            TokenError::MissingClient | TokenError::UnknownClient | TokenError::WrongSecret => {
                (StatusCode::UNAUTHORIZED, "invalid_client")
            }
            TokenError::MissingCode
            | TokenError::MissingRedirectUri
            | TokenError::MissingRefreshToken => (StatusCode::BAD_REQUEST, "invalid_request"),
            TokenError::CodeExpired
            | TokenError::InvalidCode
            | TokenError::RedirectMismatch
            | TokenError::InvalidRefreshToken => (StatusCode::BAD_REQUEST, "invalid_grant"),
        };
        json_response(status, json!({ "error": code }))
    }

    fn token_issued(&self, issued: &Issued) -> Response {
        let body = json!({
            "token_type": "bearer",
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": issued.access_ttl_secs,
            "x_refresh_token_expires_in": self.config.refresh_ttl_secs,
        });
        let mut response = json_response(StatusCode::OK, body);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

async fn method_not_allowed(method: Method) -> Response {
    QboFault::invalid(format!("HTTP method {method} is not supported here")).into_response()
}

impl Serve for QuickBooks {
    fn router(self: Arc<Self>, sim: &Simulator) -> Router {
        let qb = Qb {
            sim: sim.clone(),
            qb: self,
        };
        let api = Router::new()
            .route("/v3/company/{realm}/cdc", get(cdc::cdc))
            .route(
                "/v3/company/{realm}/query",
                get(query::get).post(query::post),
            )
            .route("/v3/company/{realm}/{entity}", post(entities::write))
            .route("/v3/company/{realm}/{entity}/{id}", get(entities::show))
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(qb.clone())
            .layer(from_fn_with_state(qb.clone(), gate::checks))
            .layer(from_fn_with_state(sim.clone(), gateway::authenticate));
        let provider = Router::new()
            .merge(api)
            .merge(oauth::token_router(OAUTH.token_path).with_state(sim.clone()))
            .layer(from_fn_with_state(sim.clone(), gateway::gateway))
            .layer(from_fn_with_state(qb, gate::transaction_id));
        Router::new()
            .merge(provider)
            .merge(oauth::consent_router(OAUTH.authorize_path).with_state(sim.clone()))
            .merge(control::router().with_state(sim.clone()))
            .merge(activity::router().with_state(sim.clone()))
            .fallback(|| async {
                QboFault::new(
                    StatusCode::NOT_FOUND,
                    "ValidationFault",
                    "2010",
                    "Request has invalid or unsupported property",
                    "No such resource: the API lives under /v3/company/{realmId}",
                )
            })
    }
}
