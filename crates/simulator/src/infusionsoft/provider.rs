//! Infusionsoft on the engine: the [`Provider`] hooks (Keap's resources and data, its error
//! bodies and pages, its throttle headers, its OAuth words) and the [`Serve`] half (its routes and
//! the REST hook delivery worker).
//!
//! OAuth quirks kept on purpose (`shared/research/infusionsoft.md` §1): the token endpoint takes
//! only form bodies (JSON gets `invalid_request` "response_type or grant_type is required"); the
//! client authenticates in the body or with Basic auth; every refresh returns a new refresh token
//! and kills the old one; `scope` comes back as `full|<tenant>`. Access tokens issued before a
//! refresh stay valid until their own expiry (the real behaviour is undocumented).

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

use crate::engine::http::message;
use crate::engine::provider::{
    Admission, AuthFailure, GrantedScope, Issued, OAuthStyle, Provider, TokenError,
};
use crate::engine::records::{Change, Row, Table, Tenant};
use crate::engine::sim::{Serve, Simulator};
use crate::engine::{activity, control, gateway as engine_gateway, oauth};
use crate::infusionsoft::http::{front_end_error, not_found_page, throttled_body, unauthorized};
use crate::infusionsoft::keap::Infusionsoft;
use crate::infusionsoft::resources::{DateStyle, Kind, render};
use crate::infusionsoft::{api, deliveries, gateway, hooks, seed};

/// Every resource's path segment, in [`Kind::ALL`] order (the order the data is seeded).
const RESOURCES: [&str; 9] = [
    "contacts",
    "companies",
    "opportunities",
    "tasks",
    "notes",
    "appointments",
    "orders",
    "products",
    "transactions",
];

/// Resources the activity generator changes when none are named: those with change dates.
const ACTIVE_RESOURCES: [&str; 6] = [
    "contacts",
    "opportunities",
    "tasks",
    "notes",
    "appointments",
    "orders",
];

/// Resources a fault may target besides the nine record resources.
const OTHER_TARGETS: [&str; 2] = ["token", "hooks"];

static OAUTH: OAuthStyle = OAuthStyle {
    authorize_path: "/app/oauth/authorize",
    token_path: "/token",
    brand: "Keap",
    tenant_label: "Keap app",
    denied: "The user denied access",
    basic_auth: true,
};

/// The date fields the state export copies from the API's view of a record.
const EXPORTED_DATES: [&str; 5] = [
    "date_created",
    "last_updated",
    "creation_date",
    "modification_date",
    "transaction_date",
];

