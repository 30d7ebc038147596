//! Writing and reading the date styles the simulated providers use.
//!
//! Both Keap and Salesforce write `2024-11-07T20:35:13.000+0000` (no colon in the offset);
//! Keap also writes `….217Z`. Readers here are lenient on purpose: they take `Z`, `+00:00` and
//! `+0000`, with or without a fraction, because the providers' own parameters do.

/// Rounds epoch milliseconds half-up to the second, as Keap does to `last_updated`.
pub fn round_to_second(ms: i64) -> i64 {
    (ms + 500).div_euclid(1000) * 1000
}

/// Truncates epoch milliseconds to the second, as Salesforce stores its dates.
pub fn floor_to_second(ms: i64) -> i64 {
    ms.div_euclid(1000) * 1000
}

/// Truncates epoch milliseconds to the minute.
pub fn floor_to_minute(ms: i64) -> i64 {
    ms.div_euclid(60_000) * 60_000
}

/// `2024-11-07T20:35:13.000+0000`.
pub fn format_offset(ms: i64) -> String {
    format_ms(ms, "+0000")
}

/// `2024-11-07T20:35:13.217Z`.
pub fn format_zulu(ms: i64) -> String {
    format_ms(ms, "Z")
}

fn format_ms(ms: i64, suffix: &str) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => format!("{}{suffix}", ts.strftime("%Y-%m-%dT%H:%M:%S%.3f")),
        Err(_) => String::new(),
    }
}

/// Parses RFC 3339 with `Z`, `+00:00` or `+0000`, with or without a fraction (milliseconds or
/// microseconds; anything below the millisecond is dropped).
pub fn parse_lenient(value: &str) -> Option<i64> {
    let normalized = normalize_offset(value.trim());
    let ts: jiff::Timestamp = normalized.parse().ok()?;
    Some(ts.as_millisecond())
}

/// `…+0000` → `…+00:00`, so RFC 3339 parsers accept the providers' own date style.
fn normalize_offset(value: &str) -> String {
    let bytes = value.as_bytes();
    if bytes.len() > 5 {
        let tail = &value[value.len() - 5..];
        let sign = tail.as_bytes()[0];
        if (sign == b'+' || sign == b'-') && tail[1..].bytes().all(|b| b.is_ascii_digit()) {
            return format!("{}{}:{}", &value[..value.len() - 5], &tail[..3], &tail[3..]);
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_updated_rounds_half_up_to_the_second_as_the_captured_samples_show() {
        // From the captures: …08.544 → …09.000, …11.590 → …12.000, …13.217 → …13.000.
        assert_eq!(round_to_second(1_731_011_708_544), 1_731_011_709_000);
        assert_eq!(round_to_second(1_731_011_711_590), 1_731_011_712_000);
        assert_eq!(round_to_second(1_731_011_713_217), 1_731_011_713_000);
        assert_eq!(round_to_second(1_731_011_713_500), 1_731_011_714_000);
        assert_eq!(round_to_second(1_731_011_713_499), 1_731_011_713_000);
    }

    #[test]
    fn flooring_drops_the_milliseconds_or_the_seconds() {
        assert_eq!(floor_to_second(1_731_011_713_999), 1_731_011_713_000);
        assert_eq!(floor_to_minute(1_731_011_713_999), 1_731_011_700_000);
        assert_eq!(floor_to_second(-1), -1000, "before 1970 still floors");
    }

    #[test]
    fn dates_are_written_in_the_two_real_styles() {
        assert_eq!(
            format_offset(1_731_011_713_000),
            "2024-11-07T20:35:13.000+0000"
        );
        assert_eq!(format_zulu(1_731_011_713_217), "2024-11-07T20:35:13.217Z");
    }

    #[test]
    fn date_parameters_accept_zulu_offsets_and_fractions() {
        let expected = 1_483_309_079_039;
        assert_eq!(parse_lenient("2017-01-01T22:17:59.039Z"), Some(expected));
        assert_eq!(
            parse_lenient("2017-01-01T22:17:59.039+0000"),
            Some(expected)
        );
        assert_eq!(
            parse_lenient("2017-01-01T22:17:59.039+00:00"),
            Some(expected)
        );
        assert_eq!(parse_lenient("2017-01-01T22:17:59.039375Z"), Some(expected));
        assert_eq!(parse_lenient("2017-01-01T22:17:59Z"), Some(expected - 39));
        assert_eq!(
            parse_lenient("2017-01-01T23:17:59.039+0100"),
            Some(expected)
        );
        assert_eq!(parse_lenient("yesterday"), None);
        assert_eq!(parse_lenient("2017-01-01"), None);
    }
}
