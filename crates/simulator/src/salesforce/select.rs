//! Running a parsed SOQL query against an org's records: the names are checked against the
//! schema (`INVALID_TYPE`, `INVALID_FIELD`), each literal against its field's type (a quoted
//! date-time is `MALFORMED_QUERY`, as `shared/research/providers.md` §2.11 asks), then records
//! are filtered, ordered and rendered with only the selected fields plus `attributes`.
//!
//! Comparisons follow SOQL: text compares without regard to case, an id matches in its 15- or
//! 18-character form, `!=` also matches nulls, date-times compare at one-second resolution.
//! Choices where undocumented: without `ORDER BY`, and between records equal on every key,
//! records come in creation order (by id); nulls sort first unless `NULLS LAST`.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use crate::engine::records::Table;
use crate::salesforce::errors::SfError;
use crate::salesforce::schema::{Field, SObject, Type, View};
use crate::salesforce::soql::{Literal, Op, Query};

/// A query checked against the schema.
#[derive(Debug)]
pub struct Bound {
    pub object: &'static SObject,
    fields: Vec<&'static Field>,
    conditions: Vec<(&'static Field, Op, Literal)>,
    order: Vec<(&'static Field, bool, bool)>,
    limit: Option<usize>,
}

fn lookup(object: &'static SObject, name: &str) -> Result<&'static Field, SfError> {
    if name.contains('.') {
        return Err(SfError::malformed_query(format!(
            "relationship field '{name}' is outside the simulator's SOQL subset"
        )));
    }
    object.field(name).ok_or_else(|| {
        SfError::bad_request(
            "INVALID_FIELD",
            format!(
                "No such column '{name}' on entity '{}'. If you are attempting to use a custom \
                 field, be sure to append the '__c' after the custom field name.",
                object.name
            ),
        )
    })
}

/// Checks that `literal` suits `field` and `op`, with Salesforce's wording when not.
fn check(field: &Field, op: Op, literal: &Literal) -> Result<(), SfError> {
    let (wanted, fits) = match field.ty {
        Type::DateTime => ("dateTime", matches!(literal, Literal::DateTime(_))),
        Type::Date => ("date", matches!(literal, Literal::Date(_))),
        Type::Bool => ("boolean", matches!(literal, Literal::Bool(_))),
        Type::Int | Type::Number => ("number", matches!(literal, Literal::Number(_))),
        Type::Id | Type::Reference | Type::Text => ("string", matches!(literal, Literal::Text(_))),
    };
    let equality = matches!(op, Op::Eq | Op::Ne);
    if matches!(literal, Literal::Null) || (field.ty == Type::Bool && fits) {
        return if equality {
            Ok(())
        } else {
            Err(SfError::malformed_query(format!(
                "invalid operator on field '{}': only = and != compare with {}",
                field.name,
                if matches!(literal, Literal::Null) {
                    "null"
                } else {
                    "a boolean"
                }
            )))
        };
    }
    if fits {
        return Ok(());
    }
    let quoting = match (wanted, literal) {
        ("string", _) => " and should be enclosed in quotes",
        (_, Literal::Text(_)) => " and should not be enclosed in quotes",
        _ => "",
    };
    Err(SfError::malformed_query(format!(
        "value of filter criterion for field '{}' must be of type {wanted}{quoting}",
        field.name
    )))
}

/// Checks a parsed query against the schema.
pub fn bind(query: &Query) -> Result<Bound, SfError> {
    let object = SObject::named(&query.object).ok_or_else(|| {
        SfError::bad_request(
            "INVALID_TYPE",
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom \
                 object, be sure to append the '__c' after the entity name.",
                query.object
            ),
        )
    })?;
    let mut fields: Vec<&'static Field> = Vec::new();
    for name in &query.fields {
        let field = lookup(object, name)?;
        if fields.iter().any(|seen| seen.name == field.name) {
            return Err(SfError::malformed_query(format!(
                "duplicate field selected: {}",
                field.name
            )));
        }
        fields.push(field);
    }
    let mut conditions = Vec::new();
    for condition in &query.conditions {
        let field = lookup(object, &condition.field)?;
        check(field, condition.op, &condition.value)?;
        conditions.push((field, condition.op, condition.value.clone()));
    }
    let order = query
        .order
        .iter()
        .map(|key| Ok((lookup(object, &key.field)?, key.descending, key.nulls_last)))
        .collect::<Result<_, SfError>>()?;
    Ok(Bound {
        object,
        fields,
        conditions,
        order,
        limit: query.limit,
    })
}

/// A value ready to compare: date-times as epoch ms, the rest as JSON.
#[derive(Debug, PartialEq)]
enum Comparable {
    Null,
    Time(i64),
    Json(Value),
}

fn comparable(view: &View<'_>, field: &Field) -> Comparable {
    if let Some(ms) = view.time_ms(field) {
        return Comparable::Time(ms);
    }
    match view.value(field) {
        Value::Null => Comparable::Null,
        value => Comparable::Json(value),
    }
}

/// The 15-character form of an id, which both forms share.
fn short_id(id: &str) -> &str {
    if id.len() == 18 && id.is_ascii() {
        &id[..15]
    } else {
        id
    }
}

/// Orders two non-null values of `field`.
fn compare(field: &Field, a: &Comparable, b: &Comparable) -> Ordering {
    match (a, b) {
        (Comparable::Time(x), Comparable::Time(y)) => x.cmp(y),
        (Comparable::Json(Value::Number(x)), Comparable::Json(Value::Number(y))) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Comparable::Json(Value::Bool(x)), Comparable::Json(Value::Bool(y))) => x.cmp(y),
        (Comparable::Json(Value::String(x)), Comparable::Json(Value::String(y))) => {
            match field.ty {
                Type::Id | Type::Reference => short_id(x).cmp(short_id(y)),
                _ => x.to_lowercase().cmp(&y.to_lowercase()),
            }
        }
        _ => Ordering::Equal,
    }
}

fn literal_value(literal: &Literal) -> Comparable {
    match literal {
        Literal::DateTime(ms) => Comparable::Time(*ms),
        Literal::Date(text) | Literal::Text(text) => Comparable::Json(text.clone().into()),
        Literal::Number(number) => Comparable::Json(json!(number)),
        Literal::Bool(flag) => Comparable::Json((*flag).into()),
        Literal::Null => Comparable::Null,
    }
}

fn matches(view: &View<'_>, field: &Field, op: Op, literal: &Literal) -> bool {
    let value = comparable(view, field);
    let wanted = literal_value(literal);
    match (&value, &wanted) {
        (Comparable::Null, Comparable::Null) => op == Op::Eq,
        (_, Comparable::Null) => op == Op::Ne,
        (Comparable::Null, _) => op == Op::Ne,
        _ => {
            let ordering = compare(field, &value, &wanted);
            match op {
                Op::Eq => ordering == Ordering::Equal,
                Op::Ne => ordering != Ordering::Equal,
                Op::Lt => ordering == Ordering::Less,
                Op::Le => ordering != Ordering::Greater,
                Op::Gt => ordering == Ordering::Greater,
                Op::Ge => ordering != Ordering::Less,
            }
        }
    }
}

/// A record as the query shows it: `attributes`, then only the selected fields.
pub fn render(view: &View<'_>, fields: &[&Field], version: &str) -> Value {
    let mut record = Map::new();
    record.insert(
        "attributes".into(),
        json!({"type": view.object.name,
               "url": format!("/services/data/{version}/sobjects/{}/{}", view.object.name, view.id())}),
    );
    for field in fields {
        record.insert(field.name.into(), view.value(field));
    }
    Value::Object(record)
}

impl Bound {
    /// Runs the query over `table` of `org`: live records, and with `all` (`queryAll`) the
    /// deleted ones still in the Recycle Bin (deleted at or after `horizon`, provider time).
    pub fn run(
        &self,
        org: usize,
        table: &Table,
        all: bool,
        horizon: i64,
        version: &str,
    ) -> Vec<Value> {
        let object = self.object;
        let live = table.rows.values().map(|row| View {
            object,
            row,
            org,
            deleted_ms: None,
        });
        let binned = table
            .deleted
            .iter()
            .filter(|deletion| all && deletion.deleted_ms >= horizon)
            .map(|deletion| View {
                object,
                row: &deletion.row,
                org,
                deleted_ms: Some(deletion.deleted_ms),
            });
        let mut views: Vec<View<'_>> = live
            .chain(binned)
            .filter(|view| {
                self.conditions
                    .iter()
                    .all(|(field, op, literal)| matches(view, field, *op, literal))
            })
            .collect();
        views.sort_by(|a, b| {
            for (field, descending, nulls_last) in &self.order {
                let (x, y) = (comparable(a, field), comparable(b, field));
                let ordering = match (&x, &y) {
                    (Comparable::Null, Comparable::Null) => Ordering::Equal,
                    (Comparable::Null, _) if *nulls_last => Ordering::Greater,
                    (Comparable::Null, _) => Ordering::Less,
                    (_, Comparable::Null) if *nulls_last => Ordering::Less,
                    (_, Comparable::Null) => Ordering::Greater,
                    _ if *descending => compare(field, &y, &x),
                    _ => compare(field, &x, &y),
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            a.row.id.cmp(&b.row.id)
        });
        views
            .iter()
            .take(self.limit.unwrap_or(usize::MAX))
            .map(|view| render(view, &self.fields, version))
            .collect()
    }
}
