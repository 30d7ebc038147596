//! The generic simulator on the engine: the [`Provider`] hooks (records generated from the
//! spec's fields, errors with the message where the spec says, its rate-limit headers, plain
//! OAuth words) and the [`Serve`] half — the list and get requests of every resource, served
//! from one handler that matches the request path against the spec's paths.
//!
//! Choices where a definition says nothing: the rate-limit `reset` header says 60 seconds (the
//! rolling minute) while requests are admitted and the wait when one is refused; over-limit
//! answers are 429 with `Retry-After`; refresh tokens rotate (a client that keeps the newest one
//! works against either kind of provider); records are listed in id order unless the request
//! asks for another.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use tributary_domain::Clock;

use crate::engine::http::{escape_html, form_pairs, html};
use crate::engine::provider::{
    Admission, AuthFailure, GrantedScope, Issued, OAuthStyle, Provider, TokenError,
};
use crate::engine::records::{Row, Tenant};
use crate::engine::sim::{Caller, Serve, Simulator};
use crate::engine::{activity, control, gateway, oauth};
use crate::generic::data;
use crate::generic::spec::{
    ArchiveList, ChangeFeed, DeleteLog, PagerKind, ResetUnit, ResourceSpec, Spec, TokenValue,
};
use crate::generic::{language, search};

const DAY_MS: i64 = 86_400_000;

/// The generic provider: its spec, with the names the engine wants for the process's life.
#[derive(Debug)]
pub(crate) struct Generic {
    pub spec: Spec,
    names: &'static [&'static str],
    active: &'static [&'static str],
    /// Each resource's generated fields, by index.
    fields: Vec<Vec<String>>,
    style: OAuthStyle,
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

impl Serve for Generic {
    fn router(self: Arc<Self>, sim: &Simulator) -> Router {
        let api = Router::new()
            .fallback(serve_api)
            .layer(from_fn_with_state(sim.clone(), gateway::authenticate))
            .with_state((sim.clone(), self.clone()));
        let provider = Router::new()
            .merge(oauth::token_router(self.style.token_path).with_state(sim.clone()))
            .fallback_service(api)
            .layer(from_fn_with_state(sim.clone(), gateway::gateway));
        Router::new()
            .merge(oauth::consent_router(self.style.authorize_path).with_state(sim.clone()))
            .merge(control::router().with_state(sim.clone()))
            .merge(activity::router().with_state(sim.clone()))
            .merge(provider)
    }
}

type Ctx = (Simulator, Arc<Generic>);

