//! The control API under `/_sim` (never under `/crm`): faults, the clock offset, the activity
//! generator, the state export, the request log, and token revocation.
//!
//! Bodies are JSON; a bad body is a 400 `{"message": …}` naming what is wrong.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::faults::FaultIn;
use crate::http::{Reject, message};
use crate::resources::{DateStyle, Kind, format_offset, format_zulu, round_to_second};
use crate::seed;
use crate::sim::{Activity, Simulator, contact_ref};

pub fn router() -> Router<Simulator> {
    Router::new()
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/clock", get(show_clock).post(set_clock))
        .route(
            "/_sim/activity",
            get(show_activity)
                .post(start_activity)
                .delete(stop_activity),
        )
        .route("/_sim/activity/burst", post(burst))
        .route("/_sim/records", post(create_records))
        .route("/_sim/state", get(export_state))
        .route("/_sim/requests", get(list_requests).delete(clear_requests))
        .route("/_sim/tokens/expire", post(expire_tokens))
        .route("/_sim/tokens/revoke", post(revoke_tokens))
}

/// Parses a JSON body into `T`, or answers 400 with serde's description of the problem.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Reject> {
    let text = if body.is_empty() {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text)
        .map_err(|error| Reject::bad_request(format!("Invalid request body: {error}")))
}

async fn list_faults(State(sim): State<Simulator>) -> Response {
    axum::Json(sim.state().faults.clone()).into_response()
}

