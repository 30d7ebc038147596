//! `query` and `queryAll` with server-side cursors (`shared/research/providers.md` §2.5):
//! `{"totalSize", "done", "nextRecordsUrl"?, "records"}`, where `totalSize` counts every match
//! and `nextRecordsUrl` is `/services/data/vNN.N/query/{locator}-{offset}` (also for `queryAll`,
//! whose locator still continues the `queryAll`).
//!
//! Pages hold `Sforce-Query-Options: batchSize=N` records, N clamped to 200..2000 (2000 by
//! default) — or, with short pages on, sometimes fewer, as Salesforce may return. The offset in
//! each `nextRecordsUrl` is where the page really ended, so a client that follows the links
//! never loses or repeats a record. A locator lives two days; an unknown, expired or foreign one
//! is 400 `INVALID_QUERY_LOCATOR`. Choices where undocumented: a batch size that does not parse
//! is ignored; a locator's pages keep the batch size of its query; any offset up to the total
//! may be asked for.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};

use crate::engine::sim::Caller;
use crate::salesforce::errors::SfError;
use crate::salesforce::select;
use crate::salesforce::soql;
use crate::salesforce::state::{Locator, Sf};

/// The default, smallest and largest page.
const DEFAULT_BATCH: usize = 2_000;
const MIN_BATCH: usize = 200;

pub(crate) fn router() -> Router<Sf> {
    Router::new()
        .route("/services/data/{version}/query", get(query))
        .route("/services/data/{version}/query/", get(query))
        .route("/services/data/{version}/queryAll", get(query_all))
        .route("/services/data/{version}/queryAll/", get(query_all))
        .route("/services/data/{version}/query/{cursor}", get(more))
        .route("/services/data/{version}/queryAll/{cursor}", get(more))
}

/// `v66.0` and the like; anything else is not a version of the API.
pub fn check_version(version: &str) -> Result<&str, SfError> {
    let valid = version
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && major.len() <= 3
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.len() == 1
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
    if valid {
        Ok(version)
    } else {
        Err(SfError::not_found())
    }
}

/// The page size asked for with `Sforce-Query-Options: batchSize=N`, clamped.
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|options| {
            options.split(',').find_map(|option| {
                let (name, value) = option.split_once('=')?;
                (name.trim().eq_ignore_ascii_case("batchSize"))
                    .then(|| value.trim().parse::<usize>().ok())
                    .flatten()
            })
        })
        .map_or(DEFAULT_BATCH, |size| size.clamp(MIN_BATCH, DEFAULT_BATCH))
}

async fn query(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    run(&sf, &caller, &version, raw.as_deref(), &headers, false).into_response()
}

async fn query_all(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    run(&sf, &caller, &version, raw.as_deref(), &headers, true).into_response()
}

/// Runs a query and answers its first page.
fn run(
    sf: &Sf,
    caller: &Caller,
    version: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
    all: bool,
) -> Result<axum::Json<Value>, SfError> {
    let version = check_version(version)?;
    let params = serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .map_err(|_| SfError::malformed_query("the query string does not parse"))?;
    let Some((_, text)) = params.iter().find(|(name, _)| name == "q") else {
        return Err(SfError::malformed_query("A query string (q) is required"));
    };
    let parsed = soql::parse(text).map_err(|malformed| SfError::malformed_query(malformed.0))?;
    let bound = select::bind(&parsed)?;
    let records = {
        let state = sf.sim.state();
        let now = sf.sim.provider_now(&state);
        let horizon = sf
            .sf
            .inner()
            .delete_horizon(caller.tenant, bound.object.name, now);
        let table = state
            .tenants
            .get(caller.tenant)
            .and_then(|tenant| tenant.tables.get(bound.object.name))
            .ok_or_else(SfError::not_found)?;
        bound.run(caller.tenant, table, all, horizon, version)
    };
    Ok(axum::Json(first_page(
        sf,
        caller.tenant,
        version,
        records,
        batch_size(headers),
    )))
}

/// The first page of `records`; keeps the rest behind a locator.
fn first_page(sf: &Sf, org: usize, version: &str, records: Vec<Value>, batch: usize) -> Value {
    let total = records.len();
    let mut inner = sf.sf.inner();
    let size = inner.page_size(batch, total, sf.sf.config.short_pages);
    if size >= total {
        return json!({"totalSize": total, "done": true, "records": records});
    }
    let page = records[..size].to_vec();
    let locator = inner.open(Locator {
        org,
        records,
        batch,
        opened_ms: sf.sim.base_now(),
    });
    json!({
        "totalSize": total,
        "done": false,
        "nextRecordsUrl": format!("/services/data/{version}/query/{locator}-{size}"),
        "records": page,
    })
}

fn invalid_locator() -> SfError {
    SfError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator")
}

/// `GET …/query/{locator}-{offset}`: the page starting at `offset`.
async fn more(
    State(sf): State<Sf>,
    Extension(caller): Extension<Caller>,
    Path((version, cursor)): Path<(String, String)>,
) -> Response {
    page(&sf, &caller, &version, &cursor).into_response()
}

fn page(
    sf: &Sf,
    caller: &Caller,
    version: &str,
    cursor: &str,
) -> Result<axum::Json<Value>, SfError> {
    let version = check_version(version)?;
    let (locator, offset) = cursor
        .rsplit_once('-')
        .and_then(|(id, offset)| Some((id, offset.parse::<usize>().ok()?)))
        .ok_or_else(invalid_locator)?;
    let now = sf.sim.base_now();
    let mut inner = sf.sf.inner();
    let (total, batch) = inner
        .locator(locator, caller.tenant, now)
        .map(|found| (found.records.len(), found.batch))
        .ok_or_else(invalid_locator)?;
    if offset > total {
        return Err(invalid_locator());
    }
    let size = inner.page_size(batch, total - offset, sf.sf.config.short_pages);
    let records = inner
        .locator(locator, caller.tenant, now)
        .map(|found| found.records[offset..offset + size].to_vec())
        .ok_or_else(invalid_locator)?;
    let next = offset + size;
    let mut body = json!({"totalSize": total, "done": next >= total, "records": records});
    if next < total
        && let Some(map) = body.as_object_mut()
    {
        map.insert(
            "nextRecordsUrl".into(),
            format!("/services/data/{version}/query/{locator}-{next}").into(),
        );
    }
    Ok(axum::Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_look_like_v_major_dot_minor() {
        assert!(check_version("v66.0").is_ok());
        assert!(check_version("v20.0").is_ok());
        for bad in ["66.0", "v66", "v66.00", "vx.0", "v.0", "latest"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_batch_size_header_is_clamped_to_200_through_2000() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("sforce-query-options", value.parse().expect("header"));
            batch_size(&headers)
        };
        assert_eq!(batch_size(&HeaderMap::new()), 2000);
        assert_eq!(with("batchSize=500"), 500);
        assert_eq!(with("batchSize=50"), 200);
        assert_eq!(with("batchSize=5000"), 2000);
        assert_eq!(with("batchsize = 300"), 300);
        assert_eq!(with("batchSize=lots"), 2000);
    }
}