/// Every API request: the list or get request of the resource whose path it is.
async fn serve_api(
    State((sim, generic)): State<Ctx>,
    Extension(caller): Extension<Caller>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    // The caller's tenant name, where the paths have a segment for it, reads as that segment.
    let normalized = match &generic.spec.tenant_segment {
        Some(segment) => {
            let tenant = sim.tenant_name(caller.tenant);
            uri.path()
                .split('/')
                .map(|part| {
                    if part == tenant {
                        segment.as_str()
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        }
        None => uri.path().to_owned(),
    };
    let path = normalized.as_str();
    let query = form_pairs(uri.query().unwrap_or("")).unwrap_or_default();
    if let Some((resource, feed)) = generic.spec.resources.iter().find_map(|resource| {
        let feed = resource.changes.as_ref()?;
        let asked = feed.path == path
            && feed
                .flags
                .iter()
                .all(|(k, v)| query.get(k).is_some_and(|q| q == v));
        asked.then_some((resource, feed))
    }) {
        return change_feed(&sim, &generic, &caller, resource, feed, &query);
    }
    if let Some((resource, archive)) = generic.spec.resources.iter().find_map(|resource| {
        let archive = resource.archive.as_ref()?;
        let asked = archive.path == path
            && archive
                .flags
                .iter()
                .all(|(k, v)| query.get(k).is_some_and(|q| q == v));
        asked.then_some((resource, archive))
    }) {
        return archive_list(&sim, &caller, resource, archive, &query);
    }
    if let Some((resource, log)) = generic.spec.resources.iter().find_map(|resource| {
        let log = resource.delete_log.as_ref()?;
        (log.path == path).then_some((resource, log))
    }) {
        return delete_log(&sim, &generic, &caller, resource, log, &query);
    }
    // Resources may share one list path (a query endpoint): the query text tells them apart.
    let listed: Vec<&ResourceSpec> = generic
        .spec
        .resources
        .iter()
        .filter(|r| r.list_path == path)
        .collect();
    let reads = |resource: &ResourceSpec| {
        resource.language.as_ref().is_none_or(|language| {
            let text = query.get(&language.param).map_or("", String::as_str);
            language::read(language, text).is_some()
        })
    };
    if let Some(first) = listed.first() {
        let resource = listed.iter().copied().find(|r| reads(r)).unwrap_or(first);
        let wanted = if resource.search.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        if method != wanted {
            return generic.error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not served at {path}"),
            );
        }
        let body = if resource.search.is_some() {
            match serde_json::from_slice::<Value>(&body) {
                Ok(body) => body,
                Err(error) => {
                    return generic.error(
                        StatusCode::BAD_REQUEST,
                        &format!("Invalid JSON body: {error}"),
                    );
                }
            }
        } else {
            Value::Null
        };
        return list(&sim, &generic, &caller, resource, path, &query, &body);
    }
    // A get: the id between the get path's prefix and suffix, one segment.
    let found = generic.spec.resources.iter().find_map(|resource| {
        let (prefix, suffix) = resource.get_path.as_ref()?;
        let id = path
            .strip_prefix(prefix.as_str())?
            .strip_suffix(suffix.as_str())?;
        (!id.is_empty() && !id.contains('/')).then_some((resource, id))
    });
    let Some((resource, id)) = found else {
        return generic.error(StatusCode::NOT_FOUND, &format!("No such path: {path}"));
    };
    if method != Method::GET {
        return generic.error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not served at {path}"),
        );
    }
    get_one(&sim, &generic, &caller, resource, id)
}

fn get_one(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    id: &str,
) -> Response {
    let row = id
        .parse::<i64>()
        .ok()
        .and_then(|id| sim.state().row(caller.tenant, &resource.name, id).cloned());
    let Some(row) = row else {
        return generic.error(
            StatusCode::NOT_FOUND,
            &format!("{} {id} not found", resource.name),
        );
    };
    let mut body = Value::Null;
    data::put(
        &mut body,
        &resource.get_record,
        data::render(resource, &row),
    );
    axum::Json(body).into_response()
}

/// A list page: the records that match the request's filters and bounds, in its order, from
/// the position its paging parameters say, in the shape its pager reads.
fn list(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    path: &str,
    query: &std::collections::HashMap<String, String>,
    body: &Value,
) -> Response {
    let param = |name: &Option<String>| name.as_ref().and_then(|n| query.get(n));
    let number = |name: &Option<String>| param(name).and_then(|v| v.trim().parse::<u64>().ok());
    let max = u64::from(generic.spec.max_page_size.max(1));
    let size = number(&resource.paging.size).unwrap_or(max).clamp(1, max);
    let offset = number(&resource.paging.offset)
        .or_else(|| number(&resource.paging.start).map(|start| start.saturating_sub(1)))
        .or_else(|| {
            number(&resource.paging.number).map(|page| page.saturating_sub(1).saturating_mul(size))
        })
        .or_else(|| number(&resource.paging.cursor))
        .or_else(|| query.get(NEXT_OFFSET).and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    let (mut size, mut offset) = (size, offset);
    let mut conditions = Vec::new();
    let mut asked = search::Asked::default();
    if let Some(spec) = &resource.search {
        asked = match search::read(spec, body) {
            Ok(asked) => asked,
            Err(problem) => return generic.error(StatusCode::BAD_REQUEST, &problem),
        };
        if let Some(wanted) = asked.page_size {
            size = wanted.clamp(1, max);
        }
        if let Some(at) = asked.offset {
            offset = at;
        }
    }
    if let Some(language) = &resource.language {
        let text = query.get(&language.param).map_or("", String::as_str);
        let Some(read) = language::read(language, text) else {
            return generic.error(
                StatusCode::BAD_REQUEST,
                &format!("Malformed query in {}: {text:?}", language.param),
            );
        };
        if let Some(asked) = read.page_size {
            size = asked.clamp(1, max);
        }
        if let Some(at) = read.offset {
            offset = at;
        }
        conditions = match language::conditions(language, &read.conditions) {
            Ok(conditions) => conditions,
            Err(problem) => return generic.error(StatusCode::BAD_REQUEST, &problem),
        };
    }
    let mut bounds = (None, None);
    for (which, name) in [(0, &resource.lower_bound), (1, &resource.upper_bound)] {
        if let Some(text) = param(name) {
            match data::parse_date(resource.bound_format.as_ref(), text) {
                Some(ms) if which == 0 => bounds.0 = Some(ms),
                Some(ms) => bounds.1 = Some(ms),
                None => {
                    return generic.error(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "Invalid date for {}: {text:?}",
                            name.as_deref().unwrap_or("")
                        ),
                    );
                }
            }
        }
    }

    let mut rows: Vec<Row> = {
        let state = sim.state();
        let Some(table) = state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
        else {
            return generic.error(StatusCode::NOT_FOUND, "No such resource");
        };
        table
            .rows
            .values()
            .filter(|row| {
                resource.filters.iter().all(|(param, field)| {
                    query.get(param).is_none_or(|wanted| {
                        let value = if field == &resource.id_field {
                            Some(Value::from(row.id))
                        } else {
                            row.field(field).cloned()
                        };
                        value.is_some_and(|v| data::text_of(&v) == *wanted)
                    })
                })
            })
            .filter(|row| {
                resource
                    .language
                    .as_ref()
                    .is_none_or(|language| language::matches(language, resource, row, &conditions))
            })
            .filter(|row| {
                let format = resource
                    .search
                    .as_ref()
                    .and_then(|s| s.date_format.as_ref());
                asked.groups.is_empty()
                    || asked.groups.iter().any(|group| {
                        group
                            .iter()
                            .all(|c| language::holds(format, resource, row, c))
                    })
            })
            .filter(|row| {
                let Some(updated) = &resource.updated else {
                    return true;
                };
                let shown = data::shown_ms(&updated.format, row.updated_ms);
                bounds.0.is_none_or(|lower| shown >= lower)
                    && bounds.1.is_none_or(|upper| shown <= upper)
            })
            .cloned()
            .collect()
    };
    match &asked.sort {
        Some((field, descending)) => sort_rows(resource, Some(field), *descending, &mut rows),
        None => order(resource, query, &mut rows),
    }

    let total = rows.len() as u64;
    let (start, take) = if resource.pager.kind == PagerKind::None {
        (0, max)
    } else {
        (offset, size)
    };
    let page: Vec<Value> = rows
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .map(|row| data::render(resource, row))
        .collect();
    let next_offset = start + page.len() as u64;
    let more = !page.is_empty() && next_offset < total && resource.pager.kind != PagerKind::None;

    let mut body = Value::Null;
    data::put(&mut body, &resource.records, Value::Array(page));
    if let Some(pointer) = &resource.pager.total {
        data::put(&mut body, pointer, json!(total));
    }
    let next_url = || {
        let mut pairs: BTreeMap<String, String> =
            query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for name in [
            &resource.paging.offset,
            &resource.paging.start,
            &resource.paging.number,
            &resource.paging.cursor,
        ]
        .into_iter()
        .flatten()
        {
            pairs.remove(name);
        }
        pairs.insert(NEXT_OFFSET.to_owned(), next_offset.to_string());
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}{path}?{query}", sim.origin())
    };
    let mut link = None;
    match resource.pager.kind {
        PagerKind::NextUrl => {
            if let Some(pointer) = &resource.pager.next {
                let url = if more { json!(next_url()) } else { Value::Null };
                data::put(&mut body, pointer, url);
            }
            if let Some(pointer) = &resource.pager.done {
                data::put(&mut body, pointer, json!(!more));
            }
        }
        PagerKind::Cursor => {
            if let (Some(pointer), true) = (&resource.pager.cursor, more) {
                data::put(&mut body, pointer, json!(next_offset.to_string()));
            }
        }
        PagerKind::LinkHeader if more => link = Some(format!("<{}>; rel=\"next\"", next_url())),
        _ => {}
    }
    if body.is_null() {
        body = json!({});
    }
    let mut response = axum::Json(body).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// The query parameter of the next page's position in the URLs the simulator writes
/// (`next_url` and `link_header` pagers): the URL is the provider's own, opaque to clients.
const NEXT_OFFSET: &str = "sim_offset";

/// Sorts by the requested field (the id, a date, or a generated field), id order by default.
fn order(
    resource: &ResourceSpec,
    query: &std::collections::HashMap<String, String>,
    rows: &mut [Row],
) {
    let field = resource
        .order_parameter
        .as_ref()
        .and_then(|name| query.get(name));
    let descending = match (&resource.direction_parameter, &resource.descending) {
        (Some(param), Some(word)) => query.get(param).is_some_and(|v| v == word),
        _ => false,
    };
    sort_rows(resource, field.map(String::as_str), descending, rows);
}

/// Sorts by `field` (the id, a date, or a generated field), id order without one.
fn sort_rows(resource: &ResourceSpec, field: Option<&str>, descending: bool, rows: &mut [Row]) {
    if let Some(field) = field {
        let is = |date: &Option<crate::generic::spec::DateField>| {
            date.as_ref().is_some_and(|d| d.field == field)
        };
        if is(&resource.updated) {
            rows.sort_by_key(|row| (row.updated_ms, row.id));
        } else if is(&resource.created) {
            rows.sort_by_key(|row| (row.created_ms, row.id));
        } else if field != resource.id_field {
            rows.sort_by_cached_key(|row| (row.field(field).map(data::text_of), row.id));
        }
    }
    if descending {
        rows.reverse();
    }
}

/// A delete log: the deletions whose time falls in the window the request names, each with its
/// id and date; the answer covers up to the window's end and keeps every deletion since the
/// simulator started (so it never says deletes were lost).
fn delete_log(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    log: &DeleteLog,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    let bound = |bound: &Option<(String, Option<tributary_domain::dates::DateFormatter>)>| {
        let (param, format) = bound.as_ref()?;
        let text = query.get(param)?;
        Some(data::parse_date(format.as_ref(), text).ok_or_else(|| param.clone()))
    };
    let (start, end) = match (bound(&log.start).transpose(), bound(&log.end).transpose()) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(param), _) | (_, Err(param)) => {
            return generic.error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid date for {param}"),
            );
        }
    };
    let (deletions, now) = {
        let state = sim.state();
        let now = sim.provider_now(&state);
        let deletions: Vec<(i64, i64)> = state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
            .map(|table| {
                table
                    .deleted
                    .iter()
                    .filter(|d| start.is_none_or(|s| d.deleted_ms >= s))
                    .filter(|d| end.is_none_or(|e| d.deleted_ms <= e))
                    .map(|d| (d.id, d.deleted_ms))
                    .collect()
            })
            .unwrap_or_default();
        (deletions, now)
    };
    let entries: Vec<Value> = deletions
        .iter()
        .map(|(id, at)| {
            let mut entry = Value::Null;
            data::put(&mut entry, &log.id, json!(id));
            data::put(
                &mut entry,
                &log.date,
                data::date_value(&log.date_format, *at),
            );
            entry
        })
        .collect();
    let mut body = Value::Null;
    data::put(&mut body, &log.records, Value::Array(entries));
    if let Some(pointer) = &log.covered {
        let covered = end.unwrap_or(now).min(now);
        data::put(
            &mut body,
            pointer,
            data::date_value(&log.date_format, covered),
        );
    }
    if let Some(pointer) = &log.earliest {
        let earliest = start.unwrap_or(now).min(now);
        data::put(
            &mut body,
            pointer,
            data::date_value(&log.date_format, earliest),
        );
    }
    if body.is_null() {
        body = json!({});
    }
    axum::Json(body).into_response()
}

