//! Every API request of the generic simulator, from one handler that matches the request path
//! against the spec's paths: the change feed, the delete log and the archive list where their
//! literal parameters ask for them, then the list (resources sharing a query path told apart by
//! its text), then the get. A path segment for the tenant (a company id) reads as the caller's
//! tenant.
//!
//! Choices where a definition says nothing: records are listed in id order unless the request
//! asks for another; a delete log keeps every deletion since the simulator started; a change
//! feed lists its delete stubs after its records.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::engine::http::form_pairs;
use crate::engine::records::Row;
use crate::engine::sim::{Caller, Simulator};
use crate::generic::data;
use crate::generic::provider::Generic;
use crate::generic::spec::{ArchiveList, ChangeFeed, DeleteLog, PagerKind, ResourceSpec};
use crate::generic::{language, search};

pub(crate) type Ctx = (Simulator, Arc<Generic>);

/// Every API request: the list or get request of the resource whose path it is.
pub(crate) async fn serve_api(
    State((sim, generic)): State<Ctx>,
    Extension(caller): Extension<Caller>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    // The caller's tenant name, where the paths have a segment for it, reads as that segment.
    let normalized = match &generic.spec.tenant_segment {
        Some(segment) => {
            let tenant = sim.tenant_name(caller.tenant);
            uri.path()
                .split('/')
                .map(|part| {
                    if part == tenant {
                        segment.as_str()
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        }
        None => uri.path().to_owned(),
    };
    let path = normalized.as_str();
    let query = form_pairs(uri.query().unwrap_or("")).unwrap_or_default();
    if let Some((resource, feed)) = generic.spec.resources.iter().find_map(|resource| {
        let feed = resource.changes.as_ref()?;
        let asked = feed.path == path
            && feed
                .flags
                .iter()
                .all(|(k, v)| query.get(k).is_some_and(|q| q == v));
        asked.then_some((resource, feed))
    }) {
        return change_feed(&sim, &generic, &caller, resource, feed, &query);
    }
    if let Some((resource, archive)) = generic.spec.resources.iter().find_map(|resource| {
        let archive = resource.archive.as_ref()?;
        let asked = archive.path == path
            && archive
                .flags
                .iter()
                .all(|(k, v)| query.get(k).is_some_and(|q| q == v));
        asked.then_some((resource, archive))
    }) {
        return archive_list(&sim, &caller, resource, archive, &query);
    }
    if let Some((resource, log)) = generic.spec.resources.iter().find_map(|resource| {
        let log = resource.delete_log.as_ref()?;
        (log.path == path).then_some((resource, log))
    }) {
        return delete_log(&sim, &generic, &caller, resource, log, &query);
    }
    // Resources may share one list path (a query endpoint): the query text tells them apart.
    let listed: Vec<&ResourceSpec> = generic
        .spec
        .resources
        .iter()
        .filter(|r| r.list_path == path)
        .collect();
    let reads = |resource: &ResourceSpec| {
        resource.language.as_ref().is_none_or(|language| {
            let text = query.get(&language.param).map_or("", String::as_str);
            language::read(language, text).is_some()
        })
    };
    if let Some(first) = listed.first() {
        let resource = listed.iter().copied().find(|r| reads(r)).unwrap_or(first);
        let wanted = if resource.search.is_some() {
            Method::POST
        } else {
            Method::GET
        };
        if method != wanted {
            return generic.error(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("{method} is not served at {path}"),
            );
        }
        let body = if resource.search.is_some() {
            match serde_json::from_slice::<Value>(&body) {
                Ok(body) => body,
                Err(error) => {
                    return generic.error(
                        StatusCode::BAD_REQUEST,
                        &format!("Invalid JSON body: {error}"),
                    );
                }
            }
        } else {
            Value::Null
        };
        return list(&sim, &generic, &caller, resource, path, &query, &body);
    }
    // A get: the id between the get path's prefix and suffix, one segment.
    let found = generic.spec.resources.iter().find_map(|resource| {
        let (prefix, suffix) = resource.get_path.as_ref()?;
        let id = path
            .strip_prefix(prefix.as_str())?
            .strip_suffix(suffix.as_str())?;
        (!id.is_empty() && !id.contains('/')).then_some((resource, id))
    });
    let Some((resource, id)) = found else {
        return generic.error(StatusCode::NOT_FOUND, &format!("No such path: {path}"));
    };
    if method != Method::GET {
        return generic.error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("{method} is not served at {path}"),
        );
    }
    get_one(&sim, &generic, &caller, resource, id)
}

fn get_one(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    id: &str,
) -> Response {
    let row = id
        .parse::<i64>()
        .ok()
        .and_then(|id| sim.state().row(caller.tenant, &resource.name, id).cloned());
    let Some(row) = row else {
        return generic.error(
            StatusCode::NOT_FOUND,
            &format!("{} {id} not found", resource.name),
        );
    };
    let mut body = Value::Null;
    data::put(
        &mut body,
        &resource.get_record,
        data::render(resource, &row),
    );
    axum::Json(body).into_response()
}

/// A list page: the records that match the request's filters and bounds, in its order, from
/// the position its paging parameters say, in the shape its pager reads.
fn list(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    path: &str,
    query: &std::collections::HashMap<String, String>,
    body: &Value,
) -> Response {
    let param = |name: &Option<String>| name.as_ref().and_then(|n| query.get(n));
    let number = |name: &Option<String>| param(name).and_then(|v| v.trim().parse::<u64>().ok());
    let max = u64::from(generic.spec.max_page_size.max(1));
    let size = number(&resource.paging.size).unwrap_or(max).clamp(1, max);
    let offset = number(&resource.paging.offset)
        .or_else(|| number(&resource.paging.start).map(|start| start.saturating_sub(1)))
        .or_else(|| {
            number(&resource.paging.number).map(|page| page.saturating_sub(1).saturating_mul(size))
        })
        .or_else(|| number(&resource.paging.cursor))
        .or_else(|| query.get(NEXT_OFFSET).and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    let (mut size, mut offset) = (size, offset);
    let mut conditions = Vec::new();
    let mut asked = search::Asked::default();
    if let Some(spec) = &resource.search {
        asked = match search::read(spec, body) {
            Ok(asked) => asked,
            Err(problem) => return generic.error(StatusCode::BAD_REQUEST, &problem),
        };
        if let Some(wanted) = asked.page_size {
            size = wanted.clamp(1, max);
        }
        if let Some(at) = asked.offset {
            offset = at;
        }
    }
    if let Some(language) = &resource.language {
        let text = query.get(&language.param).map_or("", String::as_str);
        let Some(read) = language::read(language, text) else {
            return generic.error(
                StatusCode::BAD_REQUEST,
                &format!("Malformed query in {}: {text:?}", language.param),
            );
        };
        if let Some(asked) = read.page_size {
            size = asked.clamp(1, max);
        }
        if let Some(at) = read.offset {
            offset = at;
        }
        conditions = match language::conditions(language, &read.conditions) {
            Ok(conditions) => conditions,
            Err(problem) => return generic.error(StatusCode::BAD_REQUEST, &problem),
        };
    }
    let mut bounds = (None, None);
    for (which, name) in [(0, &resource.lower_bound), (1, &resource.upper_bound)] {
        if let Some(text) = param(name) {
            match data::parse_date(resource.bound_format.as_ref(), text) {
                Some(ms) if which == 0 => bounds.0 = Some(ms),
                Some(ms) => bounds.1 = Some(ms),
                None => {
                    return generic.error(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "Invalid date for {}: {text:?}",
                            name.as_deref().unwrap_or("")
                        ),
                    );
                }
            }
        }
    }

    let mut rows: Vec<Row> = {
        let state = sim.state();
        let Some(table) = state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
        else {
            return generic.error(StatusCode::NOT_FOUND, "No such resource");
        };
        table
            .rows
            .values()
            .filter(|row| {
                resource.filters.iter().all(|(param, field)| {
                    query.get(param).is_none_or(|wanted| {
                        let value = if field == &resource.id_field {
                            Some(Value::from(row.id))
                        } else {
                            row.field(field).cloned()
                        };
                        value.is_some_and(|v| data::text_of(&v) == *wanted)
                    })
                })
            })
            .filter(|row| {
                resource
                    .language
                    .as_ref()
                    .is_none_or(|language| language::matches(language, resource, row, &conditions))
            })
            .filter(|row| {
                let format = resource
                    .search
                    .as_ref()
                    .and_then(|s| s.date_format.as_ref());
                asked.groups.is_empty()
                    || asked.groups.iter().any(|group| {
                        group
                            .iter()
                            .all(|c| language::holds(format, resource, row, c))
                    })
            })
            .filter(|row| {
                let Some(updated) = &resource.updated else {
                    return true;
                };
                let shown = data::shown_ms(&updated.format, row.updated_ms);
                bounds.0.is_none_or(|lower| shown >= lower)
                    && bounds.1.is_none_or(|upper| shown <= upper)
            })
            .cloned()
            .collect()
    };
    match &asked.sort {
        Some((field, descending)) => sort_rows(resource, Some(field), *descending, &mut rows),
        None => order(resource, query, &mut rows),
    }

    let total = rows.len() as u64;
    let (start, take) = if resource.pager.kind == PagerKind::None {
        (0, max)
    } else {
        (offset, size)
    };
    let page: Vec<Value> = rows
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .map(|row| data::render(resource, row))
        .collect();
    let next_offset = start + page.len() as u64;
    let more = !page.is_empty() && next_offset < total && resource.pager.kind != PagerKind::None;

    let mut body = Value::Null;
    data::put(&mut body, &resource.records, Value::Array(page));
    if let Some(pointer) = &resource.pager.total {
        data::put(&mut body, pointer, json!(total));
    }
    let next_url = || {
        let mut pairs: BTreeMap<String, String> =
            query.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for name in [
            &resource.paging.offset,
            &resource.paging.start,
            &resource.paging.number,
            &resource.paging.cursor,
        ]
        .into_iter()
        .flatten()
        {
            pairs.remove(name);
        }
        pairs.insert(NEXT_OFFSET.to_owned(), next_offset.to_string());
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}{path}?{query}", sim.origin())
    };
    let mut link = None;
    match resource.pager.kind {
        PagerKind::NextUrl => {
            if let Some(pointer) = &resource.pager.next {
                let url = if more { json!(next_url()) } else { Value::Null };
                data::put(&mut body, pointer, url);
            }
            if let Some(pointer) = &resource.pager.done {
                data::put(&mut body, pointer, json!(!more));
            }
        }
        PagerKind::Cursor => {
            if let (Some(pointer), true) = (&resource.pager.cursor, more) {
                data::put(&mut body, pointer, json!(next_offset.to_string()));
            }
        }
        PagerKind::LinkHeader if more => link = Some(format!("<{}>; rel=\"next\"", next_url())),
        _ => {}
    }
    if body.is_null() {
        body = json!({});
    }
    let mut response = axum::Json(body).into_response();
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// The query parameter of the next page's position in the URLs the simulator writes
/// (`next_url` and `link_header` pagers): the URL is the provider's own, opaque to clients.
const NEXT_OFFSET: &str = "sim_offset";

/// Sorts by the requested field (the id, a date, or a generated field), id order by default.
fn order(
    resource: &ResourceSpec,
    query: &std::collections::HashMap<String, String>,
    rows: &mut [Row],
) {
    let field = resource
        .order_parameter
        .as_ref()
        .and_then(|name| query.get(name));
    let descending = match (&resource.direction_parameter, &resource.descending) {
        (Some(param), Some(word)) => query.get(param).is_some_and(|v| v == word),
        _ => false,
    };
    sort_rows(resource, field.map(String::as_str), descending, rows);
}

/// Sorts by `field` (the id, a date, or a generated field), id order without one.
fn sort_rows(resource: &ResourceSpec, field: Option<&str>, descending: bool, rows: &mut [Row]) {
    if let Some(field) = field {
        let is = |date: &Option<crate::generic::spec::DateField>| {
            date.as_ref().is_some_and(|d| d.field == field)
        };
        if is(&resource.updated) {
            rows.sort_by_key(|row| (row.updated_ms, row.id));
        } else if is(&resource.created) {
            rows.sort_by_key(|row| (row.created_ms, row.id));
        } else if field != resource.id_field {
            rows.sort_by_cached_key(|row| (row.field(field).map(data::text_of), row.id));
        }
    }
    if descending {
        rows.reverse();
    }
}

/// A delete log: the deletions whose time falls in the window the request names, each with its
/// id and date; the answer covers up to the window's end and keeps every deletion since the
/// simulator started (so it never says deletes were lost).
fn delete_log(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    log: &DeleteLog,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    let bound = |bound: &Option<(String, Option<tributary_domain::dates::DateFormatter>)>| {
        let (param, format) = bound.as_ref()?;
        let text = query.get(param)?;
        Some(data::parse_date(format.as_ref(), text).ok_or_else(|| param.clone()))
    };
    let (start, end) = match (bound(&log.start).transpose(), bound(&log.end).transpose()) {
        (Ok(start), Ok(end)) => (start, end),
        (Err(param), _) | (_, Err(param)) => {
            return generic.error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid date for {param}"),
            );
        }
    };
    let (deletions, now) = {
        let state = sim.state();
        let now = sim.provider_now(&state);
        let deletions: Vec<(i64, i64)> = state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
            .map(|table| {
                table
                    .deleted
                    .iter()
                    .filter(|d| start.is_none_or(|s| d.deleted_ms >= s))
                    .filter(|d| end.is_none_or(|e| d.deleted_ms <= e))
                    .map(|d| (d.id, d.deleted_ms))
                    .collect()
            })
            .unwrap_or_default();
        (deletions, now)
    };
    let entries: Vec<Value> = deletions
        .iter()
        .map(|(id, at)| {
            let mut entry = Value::Null;
            data::put(&mut entry, &log.id, json!(id));
            data::put(
                &mut entry,
                &log.date,
                data::date_value(&log.date_format, *at),
            );
            entry
        })
        .collect();
    let mut body = Value::Null;
    data::put(&mut body, &log.records, Value::Array(entries));
    if let Some(pointer) = &log.covered {
        let covered = end.unwrap_or(now).min(now);
        data::put(
            &mut body,
            pointer,
            data::date_value(&log.date_format, covered),
        );
    }
    if let Some(pointer) = &log.earliest {
        let earliest = start.unwrap_or(now).min(now);
        data::put(
            &mut body,
            pointer,
            data::date_value(&log.date_format, earliest),
        );
    }
    if body.is_null() {
        body = json!({});
    }
    axum::Json(body).into_response()
}

/// A list of archived records: the deletions, oldest first, each with its id and its time,
/// paged by the cursor the list gives.
fn archive_list(
    sim: &Simulator,
    caller: &Caller,
    resource: &ResourceSpec,
    archive: &ArchiveList,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    let number = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| query.get(n))
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    let size = number(&archive.size).unwrap_or(100).clamp(1, 10_000);
    let offset = number(&archive.cursor).unwrap_or(0);
    let deleted: Vec<(i64, i64)> = {
        let state = sim.state();
        state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
            .map(|table| table.deleted.iter().map(|d| (d.id, d.deleted_ms)).collect())
            .unwrap_or_default()
    };
    let page: Vec<Value> = deleted
        .iter()
        .skip(offset)
        .take(size)
        .map(|(id, at)| {
            let mut entry = Value::Null;
            data::put(&mut entry, &archive.id, json!(id.to_string()));
            data::put(
                &mut entry,
                &archive.date,
                data::date_value(&archive.date_format, *at),
            );
            entry
        })
        .collect();
    let next = offset + page.len();
    let mut body = Value::Null;
    data::put(&mut body, &archive.records, Value::Array(page));
    if let Some(pointer) = &archive.next_cursor
        && next < deleted.len()
    {
        data::put(&mut body, pointer, json!(next.to_string()));
    }
    if body.is_null() {
        body = json!({});
    }
    axum::Json(body).into_response()
}

