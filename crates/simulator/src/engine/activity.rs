//! Simulated activity at the provider, for the demo, benchmarks and tests: a generator making
//! changes at a rate (`/_sim/activity`), and bursts of an exact number of changes and deletes
//! (`/_sim/activity/burst`). Changes of one tick or one burst share one provider timestamp, so
//! ties — several records changed in the same second — are the normal case, as they are at a
//! busy provider. The provider supplies the records' fields.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::engine::control::resource_named;
use crate::engine::http::{BadRequest, control_body, message};
use crate::engine::records::Row;
use crate::engine::sim::{Activity, Simulator, State as SimState};

pub(crate) fn router() -> Router<Simulator> {
    Router::new()
        .route(
            "/_sim/activity",
            get(show_activity)
                .post(start_activity)
                .delete(stop_activity),
        )
        .route("/_sim/activity/burst", post(burst))
}

/// The named resources, or the provider's active ones when none are named.
fn resources(sim: &Simulator, names: Option<Vec<String>>) -> Result<Vec<&'static str>, BadRequest> {
    let Some(names) = names else {
        return Ok(sim.provider().active_resources().to_vec());
    };
    if names.is_empty() {
        return Err(BadRequest("resources must not be empty".into()));
    }
    names
        .iter()
        .map(|name| {
            resource_named(sim, name)
                .ok_or_else(|| BadRequest(format!("unknown resource {name:?}")))
        })
        .collect()
}

/// A live record of `resource` at `tenant`, chosen with the generator's random numbers; `None`
/// when the table is empty or, with probability `create_share`, to make room for a create.
fn pick_existing(
    state: &mut SimState,
    resource: &'static str,
    tenant: usize,
    create_share: f64,
) -> Option<i64> {
    let table = state.tenants[tenant].tables.get(resource)?;
    if table.rows.is_empty() || state.rng.random_bool(create_share) {
        return None;
    }
    let probe = state.rng.random_range(1..=table.next_id);
    table.near(probe).map(|row| row.id)
}

