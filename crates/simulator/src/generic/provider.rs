//! The generic simulator on the engine: the [`Provider`] hooks (records generated from the
//! spec's fields, errors with the message where the spec says, its rate-limit headers, plain
//! OAuth words); its [`crate::engine::sim::Serve`] half, the router, is `router`.
//!
//! Choices where a definition says nothing: the rate-limit `reset` header says 60 seconds (the
//! rolling minute) while requests are admitted and the wait when one is refused; over-limit
//! answers are 429 with `Retry-After`; refresh tokens rotate (a client that keeps the newest one
//! works against either kind of provider).

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use tributary_domain::Clock;

use crate::engine::http::{escape_html, html};
use crate::engine::provider::{
    Admission, AuthFailure, GrantedScope, Issued, OAuthStyle, Provider, TokenError,
};
use crate::engine::records::{Row, Tenant};
use crate::generic::data;
use crate::generic::spec::{ResetUnit, Spec, TokenValue};

const DAY_MS: i64 = 86_400_000;

/// The generic provider: its spec, with the names the engine wants for the process's life.
#[derive(Debug)]
pub(crate) struct Generic {
    pub spec: Spec,
    names: &'static [&'static str],
    active: &'static [&'static str],
    /// Each resource's generated fields, by index.
    fields: Vec<Vec<String>>,
    pub(super) style: OAuthStyle,
    /// `spec.consent_params`, as the engine wants them.
    consent_params: Vec<&'static str>,
    seed: usize,
    /// The base clock, for reset headers given as epoch seconds.
    clock: Arc<dyn Clock>,
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

impl Generic {
    /// Leaks the resource names and OAuth words: a simulator serves for its process's life
    /// (and a test's few simulators leak a few bytes each).
    pub(crate) fn new(spec: Spec, seed: usize, clock: Arc<dyn Clock>) -> Generic {
        let names: Vec<&'static str> = spec.resources.iter().map(|r| leak(&r.name)).collect();
        let changing: Vec<&'static str> = spec
            .resources
            .iter()
            .zip(&names)
            .filter(|(r, _)| {
                r.updated.as_ref().is_some_and(|updated| {
                    r.created
                        .as_ref()
                        .is_none_or(|created| created.field != updated.field)
                })
            })
            .map(|(_, name)| *name)
            .collect();
        let active = if changing.is_empty() {
            names.clone()
        } else {
            changing
        };
        let fields = spec.resources.iter().map(data::generated_fields).collect();
        let style = OAuthStyle {
            authorize_path: leak(&spec.authorize_path),
            token_path: leak(&spec.token_path),
            brand: leak(&spec.brand),
            tenant_label: leak(&format!("{} account", spec.brand)),
            denied: "The user denied access",
            basic_auth: spec.basic_auth,
        };
        let consent_params = spec.consent_params.iter().map(|p| leak(p)).collect();
        Generic {
            consent_params,
            names: Box::leak(names.into_boxed_slice()),
            active: Box::leak(active.into_boxed_slice()),
            fields,
            style,
            seed,
            clock,
            spec,
        }
    }

    fn index_of(&self, resource: &str) -> Option<usize> {
        self.spec.resources.iter().position(|r| r.name == resource)
    }

    /// `{…}` with `text` at the spec's message pointer, and the marks of `status`, as
    /// `status`.
    pub(crate) fn error(&self, status: StatusCode, text: &str) -> Response {
        (status, axum::Json(self.error_body(status.as_u16(), text))).into_response()
    }

    fn error_body(&self, status: u16, text: &str) -> Value {
        // The marks first: a message inside a marked member (`/Fault/Error/0/Detail` under a
        // `/Fault` that must exist) makes it an object.
        let mut body = Value::Null;
        for mark in self.spec.error_marks.iter().filter(|m| m.status == status) {
            data::put(&mut body, &mark.pointer, mark.value.clone());
        }
        data::put(&mut body, &self.spec.message_pointer, json!(text));
        body
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
}

impl Provider for Generic {
    fn resources(&self) -> &'static [&'static str] {
        self.names
    }

