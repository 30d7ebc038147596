//! The v1 record routes: list, get, create, patch, delete for every resource.
//!
//! List responses keep the real envelope quirks: `count` is the total number of matches, and
//! `next` is always present with `limit=min(limit, count)` and `offset=offset+limit`, so a client
//! that follows `next` blindly never stops (`shared/research/infusionsoft.md` §2.1).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

use crate::engine::records::Row;
use crate::engine::sim::{Caller, Simulator};
use crate::infusionsoft::http::{Reject, json_body};
use crate::infusionsoft::resources::{Kind, ListQuery, render};

/// Routes under `/crm/rest/v1`, without authentication (the caller adds it).
pub fn router() -> Router<Simulator> {
    Router::new()
        .route("/{resource}", get(list).post(create))
        .route("/{resource}/", get(list))
        .route("/{resource}/{id}", get(show).patch(update).delete(remove))
}

/// Fields a client cannot set: the id and the dates are the server's.
const READ_ONLY: &[&str] = &[
    "id",
    "date_created",
    "last_updated",
    "last_updated_utc_millis",
    "creation_date",
    "modification_date",
    "transaction_date",
];

fn resource(segment: &str) -> Result<Kind, Reject> {
    Kind::from_path(segment).ok_or(Reject::NotFoundPage)
}

fn record_id(text: &str) -> Result<i64, Reject> {
    text.parse::<i64>()
        .map_err(|_| Reject::bad_request(format!("Invalid id: {text}")))
}

/// The resource and record id of `/{resource}/{id}`.
fn target(segment: &str, id: &str) -> Result<(Kind, i64), Reject> {
    Ok((resource(segment)?, record_id(id)?))
}

fn not_found(kind: Kind) -> Reject {
    Reject::Message(
        StatusCode::NOT_FOUND,
        format!("Unable to find this {}", kind.noun()),
    )
}

/// The writable fields of a create or patch body, or a 400.
fn writable_fields(body: &Bytes) -> Result<Map<String, Value>, Reject> {
    match json_body(body)? {
        Value::Object(mut fields) => {
            for key in READ_ONLY {
                fields.remove(*key);
            }
            Ok(fields)
        }
        _ => Err(Reject::bad_request("Request body must be a JSON object")),
    }
}

async fn list(
    State(sim): State<Simulator>,
    Extension(caller): Extension<Caller>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Reject> {
    let kind = resource(&segment)?;
    let params = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.as_deref().unwrap_or(""))
        .map_err(|_| Reject::bad_request("Malformed query string"))?;
    let query = ListQuery::parse(kind, &params).map_err(|bad| Reject::bad_request(bad.0))?;
    let state = sim.state();
    let Some(table) = state
        .tenants
        .get(caller.tenant)
        .and_then(|t| t.tables.get(kind.path()))
    else {
        return Err(Reject::NotFoundPage);
    };
    let mut rows: Vec<&Row> = table
        .rows
        .values()
        .filter(|row| query.matches(kind, row))
        .collect();
    query.sort(kind, &mut rows);
    let count = rows.len();
    let page: Vec<Value> = rows
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|row| render(row, kind, false))
        .collect();
    drop(state);

    let origin = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_else(|| sim.origin());
    let mut kept: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| kind.is_link_parameter(name))
        .cloned()
        .collect();
    if kind.has_order() && !kept.iter().any(|(name, _)| name == "order") {
        kept.push(("order".into(), "id".into()));
    }
    let link = |limit: usize, offset: usize| {
        let mut pairs = vec![
            ("limit".to_owned(), limit.to_string()),
            ("offset".to_owned(), offset.to_string()),
        ];
        pairs.extend(kept.iter().cloned());
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{origin}/crm/rest/v1/{}/?{query}", kind.path())
    };
    let mut body = Map::new();
    body.insert(kind.path().into(), Value::Array(page));
    body.insert("count".into(), count.into());
    body.insert(
        "next".into(),
        link(query.limit.min(count), query.offset + query.limit).into(),
    );
    body.insert(
        "previous".into(),
        link(query.limit, query.offset.saturating_sub(query.limit)).into(),
    );
    if kind.has_sync_token() {
        body.insert(
            "sync_token".into(),
            json!(format!("{count}-{}", sim.base_now())),
        );
    }
    Ok(axum::Json(Value::Object(body)).into_response())
}

async fn show(
    State(sim): State<Simulator>,
    Extension(caller): Extension<Caller>,
    Path((segment, id)): Path<(String, String)>,
) -> Result<Response, Reject> {
    let (kind, id) = target(&segment, &id)?;
    match sim.state().row(caller.tenant, kind.path(), id) {
        Some(row) => Ok(axum::Json(render(row, kind, false)).into_response()),
        None => Err(not_found(kind)),
    }
}

async fn create(
    State(sim): State<Simulator>,
    Extension(caller): Extension<Caller>,
    Path(segment): Path<String>,
    body: Bytes,
) -> Result<Response, Reject> {
    let kind = resource(&segment)?;
    let fields = writable_fields(&body)?;
    kind.validate_create(&fields).map_err(Reject::bad_request)?;
    let created = {
        let mut state = sim.state();
        let now = sim.provider_now(&state);
        sim.create(&mut state, caller.tenant, kind.path(), fields, now)
    };
    match created {
        Some(row) => {
            Ok((StatusCode::CREATED, axum::Json(render(&row, kind, true))).into_response())
        }
        None => Err(Reject::NotFoundPage),
    }
}

async fn update(
    State(sim): State<Simulator>,
    Extension(caller): Extension<Caller>,
    Path((segment, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Reject> {
    let (kind, id) = target(&segment, &id)?;
    let fields = writable_fields(&body)?;
    let updated = {
        let mut state = sim.state();
        let now = sim.provider_now(&state);
        sim.update(&mut state, caller.tenant, kind.path(), id, fields, now)
    };
    match updated {
        Some(row) => Ok(axum::Json(render(&row, kind, true)).into_response()),
        None => Err(not_found(kind)),
    }
}

async fn remove(
    State(sim): State<Simulator>,
    Extension(caller): Extension<Caller>,
    Path((segment, id)): Path<(String, String)>,
) -> Result<Response, Reject> {
    let (kind, id) = target(&segment, &id)?;
    let deleted = {
        let mut state = sim.state();
        let now = sim.provider_now(&state);
        sim.delete(&mut state, caller.tenant, kind.path(), id, now)
    };
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(kind))
    }
}