/// A change feed: every record changed at or after the time asked, then a stub for every
/// record deleted since (its id, its deletion time as its updated date, the stub's mark).
fn change_feed(
    sim: &Simulator,
    generic: &Generic,
    caller: &Caller,
    resource: &ResourceSpec,
    feed: &ChangeFeed,
    query: &std::collections::HashMap<String, String>,
) -> Response {
    let (param, format) = &feed.since;
    let Some(since) = query
        .get(param)
        .and_then(|text| data::parse_date(format.as_ref(), text))
    else {
        return generic.error(StatusCode::BAD_REQUEST, &format!("{param} must be a date"));
    };
    let shown = |ms: i64| {
        resource
            .updated
            .as_ref()
            .map_or(ms, |updated| data::shown_ms(&updated.format, ms))
    };
    let (mut records, deleted): (Vec<Value>, Vec<(i64, i64)>) = {
        let state = sim.state();
        let Some(table) = state
            .tenants
            .get(caller.tenant)
            .and_then(|t| t.tables.get(resource.name.as_str()))
        else {
            return generic.error(StatusCode::NOT_FOUND, "No such resource");
        };
        let mut rows: Vec<&Row> = table
            .rows
            .values()
            .filter(|row| shown(row.updated_ms) >= since)
            .collect();
        rows.sort_by_key(|row| (row.updated_ms, row.id));
        (
            rows.into_iter()
                .map(|row| data::render(resource, row))
                .collect(),
            table
                .deleted
                .iter()
                .filter(|d| shown(d.deleted_ms) >= since)
                .map(|d| (d.id, d.deleted_ms))
                .collect(),
        )
    };
    if let Some((pointer, value)) = &feed.stub {
        for (id, at) in deleted {
            let row = Row {
                id,
                created_ms: at,
                updated_ms: at,
                versions: 0,
                fields: Map::new(),
            };
            let mut stub = data::render(resource, &row);
            data::put(&mut stub, pointer, value.clone());
            records.push(stub);
        }
    }
    let cap = usize::try_from(generic.spec.max_page_size).unwrap_or(usize::MAX);
    records.truncate(cap.max(1));
    let mut body = Value::Null;
    data::put(&mut body, &feed.records, Value::Array(records));
    axum::Json(body).into_response()
}
