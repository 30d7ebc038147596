//! Dates against the patterns configurations use (first byte picks one), or, past the first
//! NUL, against a fuzzed pattern: parsing never panics and errors point inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_domain::dates::{DatePattern, Zone};

const PATTERNS: &[&str] = &[
    "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
    "EEE, dd MMM yyyy HH:mm:ss Z",
    "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "yyyy-MM-dd HH:mm:ss z",
    "yyMMddHHmmssSSS",
    "dd MMMM yyyy hh:mm a zzzz",
    "YYYY-ww-u G D F W k K",
    "milliseconds",
    "seconds",
];
const ZONES: &[&str] = &["UTC", "America/New_York", "Europe/Berlin", "EST", "GMT+05:30"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let zone = Zone::parse(ZONES[usize::from(selector) % ZONES.len()]).expect("known zone");
    let (pattern, input) = match text.split_once('\0') {
        Some((pattern, input)) => (DatePattern::compile(pattern), input),
        None => (
            DatePattern::compile(PATTERNS[usize::from(selector / 8) % PATTERNS.len()]),
            &*text,
        ),
    };
    let Ok(pattern) = pattern else { return };
    match pattern.parse_prefix(input, &zone) {
        Ok((_, consumed)) => assert!(consumed <= input.len()),
        Err(error) => assert!(input.is_char_boundary(error.position)),
    }
    let _ = pattern.parse(input, &zone);
});