/// A list of archived records: the deletions, oldest first, each with its id and its time,
/// paged by the cursor the list gives.
fn archive_list(
    sim: &Simulator,
    caller: &Caller,
    resource: &ResourceSpec,
    archive: &ArchiveList,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    let number = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| query.get(n))
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    let size = number(&archive.size).unwrap_or(100).clamp(1, 10_000);
    let offset = number(&archive.cursor).unwrap_or(0);
    let deleted: Vec<(i64, i64)> = {
        let state = sim.state();
        state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
            .map(|table| table.deleted.iter().map(|d| (d.id, d.deleted_ms)).collect())
            .unwrap_or_default()
    };
    let page: Vec<Value> = deleted
        .iter()
        .skip(offset)
        .take(size)
        .map(|(id, at)| {
            let mut entry = Value::Null;
            data::put(&mut entry, &archive.id, json!(id.to_string()));
            data::put(
                &mut entry,
                &archive.date,
                data::date_value(&archive.date_format, *at),
            );
            entry
        })
        .collect();
    let next = offset + page.len();
    let mut body = Value::Null;
    data::put(&mut body, &archive.records, Value::Array(page));
    if let Some(pointer) = &archive.next_cursor
        && next < deleted.len()
    {
        data::put(&mut body, pointer, json!(next.to_string()));
    }
    if body.is_null() {
        body = json!({});
    }
    axum::Json(body).into_response()
}

