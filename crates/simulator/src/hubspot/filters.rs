//! The search body's `filterGroups` and `sorts` (`shared/research/providers.md` §3.4): parsed
//! and checked up front, so a bad filter is a 400 naming it, then evaluated on records.
//!
//! Filters within a group are ANDed, groups ORed. Operators: `EQ NEQ LT LTE GT GTE BETWEEN`
//! (`value` and `highValue`, both inclusive) `IN NOT_IN` (`values`) `HAS_PROPERTY
//! NOT_HAS_PROPERTY CONTAINS_TOKEN NOT_CONTAINS_TOKEN`. Values travel as JSON strings (numbers
//! are taken too). Date-time properties compare as epoch milliseconds — a value may be
//! `"1704067200000"`, an ISO date-time or a date (midnight UTC) — at 1 ms resolution;
//! `hs_object_id` and number properties compare as numbers; text without case.
//!
//! Choices where undocumented: at most 5 groups, 10 filters in a group and 25 in all (the 2024
//! changelog's numbers); an empty group matches every record; a filter on a property the record
//! lacks (or the object does not know) matches only with `NEQ`, `NOT_IN`, `NOT_HAS_PROPERTY` and
//! `NOT_CONTAINS_TOKEN`; `CONTAINS_TOKEN` is a case-insensitive substring test (a `*` in the
//! value is dropped). One sort at most, an object `{propertyName, direction}` — the string form
//! the spec types is refused (§3.4: SDKs that sent it got broken sorts); ties, and searches
//! with no sort, go by id ascending; records lacking the sort property come last.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;

use crate::engine::dates::parse_lenient;
use crate::engine::records::Row;
use crate::hubspot::errors::HsError;
use crate::hubspot::schema::{Kind, Object, property};

const MAX_GROUPS: usize = 5;
const MAX_PER_GROUP: usize = 10;
const MAX_FILTERS: usize = 25;

/// A comparable property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Millis(i64),
    Number(f64),
    Text(String),
}

impl Key {
    /// `text` read as a property of `kind`; `None` when it does not parse as one.
    pub fn parse(kind: Kind, text: &str) -> Option<Key> {
        let text = text.trim();
        match kind {
            Kind::Text => Some(Key::Text(text.to_lowercase())),
            Kind::Number => text.parse::<f64>().ok().map(Key::Number),
            Kind::DateTime => millis(text).map(Key::Millis),
        }
    }