/// Makes `count` changes now, all stamped with the same provider time (so they tie), spread
/// over `resources` and the tenants: about a third creates, the rest edits of existing records.
pub(crate) fn make_changes(sim: &Simulator, resources: &[&'static str], count: usize) -> usize {
    if resources.is_empty() {
        return 0;
    }
    let provider = sim.shared.provider.clone();
    let mut state = sim.state();
    let state = &mut *state;
    let now = sim.provider_now(state);
    for _ in 0..count {
        let resource = resources[state.rng.random_range(0..resources.len())];
        let tenant = state.rng.random_range(0..state.tenants.len());
        if !state.tenants[tenant].tables.contains_key(resource) {
            continue;
        }
        match pick_existing(state, resource, tenant, 0.35) {
            Some(id) => {
                let patch = provider.edit_fields(resource, &mut state.rng);
                sim.update(state, tenant, resource, id, patch, now);
            }
            None => {
                let fields = provider.new_fields(
                    resource,
                    &mut state.rng,
                    &state.tenants[tenant],
                    now,
                    true,
                );
                sim.create(state, tenant, resource, fields, now);
            }
        }
    }
    if let Some(activity) = state.activity.as_mut() {
        activity.changes += count as u64;
    }
    count
}

/// Whether `row` already carries every value of a deactivation `patch` (is soft-deleted).
fn deactivated(row: &Row, patch: &Map<String, Value>) -> bool {
    patch
        .iter()
        .all(|(key, value)| row.fields.get(key) == Some(value))
}

/// A record of `resource` at `tenant` not yet deactivated by `patch`, chosen with the
/// generator's random numbers.
fn pick_active(
    state: &mut SimState,
    resource: &'static str,
    tenant: usize,
    patch: &Map<String, Value>,
) -> Option<i64> {
    let table = state.tenants[tenant].tables.get(resource)?;
    let deletable = |row: &&Row| !deactivated(row, patch);
    let probe = state.rng.random_range(1..=table.next_id.max(1));
    table
        .rows
        .range(probe..)
        .map(|(_, row)| row)
        .find(deletable)
        .or_else(|| table.rows.values().find(deletable))
        .map(|row| row.id)
}

/// Deletes up to `count` live records now, spread over `resources` and the tenants; returns how
/// many were deleted (fewer when the tables run empty). Where the provider soft-deletes a
/// resource, a delete is its deactivation patch applied as an update.
pub(crate) fn make_deletes(sim: &Simulator, resources: &[&'static str], count: usize) -> usize {
    if resources.is_empty() {
        return 0;
    }
    let provider = sim.shared.provider.clone();
    let patches: Vec<Option<Map<String, Value>>> = resources
        .iter()
        .map(|resource| provider.deactivation(resource))
        .collect();
    let mut state = sim.state();
    let state = &mut *state;
    let now = sim.provider_now(state);
    let mut deleted = 0;
    for _ in 0..count {
        let live: Vec<(usize, usize)> = (0..state.tenants.len())
            .flat_map(|tenant| (0..resources.len()).map(move |index| (tenant, index)))
            .filter(|(tenant, index)| {
                state.tenants[*tenant]
                    .tables
                    .get(resources[*index])
                    .is_some_and(|table| match &patches[*index] {
                        None => !table.rows.is_empty(),
                        Some(patch) => table.rows.values().any(|row| !deactivated(row, patch)),
                    })
            })
            .collect();
        if live.is_empty() {
            break;
        }
        let (tenant, index) = live[state.rng.random_range(0..live.len())];
        let resource = resources[index];
        let done = match patches[index].as_ref() {
            None => pick_existing(state, resource, tenant, 0.0)
                .is_some_and(|id| sim.delete(state, tenant, resource, id, now)),
            Some(patch) => pick_active(state, resource, tenant, patch)
                .and_then(|id| sim.deactivate(state, tenant, resource, id, patch.clone(), now))
                .is_some(),
        };
        if done {
            deleted += 1;
        }
    }
    deleted
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityIn {
    rate: f64,
    resources: Option<Vec<String>>,
}

async fn start_activity(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: ActivityIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
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
    let resources = match resources(&sim, request.resources) {
        Ok(resources) => resources,
        Err(bad) => return bad.into_response(),
    };
    let stop = sim.shared.shutdown.child_token();
    let activity = Activity {
        rate: request.rate,
        resources: resources.clone(),
        changes: 0,
        stop: stop.clone(),
    };
    if let Some(previous) = sim.state().activity.replace(activity.clone()) {
        previous.stop.cancel();
    }
    tokio::spawn(generate(sim.clone(), request.rate, resources, stop));
    (StatusCode::CREATED, axum::Json(activity)).into_response()
}

/// Every 250 ms, makes the changes the rate has accumulated (fractions carry over), so several
/// records share a timestamp whenever the rate allows it.
async fn generate(
    sim: Simulator,
    rate: f64,
    resources: Vec<&'static str>,
    stop: CancellationToken,
) {
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
        make_changes(&sim, &resources, due as usize);
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
    deletes: Option<usize>,
    resources: Option<Vec<String>>,
}

/// `POST /_sim/activity/burst {"changes": N, "deletes"?: M}`: N changes (creates and edits) and
/// then M deletes at once, for tests and benchmarks that want a known amount of work without
/// waiting on a rate.
async fn burst(State(sim): State<Simulator>, body: Bytes) -> Response {
    const MAX: usize = 100_000;
    let request: BurstIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
    };
    let deletes = request.deletes.unwrap_or(0);
    let asked_deletes = request.deletes.is_some_and(|n| n > 0);
    if request.changes > MAX || (request.changes == 0 && !asked_deletes) {
        let text = if asked_deletes {
            "changes must be at most 100000"
        } else {
            "changes must be between 1 and 100000"
        };
        return message(StatusCode::BAD_REQUEST, text);
    }
    if deletes > MAX {
        return message(StatusCode::BAD_REQUEST, "deletes must be at most 100000");
    }
    let resources = match resources(&sim, request.resources) {
        Ok(resources) => resources,
        Err(bad) => return bad.into_response(),
    };
    let made = make_changes(&sim, &resources, request.changes);
    let mut body = Map::new();
    body.insert("changes".into(), made.into());
    if request.deletes.is_some() {
        body.insert(
            "deletes".into(),
            make_deletes(&sim, &resources, deletes).into(),
        );
    }
    axum::Json(Value::Object(body)).into_response()
}
