//! What stands in front of the provider routes, as Keap's API gateway does: the request log,
//! injected faults, the front end's refusal of a GET with a body, bearer authentication, and
//! the throttles with their `x-keap-*` headers.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::faults::{self, Fault, FaultKind};
use crate::http::{front_end_error, message, throttled_body, unauthorized};
use crate::sim::{AuthFailure, RequestRecord, Simulator, tenant_name};
use crate::throttle::Usage;

/// Lets a handler close its own connection without answering (the `reset` fault). The server
/// loop puts one in every request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct ConnAbort(pub Arc<Notify>);

/// The access token or API key a request carries.
fn credential(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-keap-api-key").and_then(|v| v.to_str().ok()))
        .map(|token| token.trim().to_owned())
}

/// `token` for `/token`, the first path segment after `/crm/rest/v1/` otherwise.
fn resource_of(path: &str) -> Option<&str> {
    if path == "/token" {
        return Some("token");
    }
    path.strip_prefix("/crm/rest/v1/")
        .and_then(|rest| rest.split('/').next())
        .filter(|segment| !segment.is_empty())
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    length > 0 || headers.contains_key(header::TRANSFER_ENCODING)
}

/// Logs every provider request, applies injected faults, and dates the answer with the
/// provider's clock (Keap's `Date` header is Keap's time, the same clock as its records' dates,
/// so a client can learn the provider's skew from it).
pub(crate) async fn gateway(
    State(sim): State<Simulator>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = answer(sim.clone(), request, next).await;
    let now = {
        let state = sim.state();
        sim.provider_now(&state)
    };
    if let Ok(ts) = jiff::Timestamp::from_millisecond(now) {
        let date = ts.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
        if let Ok(value) = HeaderValue::from_str(&date) {
            response.headers_mut().insert(header::DATE, value);
        }
    }
    response
}

async fn answer(sim: Simulator, request: Request, next: Next) -> Response {
    let started_ms = sim.base_now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let token = credential(request.headers());
    let abort = request.extensions().get::<ConnAbort>().cloned();
    let fault = faults::take(&mut sim.state().faults, resource_of(&path));

    let log = |status: u16, fault: Option<&Fault>| {
        let finished_ms = sim.base_now();
        let mut state = sim.state();
        let owner = token
            .as_ref()
            .and_then(|t| state.access_tokens.get(t))
            .cloned();
        let record = RequestRecord {
            seq: 0,
            time: crate::resources::format_zulu(started_ms),
            started_ms,
            finished_ms,
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            token: token.clone(),
            client_id: owner.as_ref().map(|g| g.client_id.clone()),
            tenant: owner.map(|g| tenant_name(g.tenant)),
            status,
            fault: fault.map(|f| format!("{:?}", f.kind).to_lowercase()),
        };
        state.log_request(record, sim.config().request_log_capacity);
    };

    if method == Method::GET && has_body(request.headers()) {
        let response = front_end_error(StatusCode::BAD_REQUEST);
        log(400, None);
        return response;
    }
    let Some(fault) = fault else {
        let response = next.run(request).await;
        log(response.status().as_u16(), None);
        return response;
    };
    if fault.latency_ms > 0 && fault.kind != FaultKind::Timeout {
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
    }
    let response = match fault.kind {
        FaultKind::Latency => next.run(request).await,
        FaultKind::Status => fault_status(fault.status),
        FaultKind::Html => front_end_error(status_code(fault.status)),
        FaultKind::Malformed => {
            let key = resource_of(&path).unwrap_or("data");
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
        FaultKind::Timeout => {
            let hold = if fault.latency_ms > 0 {
                fault.latency_ms
            } else {
                300_000
            };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(hold)) => {}
                _ = sim.shared.shutdown.cancelled() => {}
            }
            front_end_error(status_code(fault.status))
        }
        FaultKind::Reset => match abort {
            Some(ConnAbort(abort)) => {
                log(0, Some(&fault));
                abort.notify_one();
                // The connection task drops this future when it closes the socket.
                std::future::pending::<()>().await;
                return StatusCode::BAD_GATEWAY.into_response();
            }
            None => front_end_error(StatusCode::BAD_GATEWAY),
        },
    };
    log(response.status().as_u16(), Some(&fault));
    response
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
}

fn fault_status(status: u16) -> Response {
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

/// Bearer (or `X-Keap-API-Key`) authentication and the throttles, for `/crm/rest/v1`.
pub(crate) async fn authenticate(
    State(sim): State<Simulator>,
    mut request: Request,
    next: Next,
) -> Response {
    let now = sim.base_now();
    let checked = match credential(request.headers()) {
        None => Err(AuthFailure::Missing),
        Some(token) => sim.state().authenticate(&token, now),
    };
    let caller = match checked {
        Ok(caller) => caller,
        Err(failure) => return unauthorized(failure == AuthFailure::Expired),
    };
    let admitted = sim.state().admit(&caller, sim.config(), now);
    let tenant = tenant_name(caller.tenant);
    match admitted {
        Ok((app, tenant_usage)) => {
            request.extensions_mut().insert(caller);
            let mut response = next.run(request).await;
            throttle_headers(response.headers_mut(), &app, &tenant_usage, &tenant);
            response
        }
        Err((app, tenant_usage, wait_ms)) => {
            let mut response =
                (StatusCode::TOO_MANY_REQUESTS, axum::Json(throttled_body())).into_response();
            throttle_headers(response.headers_mut(), &app, &tenant_usage, &tenant);
            if sim.config().retry_after {
                let seconds = (wait_ms + 999) / 1000;
                if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            response
        }
    }
}

/// The `x-keap-*` headers of a real response (names and units from the captured sample).
fn throttle_headers(headers: &mut HeaderMap, app: &Usage, tenant: &Usage, tenant_id: &str) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    put(
        "x-keap-product-throttle-limit",
        app.minute_limit.to_string(),
    );
    put("x-keap-product-throttle-time-unit", "minute".into());
    put("x-keap-product-throttle-interval", "1".into());
    put(
        "x-keap-product-throttle-available",
        app.minute_available().to_string(),
    );
    put("x-keap-product-throttle-used", app.minute_used.to_string());
    put("x-keap-product-quota-limit", app.day_limit.to_string());
    put("x-keap-product-quota-time-unit", "day".into());
    put("x-keap-product-quota-interval", "1".into());
    put(
        "x-keap-product-quota-available",
        app.day_available().to_string(),
    );
    put("x-keap-product-quota-used", app.day_used.to_string());
    put(
        "x-keap-product-quota-expiry-time",
        app.day_expiry_ms.to_string(),
    );
    put("x-keap-tenant-id", tenant_id.to_owned());
    put(
        "x-keap-tenant-throttle-limit",
        tenant.minute_limit.to_string(),
    );
    put("x-keap-tenant-throttle-time-unit", "minute".into());
    put("x-keap-tenant-throttle-interval", "1".into());
    put(
        "x-keap-tenant-throttle-available",
        tenant.minute_available().to_string(),
    );
    put(
        "x-keap-tenant-throttle-used",
        tenant.minute_used.to_string(),
    );
    put("via", "1.1 google".into());
}
