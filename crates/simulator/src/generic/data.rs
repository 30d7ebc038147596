//! The generic simulator's records: plainly generated field values, records as the API shows
//! them (id and dates where the spec puts them, dates in the spec's formats), JSON built at
//! pointers, and dates read back from query parameters.
//!
//! A definition says which fields a record has (`record_fields`) but not what they hold, so the
//! values are invented, plainly and predictably: a field named `id` or ending in `_id` holds an
//! integer from 1 to 50, one starting with `is_` or `has_` a boolean, any other the text
//! `"FIELD N"` (N from 1 to 50). A resource with no `record_fields` gets one field, `name`. An
//! edit changes one field. Equality filters compare a field's value as text, so
//! `?user_id=7` finds the records whose `user_id` is 7.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use tributary_domain::dates::{DateFormatter, Formatted, parse_instant};

use crate::engine::records::Row;
use crate::generic::spec::{DateField, ResourceSpec};

/// The generated fields of a resource: its record fields but the id and the dates.
pub(crate) fn generated_fields(resource: &ResourceSpec) -> Vec<String> {
    let skip = |field: &str| {
        let top = |path: &str| path.split('.').next().unwrap_or(path).to_owned();
        field == top(&resource.id_field)
            || resource
                .created
                .as_ref()
                .is_some_and(|d| field == top(&d.field))
            || resource
                .updated
                .as_ref()
                .is_some_and(|d| field == top(&d.field))
    };
    let fields: Vec<String> = resource
        .fields
        .iter()
        .filter(|field| !skip(field))
        .cloned()
        .collect();
    if fields.is_empty() {
        vec!["name".to_owned()]
    } else {
        fields
    }
}

/// A plainly generated value for `field`.
pub(crate) fn value_for(field: &str, rng: &mut StdRng) -> Value {
    let n: u32 = rng.random_range(1..=50);
    if field == "id" || field.ends_with("_id") {
        json!(n)
    } else if field.starts_with("is_") || field.starts_with("has_") {
        json!(n.is_multiple_of(2))
    } else {
        json!(format!("{field} {n}"))
    }
}

/// A new record's fields.
pub(crate) fn new_fields(fields: &[String], rng: &mut StdRng) -> Map<String, Value> {
    fields
        .iter()
        .map(|field| (field.clone(), value_for(field, rng)))
        .collect()
}

/// An edit: one field, new value.
pub(crate) fn edit_fields(fields: &[String], rng: &mut StdRng) -> Map<String, Value> {
    let mut patch = Map::new();
    if let Some(field) = fields.get(rng.random_range(0..fields.len().max(1))) {
        patch.insert(field.clone(), value_for(field, rng));
    }
    patch
}

/// A date as the API writes it: a number or text.
pub(crate) fn date_value(format: &DateFormatter, epoch_ms: i64) -> Value {
    match format.format(epoch_ms) {
        Formatted::Number(n) => json!(n),
        Formatted::Text(text) => json!(text),
    }
}

/// The instant a client reads from a date as the API writes it (a pattern without
/// milliseconds shows less than the record's true time).
pub(crate) fn shown_ms(format: &DateFormatter, epoch_ms: i64) -> i64 {
    match format {
        DateFormatter::EpochSeconds => epoch_ms.div_euclid(1000) * 1000,
        DateFormatter::IsoUtc => epoch_ms.div_euclid(1000) * 1000,
        DateFormatter::Pattern { pattern, zone } => pattern
            .parse(&pattern.format(epoch_ms, zone), zone)
            .unwrap_or(epoch_ms),
        _ => epoch_ms,
    }
}

/// Reads a date a client wrote in a query parameter: in the bound's format when one is known,
/// else RFC 3339 (or a day), else epoch milliseconds.
pub(crate) fn parse_date(format: Option<&DateFormatter>, text: &str) -> Option<i64> {
    let number = text.trim().parse::<i64>().ok();
    match format {
        Some(DateFormatter::Pattern { pattern, zone }) => {
            if let Ok(ms) = pattern.parse(text, zone) {
                return Some(ms);
            }
        }
        Some(DateFormatter::EpochSeconds) => {
            if let Some(n) = number {
                return Some(n.saturating_mul(1000));
            }
        }
        _ => {}
    }
    parse_instant(text).or(number)
}

/// A record as the API shows it.
pub(crate) fn render(resource: &ResourceSpec, row: &Row) -> Value {
    let mut out = Value::Object(row.fields.clone());
    put_dotted(&mut out, &resource.id_field, json!(row.id));
    let dated = |out: &mut Value, date: &Option<DateField>, ms: i64| {
        if let Some(date) = date {
            put_dotted(out, &date.field, date_value(&date.format, ms));
        }
    };
    dated(&mut out, &resource.created, row.created_ms);
    dated(&mut out, &resource.updated, row.updated_ms);
    out
}

/// A field's value as text, for equality filters and ordering.
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Sets the value at a dotted path (`properties.hs_object_id`), making objects on the way.
fn put_dotted(root: &mut Value, path: &str, value: Value) {
    let pointer: String = path.split('.').map(|part| format!("/{part}")).collect();
    put(root, &pointer, value);
}

/// Sets the value at a JSON pointer, making objects (or arrays, for numeric tokens) on the way;
/// the empty pointer replaces the whole value.
pub(crate) fn put(root: &mut Value, pointer: &str, value: Value) {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut current = root;
    for token in &tokens {
        let index = token.parse::<usize>().ok();
        if current.is_null() {
            *current = if index.is_some() {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
        }
        current = match (current, index) {
            (Value::Array(items), Some(index)) => {
                while items.len() <= index {
                    items.push(Value::Null);
                }
                &mut items[index]
            }
            (Value::Object(map), _) => map.entry(token.clone()).or_insert(Value::Null),
            (other, _) => {
                // A scalar in the way (a spec putting two values at crossing pointers): the
                // later one wins.
                *other = Value::Object(Map::new());
                match other {
                    Value::Object(map) => map.entry(token.clone()).or_insert(Value::Null),
                    _ => return,
                }
            }
        };
    }
    *current = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_put_at_pointers_making_objects_and_arrays() {
        let mut body = Value::Null;
        put(&mut body, "/0/message", json!("no"));
        assert_eq!(body, json!([{"message": "no"}]));
        let mut body = Value::Null;
        put(&mut body, "/QueryResponse/Customer", json!([]));
        put(&mut body, "/QueryResponse/totalCount", json!(3));
        assert_eq!(
            body,
            json!({"QueryResponse": {"Customer": [], "totalCount": 3}})
        );
        let mut body = json!({"a": 1});
        put(&mut body, "", json!([1]));
        assert_eq!(body, json!([1]));
    }

    #[test]
    fn dates_are_read_back_as_the_client_writes_them() {
        let java = DateFormatter::pattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "GMT").unwrap();
        let shown = date_value(&java, 1_767_225_600_250);
        assert_eq!(shown, json!("2026-01-01T00:00:00.250+0000"));
        assert_eq!(
            parse_date(Some(&java), "2026-01-01T00:00:00.250+0000"),
            Some(1_767_225_600_250)
        );
        assert_eq!(
            parse_date(None, "2026-01-01T00:00:00Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_date(Some(&DateFormatter::EpochSeconds), "1767225600"),
            Some(1_767_225_600_000)
        );
        let seconds = DateFormatter::pattern("yyyy-MM-dd HH:mm:ss", "GMT").unwrap();
        assert_eq!(shown_ms(&seconds, 1_767_225_600_250), 1_767_225_600_000);
    }
}