    fn active_resources(&self) -> &'static [&'static str] {
        self.active
    }

    fn tenant_name(&self, index: usize) -> String {
        format!("tenant{}", index + 1)
    }

    /// The initial records, shared evenly between the resources: created in the last 30 days,
    /// some edited since.
    fn seed(&self, tenant: &mut Tenant, rng: &mut StdRng, now_ms: i64) {
        let count = self.names.len().max(1);
        for (index, name) in self.names.iter().enumerate() {
            let share = self.seed / count + usize::from(index < self.seed % count);
            let Some(table) = tenant.tables.get_mut(name) else {
                continue;
            };
            for _ in 0..share {
                let created = now_ms - rng.random_range(DAY_MS..30 * DAY_MS);
                let updated = if rng.random_bool(0.4) {
                    created + rng.random_range(0..(now_ms - created).max(1))
                } else {
                    created
                };
                let fields = data::new_fields(&self.fields[index], rng);
                table.seed(created, updated, fields);
            }
        }
    }

    fn new_fields(
        &self,
        resource: &'static str,
        rng: &mut StdRng,
        _tenant: &Tenant,
        _now_ms: i64,
        _linked: bool,
    ) -> Map<String, Value> {
        match self.index_of(resource) {
            Some(index) => data::new_fields(&self.fields[index], rng),
            None => Map::new(),
        }
    }

    fn edit_fields(&self, resource: &'static str, rng: &mut StdRng) -> Map<String, Value> {
        match self.index_of(resource) {
            Some(index) => data::edit_fields(&self.fields[index], rng),
            None => Map::new(),
        }
    }

    /// The record's dates as the API writes them, under their field names.
    fn export_record(
        &self,
        resource: &'static str,
        _tenant: usize,
        row: &Row,
        out: &mut Map<String, Value>,
    ) {
        let Some(spec) = self.index_of(resource).map(|i| &self.spec.resources[i]) else {
            return;
        };
        for (date, ms) in [
            (&spec.created, row.created_ms),
            (&spec.updated, row.updated_ms),
        ] {
            if let Some(date) = date {
                out.insert(date.field.clone(), data::date_value(&date.format, ms));
            }
        }
    }

    /// The resource whose list, get, change feed, delete log or archive path `path` is (the
    /// tenant segment matching any tenant). Resources sharing one path (a query endpoint) are
    /// told apart only by the query, which faults do not see: the first of them is named.
    fn resource_of(&self, path: &str) -> Option<String> {
        if path == self.spec.token_path {
            return Some("token".into());
        }
        let segment = self.spec.tenant_segment.as_deref();
        let same = |pattern: &str, path: &str| {
            let (a, b): (Vec<&str>, Vec<&str>) =
                (pattern.split('/').collect(), path.split('/').collect());
            a.len() == b.len() && a.iter().zip(&b).all(|(p, q)| p == q || Some(*p) == segment)
        };
        self.spec
            .resources
            .iter()
            .find(|r| {
                same(&r.list_path, path)
                    || r.changes.as_ref().is_some_and(|f| same(&f.path, path))
                    || r.delete_log.as_ref().is_some_and(|l| same(&l.path, path))
                    || r.archive.as_ref().is_some_and(|a| same(&a.path, path))
                    || r.get_path.as_ref().is_some_and(|(prefix, suffix)| {
                        let pattern = format!("{prefix}\u{0}{suffix}");
                        let (a, b): (Vec<&str>, Vec<&str>) =
                            (pattern.split('/').collect(), path.split('/').collect());
                        a.len() == b.len()
                            && a.iter().zip(&b).all(|(p, q)| {
                                p == q
                                    || Some(*p) == segment
                                    || (p.contains('\u{0}') && !q.is_empty())
                            })
                    })
            })
            .map(|r| r.name.clone())
    }

    fn fault_targets(&self) -> Vec<&'static str> {
        self.names.iter().copied().chain(["token"]).collect()
    }

    fn fault_status(&self, status: u16) -> Response {
        let code = status_code(status);
        self.error(
            code,
            &format!(
                "Simulated fault: {}",
                code.canonical_reason().unwrap_or("error")
            ),
        )
    }

    fn fault_html(&self, status: u16) -> Response {
        let code = status_code(status);
        html(
            code,
            format!(
                "<!DOCTYPE html>\n<html><head><title>{} {}</title></head><body><h1>{}</h1></body></html>\n",
                code.as_u16(),
                escape_html(code.canonical_reason().unwrap_or("Error")),
                escape_html(&self.spec.brand),
            ),
        )
    }

    fn fault_malformed(&self, _resource: Option<&str>) -> Response {
        let mut response = (StatusCode::OK, "{\"data\": [{\"id\": 1, \"na").into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }

    fn fault_in_200(&self) -> Response {
        self.error(StatusCode::OK, "Simulated fault inside a 200")
    }

    fn concurrency_limit(&self) -> Option<u32> {
        self.spec.limits.concurrent
    }

    fn too_many_concurrent(&self, _tenant: &str) -> Response {
        self.error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many concurrent requests",
        )
    }

    fn credential(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        (!token.is_empty()).then(|| token.to_owned())
    }

    fn unauthorized(&self, failure: AuthFailure) -> Response {
        let text = match failure {
            AuthFailure::Missing => "Missing access token",
            AuthFailure::Invalid => "Invalid access token",
            AuthFailure::Expired => "Access token expired",
        };
        let mut response = self.error(StatusCode::UNAUTHORIZED, text);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    }

    fn limit_headers(&self, headers: &mut HeaderMap, admission: &Admission, _tenant: &str) {
        let limits = &self.spec.limits;
        let usage = if limits.per_tenant {
            admission.tenant
        } else {
            admission.app.unwrap_or(admission.tenant)
        };
        let (used, limit) = (usage.window_used, usage.window_limit);
        let remaining = usage.window_available();
        let mut set = |name: &str, value: String| {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.insert(name, value);
            }
        };
        for name in &limits.remaining {
            set(name, remaining.to_string());
        }
        if let Some(name) = &limits.limit {
            set(name, limit.to_string());
        }
        if let Some((name, unit)) = &limits.reset {
            let wait_ms = if admission.wait_ms > 0 {
                admission.wait_ms
            } else {
                60_000
            };
            let value = match unit {
                ResetUnit::Seconds => (wait_ms + 999) / 1000,
                ResetUnit::Milliseconds => wait_ms,
                ResetUnit::EpochSeconds => (self.clock.now_ms() + wait_ms + 999) / 1000,
            };
            set(name, value.to_string());
        }
        for (name, pattern) in &limits.usage {
            let text = pattern
                .replace("{used}", &used.to_string())
                .replace("{limit}", &limit.to_string())
                .replace("{remaining}", &remaining.to_string());
            set(name, text);
        }
    }

    fn over_limit(&self, admission: &Admission, tenant: &str) -> Response {
        let mut response = self.error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
        self.limit_headers(response.headers_mut(), admission, tenant);
        let seconds = ((admission.wait_ms + 999) / 1000).max(1);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }

    fn oauth(&self) -> &OAuthStyle {
        &self.style
    }

    /// Any scope is granted as asked; none asked is the definition's.
    fn check_scope(&self, scope: Option<&str>) -> Result<GrantedScope, &'static str> {
        Ok(GrantedScope {
            scope: scope.unwrap_or(&self.spec.scope).to_owned(),
            refresh: true,
        })
    }

    fn consent_params(&self, tenant: &str, _scope: &GrantedScope) -> Vec<(&'static str, String)> {
        self.consent_params
            .iter()
            .map(|name| (*name, tenant.to_owned()))
            .collect()
    }

    fn token_error(&self, error: TokenError) -> Response {
        let (status, code, text) = match error {
            TokenError::NotAForm => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The body must be form-encoded".to_owned(),
            ),
            TokenError::MissingGrantType => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant_type".to_owned(),
            ),
            TokenError::UnsupportedGrantType(other) => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Unsupported grant_type: {other}"),
            ),
            TokenError::MissingClient | TokenError::UnknownClient | TokenError::WrongSecret => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Invalid client credentials".to_owned(),
            ),
            TokenError::MissingCode => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing code".to_owned(),
            ),
            TokenError::MissingRedirectUri => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing redirect_uri".to_owned(),
            ),
            TokenError::CodeExpired | TokenError::InvalidCode => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid or expired authorization code".to_owned(),
            ),
            TokenError::RedirectMismatch => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Redirect URI mismatch".to_owned(),
            ),
            TokenError::MissingRefreshToken => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing refresh_token".to_owned(),
            ),
            TokenError::InvalidRefreshToken => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Invalid refresh token".to_owned(),
            ),
        };
        (
            status,
            axum::Json(json!({"error": code, "error_description": text})),
        )
            .into_response()
    }

    fn token_issued(&self, issued: &Issued) -> Response {
        let mut body = json!({
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.access_ttl_secs,
            "refresh_token": issued.refresh_token,
            "scope": issued.scope.scope,
        });
        for (pointer, value) in &self.spec.token_extras {
            let value = match value {
                TokenValue::Origin => issued.origin.clone(),
                TokenValue::Tenant => issued.tenant_name.clone(),
            };
            data::put(&mut body, pointer, json!(value));
        }
        let mut response = axum::Json(body).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
