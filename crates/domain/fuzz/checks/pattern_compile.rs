//! The `pattern_compile` fuzz target's check, shared with `tests/fuzz_regressions.rs`: any text
//! as a date pattern, a zone id and a URL template. Compiling never panics; a compiled pattern
//! compiles again from its own text to the same pattern, and the instants it formats read back
//! (`dates::round_trip`); a template renders the same after compiling again.

use tributary_domain::dates::{DatePattern, Zone};
use tributary_domain::placeholders::UrlTemplate;

/// Instants of the round trip (0100-01-02 … 9999-12-30, see `dates::FIRST_ROUND_TRIP_MS`): the
/// epoch, noon, and just before the epoch; the last millisecond before New York springs
/// forward, the first of Berlin's fall-back hour, and New York's repeated hour (its first
/// 01:30); the first day of the Gregorian calendar; the first and the last instants (the last
/// two are the bounds of the instant derived from each input).
pub const INSTANTS: &[i64] = &[
    0,
    43_200_000,
    -1,
    1_772_953_199_999,
    1_792_890_000_000,
    1_793_511_000_000,
    -12_219_292_800_000,
    crate::dates::FIRST_ROUND_TRIP_MS,
    253_402_214_399_999,
];
/// Instants outside those years (0001-01-02, and past Tributary's years): formatting them, and
/// reading the text, must not panic.
pub const FAR_INSTANTS: &[i64] = &[
    -62_135_510_400_000,
    i64::MIN,
    i64::MAX,
    -62_135_596_800_001,
    253_402_300_800_000,
];
/// Zones whose offset never changes.
pub const FIXED_ZONES: &[&str] = &["UTC", "GMT+05:30", "-08:00"];
/// Zones with daylight saving time and a history of offsets.
pub const REGION_ZONES: &[&str] = &["America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"];

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match DatePattern::compile(&text) {
        Ok(pattern) => patterns(&pattern, instant_from(data)),
        Err(error) => assert!(
            error.position() <= text.len() && text.is_char_boundary(error.position()),
            "{text:?}: error position {} is not at a character ({error})",
            error.position()
        ),
    }
    let _ = Zone::parse(&text);
    if let Ok(template) = UrlTemplate::compile(&text) {
        let again = match UrlTemplate::compile(template.source()) {
            Ok(again) => again,
            Err(error) => panic!("{text:?} compiled, its source does not: {error}"),
        };
        for &instant in INSTANTS.iter().chain(FAR_INSTANTS) {
            let rendered = template.render(instant, instant.wrapping_add(1));
            assert_eq!(rendered, again.render(instant, instant.wrapping_add(1)));
        }
    }
}

fn patterns(pattern: &DatePattern, derived: i64) {
    match DatePattern::compile(pattern.source()) {
        Ok(again) => assert_eq!(
            &again, pattern,
            "compiling its own text changed the pattern"
        ),
        Err(error) => panic!(
            "{:?} compiled, its source does not: {error}",
            pattern.source()
        ),
    }
    let _ = pattern.warnings();
    for (zone_id, fixed) in FIXED_ZONES
        .iter()
        .map(|z| (z, true))
        .chain(REGION_ZONES.iter().map(|z| (z, false)))
    {
        let zone = match Zone::parse(zone_id) {
            Ok(zone) => zone,
            Err(error) => panic!("a known zone is refused: {error}"),
        };
        for &instant in INSTANTS.iter().chain([&derived]) {
            crate::dates::round_trip(pattern, &zone, fixed, instant);
        }
        for &instant in FAR_INSTANTS {
            let formatted = pattern.format(instant, &zone);
            let _ = pattern.parse(&formatted, &zone);
        }
    }
}

/// One more instant per input, so the fuzzer explores instants as well as patterns: a hash of
/// the input, inside Tributary's years.
fn instant_from(data: &[u8]) -> i64 {
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let (first, last) = (INSTANTS[7], INSTANTS[8]);
    first + i64::try_from(hash % (last - first).unsigned_abs()).unwrap_or(0)
}