    fn compare(&self, other: &Key) -> Option<Ordering> {
        match (self, other) {
            (Key::Millis(a), Key::Millis(b)) => Some(a.cmp(b)),
            (Key::Number(a), Key::Number(b)) => a.partial_cmp(b),
            (Key::Text(a), Key::Text(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// A record's property as a comparable value; the platform's properties straight from the
/// engine's facts (searches compare them on every record, so they skip the text round trip).
pub fn record_key(object: &Object, row: &Row, name: &str, kind: Kind) -> Option<Key> {
    match name {
        "hs_object_id" => Some(Key::Number(row.id as f64)),
        "createdate" => Some(Key::Millis(row.created_ms)),
        name if name == object.modified => Some(Key::Millis(row.updated_ms)),
        name => property(object, row, name).and_then(|text| Key::parse(kind, &text)),
    }
}

/// Epoch milliseconds, an ISO date-time, or a date at midnight UTC.
fn millis(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    if let Some(ms) = parse_lenient(text) {
        return Some(ms);
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    jiff::tz::Offset::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()
        .map(|ts| ts.as_millisecond())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    Has,
    NotHas,
    Contains,
    NotContains,
}

impl Op {
    fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "EQ" => Op::Eq,
            "NEQ" => Op::Neq,
            "LT" => Op::Lt,
            "LTE" => Op::Lte,
            "GT" => Op::Gt,
            "GTE" => Op::Gte,
            "BETWEEN" => Op::Between,
            "IN" => Op::In,
            "NOT_IN" => Op::NotIn,
            "HAS_PROPERTY" => Op::Has,
            "NOT_HAS_PROPERTY" => Op::NotHas,
            "CONTAINS_TOKEN" => Op::Contains,
            "NOT_CONTAINS_TOKEN" => Op::NotContains,
            _ => return None,
        })
    }

    /// Whether a record without the property passes.
    fn passes_when_absent(self) -> bool {
        matches!(self, Op::Neq | Op::NotIn | Op::NotHas | Op::NotContains)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterIn {
    property_name: String,
    operator: String,
    value: Option<Value>,
    high_value: Option<Value>,
    values: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
pub struct GroupIn {
    #[serde(default)]
    filters: Vec<FilterIn>,
}

/// One checked filter.
#[derive(Debug)]
struct Filter {
    property: String,
    kind: Kind,
    op: Op,
    values: Vec<Key>,
}

/// Checked `filterGroups`: records pass when any group passes.
#[derive(Debug)]
pub struct Groups(Vec<Vec<Filter>>);

/// A JSON scalar as the string HubSpot would read.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn check_filter(object: &Object, filter: FilterIn) -> Result<Filter, HsError> {
    let name = filter.property_name;
    let op = Op::parse(&filter.operator).ok_or_else(|| {
        HsError::validation(format!(
            "Unknown operator {:?} in the filter on {name}",
            filter.operator
        ))
    })?;
    let kind = object.kind(&name).unwrap_or(Kind::Text);
    let key = |value: &Value| -> Result<Key, HsError> {
        scalar(value)
            .and_then(|text| Key::parse(kind, &text))
            .ok_or_else(|| {
                HsError::validation(format!(
                    "The value {value} of the filter on {name} is not a valid {}",
                    match kind {
                        Kind::DateTime => "date-time (epoch milliseconds or ISO 8601)",
                        Kind::Number => "number",
                        Kind::Text => "string",
                    }
                ))
            })
    };
    let needs =
        |what: &str| HsError::validation(format!("{:?} on {name} needs {what}", filter.operator));
    let values = match op {
        Op::Has | Op::NotHas => Vec::new(),
        Op::In | Op::NotIn => {
            let list = filter.values.ok_or_else(|| needs("values"))?;
            list.iter().map(key).collect::<Result<_, _>>()?
        }
        Op::Between => {
            let low = filter.value.as_ref().ok_or_else(|| needs("value"))?;
            let high = filter
                .high_value
                .as_ref()
                .ok_or_else(|| needs("highValue"))?;
            vec![key(low)?, key(high)?]
        }
        Op::Contains | Op::NotContains => {
            let value = filter.value.as_ref().ok_or_else(|| needs("value"))?;
            let text = scalar(value).ok_or_else(|| needs("a string value"))?;
            vec![Key::Text(text.replace('*', "").to_lowercase())]
        }
        _ => vec![key(filter.value.as_ref().ok_or_else(|| needs("value"))?)?],
    };
    Ok(Filter {
        property: name,
        kind,
        op,
        values,
    })
}

impl Groups {
    pub fn check(object: &Object, groups: Vec<GroupIn>) -> Result<Groups, HsError> {
        if groups.len() > MAX_GROUPS {
            return Err(HsError::validation(format!(
                "Too many filter groups: {} (at most {MAX_GROUPS})",
                groups.len()
            )));
        }
        let total: usize = groups.iter().map(|group| group.filters.len()).sum();
        if total > MAX_FILTERS || groups.iter().any(|g| g.filters.len() > MAX_PER_GROUP) {
            return Err(HsError::validation(format!(
                "Too many filters: at most {MAX_PER_GROUP} in a group and {MAX_FILTERS} in all"
            )));
        }
        groups
            .into_iter()
            .map(|group| {
                group
                    .filters
                    .into_iter()
                    .map(|filter| check_filter(object, filter))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Groups)
    }

    /// Whether `row` passes (no groups: every record does).
    pub fn pass(&self, object: &Object, row: &Row) -> bool {
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|group| group.iter().all(|filter| filter.pass(object, row)))
    }
}

impl Filter {
    fn pass(&self, object: &Object, row: &Row) -> bool {
        if matches!(self.op, Op::Has | Op::NotHas) {
            let present = property(object, row, &self.property).is_some();
            return present == matches!(self.op, Op::Has);
        }
        if matches!(self.op, Op::Contains | Op::NotContains) {
            let Some(text) = property(object, row, &self.property) else {
                return self.op.passes_when_absent();
            };
            let found = self.values.first().is_some_and(|needle| match needle {
                Key::Text(needle) => text.to_lowercase().contains(needle.as_str()),
                _ => false,
            });
            return found == matches!(self.op, Op::Contains);
        }
        let Some(key) = record_key(object, row, &self.property, self.kind) else {
            return self.op.passes_when_absent();
        };
        let cmp = |index: usize| self.values.get(index).and_then(|value| key.compare(value));
        match self.op {
            Op::Eq => cmp(0) == Some(Ordering::Equal),
            Op::Neq => cmp(0) != Some(Ordering::Equal),
            Op::Lt => cmp(0) == Some(Ordering::Less),
            Op::Lte => matches!(cmp(0), Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => cmp(0) == Some(Ordering::Greater),
            Op::Gte => matches!(cmp(0), Some(Ordering::Greater | Ordering::Equal)),
            Op::Between => {
                matches!(cmp(0), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(1), Some(Ordering::Less | Ordering::Equal))
            }
            Op::In => (0..self.values.len()).any(|i| cmp(i) == Some(Ordering::Equal)),
            Op::NotIn => (0..self.values.len()).all(|i| cmp(i) != Some(Ordering::Equal)),
            Op::Has | Op::NotHas | Op::Contains | Op::NotContains => false,
        }
    }
}

/// The checked `sorts`: one property and its direction, or none (id order).
#[derive(Debug)]
pub struct Sort {
    property: String,
    kind: Kind,
    descending: bool,
}

impl Sort {
    pub fn check(object: &Object, sorts: Vec<Value>) -> Result<Option<Sort>, HsError> {
        if sorts.len() > 1 {
            return Err(HsError::validation(
                "Only one sort is supported; sort by the modified property or by hs_object_id",
            ));
        }
        let Some(sort) = sorts.into_iter().next() else {
            return Ok(None);
        };
        let Some(property) = sort.get("propertyName").and_then(Value::as_str) else {
            return Err(HsError::validation(
                "A sort is an object {\"propertyName\": …, \"direction\": \"ASCENDING\" | \"DESCENDING\"}",
            ));
        };
        let descending = match sort.get("direction").and_then(Value::as_str) {
            None | Some("ASCENDING") => false,
            Some("DESCENDING") => true,
            Some(other) => {
                return Err(HsError::validation(format!(
                    "Unknown sort direction {other:?}: ASCENDING or DESCENDING"
                )));
            }
        };
        Ok(Some(Sort {
            property: property.to_owned(),
            kind: object.kind(property).unwrap_or(Kind::Text),
            descending,
        }))
    }

    /// The value a record sorts by.
    pub fn key(&self, object: &Object, row: &Row) -> Option<Key> {
        record_key(object, row, &self.property, self.kind)
    }

    /// Orders two records: by the property (missing values last), then by id.
    #[cfg(test)]
    pub fn order(&self, object: &Object, a: &Row, b: &Row) -> Ordering {
        self.order_keyed(
            self.key(object, a).as_ref(),
            a,
            self.key(object, b).as_ref(),
            b,
        )
    }

    /// [`Sort::order`] with the keys already computed.
    pub fn order_keyed(
        &self,
        key_a: Option<&Key>,
        a: &Row,
        key_b: Option<&Key>,
        b: &Row,
    ) -> Ordering {
        let by_value = match (key_a, key_b) {
            (Some(x), Some(y)) => {
                let ordering = x.compare(y).unwrap_or(Ordering::Equal);
                if self.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_value.then(a.id.cmp(&b.id))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hubspot::schema::{CONTACTS, DEALS};

    fn row(id: i64, updated_ms: i64, fields: Value) -> Row {
        Row {
            id,
            created_ms: 0,
            updated_ms,
            versions: 1,
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
    }

    fn groups(object: &Object, body: Value) -> Result<Groups, HsError> {
        let parsed: Vec<GroupIn> =
            serde_json::from_value(body).map_err(|e| HsError::validation(e.to_string()))?;
        Groups::check(object, parsed)
    }

    #[test]
    fn date_filters_compare_epoch_milliseconds_and_iso_alike() {
        let filter = groups(
            &CONTACTS,
            json!([{"filters": [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1704067200000"},
                {"propertyName": "lastmodifieddate", "operator": "LT", "value": "2024-01-02T00:00:00Z"}
            ]}]),
        )
        .expect("valid");
        assert!(filter.pass(&CONTACTS, &row(1, 1_704_067_200_000, json!({}))));
        assert!(!filter.pass(&CONTACTS, &row(2, 1_704_067_199_999, json!({}))));
        assert!(!filter.pass(&CONTACTS, &row(3, 1_704_153_600_000, json!({}))));
    }

    #[test]
    fn groups_are_ored_and_ids_compare_as_numbers() {
        let filter = groups(
            &DEALS,
            json!([
                {"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "9"}]},
                {"filters": [{"propertyName": "amount", "operator": "BETWEEN", "value": "5", "highValue": 10}]}
            ]),
        )
        .expect("valid");
        assert!(
            filter.pass(&DEALS, &row(10, 0, json!({}))),
            "10 > 9, not \"10\" < \"9\""
        );
        assert!(filter.pass(&DEALS, &row(2, 0, json!({"amount": "10"}))));
        assert!(!filter.pass(&DEALS, &row(2, 0, json!({"amount": "10.5"}))));
    }

    #[test]
    fn a_property_the_object_lacks_fails_silently_as_hubspot_does_with_contacts() {
        let filter = groups(
            &CONTACTS,
            json!([{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "0"}]}]),
        )
        .expect("accepted, as HubSpot does");
        assert!(!filter.pass(&CONTACTS, &row(1, 5, json!({}))));
    }

    #[test]
    fn bad_filters_and_sorts_are_refused_with_their_reason() {
        let bad_value = groups(
            &CONTACTS,
            json!([{"filters": [{"propertyName": "createdate", "operator": "GT", "value": "yesterday"}]}]),
        );
        assert!(bad_value.unwrap_err().message.contains("createdate"));
        let bad_op = groups(
            &CONTACTS,
            json!([{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}]),
        );
        assert!(bad_op.unwrap_err().message.contains("LIKE"));
        assert!(Sort::check(&CONTACTS, vec![json!("createdate")]).is_err());
        assert!(
            Sort::check(
                &CONTACTS,
                vec![json!({"propertyName": "a"}), json!({"propertyName": "b"})]
            )
            .is_err()
        );
    }

    #[test]
    fn ties_in_the_sort_go_by_id_and_missing_values_come_last() {
        let sort = Sort::check(
            &DEALS,
            vec![json!({"propertyName": "amount", "direction": "DESCENDING"})],
        )
        .expect("valid")
        .expect("a sort");
        let mut rows = [
            row(3, 0, json!({"amount": "5"})),
            row(1, 0, json!({})),
            row(2, 0, json!({"amount": "5"})),
            row(4, 0, json!({"amount": "50"})),
        ];
        rows.sort_by(|a, b| sort.order(&DEALS, a, b));
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, [4, 2, 3, 1]);
    }
}
