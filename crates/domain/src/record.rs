//! A provider's record as the JSON text an event stores: exactly what `serde_json` writes for
//! the `Value` the record parses to (keys in byte order, one of each, no whitespace, numbers
//! and escapes as it writes them), whichever way the record came.
//!
//! Why text and not a `Value`: a backfill reads tens of thousands of records, and a `Value`
//! tree costs an allocation per key and per string, then a second walk to write it out for
//! the store. A page's records arrive as raw slices of its body (`tributary_elements`); a
//! slice already in that form (every answer of a provider that writes JSON with `serde_json`,
//! and most compact ones with sorted keys) is kept as it is — one copy, no tree
//! ([`Record::from_json`] checks it, in one pass). Any other is parsed and written out as
//! before, so the stored event and the notification body are byte for byte what they were.
//! The few fields a poll reads (the id, the dates, a delete marker) are read from the text
//! ([`Record::field_text`], [`Record::pointer`]).

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

/// A record's JSON text, in the form `serde_json` writes its `Value` (see the module docs).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Record(String);

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&Value> for Record {
    fn from(value: &Value) -> Record {
        Record(value.to_string())
    }
}

impl From<Value> for Record {
    fn from(value: Value) -> Record {
        Record(value.to_string())
    }
}

impl PartialEq<Value> for Record {
    fn eq(&self, other: &Value) -> bool {
        self.to_value() == *other
    }
}

