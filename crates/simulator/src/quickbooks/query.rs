//! `GET /v3/company/{realmId}/query?query=…` (or `POST` with the query as an
//! `application/text` body), from `shared/research/providers.md` §4.4 and §4.5:
//! `{"QueryResponse": {"Customer": […], "startPosition", "maxResults"}, "time"}`, or
//! `{"QueryResponse": {}, "time"}` when nothing matches; `count(*)` answers `{"totalCount"}`.
//!
//! - Comparisons follow the field: `Id` and numbers as numbers; `Metadata.LastUpdatedTime` and
//!   `Metadata.CreateTime` as instants at one-second resolution, the literal in any offset (or a
//!   date, midnight at the company's offset); booleans; text, dates and references (`CustomerRef`
//!   compares its `value`) as text without case (values are case-insensitive, §4.4).
//! - Inactive list entities (`Active: false`) are hidden unless a condition names `Active`, as in
//!   `Active IN (true, false)` (§4.3, §4.6).
//! - Paging is 1-based: `startposition` (default 1) and `maxresults` (default 100, at most
//!   1,000); `maxResults` in the answer is how many came back.
//!
//! Choices where undocumented: without `orderby`, records come by `Id`; ties of an `orderby` go
//! by `Id`; records lacking the field sort first; `maxresults` above 1,000 is clamped (so a
//! client asking for more reads a full page of 1,000 as a short one, and stops early, as it
//! should not); a field list answers those fields with `Id`, `domain` and `sparse: true`; an
//! object or line field cannot be queried (4001).

use std::cmp::Ordering;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::engine::dates::floor_to_second;
use crate::engine::records::Row;
use crate::engine::sim::Caller;
use crate::quickbooks::config::CompanyOffset;
use crate::quickbooks::faults::{QboFault, json_response};
use crate::quickbooks::qql::{self, Condition, Literal, Op, Select};
use crate::quickbooks::schema::{Entity, Type, inactive, render};
use crate::quickbooks::state::Qb;
use crate::quickbooks::time::parse_literal;

const DEFAULT_MAX: i64 = 100;
const MAX_MAX: i64 = 1_000;

