//! Reading and writing one entity, so tests and the activity generator can change records the
//! way a QuickBooks user does (`shared/research/providers.md` §4.3, §4.6):
//!
//! - `GET /v3/company/{realmId}/{entity}/{id}` → `{"Customer": {…}, "time"}` (an inactive list
//!   entity too; a deleted transaction is 400 Object Not Found, 610).
//! - `POST /v3/company/{realmId}/{entity}` with a body without `Id` creates; with `Id` and the
//!   current `SyncToken` updates — `"sparse": true` merges the fields given, otherwise the body
//!   replaces the writable fields (a full update). Setting `Active: false` on a list entity is
//!   its soft delete, reported as such by the state export.
//! - `POST …/{entity}?operation=delete` with `{Id, SyncToken}` deletes a transaction →
//!   `{"Invoice": {"domain": "QBO", "status": "Deleted", "Id"}, "time"}`; list entities cannot be
//!   deleted, only made inactive.
//!
//! Choices where undocumented: an unknown field is refused (2010, naming it in `element`); a
//! field of the wrong JSON type likewise; the platform's fields (`Id` on a create, `SyncToken`,
//! `MetaData`, `domain`, `sparse`, `Balance`, `TotalAmt` of an invoice, …) are ignored when
//! sent; an invoice's `TotalAmt` and `Balance` are the sum of its lines' `Amount`; a payment's
//! `UnappliedAmt` is its `TotalAmt`; an unknown entity in the path is 400 (2010).

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::engine::records::Row;
use crate::engine::sim::Caller;
use crate::quickbooks::faults::{QboFault, json_response};
use crate::quickbooks::schema::{Entity, Type, inactive, render};
use crate::quickbooks::state::Qb;

/// Fields a client may send and the platform ignores.
const PLATFORM: &[&str] = &["Id", "SyncToken", "MetaData", "domain", "sparse", "status"];

fn entity_of(params: &HashMap<String, String>) -> Result<&'static Entity, QboFault> {
    let name = params.get("entity").map_or("", String::as_str);
    Entity::named(name).ok_or_else(|| QboFault::invalid(format!("Unsupported entity {name}")))
}

fn wrap(entity: &Entity, record: Value, time: String) -> Response {
    json_response(StatusCode::OK, json!({ entity.name: record, "time": time }))
}

pub(crate) async fn show(
    State(qb): State<Qb>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let time = qb.time(caller.tenant);
    let result = entity_of(&params).and_then(|entity| {
        let id = params.get("id").map_or("", String::as_str);
        let state = qb.sim.state();
        id.parse::<i64>()
            .ok()
            .and_then(|id| state.row(caller.tenant, entity.name, id))
            .map(|row| (entity, render(row, qb.offset(caller.tenant))))
            .ok_or_else(|| QboFault::not_found(entity.name, id))
    });
    match result {
        Ok((entity, record)) => wrap(entity, record, time),
        Err(fault) => fault.at(time).into_response(),
    }
}

/// A field's value checked against its type.
fn check_type(name: &str, ty: Type, value: &Value) -> Result<(), QboFault> {
    let fits = match ty {
        Type::Text => value.is_string(),
        Type::Number => value.is_number(),
        Type::Bool => value.is_boolean(),
        Type::Date => value
            .as_str()
            .is_some_and(|text| text.parse::<jiff::civil::Date>().is_ok()),
        Type::Ref => value.get("value").is_some_and(Value::is_string),
        Type::Object => value.is_object(),
        Type::Lines => value
            .as_array()
            .is_some_and(|lines| lines.iter().all(Value::is_object)),
    };
    if fits || value.is_null() {
        Ok(())
    } else {
        let want = match ty {
            Type::Text => "a string",
            Type::Number => "a number",
            Type::Bool => "true or false",
            Type::Date => "a date (YYYY-MM-DD)",
            Type::Ref => "a reference {\"value\": \"…\"}",
            Type::Object => "an object",
            Type::Lines => "an array of lines",
        };
        Err(QboFault::invalid(format!("{name} must be {want}")).element(name))
    }
}

