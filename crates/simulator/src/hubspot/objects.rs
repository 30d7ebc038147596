//! The object routes besides search (`shared/research/providers.md` §3.3, §3.6), in the v3 paths
//! and the dated ones (`/crm/objects/2026-03/{object}`):
//!
//! - `GET /crm/v3/objects/{object}` lists records in id order, `limit` (default 10) at a time,
//!   with an opaque `after` cursor in `paging.next` (left out on the last page);
//!   `?archived=true` lists the archived records only, each with `archived: true` and
//!   `archivedAt`. There is no time filter.
//! - `GET …/{id}` reads one (`?archived=true` reads an archived one); `POST …` creates (201),
//!   `PATCH …/{id}` updates, both from `{"properties": {…}}`; `DELETE …/{id}` archives (204),
//!   which leaves the modified time unchanged (§3.6).
//!
//! Choices where undocumented: a list's `limit` is clamped to 1..=100; the cursor is the next id,
//! base64-encoded; property values may be strings, numbers or booleans (stored as strings), and
//! `null` clears one; an unknown property is 400 `PROPERTY_DOESNT_EXIST`, a platform one
//! (`hs_object_id`, `createdate`, the modified property) 400 `READ_ONLY_VALUE`, a bad number or
//! date 400 `INVALID_FLOAT` / `INVALID_DATE`, all listed in `errors`; archiving an archived record
//! is 204 again; an unknown id, an id that is not a number, or an update of an archived record is
//! 404; `associations` in a create are accepted and ignored.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::engine::records::{Deleted, Row};
use crate::engine::sim::Caller;
use crate::hubspot::errors::HsError;
use crate::hubspot::filters::Key;
use crate::hubspot::schema::{Kind, Object, render};
use crate::hubspot::state::Hs;

const DEFAULT_LIMIT: usize = 10;
const MAX_LIST_LIMIT: usize = 100;

/// The object of a route's path parameters (and, on dated paths, a `YYYY-MM` version).
pub fn object_of(params: &HashMap<String, String>) -> Result<&'static Object, HsError> {
    if let Some(version) = params.get("version") {
        let valid = version.len() == 7
            && version.bytes().enumerate().all(|(i, b)| match i {
                4 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !valid {
            return Err(HsError::not_found(format!("Unknown API version {version}")));
        }
    }
    let name = params.get("object").map_or("", String::as_str);
    Object::named(name).ok_or_else(|| HsError::not_found(format!("Unknown object type {name}")))
}

/// The query string's pairs, in order (`properties` may repeat).
fn query_pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, HsError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| HsError::validation("The query string does not parse"))
}

/// `properties=a,b&properties=c` → `[a, b, c]`.
fn asked_properties(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(name, _)| name == "properties")
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn flag(pairs: &[(String, String)], name: &str) -> bool {
    pairs
        .iter()
        .any(|(key, value)| key == name && value.eq_ignore_ascii_case("true"))
}

fn encode_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_string())
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

/// The latest archive of each archived id, in id order.
fn archived(deleted: &[Deleted]) -> Vec<&Deleted> {
    let mut latest: std::collections::BTreeMap<i64, &Deleted> = std::collections::BTreeMap::new();
    for deletion in deleted {
        latest.insert(deletion.id, deletion);
    }
    latest.into_values().collect()
}

pub(crate) async fn list(
    State(hs): State<Hs>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, HsError> {
    let object = object_of(&params)?;
    let pairs = query_pairs(raw.as_deref())?;
    let get = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, v)| v);
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .map_err(|_| HsError::validation("limit must be a whole number"))?
            .clamp(1, MAX_LIST_LIMIT as i64) as usize,
    };
    let from = match get("after") {
        None => i64::MIN,
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| {
            HsError::validation(format!("after {cursor:?} is not a valid cursor"))
        })?,
    };
    let asked = asked_properties(&pairs);
    let state = hs.sim.state();
    let table = state
        .tenants
        .get(caller.tenant)
        .and_then(|tenant| tenant.tables.get(object.name))
        .ok_or_else(|| HsError::not_found("Unknown object type"))?;
    let mut page: Vec<(i64, Value)> = if flag(&pairs, "archived") {
        archived(&table.deleted)
            .into_iter()
            .filter(|deletion| deletion.id >= from)
            .take(limit + 1)
            .map(|d| (d.id, render(object, &d.row, &asked, Some(d.deleted_ms))))
            .collect()
    } else {
        table
            .rows
            .range(from.max(0)..)
            .take(limit + 1)
            .map(|(id, row)| (*id, render(object, row, &asked, None)))
            .collect()
    };
    drop(state);
    let next = (page.len() > limit).then(|| page[limit].0);
    page.truncate(limit);
    let results: Vec<Value> = page.into_iter().map(|(_, record)| record).collect();
    let mut body = json!({ "results": results });
    if let (Some(next), Some(map)) = (next, body.as_object_mut()) {
        let after = encode_cursor(next);
        let link = format!(
            "{}/crm/v3/objects/{}?after={after}&limit={limit}",
            hs.sim.origin(),
            object.name
        );
        map.insert(
            "paging".into(),
            json!({"next": {"after": after, "link": link}}),
        );
    }
    Ok(axum::Json(body).into_response())
}

fn record_id(params: &HashMap<String, String>) -> Result<i64, HsError> {
    let id = params.get("id").map_or("", String::as_str);
    id.parse::<i64>().map_err(|_| {
        HsError::not_found(format!(
            "Object not found. objectId are usually numeric: {id}"
        ))
    })
}

