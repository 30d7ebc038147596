//! A record kept as text (`tributary_domain::record`) is byte for byte what `serde_json` writes
//! for the record's `Value` — the stored event and the notification body depend on it —
//! whatever form the provider wrote it in: compact and sorted (kept as it is), pretty, with its
//! keys in another order, or with escapes `serde_json` would not write (each rewritten); and
//! its fields read as `poll::field_text` reads them from the `Value`.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use tributary_domain::poll::field_text;
use tributary_domain::record::{Record, is_canonical};

fn text() -> impl Strategy<Value = String> {
    // Plain words, and the characters whose writing differs: quotes, backslashes, controls,
    // a slash, non-ASCII.
    prop_oneof![
        "[a-z_]{0,8}",
        prop::collection::vec(
            prop::sample::select(vec![
                "a", "Z", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1f}", "\u{7f}", "é", "😀", " ",
                "\u{2028}",
            ]),
            0..6
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        (-1000i64..1000, 0u32..4).prop_map(|(n, scale)| {
            Number::from_f64(n as f64 / 10f64.powi(scale as i32)).unwrap()
        }),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `value` written with its keys in reverse order and every non-ASCII character and slash
/// escaped as `\uXXXX` / `\/`: JSON that parses to the same `Value`, written otherwise.
fn written_otherwise(value: &Value) -> String {
    fn string(text: &str) -> String {
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' => out.push_str("\\/"),
                c if (c as u32) < 0x20 || !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
    match value {
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("{} : {}", string(k), written_otherwise(v)))
                .collect();
            format!("{{ {} }}", members.join(" , "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(written_otherwise).collect();
            format!("[ {} ]", items.join(", "))
        }
        Value::String(text) => string(text),
        other => other.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_record_is_its_values_text_however_the_provider_wrote_it(value in value()) {
        for text in [
            value.to_string(),
            serde_json::to_string_pretty(&value).unwrap(),
            written_otherwise(&value),
        ] {
            // What the provider's text parses to, written out: what an event stored before.
            let expected = serde_json::from_str::<Value>(&text).unwrap().to_string();
            let record = Record::from_json(&text).unwrap();
            prop_assert_eq!(record.as_str(), expected.as_str(), "from {}", text);
            // What `serde_json` writes is kept as it is, but for keys with escapes (left to
            // it) and floats it does not read back as written.
            let written = serde_json::from_str::<Value>(&expected).unwrap().to_string();
            prop_assert!(
                is_canonical(expected.as_bytes()) || expected.contains('\\') || written != expected,
                "{}", expected
            );
        }
        let record = Record::from(&value);
        if let Value::Object(map) = &value {
            for key in map.keys() {
                prop_assert_eq!(record.field_text(key), field_text(&value, key), "{}", key);
            }
        }
    }
}
