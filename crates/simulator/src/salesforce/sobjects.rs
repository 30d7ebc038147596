//! `sobjects/{SObject}` (create) and `sobjects/{SObject}/{id}` (get, update, delete), so tests
//! and the activity generator can change records the way a Salesforce user does.
//!
//! A create answers 201 `{"id", "success": true, "errors": []}`; an update or a delete 204. A
//! get shows every field (or those of `?fields=A,B`) with `attributes`. Refusals: an unknown
//! field is `INVALID_FIELD`, a platform-set one `INVALID_FIELD_FOR_INSERT_UPDATE`, a missing
//! required one `REQUIRED_FIELD_MISSING` (with `fields`), a value of the wrong JSON type
//! `JSON_PARSER_ERROR`. Choices where undocumented: a malformed id, an id of another object and
//! an unknown id are all 404 `NOT_FOUND`; a deleted record is 404 `ENTITY_IS_DELETED`; a reference
//! field takes any string (no foreign-key check).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

use crate::engine::dates::parse_lenient;
use crate::engine::sim::Caller;
use crate::salesforce::data::auto_fields;
use crate::salesforce::errors::SfError;
use crate::salesforce::ids;
use crate::salesforce::query::check_version;
use crate::salesforce::schema::{Field, SObject, Type, View, user_id};
use crate::salesforce::select::render;
use crate::salesforce::state::Sf;

pub(crate) fn router() -> Router<Sf> {
    Router::new()
        .route("/services/data/{version}/sobjects/{object}", post(create))
        .route("/services/data/{version}/sobjects/{object}/", post(create))
        .route(
            "/services/data/{version}/sobjects/{object}/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// The SObject of a path, or 404.
pub fn object_of(version: &str, name: &str) -> Result<&'static SObject, SfError> {
    check_version(version)?;
    SObject::named(name).ok_or_else(SfError::not_found)
}

fn entity_is_deleted() -> SfError {
    SfError::new(
        StatusCode::NOT_FOUND,
        "ENTITY_IS_DELETED",
        "entity is deleted",
    )
}

/// Where a record of an org stands.
enum Found {
    Live,
    Deleted,
    Missing,
}

fn find(sf: &Sf, org: usize, object: &SObject, number: Option<i64>) -> Found {
    let Some(number) = number else {
        return Found::Missing;
    };
    let state = sf.sim.state();
    let Some(table) = state
        .tenants
        .get(org)
        .and_then(|tenant| tenant.tables.get(object.name))
    else {
        return Found::Missing;
    };
    if table.rows.contains_key(&number) {
        Found::Live
    } else if table.deleted.iter().any(|deletion| deletion.id == number) {
        Found::Deleted
    } else {
        Found::Missing
    }
}

fn absent(found: Found) -> SfError {
    match found {
        Found::Deleted => entity_is_deleted(),
        Found::Live | Found::Missing => SfError::not_found(),
    }
}

/// Checks a write's JSON value against its field's type.
fn fits(field: &Field, value: &Value) -> bool {
    match (field.ty, value) {
        (_, Value::Null) => true,
        (Type::Id | Type::Reference | Type::Text, Value::String(_)) => true,
        (Type::Bool, Value::Bool(_)) => true,
        (Type::Int, Value::Number(n)) => n.is_i64(),
        (Type::Number, Value::Number(_)) => true,
        (Type::Date, Value::String(text)) => text.parse::<jiff::civil::Date>().is_ok(),
        (Type::DateTime, Value::String(text)) => parse_lenient(text).is_some(),
        _ => false,
    }
}

/// The fields of a create or update body, by their canonical names, or the refusal.
fn writable_fields(
    object: &SObject,
    body: &Bytes,
    creating: bool,
) -> Result<Map<String, Value>, SfError> {
    let parsed: Value = serde_json::from_slice(body).map_err(|error| {
        SfError::bad_request(
            "JSON_PARSER_ERROR",
            format!("The request body is not JSON: {error}"),
        )
    })?;
    let Value::Object(given) = parsed else {
        return Err(SfError::bad_request(
            "JSON_PARSER_ERROR",
            "The request body must be a JSON object",
        ));
    };
    let mut fields = Map::new();
    for (name, value) in given {
        if name == "attributes" {
            continue;
        }
        let Some(field) = object.field(&name) else {
            return Err(SfError::bad_request(
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", object.name),
            ));
        };
        if !field.writable() {
            return Err(SfError::bad_request(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", field.name),
            )
            .with_fields(vec![field.name.to_owned()]));
        }
        if !fits(field, &value) {
            return Err(SfError::bad_request(
                "JSON_PARSER_ERROR",
                format!(
                    "Cannot deserialize {value} as the {:?} field {}",
                    field.ty, field.name
                ),
            ));
        }
        fields.insert(field.name.to_owned(), value);
    }
    let missing: Vec<String> = object
        .required()
        .filter(|field| {
            let value = fields.get(field.name);
            let empty = value.is_some_and(|v| v.is_null() || v.as_str() == Some(""));
            empty || (creating && value.is_none())
        })
        .map(|field| field.name.to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(SfError::bad_request(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
        )
        .with_fields(missing));
    }
    Ok(fields)
}

async fn create(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, object)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SfError> {
    let object = object_of(&version, &object)?;
    let mut fields = writable_fields(object, &body, true)?;
    let mut state = sf.sim.state();
    let tenant = state
        .tenants
        .get(caller.tenant)
        .ok_or_else(SfError::not_found)?;
    fields.extend(auto_fields(object, tenant));
    fields
        .entry("OwnerId")
        .or_insert_with(|| user_id(caller.tenant).into());
    let defaults: &[(&str, &str)] = match object.name {
        "Lead" => &[("Status", "Open - Not Contacted")],
        "Case" => &[("Status", "New")],
        _ => &[],
    };
    for (name, value) in defaults {
        fields.entry(*name).or_insert_with(|| (*value).into());
    }
    let now = sf.sim.provider_now(&state);
    let row = sf
        .sim
        .create(&mut state, caller.tenant, object.name, fields, now)
        .ok_or_else(SfError::not_found)?;
    let id = ids::encode(object.prefix, row.id);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "success": true, "errors": []})),
    )
        .into_response())
}

