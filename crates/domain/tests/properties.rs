//! Properties: formatting then parsing gives the instant back for every supported pattern
//! without lossy fields; nothing panics on arbitrary patterns, dates, URLs or CEQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tributary_domain::ceql;
use tributary_domain::dates::{DatePattern, Zone};
use tributary_domain::placeholders::UrlTemplate;

/// Patterns that keep every field of an instant, with the zone in the text.
const WITH_OFFSET: &[&str] = &[
    "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
    "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "EEE, dd MMM yyyy HH:mm:ss.SSS Z",
    "EEEE, MMMM d, yyyy h:mm:ss.SSS a z",
    "dd/MM/yyyy hh:mm:ss.SSS a zzzz",
    "yyyy-DDD HH:mm:ss.SSS XX",
    "G yyyy-MMM-dd kk:mm:ss.SSS Z",
    "yyyy-MM-dd KK:mm:ss.SSS a XXX",
    "yyyyMMddHHmmssSSSZ",
    "yyyy-MM-dd HH:mm:ss.SSS EEEE u F w W XXX",
    "''yyyy''-LL-dd'T'HH:mm:ss.SSS'Z'Z",
];

/// Patterns that keep every field but the zone, which the configuration supplies.
const WITHOUT_OFFSET: &[&str] = &[
    "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
    "yyyy-MM-dd HH:mm:ss.SSS",
    "MM/dd/yyyy HH:mm:ss.SSS",
    "yyyyMMddHHmmssSSS",
    "dd.MM.yyyy kk:mm:ss:SSS",
    "milliseconds",
];

const ZONES: &[&str] = &[
    "UTC",
    "GMT",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "PST",
    "EST",
    "GMT-08:00",
    "+05:30",
];

const FIXED_ZONES: &[&str] = &[
    "UTC",
    "GMT",
    "EST",
    "MST",
    "GMT-08:00",
    "+05:30",
    "GMT+14:00",
];

/// 0001-01-02 … 9999-12-30: years Tributary parses, whatever the zone.
fn instant() -> impl Strategy<Value = i64> {
    -62_135_510_400_000i64..253_402_128_000_000
}

/// 1940 … 9999: in regions, before standard time (local mean time, until 1920 in Kathmandu) a
/// zone's name (`z`) does not describe its offset.
fn modern_instant() -> impl Strategy<Value = i64> {
    -946_771_200_000i64..253_402_128_000_000
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn patterns_with_the_zone_in_the_text_give_the_instant_back(
        epoch_ms in modern_instant(),
        pattern in prop::sample::select(WITH_OFFSET),
        zone in prop::sample::select(ZONES),
    ) {
        let pattern = DatePattern::compile(pattern).unwrap();
        prop_assert!(pattern.is_lossless(), "{}", pattern.source());
        let zone = Zone::parse(zone).unwrap();
        let text = pattern.format(epoch_ms, &zone);
        prop_assert_eq!(pattern.parse(&text, &zone), Ok(epoch_ms), "{}", text);
    }

    #[test]
    fn patterns_in_a_fixed_zone_give_the_instant_back(
        epoch_ms in instant(),
        pattern in prop::sample::select(WITHOUT_OFFSET),
        zone in prop::sample::select(FIXED_ZONES),
    ) {
        let pattern = DatePattern::compile(pattern).unwrap();
        prop_assert!(pattern.is_lossless(), "{}", pattern.source());
        let zone = Zone::parse(zone).unwrap();
        let text = pattern.format(epoch_ms, &zone);
        prop_assert_eq!(pattern.parse(&text, &zone), Ok(epoch_ms), "{}", text);
    }

    /// In a zone with DST, a wall time in the fall-back overlap names two instants and Java
    /// picks the later one; the text still comes back the same.
    #[test]
    fn patterns_in_a_region_give_the_text_back(
        epoch_ms in instant(),
        pattern in prop::sample::select(WITHOUT_OFFSET),
        zone in prop::sample::select(ZONES),
    ) {
        let pattern = DatePattern::compile(pattern).unwrap();
        let zone = Zone::parse(zone).unwrap();
        let text = pattern.format(epoch_ms, &zone);
        let parsed = pattern.parse(&text, &zone).unwrap();
        prop_assert_eq!(pattern.format(parsed, &zone), text);
        prop_assert!(parsed >= epoch_ms && parsed - epoch_ms <= 3 * 3_600_000);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(
        input in any::<String>(),
        pattern in prop::sample::select([WITH_OFFSET, WITHOUT_OFFSET].concat()),
        zone in prop::sample::select(ZONES),
    ) {
        let pattern = DatePattern::compile(pattern).unwrap();
        let zone = Zone::parse(zone).unwrap();
        let _ = pattern.parse(&input, &zone);
    }

    #[test]
    fn parsing_date_like_text_never_panics(
        input in "[-+ 0-9:.TZGMTAPMa-zA-Z']{0,40}",
        pattern in "[-GyYMLdDEuFwWahHkKmsSzZX' :.T]{0,24}",
        zone in prop::sample::select(ZONES),
    ) {
        if let Ok(pattern) = DatePattern::compile(&pattern) {
            let zone = Zone::parse(zone).unwrap();
            if let Err(error) = pattern.parse(&input, &zone) {
                prop_assert!(error.position <= input.len());
                prop_assert!(input.is_char_boundary(error.position));
            }
        }
    }

    #[test]
    fn compiling_and_formatting_never_panic(
        pattern in any::<String>(),
        epoch_ms in any::<i64>(),
        zone in prop::sample::select(ZONES),
    ) {
        if let Ok(pattern) = DatePattern::compile(&pattern) {
            let zone = Zone::parse(zone).unwrap();
            let _ = pattern.format(epoch_ms, &zone);
            let _ = pattern.warnings();
        }
    }

    #[test]
    fn zone_ids_never_panic(id in any::<String>()) {
        let _ = Zone::parse(&id);
    }

    #[test]
    fn url_templates_never_panic(url in any::<String>(), cursor in any::<i64>(), now in any::<i64>()) {
        if let Ok(template) = UrlTemplate::compile(&url) {
            let _ = template.render(cursor, now);
        }
    }

    #[test]
    fn ceql_never_panics(text in any::<String>()) {
        if let Ok(expr) = ceql::parse(&text) {
            let _ = ceql::evaluate(&expr, &serde_json::json!({"a": 1, "b": "x"}));
        }
    }

    #[test]
    fn ceql_like_text_never_panics(text in "[a-c `'()=<>!,.0-9%_ANDORLIKEISNOTUL-]{0,60}") {
        match ceql::parse(&text) {
            Ok(expr) => {
                let _ = ceql::evaluate(&expr, &serde_json::json!({"a": 1, "b": "x", "c": null}));
            }
            Err(error) => prop_assert!(error.position <= text.len()),
        }
    }
}
