//! A list answer read for a poll: the records at the definition's pointer kept as slices of
//! the body, each a [`Record`] (the JSON text an event stores), and only the rest of the
//! answer (a count, a next link, a cursor: what the pager reads) parsed into a `Value`.
//!
//! A backfill's pages are almost all records; parsing them into `Value` trees cost an
//! allocation per key and per string, then a second pass writing each record out for the
//! store. Here a record costs one copy of its text when it is already in the stored form (see
//! `tributary_domain::record`), and the poll reads its id and dates from that text.
//!
//! The classifier sees a 2xx's JSON with the records array emptied (its rules read errors,
//! never records); any other status's answer is read whole.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};
use tributary_domain::record::Record;

/// What an answer holds at the records pointer.
#[derive(Debug, Default)]
pub(super) enum Found<R> {
    /// Nothing, or `null`.
    #[default]
    Absent,
    Records(Vec<R>),
    /// Something that is not an array.
    Other,
}

/// Reads a list answer: its JSON without the records (an empty array in their place), and
/// the records at `pointer` as they are found there; `None` when the body is not JSON.
pub(super) fn split(body: &[u8], pointer: &str) -> Option<(Value, Found<Record>)> {
    // `Value::pointer`'s reading of a pointer: "" is the whole answer, any other starts with
    // '/' (else it finds nothing), its tokens unescaped.
    let path: Option<Vec<String>> = if pointer.is_empty() {
        Some(Vec::new())
    } else {
        pointer.strip_prefix('/').map(|tokens| {
            tokens
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect()
        })
    };
    let mut found = Found::Absent;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let json = match &path {
        Some(path) => Split {
            path,
            found: &mut found,
        }
        .deserialize(&mut deserializer),
        None => Value::deserialize(&mut deserializer),
    }
    .ok()?;
    deserializer.end().ok()?;
    Some((json, found))
}

/// Reads a value on the way to the records (`path` left to follow).
struct Split<'p, 'f> {
    path: &'p [String],
    found: &'f mut Found<Record>,
}

impl<'de> DeserializeSeed<'de> for Split<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let Some((head, rest)) = self.path.split_first() else {
            return records(deserializer, self.found);
        };
        deserializer.deserialize_any(Follow {
            head,
            rest,
            found: self.found,
        })
    }
}

/// The value at the pointer: an array's elements kept as records, read in one pass (each
/// element's text captured as the answer is parsed).
fn records<'de, D: Deserializer<'de>>(
    deserializer: D,
    found: &mut Found<Record>,
) -> Result<Value, D::Error> {
    deserializer.deserialize_any(Records { found })
}

struct Records<'f> {
    found: &'f mut Found<Record>,
}

impl Records<'_> {
    /// Not an array: the value as it is, and so found.
    fn other(self, value: Value) -> Value {
        *self.found = Found::Other;
        value
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut records = Vec::with_capacity(access.size_hint().unwrap_or(0));
        while let Some(raw) = access.next_element::<&'de RawValue>()? {
            records.push(Record::from_json(raw.get()).map_err(de::Error::custom)?);
        }
        *self.found = Found::Records(records);
        Ok(Value::Array(Vec::new()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        *self.found = Found::Absent;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Value, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(access))?;
        Ok(self.other(value))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(self.other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(self.other(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(self.other(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(self.other(Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(self.other(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(self.other(Value::String(v)))
    }
}

/// A value on the path: the member (or element) named `head` is followed, the rest read as
/// `Value`s.
struct Follow<'p, 'f> {
    head: &'p str,
    rest: &'p [String],
    found: &'f mut Found<Record>,
}

impl<'de> Visitor<'de> for Follow<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = if key == self.head {
                access.next_value_seed(Split {
                    path: self.rest,
                    found: &mut *self.found,
                })?
            } else {
                access.next_value::<Value>()?
            };
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let wanted = array_index(self.head);
        let mut items = Vec::new();
        loop {
            let item = if wanted == Some(items.len()) {
                access.next_element_seed(Split {
                    path: self.rest,
                    found: &mut *self.found,
                })?
            } else {
                access.next_element::<Value>()?
            };
            match item {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An array index as `Value::pointer` reads one: digits, no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn whole(body: &str, pointer: &str) -> (Value, Option<Vec<Value>>) {
        let mut json: Value = serde_json::from_str(body).unwrap();
        let records = match json.pointer_mut(pointer) {
            Some(Value::Array(records)) => Some(std::mem::take(records)),
            _ => None,
        };
        (json, records)
    }

    /// The records are what parsing the whole answer finds at the pointer, written as
    /// `serde_json` writes them; the rest of the answer is the same `Value`.
    #[test]
    fn an_answer_splits_into_its_records_and_the_rest() {
        let body = r#"{ "count": 3, "next": "https://x/?offset=2",
            "contacts": [ {"id": 1, "b": "x", "a": [1.50, "\u00e9"]}, {"id":2}, {"a":{"z":1,"y":null}} ],
            "meta": [ {"c": 1} ] }"#;
        let (rest, found) = split(body.as_bytes(), "/contacts").unwrap();
        let (expected_rest, expected) = whole(body, "/contacts");
        assert_eq!(rest, expected_rest);
        let Found::Records(records) = found else {
            panic!("no records: {found:?}");
        };
        let expected = expected.unwrap();
        assert_eq!(records.len(), expected.len());
        for (record, value) in records.iter().zip(&expected) {
            assert_eq!(record.as_str(), value.to_string());
        }
        // Nested, through an array, escaped, the whole answer.
        for (body, pointer) in [
            (r#"{"a":{"b":[{"c":[{"id":1}]}]}}"#, "/a/b/0/c"),
            (r#"{"a/b":{"~":[{"id":1}]}}"#, "/a~1b/~0"),
            (r#"[{"id":1},{"id":2}]"#, ""),
        ] {
            let (rest, found) = split(body.as_bytes(), pointer).unwrap();
            let (expected_rest, expected) = whole(body, pointer);
            assert_eq!(rest, expected_rest, "{pointer}");
            let Found::Records(records) = found else {
                panic!("{pointer}: {found:?}");
            };
            let expected: Vec<String> = expected.unwrap().iter().map(Value::to_string).collect();
            let records: Vec<&str> = records.iter().map(Record::as_str).collect();
            assert_eq!(records, expected, "{pointer}");
        }
    }

    #[test]
    fn no_array_at_the_pointer_is_told_apart_from_null_or_nothing() {
        let absent = |body: &str, pointer: &str| {
            matches!(split(body.as_bytes(), pointer), Some((_, Found::Absent)))
        };
        assert!(absent(r#"{"count":0}"#, "/contacts"));
        assert!(absent(r#"{"contacts":null}"#, "/contacts"));
        assert!(absent(r#"{"contacts":[]}"#, "contacts"), "not a pointer");
        let (rest, found) = split(br#"{"contacts":{"id":1}}"#, "/contacts").unwrap();
        assert!(matches!(found, Found::Other));
        assert_eq!(rest, json!({"contacts": {"id": 1}}));
        assert!(split(b"{\"contacts\":[", "/contacts").is_none());
        assert!(split(b"{\"contacts\":[]} x", "/contacts").is_none());
        assert!(split(br#"{"contacts":[{"a":"\ud800"}]}"#, "/contacts").is_none());
    }
}