/// A change feed: every record changed at or after the time asked, then a stub for every
/// record deleted since (its id, its deletion time as its updated date, the stub's mark).
fn change_feed(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    feed: &ChangeFeed,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    let (param, format) = &feed.since;
    let Some(since) = query
        .get(param)
        .and_then(|text| data::parse_date(format.as_ref(), text))
    else {
        return generic.error(StatusCode::BAD_REQUEST, &format!("{param} must be a date"));
    };
    let shown = |ms: i64| {
        resource
            .updated
            .as_ref()
            .map_or(ms, |updated| data::shown_ms(&updated.format, ms))
    };
    let (mut records, deleted): (Vec<Value>, Vec<(i64, i64)>) = {
        let state = sim.state();
        let Some(table) = state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
        else {
            return generic.error(StatusCode::NOT_FOUND, "No such resource");
        };
        let mut rows: Vec<&Row> = table
            .rows
            .values()
            .filter(|row| shown(row.updated_ms) >= since)
            .collect();
        rows.sort_by_key(|row| (row.updated_ms, row.id));
        (
            rows.into_iter()
                .map(|row| data::render(resource, row))
                .collect(),
            table
                .deleted
                .iter()
                .filter(|d| shown(d.deleted_ms) >= since)
                .map(|d| (d.id, d.deleted_ms))
                .collect(),
        )
    };
    if let Some((pointer, value)) = &feed.stub {
        for (id, at) in deleted {
            let row = Row {
                id,
                created_ms: at,
                updated_ms: at,
                versions: 0,
                fields: Map::new(),
            };
            let mut stub = data::render(resource, &row);
            data::put(&mut stub, pointer, value.clone());
            records.push(stub);
        }
    }
    let cap = usize::try_from(generic.spec.max_page_size).unwrap_or(usize::MAX);
    records.truncate(cap.max(1));
    let mut body = Value::Null;
    data::put(&mut body, &feed.records, Value::Array(records));
    axum::Json(body).into_response()
}
