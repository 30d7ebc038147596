//! The fuzz targets' checks (`fuzz/checks/`), run as a normal test on stable: every file of each
//! target's corpus (`fuzz/corpus/<target>/`, minimized with `cargo fuzz cmin`), and, by name,
//! every input the fuzzer found failing, kept here after its fix. The checks are the targets'
//! own code, included as modules, so the two cannot drift apart.
//!
//! Growing a corpus: `cd crates/domain/fuzz && cargo +nightly fuzz run TARGET -- -max_total_time=300`,
//! then `cargo +nightly fuzz cmin TARGET`; keep the directory to a few dozen KB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/checks/ceql.rs"]
mod ceql;
#[path = "../fuzz/checks/date_parse.rs"]
mod date_parse;
#[path = "../fuzz/checks/dates.rs"]
mod dates;
#[path = "../fuzz/checks/pattern_compile.rs"]
mod pattern_compile;

use std::path::PathBuf;

use tributary_domain::dates::{DatePattern, Zone};

/// Runs `check` on every file of `fuzz/corpus/<target>/`, and says which file failed.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "{}: {} files; the corpus is missing",
        dir.display(),
        files.len()
    );
    for file in files {
        let data = std::fs::read(&file).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!(
                "{} ({:?}) fails its target's check: {message}",
                file.display(),
                String::from_utf8_lossy(&data)
            );
        }
    }
}

#[test]
fn every_ceql_corpus_input_passes_the_targets_check() {
    replay("ceql", ceql::check);
}

#[test]
fn every_date_parse_corpus_input_passes_the_targets_check() {
    replay("date_parse", date_parse::check);
}

#[test]
fn every_pattern_compile_corpus_input_passes_the_targets_check() {
    replay("pattern_compile", pattern_compile::check);
}

/// Every input the fuzzers found failing, by target, with what it found. Those marked *fixed*
/// were bugs, fixed in `src/` and pinned by a named test below; the others were the check
/// asking more than Java's rules give, and taught it where the round trip holds.
const FOUND: &[(&str, &[u8], &str)] = &[
    (
        "ceql",
        b"a.b != 'it''s' AND (c < -1.5e38OR `we\x9c\x9f\x96\x8dd` IS NOT NULL)",
        "fixed: -1.5e38 read one ulp off, so it was written back (and sent on) as another number",
    ),
    (
        "date_parse",
        b"\x00yy-MM-dd\x005-11-28",
        "yy reads year 5 literally and writes it 05, which reads 2005: the text is kept",
    ),
    (
        "date_parse",
        b"\x00ysyy-MM-dd HH:mm z\x002026-07-01 12:00 EDT",
        "fixed: y running into s writes 2026 and reads 2 (now warned, and not lossless)",
    ),
    (
        "date_parse",
        b"\x00MydMy\x002611288",
        "fixed: the same, for M, d and y",
    ),
    (
        "date_parse",
        b"\x00ddy\x0029 0021",
        "y writes year 21 with two digits, which Java's window reads as 2021",
    ),
    (
        "date_parse",
        b"yy-yy\x0046-6",
        "fixed: a two-digit year beside another year (no longer lossless)",
    ),
    (
        "date_parse",
        b"\xfcyy-MM-ddHH:mzzz\x001277-07-01 12:00 Pacific Daylight Time",
        "a two-digit year outside its window moves the instant by centuries, and the offset",
    ),
    ("pattern_compile", b"YYYY-MM-dd", "a week year read as a year (warned)"),
    ("pattern_compile", b"F", "a day of the week in month with no date to check it against"),
    ("pattern_compile", b"XX", "an offset with no date: New York's is -0400 or -0500"),
    (
        "pattern_compile",
        b"yyyy-MM-dd HH:mm z",
        "fixed: z wrote LMT (and WIB, MSK), which no pattern reads",
    ),
    (
        "pattern_compile",
        b"yyyy-MM-dd'T'HH:mm:ssX",
        "fixed: one X writes +05 for +05:30 (no longer lossless)",
    ),
    ("pattern_compile", b"dd MM yyy2y", "a digit literal read as part of the year"),
    (
        "pattern_compile",
        b"yyyy-MM-\x04\x00\x00\x00\x00\x00\x00\x00\xff?H:mm:ss.SSSS0D\x00000000000000000000000000000000S[XXX",
        "fixed: a digit literal after a number (no longer lossless)",
    ),
    (
        "pattern_compile",
        b"^yyyy-MM-dd'T'HH:\xe5\xff\xffK\x0f\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xe5\xd5wE\xe5mm:s\xff=\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffMM\xff\xff\xe5\xe5\xe5\xe5\xe5s.SSS\xcfSSXXX",
        "fixed: H and K without a disagree every afternoon (no longer lossless)",
    ),
    ("pattern_compile", b"Z\x00yy-DDD", "a two-digit year outside its window, in a region"),
    ("pattern_compile", b"YYYY-ww-u", "the week year of 9999-12-30 is 10000"),
    (
        "pattern_compile",
        b"EEE, dd MM: d MM: y:mE, s`Z",
        "no hour: in Lord Howe, midnight is on the other side of a change",
    ),
    (
        "pattern_compile",
        b"y\x00z\xff\x00zYYYYYYYYYYYYYYYYYYYYYYYYY-ww",
        "a week year beside a year: Java reads the week date",
    ),
    (
        "pattern_compile",
        b"Y\xff\xff\xff\xff\xff\xff\xff\xffw W\xe1",
        "a week date without its day",
    ),
];