async fn add_fault(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: FaultIn = match parse(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    match request.into_fault() {
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
    let request: ClockIn = match parse(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
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

/// Resources the generator changes when none are named: those with change dates.
const ACTIVE_RESOURCES: [Kind; 6] = [
    Kind::Contacts,
    Kind::Opportunities,
    Kind::Tasks,
    Kind::Notes,
    Kind::Appointments,
    Kind::Orders,
];

fn resources(names: Option<Vec<String>>) -> Result<Vec<Kind>, Reject> {
    let Some(names) = names else {
        return Ok(ACTIVE_RESOURCES.to_vec());
    };
    if names.is_empty() {
        return Err(Reject::bad_request("resources must not be empty"));
    }
    names
        .iter()
        .map(|name| {
            Kind::from_path(name)
                .ok_or_else(|| Reject::bad_request(format!("unknown resource {name:?}")))
        })
        .collect()
}

/// Makes `count` changes now, all stamped with the same provider time (so they tie), spread
/// over `kinds` and the tenants: about a third creates, the rest edits of existing records.
pub(crate) fn make_changes(sim: &Simulator, kinds: &[Kind], count: usize) -> usize {
    if kinds.is_empty() {
        return 0;
    }
    let mut state = sim.state();
    let state = &mut *state;
    let now = sim.provider_now(state);
    for _ in 0..count {
        let kind = kinds[state.rng.random_range(0..kinds.len())];
        let tenant = state.rng.random_range(0..state.tenants.len());
        let Some(table) = state.tenants[tenant].tables.get(&kind) else {
            continue;
        };
        let existing = if table.rows.is_empty() || state.rng.random_bool(0.35) {
            None
        } else {
            let probe = state.rng.random_range(1..=table.next_id);
            table
                .rows
                .range(probe..)
                .next()
                .or_else(|| table.rows.iter().next())
                .map(|(id, _)| *id)
        };
        match existing {
            Some(id) => {
                let patch = seed::edit_fields(kind, &mut state.rng);
                state.update(tenant, kind, id, patch, now);
            }
            None => {
                let contact = state.tenants[tenant]
                    .tables
                    .get(&Kind::Contacts)
                    .and_then(|contacts| {
                        let probe = state.rng.random_range(0..=contacts.next_id);
                        contacts
                            .rows
                            .range(probe..)
                            .next()
                            .or_else(|| contacts.rows.iter().next())
                    })
                    .map(|(_, row)| contact_ref(row));
                let fields = seed::new_fields(kind, &mut state.rng, contact.as_ref(), now);
                state.create(tenant, kind, fields, now);
            }
        }
    }
    if let Some(activity) = state.activity.as_mut() {
        activity.changes += count as u64;
    }
    sim.shared.hook_wake.notify_one();
    count
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityIn {
    rate: f64,
    resources: Option<Vec<String>>,
}

async fn start_activity(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: ActivityIn = match parse(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    if !(request.rate.is_finite() && request.rate > 0.0 && request.rate <= 10_000.0) {
        return message(
            StatusCode::BAD_REQUEST,
            format!(
                "rate must be above 0 and at most 10000 changes per second, got {}",
                request.rate
            ),
        );
    }
    let kinds = match resources(request.resources) {
        Ok(kinds) => kinds,
        Err(reject) => return reject.into_response(),
    };
    let stop = sim.shared.shutdown.child_token();
    let activity = Activity {
        rate: request.rate,
        resources: kinds.clone(),
        changes: 0,
        stop: stop.clone(),
    };
    if let Some(previous) = sim.state().activity.replace(activity.clone()) {
        previous.stop.cancel();
    }
    tokio::spawn(generate(sim.clone(), request.rate, kinds, stop));
    (StatusCode::CREATED, axum::Json(activity)).into_response()
}

/// Every 250 ms, makes the changes the rate has accumulated (fractions carry over), so several
/// records share a timestamp whenever the rate allows it.
async fn generate(sim: Simulator, rate: f64, kinds: Vec<Kind>, stop: CancellationToken) {
    const TICK: Duration = Duration::from_millis(250);
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut carry = 0.0;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.cancelled() => return,
        }
        carry += rate * TICK.as_secs_f64();
        let due = carry.floor();
        carry -= due;
        // `due` is at most rate/4 ≤ 2,500, so the conversion is exact.
        make_changes(&sim, &kinds, due as usize);
    }
}

async fn show_activity(State(sim): State<Simulator>) -> Response {
    match sim.state().activity.clone() {
        Some(activity) => {
            let mut value = serde_json::to_value(&activity).unwrap_or(Value::Null);
            if let Some(map) = value.as_object_mut() {
                map.insert("running".into(), true.into());
            }
            axum::Json(value).into_response()
        }
        None => axum::Json(json!({"running": false})).into_response(),
    }
}

async fn stop_activity(State(sim): State<Simulator>) -> Response {
    if let Some(activity) = sim.state().activity.take() {
        activity.stop.cancel();
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BurstIn {
    changes: usize,
    resources: Option<Vec<String>>,
}

/// `POST /_sim/activity/burst {"changes": N}`: N changes at once, for tests and benchmarks that
/// want a known amount of work without waiting on a rate.
async fn burst(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: BurstIn = match parse(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    if request.changes == 0 || request.changes > 100_000 {
        return message(
            StatusCode::BAD_REQUEST,
            "changes must be between 1 and 100000",
        );
    }
    let kinds = match resources(request.resources) {
        Ok(kinds) => kinds,
        Err(reject) => return reject.into_response(),
    };
    let made = make_changes(&sim, &kinds, request.changes);
    axum::Json(json!({"changes": made})).into_response()
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
    let request: RecordsIn = match parse(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    let Some(kind) = Kind::from_path(&request.resource) else {
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
        let fields = seed::new_fields(kind, &mut state.rng, None, now);
        if let Some(row) = state.create(tenant, kind, fields, now) {
            ids.push(row.id);
        }
    }
    sim.shared.hook_wake.notify_one();
    (
        StatusCode::CREATED,
        axum::Json(json!({"created": ids.len(), "first_id": ids.first(), "last_id": ids.last()})),
    )
        .into_response()
}

/// `GET /_sim/state`: every record of every tenant with its id and dates, as the API shows them
/// and as epoch milliseconds, plus deletions and change counters per resource.
async fn export_state(State(sim): State<Simulator>) -> Response {
    let state = sim.state();
    let now = sim.provider_now(&state);
    let tenants: Vec<Value> = state
        .tenants
        .iter()
        .map(|tenant| {
            let mut resources = Map::new();
            for (kind, table) in &tenant.tables {
                let records: Vec<Value> = table
                    .rows
                    .values()
                    .map(|row| {
                        let mut record = json!({"id": row.id, "created_ms": row.created_ms,
                                                "updated_ms": row.updated_ms,
                                                "versions": row.versions});
                        let shown = row.render(*kind, false);
                        for field in [
                            "date_created",
                            "last_updated",
                            "creation_date",
                            "modification_date",
                            "transaction_date",
                        ] {
                            if let (Some(value), Some(map)) =
                                (shown.get(field), record.as_object_mut())
                            {
                                map.insert(field.into(), value.clone());
                            }
                        }
                        record
                    })
                    .collect();
                let mut entry = json!({
                    "records": records,
                    "deleted": table.deleted,
                    "creates": table.creates,
                    "updates": table.updates,
                });
                if kind.date_style() == DateStyle::Rounded
                    && let Some(map) = entry.as_object_mut()
                {
                    map.insert("rounded_to_second".into(), true.into());
                }
                resources.insert(kind.path().into(), entry);
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
    let request: RevokeIn = match parse(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
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
