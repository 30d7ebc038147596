//! The control API under `/_sim` (never under a provider's paths), the same for every provider:
//! faults, the clock offset, exact-count records, the state export, the request log, and token
//! expiry and revocation; `/_sim/hold` comes from `inflight`. (The activity generator is in
//! `activity`; a provider may add its own knobs beside these.)
//!
//! Bodies are JSON; a bad body is a 400 `{"message": …}` naming what is wrong.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::engine::dates::{format_offset, format_zulu, round_to_second};
use crate::engine::faults::FaultIn;
use crate::engine::http::{control_body, message};
use crate::engine::inflight;
use crate::engine::sim::Simulator;

pub(crate) fn router() -> Router<Simulator> {
    Router::new()
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/clock", get(show_clock).post(set_clock))
        .route("/_sim/records", post(create_records))
        .route("/_sim/state", get(export_state))
        .route("/_sim/requests", get(list_requests).delete(clear_requests))
        .route("/_sim/tokens/expire", post(expire_tokens))
        .route("/_sim/tokens/revoke", post(revoke_tokens))
        .merge(inflight::router())
}

async fn list_faults(State(sim): State<Simulator>) -> Response {
    axum::Json(sim.state().faults.clone()).into_response()
}

async fn add_fault(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: FaultIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
    };
    match request.into_fault(&sim.provider().fault_targets()) {
        Ok(fault) => {
            sim.state().faults.push(fault.clone());
            (StatusCode::CREATED, axum::Json(fault)).into_response()
        }
        Err(text) => message(StatusCode::BAD_REQUEST, text),
    }
}

async fn clear_faults(State(sim): State<Simulator>) -> Response {
    sim.state().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

fn clock_json(sim: &Simulator) -> Value {
    let state = sim.state();
    let now = sim.provider_now(&state);
    json!({"offset_seconds": state.offset_ms / 1000, "offset_ms": state.offset_ms,
           "now": format_zulu(now), "now_ms": now})
}

async fn show_clock(State(sim): State<Simulator>) -> Response {
    axum::Json(clock_json(&sim)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockIn {
    offset_seconds: Option<i64>,
    offset_ms: Option<i64>,
}

/// `POST /_sim/clock {"offset_seconds": -600}`: the provider's clock runs that far from the
/// base clock from now on (record dates are stamped with it).
async fn set_clock(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: ClockIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
    };
    const LIMIT_MS: i64 = 10 * 365 * 86_400_000;
    let offset_ms = match (request.offset_seconds, request.offset_ms) {
        (Some(seconds), None) => seconds.checked_mul(1000),
        (None, Some(ms)) => Some(ms),
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "give exactly one of offset_seconds or offset_ms",
            );
        }
    };
    match offset_ms {
        Some(ms) if ms.abs() <= LIMIT_MS => sim.state().offset_ms = ms,
        _ => return message(StatusCode::BAD_REQUEST, "offset must be within ten years"),
    }
    axum::Json(clock_json(&sim)).into_response()
}

/// The provider's resource named `name`, as the `'static` name its tables use.
pub(crate) fn resource_named(sim: &Simulator, name: &str) -> Option<&'static str> {
    sim.provider()
        .resources()
        .iter()
        .find(|resource| **resource == name)
        .copied()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsIn {
    resource: String,
    count: usize,
    tenant: Option<String>,
}

/// `POST /_sim/records {"resource": "contacts", "count": 2500}`: creates exactly that many
/// records of one resource now (paging tests and benchmarks need exact sizes).
async fn create_records(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: RecordsIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
    };
    let Some(resource) = resource_named(&sim, &request.resource) else {
        return message(
            StatusCode::BAD_REQUEST,
            format!("unknown resource {:?}", request.resource),
        );
    };
    if request.count == 0 || request.count > 100_000 {
        return message(
            StatusCode::BAD_REQUEST,
            "count must be between 1 and 100000",
        );
    }
    let provider = sim.shared.provider.clone();
    let mut state = sim.state();
    let state = &mut *state;
    let tenant = match &request.tenant {
        None => 0,
        Some(name) => match state.tenants.iter().position(|t| &t.name == name) {
            Some(index) => index,
            None => return message(StatusCode::BAD_REQUEST, format!("unknown tenant {name:?}")),
        },
    };
    let now = sim.provider_now(state);
    let mut ids = Vec::with_capacity(request.count);
    for _ in 0..request.count {
        let fields =
            provider.new_fields(resource, &mut state.rng, &state.tenants[tenant], now, false);
        if let Some(row) = sim.create(state, tenant, resource, fields, now) {
            ids.push(row.id);
        }
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"created": ids.len(), "first_id": ids.first(), "last_id": ids.last()})),
    )
        .into_response()
}

