//! `GET /v3/company/{realmId}/cdc?entities=Customer,Invoice&changedSince=…`, change data
//! capture (`shared/research/providers.md` §4.4, §4.5, §4.6, §4.10):
//!
//! ```text
//! {"CDCResponse": [{"QueryResponse": [
//!     {"Customer": […], "startPosition": 1, "maxResults": 2},
//!     {"Invoice": […, {"domain": "QBO", "status": "Deleted", "Id": "979", "MetaData": {…}}], …}
//! ]}], "time": "…"}
//! ```
//!
//! - One group per requested entity, in the order asked; within a group the changed records by
//!   last updated time, then the deleted transactions as stubs, last. Inactive list entities are
//!   changes like any other (their deactivation is an update).
//! - **At most 1,000 objects in all, silently**: groups fill in order until 1,000, and what does
//!   not fit is left out with no sign. A client must narrow the window (a later `changedSince`,
//!   or one entity a call) when it gets 1,000.
//! - `changedSince` is a date-time with an offset or a date; more than 30 days back is a Fault.
//! - Nothing changed: `{"CDCResponse": [{"QueryResponse": [{}]}]}`.
//!
//! Choices where undocumented: `changedSince` is inclusive at one-second resolution (a record
//! last updated at 10:00:00.700 is in a window from 10:00:00); ties of the updated time go by
//! `Id`; a group with nothing in it (or cut off by the cap) is left out; `totalCount` is never
//! written (its meaning is undocumented); entity names are case-insensitive and repeats count
//! once. Because deletes come after every change of their group, a truncated group loses its
//! deletes first, and a client that restarts from the last time it read may step over them.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::engine::dates::floor_to_second;
use crate::engine::records::{Deleted, Row};
use crate::engine::sim::Caller;
use crate::quickbooks::faults::{QboFault, json_response};
use crate::quickbooks::schema::{Entity, render, stub};
use crate::quickbooks::state::Qb;
use crate::quickbooks::time::parse_literal;

/// Objects one answer holds at most, over every entity (§4.5).
pub const MAX_OBJECTS: usize = 1_000;
/// How far back `changedSince` may reach (§4.4).
pub const LOOKBACK_MS: i64 = 30 * 86_400_000;

pub(crate) async fn cdc(
    State(qb): State<Qb>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    match run(&qb, caller.tenant, raw.as_deref()) {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(fault) => fault.at(qb.time(caller.tenant)).into_response(),
    }
}

fn run(qb: &Qb, tenant: usize, raw: Option<&str>) -> Result<Value, QboFault> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| QboFault::invalid("The query string does not parse"))?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.trim().is_empty())
    };
    let Some(names) = get("entities") else {
        return Err(QboFault::required("entities"));
    };
    let Some(since_text) = get("changedSince") else {
        return Err(QboFault::required("changedSince"));
    };
    let mut entities: Vec<&'static Entity> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let entity = Entity::named(name)
            .ok_or_else(|| QboFault::invalid(format!("Unsupported entity for CDC: {name}")))?;
        if !entities.iter().any(|known| known.name == entity.name) {
            entities.push(entity);
        }
    }
    let company = qb.offset(tenant);
    let since = parse_literal(since_text, company).ok_or_else(|| {
        QboFault::invalid(format!(
            "changedSince {since_text} is not a date or a date-time with an offset"
        ))
        .element("changedSince")
    })?;
    let time = qb.time(tenant);

    let state = qb.sim.state();
    let now = qb.sim.provider_now(&state);
    if since < now - LOOKBACK_MS {
        return Err(QboFault::invalid(format!(
            "Operation cdc with changedSince date {since_text} which is older than fixed days \
             is not supported."
        ))
        .element("changedSince"));
    }
    let mut room = MAX_OBJECTS;
    let mut groups: Vec<Value> = Vec::new();
    for entity in entities {
        let Some(table) = state
            .tenants
            .get(tenant)
            .and_then(|t| t.tables.get(entity.name))
        else {
            continue;
        };
        let mut changed: Vec<&Row> = table
            .rows
            .values()
            .filter(|row| floor_to_second(row.updated_ms) >= since)
            .collect();
        changed.sort_by_key(|row| (row.updated_ms, row.id));
        let mut deleted: Vec<&Deleted> = table
            .deleted
            .iter()
            .filter(|deletion| floor_to_second(deletion.deleted_ms) >= since)
            .collect();
        deleted.sort_by_key(|deletion| (deletion.deleted_ms, deletion.id));
        let objects: Vec<Value> = changed
            .into_iter()
            .map(|row| render(row, company))
            .chain(
                deleted
                    .into_iter()
                    .map(|deletion| stub(deletion.id, deletion.deleted_ms, company)),
            )
            .take(room)
            .collect();
        if objects.is_empty() {
            continue;
        }
        room -= objects.len();
        let returned = objects.len();
        let mut group = Map::new();
        group.insert(entity.name.into(), objects.into());
        group.insert("startPosition".into(), 1.into());
        group.insert("maxResults".into(), returned.into());
        groups.push(Value::Object(group));
    }
    drop(state);
    if groups.is_empty() {
        groups.push(json!({}));
    }
    Ok(json!({"CDCResponse": [{"QueryResponse": groups}], "time": time}))
}