#[test]
fn every_input_the_fuzzers_found_passes_its_targets_check() {
    for &(target, data, found) in FOUND {
        let check = match target {
            "ceql" => ceql::check,
            "date_parse" => date_parse::check,
            "pattern_compile" => pattern_compile::check,
            other => panic!("no target {other}"),
        };
        if let Err(panic) = std::panic::catch_unwind(|| check(data)) {
            let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!(
                "{target} {:?} ({found}): {message}",
                String::from_utf8_lossy(data)
            );
        }
    }
}

#[test]
fn a_ceql_number_is_the_nearest_double_to_its_text() {
    use tributary_domain::ceql::{self, Expr, Literal};
    for (text, value) in [("-1.5e38", -1.5e38), ("0.1", 0.1), ("2.5E-7", 2.5e-7)] {
        let Expr::Compare { value: literal, .. } = ceql::parse(&format!("c < {text}")).unwrap()
        else {
            panic!("{text}: not a comparison");
        };
        assert_eq!(
            literal,
            Literal::Number(serde_json::Number::from_f64(value).unwrap()),
            "{text}"
        );
    }
}

#[test]
fn zone_names_are_written_only_where_they_read_back() {
    let pattern = DatePattern::compile("yyyy-MM-dd HH:mm z").unwrap();
    for (zone, instant, written) in [
        (
            "Asia/Jakarta",
            1_764_324_000_123,
            "2025-11-28 17:00 GMT+07:00",
        ),
        (
            "Europe/Moscow",
            1_764_324_000_123,
            "2025-11-28 13:00 GMT+03:00",
        ),
        ("Asia/Tokyo", 1_764_324_000_123, "2025-11-28 19:00 JST"),
        (
            "America/New_York",
            1_764_324_000_123,
            "2025-11-28 05:00 EST",
        ),
        (
            "America/Bogota",
            -12_219_292_800_000,
            "1582-10-14 19:04 GMT-04:56",
        ),
    ] {
        let zone = Zone::parse(zone).unwrap();
        let text = pattern.format(instant, &zone);
        assert_eq!(text, written, "{}", zone.id());
        assert_eq!(
            pattern.parse(&text, &zone),
            Ok(instant - instant.rem_euclid(60_000)),
            "{text}"
        );
    }
}

#[test]
fn patterns_that_read_less_than_they_write_are_not_lossless() {
    for (pattern, warned) in [
        ("yMMddHHmmssSSS", true),
        ("yyyyMMddHmmssSSS", true),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSX", false),
        ("yyyy yy-MM-dd HH:mm:ss.SSS", false),
        ("yyyy-MM-dd HH:mm:ss.SSS K", false),
        ("yyyy-MM-dd HH:mm:ss.SSS0", false),
    ] {
        let compiled = DatePattern::compile(pattern).unwrap();
        assert!(!compiled.is_lossless(), "{pattern}");
        let warnings = compiled.warnings();
        assert_eq!(
            warnings
                .iter()
                .any(|w| w.contains("runs into the number after it")),
            warned,
            "{pattern}: {warnings:?}"
        );
    }
    let warnings = DatePattern::compile("yMMdd").unwrap().warnings();
    assert_eq!(
        warnings,
        [
            "'y' at position 0 runs into the number after it, so it reads exactly 1 digit, but it \
          writes up to 4: text it writes does not read back; use yyyy"
        ]
    );
    for sound in [
        "yyyyMMddHHmmssSSS",
        "yyMMddHHmmssSSS",
        "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    ] {
        assert!(
            DatePattern::compile(sound).unwrap().warnings().is_empty(),
            "{sound}"
        );
    }
}

#[test]
fn a_ceql_clause_written_back_parses_to_the_same_expression() {
    for clause in [
        "a = 1",
        "a.b != 'it''s' AND (c < -1.5e3 OR `we``ird` IS NOT NULL)",
        "((x IN ('a', 2, TRUE))) or y like '%_' and z is null",
    ] {
        ceql::check(clause.as_bytes());
    }
}