/// `GET /_sim/state`: every record of every tenant with its id and dates (as epoch milliseconds,
/// and as the provider's API shows them), plus every deletion with its date and change counters
/// per resource. Soft deletes (deactivations) are listed among the deletions with
/// `"kind": "deactivated"`; the record itself stays among the records.
async fn export_state(State(sim): State<Simulator>) -> Response {
    let provider = sim.provider();
    let state = sim.state();
    let now = sim.provider_now(&state);
    let tenants: Vec<Value> = state
        .tenants
        .iter()
        .enumerate()
        .map(|(index, tenant)| {
            let mut resources = Map::new();
            for (resource, table) in &tenant.tables {
                let records: Vec<Value> = table
                    .rows
                    .values()
                    .map(|row| {
                        let mut record = Map::new();
                        record.insert("id".into(), row.id.into());
                        record.insert("created_ms".into(), row.created_ms.into());
                        record.insert("updated_ms".into(), row.updated_ms.into());
                        record.insert("versions".into(), row.versions.into());
                        provider.export_record(resource, index, row, &mut record);
                        Value::Object(record)
                    })
                    .collect();
                let deleted: Vec<Value> = table
                    .deleted
                    .iter()
                    .map(|deletion| {
                        let mut entry = Map::new();
                        entry.insert("id".into(), deletion.id.into());
                        entry.insert("deleted_ms".into(), deletion.deleted_ms.into());
                        provider.export_deletion(resource, index, deletion, &mut entry);
                        Value::Object(entry)
                    })
                    .collect();
                let deleted = deleted
                    .into_iter()
                    .chain(table.deactivated.iter().map(|deactivation| {
                        let mut entry = Map::new();
                        entry.insert("id".into(), deactivation.id.into());
                        entry.insert("deleted_ms".into(), deactivation.deactivated_ms.into());
                        entry.insert("kind".into(), "deactivated".into());
                        let row = table.rows.get(&deactivation.id);
                        provider.export_deactivation(
                            resource,
                            index,
                            row,
                            deactivation,
                            &mut entry,
                        );
                        Value::Object(entry)
                    }))
                    .collect::<Vec<_>>();
                let mut entry = Map::new();
                entry.insert("records".into(), records.into());
                entry.insert("deleted".into(), deleted.into());
                entry.insert("creates".into(), table.creates.into());
                entry.insert("updates".into(), table.updates.into());
                provider.export_table(resource, index, table, &mut entry);
                resources.insert((*resource).into(), Value::Object(entry));
            }
            json!({"name": tenant.name, "resources": resources})
        })
        .collect();
    axum::Json(json!({
        "now": format_offset(round_to_second(now)),
        "now_ms": now,
        "offset_ms": state.offset_ms,
        "tenants": tenants,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct RequestsQuery {
    since_seq: Option<u64>,
}

async fn list_requests(
    State(sim): State<Simulator>,
    Query(query): Query<RequestsQuery>,
) -> Response {
    let since = query.since_seq.unwrap_or(0);
    let state = sim.state();
    let lines: Vec<_> = state
        .requests
        .iter()
        .filter(|r| r.seq > since)
        .cloned()
        .collect();
    axum::Json(lines).into_response()
}

async fn clear_requests(State(sim): State<Simulator>) -> Response {
    sim.state().requests.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/tokens/expire`: every access token issued so far expires now.
async fn expire_tokens(State(sim): State<Simulator>) -> Response {
    let now = sim.base_now();
    let mut state = sim.state();
    for grant in state.access_tokens.values_mut() {
        grant.expires_ms = grant.expires_ms.min(now);
    }
    axum::Json(json!({"expired": state.access_tokens.len()})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeIn {
    refresh_token: Option<String>,
}

/// `POST /_sim/tokens/revoke {"refresh_token": …}` revokes one refresh token (404 when unknown);
/// an empty body revokes them all.
async fn revoke_tokens(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: RevokeIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
    };
    let mut state = sim.state();
    match request.refresh_token {
        Some(token) => match state.refresh_tokens.remove(&token) {
            Some(_) => axum::Json(json!({"revoked": 1})).into_response(),
            None => message(StatusCode::NOT_FOUND, "unknown refresh token"),
        },
        None => {
            let revoked = state.refresh_tokens.len();
            state.refresh_tokens.clear();
            axum::Json(json!({"revoked": revoked})).into_response()
        }
    }
}