/// The fields `?fields=A,B` asks for, or every field.
fn selected(object: &'static SObject, raw: Option<&str>) -> Result<Vec<&'static Field>, SfError> {
    let wanted = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .find(|(name, _)| name == "fields")
        .map(|(_, list)| list);
    let Some(list) = wanted else {
        return Ok(object.fields().collect());
    };
    list.split(',')
        .map(|name| {
            object.field(name.trim()).ok_or_else(|| {
                SfError::bad_request(
                    "INVALID_FIELD",
                    format!(
                        "No such column '{}' on entity '{}'.",
                        name.trim(),
                        object.name
                    ),
                )
            })
        })
        .collect()
}

async fn show(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, object, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, SfError> {
    let object = object_of(&version, &object)?;
    let fields = selected(object, raw.as_deref())?;
    let number = ids::decode(object.prefix, &id);
    let record = {
        let state = sf.sim.state();
        number
            .and_then(|number| state.row(caller.tenant, object.name, number))
            .map(|row| {
                let view = View {
                    object,
                    row,
                    org: caller.tenant,
                    deleted_ms: None,
                };
                render(&view, &fields, &version)
            })
    };
    match record {
        Some(record) => Ok(axum::Json(record).into_response()),
        None => Err(absent(find(&sf, caller.tenant, object, number))),
    }
}

/// The record number of a live record of the org, or why there is none.
fn live(sf: &Sf, org: usize, object: &SObject, id: &str) -> Result<i64, SfError> {
    let number = ids::decode(object.prefix, id);
    match (find(sf, org, object, number), number) {
        (Found::Live, Some(number)) => Ok(number),
        (found, _) => Err(absent(found)),
    }
}

async fn update(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, object, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, SfError> {
    let object = object_of(&version, &object)?;
    let number = live(&sf, caller.tenant, object, &id)?;
    let fields = writable_fields(object, &body, false)?;
    let mut state = sf.sim.state();
    let now = sf.sim.provider_now(&state);
    sf.sim
        .update(&mut state, caller.tenant, object.name, number, fields, now)
        .ok_or_else(SfError::not_found)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, object, id)): Path<(String, String, String)>,
) -> Result<Response, SfError> {
    let object = object_of(&version, &object)?;
    let number = live(&sf, caller.tenant, object, &id)?;
    let mut state = sf.sim.state();
    let now = sf.sim.provider_now(&state);
    if sf
        .sim
        .delete(&mut state, caller.tenant, object.name, number, now)
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(SfError::not_found())
    }
}