pub(crate) async fn show(
    State(hs): State<Hs>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, HsError> {
    let object = object_of(&params)?;
    let id = record_id(&params)?;
    let pairs = query_pairs(raw.as_deref())?;
    let asked = asked_properties(&pairs);
    let state = hs.sim.state();
    let table = state
        .tenants
        .get(caller.tenant)
        .and_then(|tenant| tenant.tables.get(object.name));
    let record = if flag(&pairs, "archived") {
        table.and_then(|table| {
            archived(&table.deleted)
                .into_iter()
                .find(|deletion| deletion.id == id)
                .map(|d| render(object, &d.row, &asked, Some(d.deleted_ms)))
        })
    } else {
        table
            .and_then(|table| table.rows.get(&id))
            .map(|row| render(object, row, &asked, None))
    };
    record
        .map(|record| axum::Json(record).into_response())
        .ok_or_else(|| HsError::not_found(format!("Object not found. objectId: {id}")))
}

/// One refused property, for the `errors` list.
fn invalid(name: &str, code: &str, message: String) -> Value {
    json!({"message": message, "code": code, "context": {"propertyName": [name]}})
}

/// Checks a write's `{"properties": {…}}` into stored values (`Null` clears).
fn properties_in(object: &Object, body: &[u8]) -> Result<Map<String, Value>, HsError> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|error| HsError::validation(format!("Invalid input JSON: {error}")))?;
    let Some(properties) = body.get("properties").and_then(Value::as_object) else {
        return Err(HsError::validation(
            "The body needs a \"properties\" object",
        ));
    };
    let mut stored = Map::new();
    let mut errors = Vec::new();
    for (name, value) in properties {
        if object.read_only(name) {
            errors.push(invalid(
                name,
                "READ_ONLY_VALUE",
                format!("{name} is a read only property; its value cannot be set."),
            ));
            continue;
        }
        let Some(kind) = object.kind(name) else {
            errors.push(invalid(
                name,
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{name}\" does not exist"),
            ));
            continue;
        };
        let text = match value {
            Value::Null => {
                stored.insert(name.clone(), Value::Null);
                continue;
            }
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            _ => {
                errors.push(invalid(
                    name,
                    "INVALID_TYPE",
                    format!("{name} must be a string, a number or a boolean"),
                ));
                continue;
            }
        };
        if !text.is_empty() && Key::parse(kind, &text).is_none() {
            let (code, what) = match kind {
                Kind::DateTime => ("INVALID_DATE", "a date-time"),
                _ => ("INVALID_FLOAT", "a number"),
            };
            errors.push(invalid(
                name,
                code,
                format!("{text:?} is not {what} (property {name})"),
            ));
            continue;
        }
        stored.insert(name.clone(), Value::String(text));
    }
    if errors.is_empty() {
        Ok(stored)
    } else {
        Err(HsError::validation("Property values were not valid")
            .with("errors", Value::Array(errors)))
    }
}

/// The names a write set, so its answer shows them.
fn written(patch: &Map<String, Value>) -> Vec<String> {
    patch.keys().cloned().collect()
}

pub(crate) async fn create(
    State(hs): State<Hs>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, HsError> {
    let object = object_of(&params)?;
    let mut fields = properties_in(object, &body)?;
    fields.retain(|_, value| !value.is_null());
    let asked = written(&fields);
    let mut state = hs.sim.state();
    let now = hs.sim.provider_now(&state);
    let row = hs
        .sim
        .create(&mut state, caller.tenant, object.name, fields, now)
        .ok_or_else(|| HsError::not_found("Unknown object type"))?;
    drop(state);
    Ok((
        StatusCode::CREATED,
        axum::Json(render(object, &row, &asked, None)),
    )
        .into_response())
}

pub(crate) async fn update(
    State(hs): State<Hs>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, HsError> {
    let object = object_of(&params)?;
    let id = record_id(&params)?;
    let patch = properties_in(object, &body)?;
    let asked = written(&patch);
    let mut state = hs.sim.state();
    let now = hs.sim.provider_now(&state);
    let row: Option<Row> = hs
        .sim
        .update(&mut state, caller.tenant, object.name, id, patch, now)
        .map(|mut row| {
            row.fields.retain(|_, value| !value.is_null());
            row
        });
    if let Some(row) = &row
        && let Some(stored) = state
            .tenants
            .get_mut(caller.tenant)
            .and_then(|tenant| tenant.tables.get_mut(object.name))
            .and_then(|table| table.rows.get_mut(&id))
    {
        // A null clears the property: keep the stored row as the answer shows it.
        stored.fields = row.fields.clone();
    }
    drop(state);
    row.map(|row| axum::Json(render(object, &row, &asked, None)).into_response())
        .ok_or_else(|| HsError::not_found(format!("Object not found. objectId: {id}")))
}

pub(crate) async fn archive(
    State(hs): State<Hs>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, HsError> {
    let object = object_of(&params)?;
    let id = record_id(&params)?;
    let mut state = hs.sim.state();
    let now = hs.sim.provider_now(&state);
    if hs
        .sim
        .delete(&mut state, caller.tenant, object.name, id, now)
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let was_archived = state
        .tenants
        .get(caller.tenant)
        .and_then(|tenant| tenant.tables.get(object.name))
        .is_some_and(|table| table.deleted.iter().any(|deletion| deletion.id == id));
    if was_archived {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(HsError::not_found(format!(
            "Object not found. objectId: {id}"
        )))
    }
}
