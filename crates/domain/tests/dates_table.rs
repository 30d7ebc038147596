//! Table tests of Java date patterns and zones. Every expected value below was printed by
//! `tests/java/Oracle.java` (Java 17, `SimpleDateFormat` with `Locale.US`); see that file for
//! how to regenerate them. Notes on each row say why it is there; the rows marked
//! `Follow::Lenient` or `Follow::Reject`, and the `FORMAT_DEVIATIONS`, are Tributary's
//! deliberate deviations, documented in `src/dates/mod.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tributary_domain::dates::{DatePattern, Zone};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Java {
    /// Java parsed: epoch ms and bytes consumed.
    Ok(i64, usize),
    /// Java refused: its error index.
    Err(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Follow {
    /// Tributary does what non-lenient Java does.
    Strict,
    /// Tributary does what lenient Java does (DST gaps).
    Lenient,
    /// Tributary refuses what Java accepts.
    Reject,
    /// Tributary reads this instant where Java reads another (six S as a fraction; the
    /// proleptic Gregorian calendar before 1582).
    Differs(i64),
}

struct ParseCase {
    pattern: &'static str,
    zone: &'static str,
    input: &'static str,
    strict: Java,
    lenient: Java,
    follow: Follow,
    note: &'static str,
}

const fn ok(ms: i64, consumed: usize) -> Java {
    Java::Ok(ms, consumed)
}
const fn err(index: usize) -> Java {
    Java::Err(index)
}
#[allow(clippy::too_many_arguments)] // one row of the table, positionally, like Java printed it
const fn p(
    pattern: &'static str,
    zone: &'static str,
    input: &'static str,
    strict: Java,
    lenient: Java,
    follow: Follow,
    note: &'static str,
) -> ParseCase {
    ParseCase {
        pattern,
        zone,
        input,
        strict,
        lenient,
        follow,
        note,
    }
}
const fn f(
    pattern: &'static str,
    zone: &'static str,
    epoch_ms: i64,
    text: &'static str,
) -> (&'static str, &'static str, i64, &'static str) {
    (pattern, zone, epoch_ms, text)
}
const fn z(
    id: &'static str,
    java_id: &'static str,
    january_ms: i64,
    july_ms: i64,
) -> (&'static str, &'static str, i64, i64) {
    (id, java_id, january_ms, july_ms)
}
const fn c(pattern: &'static str, java_error: &'static str) -> (&'static str, &'static str) {
    (pattern, java_error)
}

include!("java/cases.rs");

#[path = "../fuzz/checks/dates.rs"]
mod dates;

/// Rows where Tributary's error position differs from Java's error index, and why.
const POSITION_DIFFERENCES: &[(&str, &str, usize)] = &[
    // Java's X reports one past a character that is neither Z nor a sign; Tributary points at
    // the character itself.
    ("yyyy-MM-dd'T'HH:mm:ssXXX", "2026-07-01T12:00:00z", 19),
    ("yyyy-MM-dd'T'HH:mm:ssXXX", "2026-07-01T12:00:00GMT", 19),
];

/// Formatting rows where Tributary deliberately writes something else, and what.
const FORMAT_DEVIATIONS: &[(&str, &str, i64, &str)] = &[
    // Four or more S are a fraction of the second: 123 ms is .1230, not Java's 0123.
    ("S SS SSS SSSS", "GMT", 1764324000123, "123 123 123 1230"),
];

/// Zone ids Java maps silently to GMT but Tributary accepts: bare offsets, as Cloud Elements
/// documents them for `${dateTimeZone:…}`. (id, offset ms)
const ZONE_DEVIATIONS: &[(&str, i64)] = &[
    ("-08:00", -28_800_000),
    ("+6:00", 21_600_000),
    ("-8:00", -28_800_000),
];

/// What Java wrote reads back: the text of every formatting row (Tributary writes Java's text,
/// `formatting_matches_java_for_every_row`), parsed with its own pattern and zone, is an
/// instant written the same again (the row's instant at the pattern's precision), and is the
/// row's very instant where the pattern keeps every field and the zone is fixed. The rule is
/// the fuzz targets' own (`fuzz/checks/dates.rs`), which says where such a round trip holds
/// (not for a week or zone field without the date that decides it, as Java reads them).
#[test]
fn text_java_wrote_reads_back_as_the_instant_it_wrote() {
    for &(pattern_text, zone_id, epoch_ms, _) in FORMAT {
        let pattern = DatePattern::compile(pattern_text).expect(pattern_text);
        let zone = Zone::parse(zone_id).expect(zone_id);
        // Zones whose offset never changed (Java's EST, MST and HST are fixed offsets).
        let fixed =
            ["GMT", "UTC", "EST", "MST", "HST", "GMT+05:30", "GMT-08:00"].contains(&zone_id);
        dates::round_trip(&pattern, &zone, fixed, epoch_ms);
    }
}

#[test]
fn parsing_matches_java_for_every_row() {
    let mut failures = Vec::new();
    for case in PARSE {
        let pattern = DatePattern::compile(case.pattern).expect(case.pattern);
        let zone = Zone::parse(case.zone).expect(case.zone);
        let prefix = pattern.parse_prefix(case.input, &zone);
        let whole = pattern.parse(case.input, &zone);
        let row = format!(
            "{:?} {:?} {:?} ({})",
            case.pattern, case.zone, case.input, case.note
        );
        let expected = match case.follow {
            Follow::Strict => case.strict,
            Follow::Lenient => case.lenient,
            Follow::Reject => {
                if prefix.is_ok() {
                    failures.push(format!("{row}: expected a refusal, got {prefix:?}"));
                }
                continue;
            }
            Follow::Differs(ms) => {
                if whole != Ok(ms) {
                    failures.push(format!("{row}: expected {ms}, got {whole:?}"));
                }
                continue;
            }
        };
        match expected {
            Java::Ok(ms, consumed) => {
                if prefix != Ok((ms, consumed)) {
                    failures.push(format!(
                        "{row}: Java {ms} ({consumed} bytes), ours {prefix:?}"
                    ));
                } else if consumed == case.input.len() && whole != Ok(ms) {
                    failures.push(format!("{row}: whole-input parse gave {whole:?}"));
                } else if consumed < case.input.len()
                    && whole.as_ref().map_err(|e| e.position) != Err(consumed)
                {
                    failures.push(format!(
                        "{row}: trailing text must be refused at {consumed}, got {whole:?}"
                    ));
                }
            }
            Java::Err(index) => match prefix {
                Ok(found) => {
                    failures.push(format!("{row}: Java refuses (at {index}), ours {found:?}"))
                }
                Err(error) => {
                    // Where both Java modes fail the text itself is wrong, and Tributary points
                    // where Java does. Range and consistency errors (strict only) point at the
                    // offending field instead of the end of the text.
                    let syntax = matches!(case.lenient, Java::Err(_));
                    let expected_position = POSITION_DIFFERENCES
                        .iter()
                        .find(|(p, i, _)| *p == case.pattern && *i == case.input)
                        .map_or(index, |(_, _, position)| *position);
                    if syntax && error.position != expected_position {
                        failures.push(format!(
                            "{row}: Java's error index {index}, ours {} ({error})",
                            error.position
                        ));
                    }
                }
            },
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn formatting_matches_java_for_every_row() {
    let mut failures = Vec::new();
    for &(pattern_text, zone_id, epoch_ms, java) in FORMAT {
        let pattern = DatePattern::compile(pattern_text).expect(pattern_text);
        let zone = Zone::parse(zone_id).expect(zone_id);
        let expected = FORMAT_DEVIATIONS
            .iter()
            .find(|d| d.0 == pattern_text && d.1 == zone_id && d.2 == epoch_ms)
            .map_or(java, |d| d.3);
        let ours = pattern.format(epoch_ms, &zone);
        if ours != expected {
            failures.push(format!(
                "{pattern_text:?} {zone_id} {epoch_ms}: Java {expected:?}, ours {ours:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn zones_match_java_and_unknown_ids_are_refused() {
    let january = 1_768_478_400_000;
    let july = 1_782_907_200_000;
    let mut failures = Vec::new();
    for &(id, java_id, january_ms, july_ms) in ZONES {
        let ours = Zone::parse(id);
        let deviation = ZONE_DEVIATIONS.iter().find(|d| d.0 == id);
        let java_fell_back = java_id == "GMT" && !matches!(id, "GMT" | "Z");
        match (ours, deviation) {
            (Ok(zone), Some(&(_, offset))) => {
                if i64::from(zone.offset_seconds_at(january)) * 1000 != offset {
                    failures.push(format!("{id}: offset {offset} expected"));
                }
            }
            (Ok(zone), None) if java_fell_back => failures.push(format!(
                "{id}: Java does not know it (GMT), ours accepted {zone:?}"
            )),
            (Ok(zone), None) => {
                let got = (
                    i64::from(zone.offset_seconds_at(january)) * 1000,
                    i64::from(zone.offset_seconds_at(july)) * 1000,
                );
                if got != (january_ms, july_ms) {
                    failures.push(format!("{id}: Java {january_ms}/{july_ms}, ours {got:?}"));
                }
                if zone.id() != java_id && !id.starts_with("GMT") {
                    failures.push(format!("{id}: Java's id {java_id}, ours {}", zone.id()));
                }
            }
            (Err(error), _) if !java_fell_back => {
                failures.push(format!("{id}: Java knows it, ours refused: {error}"))
            }
            (Err(_), _) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn patterns_compile_where_java_compiles_them() {
    for &(pattern, java_error) in COMPILE {
        let ours = DatePattern::compile(pattern);
        assert_eq!(
            ours.is_ok(),
            java_error.is_empty(),
            "{pattern:?}: {ours:?} vs Java {java_error:?}"
        );
    }
}
