//! The `date_parse` fuzz target's check, shared with `tests/fuzz_regressions.rs`: dates against
//! the patterns configurations use (the first byte picks the pattern and the zone), or, past the
//! first NUL, against a fuzzed pattern. Parsing never panics and an error points at a character
//! of the input; the instant a date reads as, formatted with the same pattern and zone, reads
//! back (`dates::round_trip`).

use tributary_domain::dates::{DatePattern, Zone};

pub const PATTERNS: &[&str] = &[
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
pub const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "EST",
    "GMT+05:30",
];

pub fn check(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let zone_id = ZONES[usize::from(selector) % ZONES.len()];
    let zone = match Zone::parse(zone_id) {
        Ok(zone) => zone,
        Err(error) => panic!("a known zone is refused: {error}"),
    };
    let (pattern, input) = match text.split_once('\0') {
        Some((pattern, input)) => (DatePattern::compile(pattern), input),
        None => (
            DatePattern::compile(PATTERNS[usize::from(selector / 8) % PATTERNS.len()]),
            &*text,
        ),
    };
    let Ok(pattern) = pattern else { return };
    match pattern.parse_prefix(input, &zone) {
        Ok((_, consumed)) => assert!(
            consumed <= input.len() && input.is_char_boundary(consumed),
            "{:?} read {consumed} bytes of {input:?}",
            pattern.source()
        ),
        Err(error) => assert!(
            error.position <= input.len() && input.is_char_boundary(error.position),
            "{:?} on {input:?}: error position {} is not at a character",
            pattern.source(),
            error.position
        ),
    }
    let Ok(instant) = pattern.parse(input, &zone) else {
        return;
    };
    let fixed = !matches!(zone_id, "America/New_York" | "Europe/Berlin");
    crate::dates::round_trip(&pattern, &zone, fixed, instant);
}
