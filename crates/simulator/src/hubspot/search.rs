//! `POST /crm/v3/objects/{object}/search` (and the dated `/crm/objects/2026-03/{object}/search`),
//! from `shared/research/providers.md` §3.4, §3.5 and §3.10:
//! `{"total", "results", "paging"?: {"next": {"after"}}}`.
//!
//! - `filterGroups` and one sort as in `filters`; `properties` picks the properties returned;
//!   `query` is a free-text match over the default properties.
//! - Paging is an offset: `after` is the offset of the next page, handed out as an opaque string;
//!   `paging` is left out on the last page. `limit` defaults to 10 and is clamped to 1..=200.
//! - **The 10,000 cap:** a request whose `after` reaches 10,000 is 400, whatever the total.
//! - **Index lag:** a record is searchable only once its last write is `index_lag` old on the
//!   provider's clock; archived records are never searchable.
//! - The results are computed afresh for every page (there is no cursor snapshot), so records
//!   changed between pages can shift, as at HubSpot.
//!
//! Choices where undocumented: `total` counts every searchable match (it is not capped at
//! 10,000); an updated record drops out of search until the lag has passed rather than showing
//! its previous version — for a poller filtering on the modified time the effect is the same,
//! since it is not found in the window of its new modified time until then.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::records::Row;
use crate::engine::sim::Caller;
use crate::hubspot::errors::HsError;
use crate::hubspot::filters::{GroupIn, Groups, Sort};
use crate::hubspot::objects::object_of;
use crate::hubspot::schema::{Object, property, render};
use crate::hubspot::state::Hs;

/// Paging past this many results is refused (§3.5).
pub const MAX_RESULTS: usize = 10_000;
/// The largest page.
pub const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 10;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchIn {
    #[serde(default)]
    filter_groups: Vec<GroupIn>,
    #[serde(default)]
    sorts: Vec<Value>,
    #[serde(default)]
    properties: Vec<String>,
    query: Option<String>,
    limit: Option<Value>,
    after: Option<Value>,
}

/// A number given as JSON number or string.
fn count(value: Option<&Value>, name: &str) -> Result<Option<i64>, HsError> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    parsed
        .map(Some)
        .ok_or_else(|| HsError::validation(format!("{name} must be a whole number")))
}

pub(crate) async fn search(
    State(hs): State<Hs>,
    Extension(caller): Extension<Caller>,
    Path(params): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    match run(&hs, &caller, &params, &body) {
        Ok(page) => axum::Json(page).into_response(),
        Err(error) => error.into_response(),
    }
}

fn run(
    hs: &Hs,
    caller: &Caller,
    params: &HashMap<String, String>,
    body: &[u8],
) -> Result<Value, HsError> {
    let object = object_of(params)?;
    let request: SearchIn = serde_json::from_slice(body)
        .map_err(|error| HsError::validation(format!("Invalid search body: {error}")))?;
    let groups = Groups::check(object, request.filter_groups)?;
    let sort = Sort::check(object, request.sorts)?;
    let limit = count(request.limit.as_ref(), "limit")?.map_or(DEFAULT_LIMIT, |limit| {
        limit.clamp(1, MAX_LIMIT as i64) as usize
    });
    let offset = count(request.after.as_ref(), "after")?.unwrap_or(0);
    let offset =
        usize::try_from(offset).map_err(|_| HsError::validation("after must not be negative"))?;
    if offset >= MAX_RESULTS {
        // HubSpot's bare answer past the cap (§3.5, §3.8).
        return Err(HsError::validation("There was a problem with the request."));
    }
    let query = request.query.map(|text| text.to_lowercase());
    let lag = hs.index_lag_ms();

    let state = hs.sim.state();
    let now = hs.sim.provider_now(&state);
    let Some(table) = state
        .tenants
        .get(caller.tenant)
        .and_then(|tenant| tenant.tables.get(object.name))
    else {
        return Err(HsError::not_found("Unknown object type"));
    };
    let mut matches: Vec<&Row> = table
        .rows
        .values()
        .filter(|row| now - row.updated_ms >= lag)
        .filter(|row| groups.pass(object, row))
        .filter(|row| {
            query
                .as_deref()
                .is_none_or(|text| free_text(object, row, text))
        })
        .collect();
    if let Some(sort) = &sort {
        let mut keyed: Vec<_> = matches
            .into_iter()
            .map(|row| (sort.key(object, row), row))
            .collect();
        keyed.sort_by(|a, b| sort.order_keyed(a.0.as_ref(), a.1, b.0.as_ref(), b.1));
        matches = keyed.into_iter().map(|(_, row)| row).collect();
    }
    let total = matches.len();
    let results: Vec<Value> = matches
        .iter()
        .skip(offset)
        .take(limit)
        .map(|row| render(object, row, &request.properties, None))
        .collect();
    drop(state);
    let mut page = json!({ "total": total, "results": results });
    let next = offset + limit;
    if next < total
        && let Some(map) = page.as_object_mut()
    {
        map.insert(
            "paging".into(),
            json!({"next": {"after": next.to_string()}}),
        );
    }
    Ok(page)
}

/// Whether any default property of `row` contains `text` (already lowercase).
fn free_text(object: &Object, row: &Row, text: &str) -> bool {
    object.defaults.iter().any(|name| {
        property(object, row, name).is_some_and(|value| value.to_lowercase().contains(text))
    })
}
