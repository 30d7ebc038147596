//! What stands in front of a provider's routes, as an API gateway does: the request log, injected
//! faults, the provider's early refusals, and the `Date` header on the provider's clock
//! ([`gateway`]); then bearer authentication, the concurrency limit and the budgets
//! ([`authenticate`]). The provider
//! words every refusal (`Provider::fault_status`, `unauthorized`, `over_limit`, …).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::engine::dates::format_zulu;
use crate::engine::faults::{self, Fault, FaultKind};
use crate::engine::inflight::InFlight;
use crate::engine::provider::AuthFailure;
use crate::engine::sim::{RequestRecord, Simulator};

/// Lets a handler close its own connection without answering (the `reset` fault). The server
/// loop puts one in every request's extensions.
#[derive(Debug, Clone)]
pub(crate) struct ConnAbort(pub Arc<Notify>);

/// Logs every provider request, applies injected faults, and dates the answer with the
/// provider's clock (a provider's `Date` header is its own time, the same clock as its records'
/// dates, so a client can learn the provider's skew from it).
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
    let provider = sim.shared.provider.clone();
    let started_ms = sim.base_now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let token = provider.credential(request.headers());
    let abort = request.extensions().get::<ConnAbort>().cloned();
    let resource = provider.resource_of(&path);
    let fault = faults::take(&mut sim.state().faults, resource.as_deref());

    let log = |status: u16, fault: Option<&Fault>| {
        let finished_ms = sim.base_now();
        let mut state = sim.state();
        let owner = token
            .as_ref()
            .and_then(|t| state.access_tokens.get(t))
            .cloned();
        let tenant = owner
            .as_ref()
            .and_then(|g| state.tenants.get(g.tenant))
            .map(|t| t.name.clone());
        let record = RequestRecord {
            seq: 0,
            time: format_zulu(started_ms),
            started_ms,
            finished_ms,
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            token: token.clone(),
            client_id: owner.map(|g| g.client_id),
            tenant,
            status,
            fault: fault.map(|f| format!("{:?}", f.kind).to_lowercase()),
        };
        state.log_request(record, sim.settings().request_log_capacity);
    };

    if let Some(response) = provider.reject_early(&method, request.headers()) {
        log(response.status().as_u16(), None);
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
        FaultKind::Status => provider.fault_status(fault.status),
        FaultKind::Html => provider.fault_html(fault.status),
        FaultKind::Malformed => provider.fault_malformed(resource.as_deref()),
        FaultKind::ErrorIn200 => provider.fault_in_200(),
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
            provider.fault_html(fault.status)
        }
        FaultKind::Reset => match abort {
            Some(ConnAbort(abort)) => {
                log(0, Some(&fault));
                abort.notify_one();
                // The connection task drops this future when it closes the socket.
                std::future::pending::<()>().await;
                return StatusCode::BAD_GATEWAY.into_response();
            }
            None => provider.fault_html(StatusCode::BAD_GATEWAY.as_u16()),
        },
    };
    log(response.status().as_u16(), Some(&fault));
    response
}

/// Bearer authentication and the budgets, for a provider's API routes. Puts the
/// [`Caller`](crate::engine::sim::Caller) in the request's extensions; a refused token spends no
/// budget.
pub(crate) async fn authenticate(
    State(sim): State<Simulator>,
    mut request: Request,
    next: Next,
) -> Response {
    let provider = sim.shared.provider.clone();
    let now = sim.base_now();
    let checked = match provider.credential(request.headers()) {
        None => Err(AuthFailure::Missing),
        Some(token) => sim.state().authenticate(&token, now, sim.settings()),
    };
    let caller = match checked {
        Ok(caller) => caller,
        Err(failure) => return provider.unauthorized(failure),
    };
    let tenant = sim.tenant_name(caller.tenant);
    // The concurrency limit is checked first: a request refused for it spends no budget.
    let Some(slot) = InFlight::enter(&sim, caller.tenant) else {
        return provider.too_many_concurrent(&tenant);
    };
    let admitted = sim.state().admit(&caller, sim.settings(), now);
    match admitted {
        Ok(admission) => {
            request.extensions_mut().insert(caller);
            slot.wait_if_held().await;
            let mut response = next.run(request).await;
            drop(slot);
            provider.limit_headers(response.headers_mut(), &admission, &tenant);
            response
        }
        Err(admission) => provider.over_limit(&admission, &tenant),
    }
}
