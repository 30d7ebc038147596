//! The replication calls, `sobjects/{X}/updated/?start&end` and `sobjects/{X}/deleted/?start&end`
//! (`shared/research/providers.md` §2.4, §2.6), and the control knob that purges the delete log.
//!
//! `updated` answers `{"ids", "latestDateCovered"}` and looks back at most 30 days; `deleted`
//! answers `{"deletedRecords": [{"id", "deletedDate"}], "earliestDateAvailable",
//! "latestDateCovered"}` and looks back at most 15 days, or less after a purge: when
//! `earliestDateAvailable` is later than a client's last sync, deletes were lost and it must
//! resync. `start` and `end` are UTC date-times whose seconds are ignored.
//!
//! Choices where undocumented: the window is `start <= SystemModstamp < end` on whole minutes;
//! `latestDateCovered` is `end` (or now, when `end` is later); a start older than the look-back,
//! or not before the end, is 400 `INVALID_REPLICATION_DATE`; a missing or unreadable date is 400
//! `MISSING_ARGUMENT` / `INVALID_REPLICATION_DATE`; `updated` lists live records only; purging
//! empties the Recycle Bin too (`queryAll` stops showing those records).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::dates::{floor_to_minute, floor_to_second, format_offset, parse_lenient};
use crate::engine::http::{BadRequest, control_body};
use crate::engine::sim::Caller;
use crate::salesforce::errors::SfError;
use crate::salesforce::ids;
use crate::salesforce::schema::{NAMES, SObject, View};
use crate::salesforce::sobjects::object_of;
use crate::salesforce::state::{DELETE_RETENTION_MS, Sf};

const UPDATED_LOOKBACK_MS: i64 = 30 * 86_400_000;
/// The most ids one call returns before `EXCEEDED_ID_LIMIT`.
const MAX_IDS: usize = 600_000;

pub(crate) fn router() -> Router<Sf> {
    Router::new()
        .route(
            "/services/data/{version}/sobjects/{object}/updated",
            get(updated),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/updated/",
            get(updated),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/deleted",
            get(deleted),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/deleted/",
            get(deleted),
        )
}

pub(crate) fn control_router() -> Router<Sf> {
    Router::new().route("/_sim/deletes/purge", post(purge))
}

fn replication_error(message: impl Into<String>) -> SfError {
    SfError::bad_request("INVALID_REPLICATION_DATE", message)
}

/// The window `[start, latest)` a call covers, on whole minutes, checked against the look-back
/// at provider time `now`.
fn window(raw: Option<&str>, lookback_ms: i64, now: i64) -> Result<(i64, i64), SfError> {
    let params =
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or("")).unwrap_or_default();
    let date = |name: &str| -> Result<i64, SfError> {
        let Some((_, text)) = params.iter().find(|(key, _)| key == name) else {
            return Err(SfError::bad_request(
                "MISSING_ARGUMENT",
                format!("Missing required parameter: {name}"),
            ));
        };
        parse_lenient(text)
            .map(floor_to_minute)
            .ok_or_else(|| replication_error(format!("{name}: not a date-time: {text}")))
    };
    let (start, end) = (date("start")?, date("end")?);
    if start >= end {
        return Err(replication_error(
            "startDate must chronologically precede endDate by more than one minute",
        ));
    }
    if start < floor_to_minute(now - lookback_ms) {
        return Err(replication_error(format!(
            "startDate cannot be more than {} days ago",
            lookback_ms / 86_400_000
        )));
    }
    Ok((start, end.min(floor_to_minute(now))))
}

async fn updated(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, SfError> {
    let object = object_of(&version, &object)?;
    let state = sf.sim.state();
    let now = sf.sim.provider_now(&state);
    let (start, latest) = window(raw.as_deref(), UPDATED_LOOKBACK_MS, now)?;
    let table = state
        .tenants
        .get(caller.tenant)
        .and_then(|tenant| tenant.tables.get(object.name))
        .ok_or_else(SfError::not_found)?;
    let mut changed: Vec<(i64, String)> = table
        .rows
        .values()
        .map(|row| View {
            object,
            row,
            org: caller.tenant,
            deleted_ms: None,
        })
        .filter(|view| (start..latest).contains(&view.modstamp_ms()))
        .map(|view| (view.modstamp_ms(), view.id()))
        .collect();
    if changed.len() > MAX_IDS {
        return Err(SfError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "The result exceeds the 600,000 id limit; narrow the window",
        ));
    }
    changed.sort();
    let ids: Vec<String> = changed.into_iter().map(|(_, id)| id).collect();
    Ok(axum::Json(json!({"ids": ids, "latestDateCovered": format_offset(latest)})).into_response())
}