/// What a query names: the id, a metadata time, or a field of the entity.
#[derive(Debug, Clone, Copy)]
enum Target {
    Id,
    Created,
    Updated,
    Field(&'static str, Type),
}

/// A comparable value.
#[derive(Debug, Clone, PartialEq)]
enum Comparable {
    Number(f64),
    Millis(i64),
    Bool(bool),
    Text(String),
}

impl Comparable {
    fn compare(&self, other: &Comparable) -> Option<Ordering> {
        match (self, other) {
            (Comparable::Number(a), Comparable::Number(b)) => a.partial_cmp(b),
            (Comparable::Millis(a), Comparable::Millis(b)) => Some(a.cmp(b)),
            (Comparable::Bool(a), Comparable::Bool(b)) => Some(a.cmp(b)),
            (Comparable::Text(a), Comparable::Text(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn target(entity: &Entity, name: &str) -> Result<Target, QboFault> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "id" => return Ok(Target::Id),
        "metadata.createtime" => return Ok(Target::Created),
        "metadata.lastupdatedtime" => return Ok(Target::Updated),
        _ => {}
    }
    match entity.field(name) {
        Some(field) if !matches!(field.ty, Type::Object | Type::Lines) => {
            Ok(Target::Field(field.name, field.ty))
        }
        _ => Err(QboFault::query_invalid(format!(
            "property '{name}' is not queryable"
        ))),
    }
}

/// A row's value of `target`.
fn row_value(row: &Row, target: Target) -> Option<Comparable> {
    match target {
        Target::Id => Some(Comparable::Number(row.id as f64)),
        Target::Created => Some(Comparable::Millis(floor_to_second(row.created_ms))),
        Target::Updated => Some(Comparable::Millis(floor_to_second(row.updated_ms))),
        Target::Field(name, ty) => {
            let value = row.fields.get(name)?;
            match ty {
                Type::Number => value.as_f64().map(Comparable::Number),
                Type::Bool => value.as_bool().map(Comparable::Bool),
                Type::Ref => value
                    .get("value")
                    .and_then(Value::as_str)
                    .map(|text| Comparable::Text(text.to_lowercase())),
                _ => value
                    .as_str()
                    .map(|text| Comparable::Text(text.to_lowercase())),
            }
        }
    }
}

/// A literal read as a value of `target`.
fn literal_value(
    literal: &Literal,
    target: Target,
    company: CompanyOffset,
    name: &str,
) -> Result<Comparable, QboFault> {
    let text = literal.text();
    let bad =
        |what: &str| QboFault::query_invalid(format!("'{text}' is not a valid {what} for {name}"));
    match target {
        Target::Id | Target::Field(_, Type::Number) => text
            .trim()
            .parse::<f64>()
            .map(Comparable::Number)
            .map_err(|_| bad("number")),
        Target::Created | Target::Updated => parse_literal(&text, company)
            .map(Comparable::Millis)
            .ok_or_else(|| bad("date-time")),
        Target::Field(_, Type::Bool) => match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Comparable::Bool(true)),
            "false" => Ok(Comparable::Bool(false)),
            _ => Err(bad("boolean")),
        },
        Target::Field(..) => Ok(Comparable::Text(text.to_lowercase())),
    }
}

/// `%` matches any run of characters; the match ignores case (both sides lowercase).
fn like(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return text == pattern;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// A checked condition.
struct Filter {
    target: Target,
    op: Op,
    values: Vec<Comparable>,
}

impl Filter {
    fn check(
        entity: &Entity,
        condition: &Condition,
        company: CompanyOffset,
    ) -> Result<Filter, QboFault> {
        let target = target(entity, &condition.field)?;
        if condition.op == Op::Like && !matches!(target, Target::Field(_, Type::Text)) {
            return Err(QboFault::query_invalid(format!(
                "LIKE works on text, not on {}",
                condition.field
            )));
        }
        let values = condition
            .values
            .iter()
            .map(|literal| literal_value(literal, target, company, &condition.field))
            .collect::<Result<_, _>>()?;
        Ok(Filter {
            target,
            op: condition.op,
            values,
        })
    }

    fn pass(&self, row: &Row) -> bool {
        let value = match (row_value(row, self.target), self.target) {
            (Some(value), _) => value,
            // A list entity without `Active` is active.
            (None, Target::Field("Active", _)) => Comparable::Bool(true),
            (None, _) => return false,
        };
        let cmp = |index: usize| self.values.get(index).and_then(|v| value.compare(v));
        match self.op {
            Op::Eq => cmp(0) == Some(Ordering::Equal),
            Op::Lt => cmp(0) == Some(Ordering::Less),
            Op::Gt => cmp(0) == Some(Ordering::Greater),
            Op::Le => matches!(cmp(0), Some(Ordering::Less | Ordering::Equal)),
            Op::Ge => matches!(cmp(0), Some(Ordering::Greater | Ordering::Equal)),
            Op::In => (0..self.values.len()).any(|i| cmp(i) == Some(Ordering::Equal)),
            Op::Like => match (&value, self.values.first()) {
                (Comparable::Text(text), Some(Comparable::Text(pattern))) => like(text, pattern),
                _ => false,
            },
        }
    }
}

/// Runs a query for company `tenant`; the answer's body.
pub fn run(qb: &Qb, tenant: usize, text: &str) -> Result<Value, QboFault> {
    let company = qb.offset(tenant);
    let time = qb.time(tenant);
    let query = qql::parse(text).map_err(|error| QboFault::parse_error(error.0))?;
    let entity = Entity::named(&query.entity)
        .ok_or_else(|| QboFault::query_invalid(format!("Invalid entity {}", query.entity)))?;
    let filters = query
        .conditions
        .iter()
        .map(|condition| Filter::check(entity, condition, company))
        .collect::<Result<Vec<_>, _>>()?;
    let names_active = query
        .conditions
        .iter()
        .any(|condition| condition.field.eq_ignore_ascii_case("Active"));
    let order = match &query.order {
        None => None,
        Some((name, descending)) => Some((target(entity, name)?, *descending)),
    };
    let start = query.start_position.unwrap_or(1).max(1);
    let max = query.max_results.unwrap_or(DEFAULT_MAX).clamp(1, MAX_MAX);
    let fields = match &query.select {
        Select::Fields(names) => Some(
            names
                .iter()
                .map(|name| {
                    entity
                        .field(name)
                        .map(|field| field.name)
                        .or_else(|| name.eq_ignore_ascii_case("MetaData").then_some("MetaData"))
                        .or_else(|| name.eq_ignore_ascii_case("Id").then_some("Id"))
                        .ok_or_else(|| {
                            QboFault::query_invalid(format!("property '{name}' is not selectable"))
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => None,
    };

    let state = qb.sim.state();
    let table = state
        .tenants
        .get(tenant)
        .and_then(|t| t.tables.get(entity.name))
        .ok_or_else(|| QboFault::query_invalid(format!("Invalid entity {}", entity.name)))?;
    let mut rows: Vec<&Row> = table
        .rows
        .values()
        .filter(|row| !entity.is_list() || names_active || !inactive(row))
        .filter(|row| filters.iter().all(|filter| filter.pass(row)))
        .collect();
    if query.select == Select::Count {
        return Ok(json!({"QueryResponse": {"totalCount": rows.len()}, "time": time}));
    }
    if let Some((target, descending)) = order {
        rows.sort_by(|a, b| {
            let by_value = match (row_value(a, target), row_value(b, target)) {
                (Some(x), Some(y)) => x.compare(&y).unwrap_or(Ordering::Equal),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            let by_value = if descending {
                by_value.reverse()
            } else {
                by_value
            };
            by_value.then(a.id.cmp(&b.id))
        });
    }
    let page: Vec<Value> = rows
        .into_iter()
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(max).unwrap_or(0))
        .map(|row| project(render(row, company), fields.as_deref()))
        .collect();
    drop(state);
    let mut response = Map::new();
    if !page.is_empty() {
        let returned = page.len();
        response.insert(entity.name.into(), page.into());
        response.insert("startPosition".into(), start.into());
        response.insert("maxResults".into(), returned.into());
    }
    Ok(json!({"QueryResponse": response, "time": time}))
}

/// Keeps the selected fields of a record (with `Id`, `domain` and `sparse: true`).
fn project(record: Value, fields: Option<&[&str]>) -> Value {
    let Some(fields) = fields else {
        return record;
    };
    let Value::Object(full) = record else {
        return record;
    };
    let mut kept: Map<String, Value> = full
        .into_iter()
        .filter(|(name, _)| name == "Id" || name == "domain" || fields.contains(&name.as_str()))
        .collect();
    kept.insert("sparse".into(), true.into());
    Value::Object(kept)
}

fn answer(qb: &Qb, tenant: usize, text: Option<&str>) -> Response {
    let result = match text {
        Some(text) if !text.trim().is_empty() => run(qb, tenant, text),
        _ => Err(QboFault::parse_error(
            "a query (the query parameter) is required",
        )),
    };
    match result {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(fault) => fault.at(qb.time(tenant)).into_response(),
    }
}

pub(crate) async fn get(
    State(qb): State<Qb>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let text = pairs
        .iter()
        .find(|(name, _)| name == "query")
        .map(|(_, value)| value.as_str());
    answer(&qb, caller.tenant, text)
}

/// `POST …/query` with the query as the body (`Content-Type: application/text`).
pub(crate) async fn post(
    State(qb): State<Qb>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    answer(&qb, caller.tenant, std::str::from_utf8(&body).ok())
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_matches_percent_wildcards_anywhere() {
        assert!(like("amy's bird sanctuary", "amy%"));
        assert!(like("amy's bird sanctuary", "%bird%"));
        assert!(like("amy's bird sanctuary", "%sanctuary"));
        assert!(like("amy's bird sanctuary", "a%b%y"));
        assert!(!like("amy's bird sanctuary", "%cat%"));
        assert!(!like("amy", "amy%y"));
        assert!(like("amy", "amy"));
    }
}