/// The writable fields of a body, checked; required ones are checked when `complete`.
fn fields_in(
    entity: &Entity,
    body: &Map<String, Value>,
    complete: bool,
) -> Result<Map<String, Value>, QboFault> {
    let mut fields = Map::new();
    for (name, value) in body {
        if PLATFORM.contains(&name.as_str()) {
            continue;
        }
        let Some(field) = entity.field(name) else {
            return Err(QboFault::invalid(format!(
                "Property Name:{name} specified is unsupported or invalid"
            ))
            .element(name));
        };
        if field.computed {
            continue;
        }
        check_type(field.name, field.ty, value)?;
        fields.insert(field.name.to_owned(), value.clone());
    }
    if complete {
        for field in entity.fields.iter().filter(|field| field.required) {
            if fields.get(field.name).is_none_or(Value::is_null) {
                return Err(QboFault::required(field.name));
            }
        }
    }
    Ok(fields)
}

/// Sets the platform's fields from the others.
fn compute(entity: &Entity, fields: &mut Map<String, Value>, creating: bool) {
    match entity.name {
        "Customer" | "Item" => {
            let name = if entity.name == "Item" {
                "Name"
            } else {
                "DisplayName"
            };
            if let Some(value) = fields.get(name).cloned() {
                fields.insert("FullyQualifiedName".into(), value);
            }
        }
        "Invoice" => {
            let total: f64 = fields
                .get("Line")
                .and_then(Value::as_array)
                .map(|lines| {
                    lines
                        .iter()
                        .filter_map(|line| line.get("Amount").and_then(Value::as_f64))
                        .sum()
                })
                .unwrap_or(0.0);
            fields.insert("TotalAmt".into(), total.into());
            fields.insert("Balance".into(), total.into());
        }
        "Payment" => {
            if let Some(total) = fields.get("TotalAmt").cloned() {
                fields.insert("UnappliedAmt".into(), total);
            }
        }
        _ => {}
    }
    if entity.is_list() && creating {
        fields.entry("Active").or_insert(Value::Bool(true));
        if entity.field("Balance").is_some() {
            fields.entry("Balance").or_insert(json!(0));
        }
    }
}

/// `Id` and `SyncToken` of an update or delete body.
fn identity(body: &Map<String, Value>) -> Result<(String, Option<String>), QboFault> {
    let scalar = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    let id = body
        .get("Id")
        .and_then(scalar)
        .ok_or_else(|| QboFault::required("Id"))?;
    Ok((id, body.get("SyncToken").and_then(scalar)))
}

pub(crate) async fn write(
    State(qb): State<Qb>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let time = qb.time(caller.tenant);
    match apply(&qb, caller.tenant, &params, raw.as_deref(), &body) {
        Ok((entity, record)) => wrap(entity, record, time),
        Err(fault) => fault.at(time).into_response(),
    }
}

fn apply(
    qb: &Qb,
    tenant: usize,
    params: &HashMap<String, String>,
    raw: Option<&str>,
    body: &[u8],
) -> Result<(&'static Entity, Value), QboFault> {
    let entity = entity_of(params)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let operation = pairs
        .iter()
        .find(|(name, _)| name == "operation")
        .map(|(_, value)| value.to_ascii_lowercase());
    let body: Map<String, Value> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.as_object().cloned())
        .ok_or_else(|| QboFault::invalid("The body must be a JSON object"))?;
    match operation.as_deref() {
        Some("delete") => delete(qb, tenant, entity, &body),
        Some("update") => update(qb, tenant, entity, &body),
        None if body.contains_key("Id") => update(qb, tenant, entity, &body),
        None => create(qb, tenant, entity, &body),
        Some(other) => Err(QboFault::invalid(format!("Unsupported operation {other}"))),
    }
}