async fn deleted(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, object)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, SfError> {
    let object = object_of(&version, &object)?;
    let state = sf.sim.state();
    let now = sf.sim.provider_now(&state);
    let (start, latest) = window(raw.as_deref(), DELETE_RETENTION_MS, now)?;
    let horizon = sf
        .sf
        .inner()
        .delete_horizon(caller.tenant, object.name, now);
    let table = state
        .tenants
        .get(caller.tenant)
        .and_then(|tenant| tenant.tables.get(object.name))
        .ok_or_else(SfError::not_found)?;
    let mut records: Vec<(i64, String)> = table
        .deleted
        .iter()
        .filter(|deletion| deletion.deleted_ms >= horizon)
        .map(|deletion| {
            (
                floor_to_second(deletion.deleted_ms),
                ids::encode(object.prefix, deletion.id),
            )
        })
        .filter(|(at, _)| (start..latest).contains(at))
        .collect();
    if records.len() > MAX_IDS {
        return Err(SfError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "The result exceeds the 600,000 id limit; narrow the window",
        ));
    }
    records.sort();
    let deleted: Vec<Value> = records
        .into_iter()
        .map(|(at, id)| json!({"id": id, "deletedDate": format_offset(at)}))
        .collect();
    // Rounded up to the second, so nothing before it is still in the log.
    let earliest = (horizon + 999).div_euclid(1000) * 1000;
    Ok(axum::Json(json!({
        "deletedRecords": deleted,
        "earliestDateAvailable": format_offset(earliest),
        "latestDateCovered": format_offset(latest),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeIn {
    resource: Option<String>,
    tenant: Option<String>,
    /// Purge deletions before this date-time; now (provider time) when absent.
    before: Option<String>,
}

/// `POST /_sim/deletes/purge {"resource"?: "Account", "tenant"?: org, "before"?: date-time}`:
/// empties the delete log (and the Recycle Bin) of the named object and org — all of them when
/// not named — up to `before`, so `earliestDateAvailable` moves past a client's last sync.
async fn purge(State(sf): State<Sf>, body: Bytes) -> Response {
    match purge_request(&sf, &body) {
        Ok(value) => axum::Json(value).into_response(),
        Err(bad) => bad.into_response(),
    }
}

fn purge_request(sf: &Sf, body: &Bytes) -> Result<Value, BadRequest> {
    let request: PurgeIn = control_body(body)?;
    let objects: Vec<&'static str> = match &request.resource {
        None => NAMES.to_vec(),
        Some(name) => match SObject::named(name) {
            Some(object) => vec![object.name],
            None => return Err(BadRequest(format!("unknown resource {name:?}"))),
        },
    };
    let orgs: Vec<usize> = match &request.tenant {
        None => (0..sf.sim.settings().tenants.max(1)).collect(),
        Some(name) => match sf.sim.tenant_index(name) {
            Some(index) => vec![index],
            None => return Err(BadRequest(format!("unknown tenant {name:?}"))),
        },
    };
    let state = sf.sim.state();
    let now = sf.sim.provider_now(&state);
    let before = match &request.before {
        None => now,
        Some(text) => parse_lenient(text)
            .ok_or_else(|| BadRequest(format!("before: not a date-time: {text:?}")))?,
    };
    let mut inner = sf.sf.inner();
    let mut purged = 0;
    for org in &orgs {
        for object in &objects {
            let horizon = inner.delete_horizon(*org, object, now);
            purged += state
                .tenants
                .get(*org)
                .and_then(|tenant| tenant.tables.get(object))
                .map_or(0, |table| {
                    table
                        .deleted
                        .iter()
                        .filter(|d| d.deleted_ms >= horizon && d.deleted_ms < before)
                        .count()
                });
            inner.purge(*org, object, before);
        }
    }
    Ok(json!({"purged": purged, "before": format_offset(floor_to_second(before))}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_860_000_000; // 2026-11-28T10:00:00Z

    #[test]
    fn windows_ignore_seconds_stop_at_now_and_keep_to_the_look_back() {
        let (start, latest) = window(
            Some("start=2026-11-27T09:30:59%2B00:00&end=2026-11-29T00:00:00Z"),
            UPDATED_LOOKBACK_MS,
            NOW + 30_000,
        )
        .expect("valid");
        assert_eq!(format_offset(start), "2026-11-27T09:30:00.000+0000");
        assert_eq!(format_offset(latest), "2026-11-28T10:00:00.000+0000");
        let refused =
            |query: &str, lookback| window(Some(query), lookback, NOW).expect_err(query).code;
        assert_eq!(
            refused(
                "start=2026-11-12T09:00:00Z&end=2026-11-28T09:00:00Z",
                DELETE_RETENTION_MS
            ),
            "INVALID_REPLICATION_DATE"
        );
        assert_eq!(
            refused(
                "start=2026-11-28T09:00:00Z&end=2026-11-28T09:00:30Z",
                DELETE_RETENTION_MS
            ),
            "INVALID_REPLICATION_DATE"
        );
        assert_eq!(
            refused("end=2026-11-28T09:00:00Z", UPDATED_LOOKBACK_MS),
            "MISSING_ARGUMENT"
        );
        assert_eq!(
            refused(
                "start=yesterday&end=2026-11-28T09:00:00Z",
                UPDATED_LOOKBACK_MS
            ),
            "INVALID_REPLICATION_DATE"
        );
    }
}