impl Provider for Infusionsoft {
    fn resources(&self) -> &'static [&'static str] {
        &RESOURCES
    }

    fn active_resources(&self) -> &'static [&'static str] {
        &ACTIVE_RESOURCES
    }

    /// `ab123.infusionsoft.com`, `ab124.infusionsoft.com`, …
    fn tenant_name(&self, index: usize) -> String {
        format!("ab{}.infusionsoft.com", 123 + index)
    }

    fn seed(&self, tenant: &mut Tenant, rng: &mut StdRng, now_ms: i64) {
        seed::seed_tenant(tenant, rng, self.config.seed, now_ms);
    }

    fn new_fields(
        &self,
        resource: &'static str,
        rng: &mut StdRng,
        tenant: &Tenant,
        now_ms: i64,
        linked: bool,
    ) -> Map<String, Value> {
        let Some(kind) = Kind::from_path(resource) else {
            return Map::new();
        };
        let contact = if linked {
            tenant
                .tables
                .get(Kind::Contacts.path())
                .and_then(|contacts| contacts.near(rng.random_range(0..=contacts.next_id)))
                .map(seed::contact_ref)
        } else {
            None
        };
        seed::new_fields(kind, rng, contact.as_ref(), now_ms)
    }

    fn edit_fields(&self, resource: &'static str, rng: &mut StdRng) -> Map<String, Value> {
        match Kind::from_path(resource) {
            Some(kind) => seed::edit_fields(kind, rng),
            None => Map::new(),
        }
    }

    fn on_change(&self, change: &Change) {
        self.hooks().queue(change);
        self.wake.notify_one();
    }

    fn export_record(
        &self,
        resource: &'static str,
        _tenant: usize,
        row: &Row,
        out: &mut Map<String, Value>,
    ) {
        let Some(kind) = Kind::from_path(resource) else {
            return;
        };
        let shown = render(row, kind, false);
        for field in EXPORTED_DATES {
            if let Some(value) = shown.get(field) {
                out.insert(field.into(), value.clone());
            }
        }
    }

    fn export_table(
        &self,
        resource: &'static str,
        _tenant: usize,
        _table: &Table,
        out: &mut Map<String, Value>,
    ) {
        if Kind::from_path(resource).is_some_and(|kind| kind.date_style() == DateStyle::Rounded) {
            out.insert("rounded_to_second".into(), true.into());
        }
    }

    fn resource_of(&self, path: &str) -> Option<String> {
        gateway::resource_of(path).map(str::to_owned)
    }

    fn fault_targets(&self) -> Vec<&'static str> {
        RESOURCES
            .iter()
            .chain(OTHER_TARGETS.iter())
            .copied()
            .collect()
    }

    fn reject_early(&self, method: &Method, headers: &HeaderMap) -> Option<Response> {
        (method == Method::GET && gateway::has_body(headers))
            .then(|| front_end_error(StatusCode::BAD_REQUEST))
    }

    fn fault_status(&self, status: u16) -> Response {
        match status {
            429 => (StatusCode::TOO_MANY_REQUESTS, axum::Json(throttled_body())).into_response(),
            401 => unauthorized(false),
            _ => {
                let code = status_code(status);
                message(
                    code,
                    format!(
                        "Simulated fault: {}",
                        code.canonical_reason().unwrap_or("error")
                    ),
                )
            }
        }
    }

    fn fault_html(&self, status: u16) -> Response {
        front_end_error(status_code(status))
    }

    fn fault_malformed(&self, resource: Option<&str>) -> Response {
        let key = resource.unwrap_or("data");
        let mut response = (
            StatusCode::OK,
            format!("{{\"{key}\": [{{\"id\": 1, \"given_name\": \"Eri"),
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        response
    }

    fn credential(&self, headers: &HeaderMap) -> Option<String> {
        gateway::credential(headers)
    }

    fn unauthorized(&self, failure: AuthFailure) -> Response {
        unauthorized(failure == AuthFailure::Expired)
    }

    fn limit_headers(&self, headers: &mut HeaderMap, admission: &Admission, tenant: &str) {
        if let Some(app) = &admission.app {
            gateway::throttle_headers(headers, app, &admission.tenant, tenant);
        }
    }

    fn over_limit(&self, admission: &Admission, tenant: &str) -> Response {
        let mut response =
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(throttled_body())).into_response();
        self.limit_headers(response.headers_mut(), admission, tenant);
        if self.config.retry_after {
            let seconds = (admission.wait_ms + 999) / 1000;
            if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }

    fn oauth(&self) -> &OAuthStyle {
        &OAUTH
    }

    fn check_scope(&self, scope: Option<&str>) -> Result<GrantedScope, &'static str> {
        match scope {
            Some(scope) if scope != "full" => Err("Unsupported scope: only full"),
            _ => Ok(GrantedScope {
                scope: "full".into(),
                refresh: true,
            }),
        }
    }

    fn consent_params(&self, tenant: &str, _scope: &GrantedScope) -> Vec<(&'static str, String)> {
        vec![("scope", format!("full|{tenant}"))]
    }

    fn token_error(&self, error: TokenError) -> Response {
        const NO_GRANT: &str = "response_type or grant_type is required";
        let (code, text) = match error {
            TokenError::NotAForm | TokenError::MissingGrantType => {
                ("invalid_request", NO_GRANT.to_owned())
            }
            TokenError::UnsupportedGrantType(other) => (
                "invalid_request",
                format!("Unsupported grant_type: {other}"),
            ),
            TokenError::MissingClient => ("invalid_client", "Missing client credentials".into()),
            TokenError::UnknownClient | TokenError::WrongSecret => {
                ("invalid_client", "Invalid client credentials".into())
            }
            TokenError::MissingCode => ("invalid_request", "Missing code".into()),
            TokenError::MissingRedirectUri => ("invalid_request", "Missing redirect_uri".into()),
            TokenError::CodeExpired => ("invalid_grant", "Authorization code has expired".into()),
            TokenError::InvalidCode => ("invalid_grant", "Invalid authorization code".into()),
            TokenError::RedirectMismatch => ("invalid_grant", "Redirect URI mismatch".into()),
            TokenError::MissingRefreshToken => ("invalid_request", "Missing refresh_token".into()),
            TokenError::InvalidRefreshToken => ("invalid_grant", "Invalid refresh token".into()),
        };
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": code, "error_description": text})),
        )
            .into_response()
    }

    fn token_issued(&self, issued: &Issued) -> Response {
        let mut response = axum::Json(json!({
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.access_ttl_secs,
            "refresh_token": issued.refresh_token,
            "scope": format!("full|{}", issued.tenant_name),
        }))
        .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
}

impl Serve for Infusionsoft {
    fn router(self: Arc<Self>, sim: &Simulator) -> Router {
        let crm = Router::new()
            .merge(api::router().with_state(sim.clone()))
            .merge(hooks::router().with_state(self.clone()))
            .layer(from_fn_with_state(
                sim.clone(),
                engine_gateway::authenticate,
            ));
        let provider = Router::new()
            .nest("/crm/rest/v1", crm)
            .merge(oauth::token_router(OAUTH.token_path).with_state(sim.clone()))
            .layer(from_fn_with_state(sim.clone(), engine_gateway::gateway));
        Router::new()
            .merge(provider)
            .merge(oauth::consent_router(OAUTH.authorize_path).with_state(sim.clone()))
            .merge(control::router().with_state(sim.clone()))
            .merge(activity::router().with_state(sim.clone()))
            .merge(hooks::control_router().with_state(self.clone()))
            .fallback(|| async { not_found_page() })
    }

    fn spawn_background(self: Arc<Self>, sim: &Simulator) {
        tokio::spawn(deliveries::run_deliveries(sim.clone(), self));
    }
}