impl Record {
    /// A record from JSON text: kept as it is when it is already in the stored form, parsed
    /// and written out otherwise; an error when it is not JSON.
    pub fn from_json(text: &str) -> Result<Record, serde_json::Error> {
        if is_canonical(text.as_bytes()) {
            Ok(Record(text.to_owned()))
        } else {
            Ok(Record(serde_json::from_str::<Value>(text)?.to_string()))
        }
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The record as a `Value` (for the rare reader that needs all of it: a `where`
    /// evaluated by Tributary).
    pub fn to_value(&self) -> Value {
        // The text is JSON by construction.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// A dotted path (`user.id`) as text, as [`crate::poll::field_text`] reads it from the
    /// record's `Value`: a non-empty string, a number as written, a boolean.
    pub fn field_text(&self, path: &str) -> Option<String> {
        self.field(path).map(Cow::into_owned)
    }

    /// [`Self::field_text`], borrowed from the record's text where it is written as is (no
    /// escapes).
    pub fn field(&self, path: &str) -> Option<Cow<'_, str>> {
        let bytes = self.0.as_bytes();
        let mut at = 0;
        for part in path.split('.') {
            at = match bytes.get(at)? {
                b'{' => member(bytes, at, |key| key == part)?,
                b'[' => element(bytes, at, part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        self.leaf(at)
    }

    /// [`Self::field`] of several paths, in one pass over the record when each names a
    /// member of the record itself (a poll reads its id and two dates from every record).
    pub fn fields<const N: usize>(&self, paths: [&str; N]) -> [Option<Cow<'_, str>>; N] {
        let bytes = self.0.as_bytes();
        if bytes.first() != Some(&b'{') || paths.iter().any(|p| p.contains('.')) {
            return paths.map(|path| self.field(path));
        }
        let mut found: [Option<usize>; N] = [None; N];
        let mut left = N;
        let mut at = 1; // past '{'
        while left > 0 && bytes.get(at) == Some(&b'"') {
            let key_end = skip(bytes, at);
            let value = key_end + 1; // past ':'
            let key = &self.0[at..key_end];
            let key = if key.contains('\\') {
                string(key)
            } else {
                Cow::Borrowed(&key[1..key.len() - 1])
            };
            for (path, slot) in paths.iter().zip(found.iter_mut()) {
                if slot.is_none() && *path == key {
                    *slot = Some(value);
                    left -= 1;
                }
            }
            at = skip(bytes, value);
            if bytes.get(at) != Some(&b',') {
                break;
            }
            at += 1;
        }
        found.map(|at| at.and_then(|at| self.leaf(at)))
    }

    /// The value at `at` as a field's text.
    fn leaf(&self, at: usize) -> Option<Cow<'_, str>> {
        let bytes = self.0.as_bytes();
        let end = skip(bytes, at);
        let text = &self.0[at..end];
        match bytes.get(at)? {
            b'"' if end - at > 2 => Some(string(text)),
            b'-' | b'0'..=b'9' | b't' | b'f' => Some(Cow::Borrowed(text)),
            _ => None,
        }
    }

    /// The value at a JSON pointer, as `Value::pointer` finds it.
    pub fn pointer(&self, pointer: &str) -> Option<Value> {
        let bytes = self.0.as_bytes();
        let mut at = 0;
        if !pointer.is_empty() {
            let tokens = pointer.strip_prefix('/')?;
            for token in tokens.split('/') {
                let token = token.replace("~1", "/").replace("~0", "~");
                at = match bytes.get(at)? {
                    b'{' => member(bytes, at, |key| key == token)?,
                    b'[' => element(bytes, at, array_index(&token)?)?,
                    _ => return None,
                };
            }
        }
        serde_json::from_str(&self.0[at..skip(bytes, at)]).ok()
    }
}

/// An array index as `Value::pointer` reads one: digits, no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// A string token's text (the token is canonical JSON, quotes included).
fn string(token: &str) -> Cow<'_, str> {
    let inner = &token[1..token.len() - 1];
    if inner.contains('\\') {
        Cow::Owned(serde_json::from_str(token).unwrap_or_default())
    } else {
        Cow::Borrowed(inner)
    }
}

/// Where the value of the member named as `wanted` says starts, in the object at `at`.
fn member(bytes: &[u8], at: usize, wanted: impl Fn(&str) -> bool) -> Option<usize> {
    let mut at = at + 1; // past '{'
    while bytes.get(at)? == &b'"' {
        let key_end = skip(bytes, at);
        // Keys are UTF-8 text between ASCII quotes: the slice is on char boundaries.
        let key = std::str::from_utf8(&bytes[at..key_end]).ok()?;
        let value = key_end + 1; // past ':'
        let matched = if key.contains('\\') {
            wanted(&string(key))
        } else {
            wanted(&key[1..key.len() - 1])
        };
        if matched {
            return Some(value);
        }
        at = skip(bytes, value);
        if bytes.get(at)? != &b',' {
            return None;
        }
        at += 1;
    }
    None
}

/// Where the `index`th element of the array at `at` starts.
fn element(bytes: &[u8], at: usize, index: usize) -> Option<usize> {
    let mut at = at + 1; // past '['
    if bytes.get(at)? == &b']' {
        return None;
    }
    for _ in 0..index {
        at = skip(bytes, at);
        if bytes.get(at)? != &b',' {
            return None;
        }
        at += 1;
    }
    Some(at)
}

/// The end of the canonical JSON value starting at `at`.
fn skip(bytes: &[u8], at: usize) -> usize {
    let mut i = at;
    match bytes.get(i) {
        Some(b'"') => {
            i += 1;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'\\' => i += 2,
                    b'"' => return i + 1,
                    _ => i += 1,
                }
            }
            bytes.len()
        }
        Some(b'{' | b'[') => {
            let mut depth = 0_usize;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'"' => {
                        i = skip(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            while let Some(&b) = bytes.get(i) {
                if matches!(b, b',' | b'}' | b']' | b':') {
                    break;
                }
                i += 1;
            }
            i
        }
    }
}

/// Deeper than this, a text is left to `serde_json` (which refuses nesting past 128).
const MAX_DEPTH: usize = 100;

/// Whether `text` is JSON exactly as `serde_json` writes the `Value` it parses to. False for
/// anything else, JSON or not (the caller then parses it, and `serde_json` decides).
pub fn is_canonical(text: &[u8]) -> bool {
    let mut checker = Checker { bytes: text, at: 0 };
    checker.value(0) && checker.at == text.len()
}

struct Checker<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Checker<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().is_some(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.bytes[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        loop {
            let Some((key, escaped)) = self.string() else {
                return false;
            };
            // Keys are written in the order of their text: comparable as bytes only without
            // escapes (a key with one is left to `serde_json`); strictly ascending, since a
            // `Value` keeps one of each.
            if escaped || previous.is_some_and(|p| p >= key) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth + 1) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string as `serde_json` writes one: its inner bytes, and whether it has escapes.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        let bytes = self.bytes;
        let start = self.at + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match *bytes.get(i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match *bytes.get(i + 1)? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' => {
                            // Only the control characters without a short escape, in
                            // lower-case hex, as `serde_json` writes them.
                            let hex = bytes.get(i + 2..i + 6)?;
                            if !hex.starts_with(b"00")
                                || !hex[2..]
                                    .iter()
                                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                            {
                                return None;
                            }
                            let code = u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16)
                                .ok()?;
                            if code >= 0x20 || matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            i += 6;
                        }
                        _ => return None,
                    }
                }
                b if b < 0x20 => return None,
                // Text is UTF-8 already (the input is a `str`); bytes past ASCII pass as
                // `serde_json` writes them, unescaped.
                _ => i += 1,
            }
        }
        self.at = i + 1;
        Some((&bytes[start..i], escaped))
    }

    fn number(&mut self) -> bool {
        let bytes = self.bytes;
        let start = self.at;
        let mut i = start;
        while i < bytes.len() && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        {
            i += 1;
        }
        self.at = i;
        let Ok(token) = std::str::from_utf8(&bytes[start..i]) else {
            return false;
        };
        let (negative, digits) = match token.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, token),
        };
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // An integer: `serde_json` keeps it as one when it fits (and writes it back as
            // read), but reads `-0` and the ones that do not fit as floats.
            if digits.len() > 1 && digits.starts_with('0') {
                return false;
            }
            return match digits.parse::<u64>() {
                Ok(0) => !negative,
                Ok(n) => !negative || n <= i64::MAX as u64 + 1,
                Err(_) => false,
            };
        }
        // A float: canonical when `serde_json` writes back the same text.
        serde_json::from_str::<serde_json::Number>(token).is_ok_and(|n| n.to_string() == token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every text becomes what `serde_json` writes for its `Value`, kept or rewritten.
    #[test]
    fn a_record_is_what_serde_json_writes_for_its_value() {
        let texts = [
            r#"{"a":1,"b":"x"}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{ "a" : 1 }"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"a":"é","b":"\n\t\"\\","c":"\u0001","d":"\u001F"}"#,
            r#"{"a":"\u001f"}"#,
            r#"{"a":"\u0008"}"#,
            r#"{"a":1.0,"b":1.5,"c":1e5,"d":1E5,"e":-0,"f":-0.0,"g":0.1}"#,
            r#"{"a":18446744073709551615,"b":18446744073709551616,"c":-9223372036854775808}"#,
            r#"{"a":-9223372036854775807,"b":123456789012345678901234567890}"#,
            r#"{"a":[1,{"z":null,"y":true,"x":false}],"b":{}}"#,
            r#"[]"#,
            r#""text""#,
            r#"12"#,
            r#"{"a":2.5e-7,"b":1.7976931348623157e308,"c":5e-324}"#,
            r#"{"":1,"a":[],"b":[[]]}"#,
            r#"{"emoji":"😀","cjk":"漢字","nbsp":" "}"#,
        ];
        for text in texts {
            let expected = serde_json::from_str::<Value>(text).unwrap().to_string();
            let record = Record::from_json(text).unwrap();
            assert_eq!(record.as_str(), expected, "{text}");
            assert!(
                is_canonical(expected.as_bytes()),
                "{expected} is kept as it is"
            );
        }
        // A key with an escape is left to `serde_json`, which sorts it by its text.
        let record = Record::from_json(r#"{"a\"":1,"a":2}"#).unwrap();
        assert_eq!(record.as_str(), r#"{"a":2,"a\"":1}"#);
    }

    #[test]
    fn only_what_serde_json_writes_is_kept_as_it_is() {
        for text in [
            r#"{"a":1}"#,
            r#"{"a":"\u001f","b":[1,-2,0,1.5]}"#,
            r#"{"a b":{"c":"d\"e"}}"#,
        ] {
            assert!(is_canonical(text.as_bytes()), "{text}");
        }
        for text in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a": 1}"#,
            r#"{"a":1} "#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"a":"\u000a"}"#,
            r#"{"a":1e5}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":1.50}"#,
            r#"{"a":18446744073709551616}"#,
            r#"{"a":-9223372036854775809}"#,
            r#"{"a":tru}"#,
            r#"{"a":1,}"#,
            r#"{"a\u0001":1}"#,
            "{\"a\":\"\u{1}\"}",
            "",
            "[",
        ] {
            assert!(!is_canonical(text.as_bytes()), "{text}");
        }
        assert!(Record::from_json(r#"{"a":"#).is_err());
        assert!(
            Record::from_json(r#"{"a":"\ud800"}"#).is_err(),
            "a lone surrogate"
        );
    }

    /// A field reads as `poll::field_text` reads it from the `Value`.
    #[test]
    fn fields_read_from_the_text_as_from_the_value() {
        let value = json!({
            "id": 42, "name": "", "email": "a@b", "ok": true, "none": null,
            "owner": {"id": "7", "tags": ["x", 3, {"k": 1.5}]},
            "we\"ird": "q", "list": [], "obj": {}, "neg": -3, "f": 2.5e-7,
            "escaped": "tab\there", "k.dot": 1
        });
        let record = Record::from(&value);
        for path in [
            "id",
            "name",
            "email",
            "ok",
            "none",
            "owner.id",
            "owner.tags.0",
            "owner.tags.1",
            "owner.tags.2.k",
            "owner.tags.3",
            "owner.tags.x",
            "owner.tags.+1",
            "we\"ird",
            "list",
            "obj",
            "neg",
            "f",
            "escaped",
            "missing",
            "owner.missing",
            "id.x",
            "k.dot",
            "",
        ] {
            assert_eq!(
                record.field_text(path),
                crate::poll::field_text(&value, path),
                "{path}"
            );
            let [one, id, same] = record.fields([path, "id", path]);
            assert_eq!(one.map(Cow::into_owned), record.field_text(path), "{path}");
            assert_eq!(same.map(Cow::into_owned), record.field_text(path), "{path}");
            assert_eq!(id.as_deref(), Some("42"));
        }
        for pointer in [
            "",
            "/id",
            "/owner/tags/2",
            "/owner/tags/01",
            "/owner/tags/+1",
            "/we\"ird",
            "/missing",
            "id",
            "/owner/tags/2/k",
            "/k.dot",
        ] {
            assert_eq!(
                record.pointer(pointer).as_ref(),
                value.pointer(pointer),
                "{pointer}"
            );
        }
        assert_eq!(record.to_value(), value);
    }
}