fn create(
    qb: &Qb,
    tenant: usize,
    entity: &'static Entity,
    body: &Map<String, Value>,
) -> Result<(&'static Entity, Value), QboFault> {
    let mut fields = fields_in(entity, body, true)?;
    compute(entity, &mut fields, true);
    let mut state = qb.sim.state();
    let now = qb.sim.provider_now(&state);
    let row = qb
        .sim
        .create(&mut state, tenant, entity.name, fields, now)
        .ok_or_else(|| QboFault::invalid(format!("Unsupported entity {}", entity.name)))?;
    Ok((entity, render(&row, qb.offset(tenant))))
}

/// The live row `id` of a write, with its `SyncToken` checked.
fn current(
    state: &crate::engine::sim::State,
    tenant: usize,
    entity: &Entity,
    id: &str,
    sync_token: Option<&str>,
) -> Result<Row, QboFault> {
    let row = id
        .parse::<i64>()
        .ok()
        .and_then(|number| state.row(tenant, entity.name, number))
        .ok_or_else(|| QboFault::not_found(entity.name, id))?;
    let Some(token) = sync_token else {
        return Err(QboFault::required("SyncToken"));
    };
    if token != row.versions.saturating_sub(1).to_string() {
        return Err(QboFault::stale(entity.name));
    }
    Ok(row.clone())
}

fn update(
    qb: &Qb,
    tenant: usize,
    entity: &'static Entity,
    body: &Map<String, Value>,
) -> Result<(&'static Entity, Value), QboFault> {
    let (id, sync_token) = identity(body)?;
    let sparse = body.get("sparse") == Some(&Value::Bool(true));
    let given = fields_in(entity, body, !sparse)?;
    let mut state = qb.sim.state();
    let row = current(&state, tenant, entity, &id, sync_token.as_deref())?;
    let mut fields = if sparse {
        let mut merged = row.fields.clone();
        merged.extend(given);
        merged
    } else {
        // A full update: the body's writable fields, and the platform's kept.
        let mut replaced: Map<String, Value> = row
            .fields
            .iter()
            .filter(|(name, _)| entity.field(name).is_some_and(|field| field.computed))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        replaced.extend(given);
        if entity.is_list() {
            replaced.entry("Active").or_insert(Value::Bool(true));
        }
        replaced
    };
    fields.retain(|_, value| !value.is_null());
    compute(entity, &mut fields, false);
    let now = qb.sim.provider_now(&state);
    let deactivating =
        entity.is_list() && !inactive(&row) && fields.get("Active") == Some(&Value::Bool(false));
    let written = if deactivating {
        qb.sim
            .deactivate(&mut state, tenant, entity.name, row.id, fields.clone(), now)
    } else {
        qb.sim
            .update(&mut state, tenant, entity.name, row.id, fields.clone(), now)
    };
    let mut written = written.ok_or_else(|| QboFault::not_found(entity.name, &id))?;
    // The engine merges; a full update replaces, so the stored row takes exactly `fields`.
    if let Some(stored) = state
        .tenants
        .get_mut(tenant)
        .and_then(|t| t.tables.get_mut(entity.name))
        .and_then(|table| table.rows.get_mut(&row.id))
    {
        stored.fields = fields.clone();
    }
    written.fields = fields;
    Ok((entity, render(&written, qb.offset(tenant))))
}

fn delete(
    qb: &Qb,
    tenant: usize,
    entity: &'static Entity,
    body: &Map<String, Value>,
) -> Result<(&'static Entity, Value), QboFault> {
    if entity.is_list() {
        return Err(QboFault::invalid(format!(
            "Operation Delete is not supported for {}: make it inactive (\"Active\": false) instead",
            entity.name
        )));
    }
    let (id, sync_token) = identity(body)?;
    let mut state = qb.sim.state();
    let row = current(&state, tenant, entity, &id, sync_token.as_deref())?;
    let now = qb.sim.provider_now(&state);
    qb.sim.delete(&mut state, tenant, entity.name, row.id, now);
    Ok((
        entity,
        json!({"domain": "QBO", "status": "Deleted", "Id": id}),
    ))
}
