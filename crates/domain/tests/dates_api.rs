//! The date API beyond Java's table: messages, epoch formats, the two-digit-year window,
//! warnings, and the zone errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tributary_domain::dates::{DatePattern, Zone};

fn utc() -> Zone {
    Zone::utc()
}

#[test]
fn pattern_errors_name_the_letter_and_its_position() {
    let cases = [
        ("yyyy-qq", "unknown pattern letter 'q' at position 5"),
        ("yyyy-MM-dd'T", "unterminated quote starting at position 10"),
        (
            "XXXX",
            "pattern letter 'X' repeated 4 times at position 0 (too many)",
        ),
        ("b", "unknown pattern letter 'b' at position 0"),
        ("ñ yyyy j", "unknown pattern letter 'j' at position 8"),
    ];
    for (pattern, message) in cases {
        assert_eq!(
            DatePattern::compile(pattern).unwrap_err().to_string(),
            message
        );
    }
    let long = "y".repeat(65);
    assert!(DatePattern::compile(&long).is_err());
    assert!(DatePattern::compile(&"y".repeat(64)).is_ok());
}

#[test]
fn parse_errors_say_what_was_expected_and_where() {
    let seed = DatePattern::compile("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").unwrap();
    let cases = [
        ("2017-01-01 22:17:59.039Z", "expected \"T\" at position 10"),
        (
            "2017-13-01T22:17:59.039Z",
            "month 13 out of range at position 5",
        ),
        (
            "2017-04-31T22:17:59.039Z",
            "day of month 31 does not match the rest of the date at position 8",
        ),
        (
            "2017-01-01T22:17:59.039Zjunk",
            "unexpected text after the date at position 24",
        ),
        (
            "2017-01-01T22:17:59.",
            "text ended where the millisecond was expected at position 20",
        ),
        (
            "x017-01-01T22:17:59.039Z",
            "expected a number at position 0",
        ),
        (
            "20170-01-01T22:17:59.039Z",
            "year 20170 out of range at position 0",
        ),
    ];
    for (input, message) in cases {
        assert_eq!(
            seed.parse(input, &utc()).unwrap_err().to_string(),
            message,
            "{input}"
        );
    }
    let rfc = DatePattern::compile("EEE, dd MMM yyyy HH:mm:ss Z").unwrap();
    assert_eq!(
        rfc.parse("Sat, 28 Nev 2026 10:00:00 +0000", &utc())
            .unwrap_err()
            .to_string(),
        "expected a month name at position 8"
    );
    assert_eq!(
        rfc.parse("Sat, 28 Nov 2026 10:00:00 +00:00", &utc())
            .unwrap_err()
            .to_string(),
        "expected a time zone offset (hh:mm) at position 29"
    );
}

#[test]
fn parse_prefix_reads_like_java_and_says_how_far() {
    let date = DatePattern::compile("yyyy-MM-dd").unwrap();
    assert_eq!(
        date.parse_prefix("2026-11-28T10:00:00Z", &utc()),
        Ok((1_795_824_000_000, 10))
    );
    assert!(date.parse("2026-11-28T10:00:00Z", &utc()).is_err());
}

#[test]
fn epoch_formats_read_and_write_numbers() {
    let millis = DatePattern::compile("milliseconds").unwrap();
    let seconds = DatePattern::compile("seconds").unwrap();
    assert_eq!(millis.parse("1506544512258", &utc()), Ok(1_506_544_512_258));
    assert_eq!(millis.parse("-5", &utc()), Ok(-5));
    assert_eq!(seconds.parse("1506544512", &utc()), Ok(1_506_544_512_000));
    assert_eq!(millis.format(1_506_544_512_258, &utc()), "1506544512258");
    assert_eq!(seconds.format(1_506_544_512_258, &utc()), "1506544512");
    assert_eq!(seconds.format(-1, &utc()), "-1");
    for bad in ["", "-", "12a", " 12", "1.5", "99999999999999999999"] {
        assert!(millis.parse(bad, &utc()).is_err(), "{bad:?}");
    }
    assert!(seconds.parse("9223372036854775807", &utc()).is_err());
    assert_eq!(millis.source(), "milliseconds");
    assert!(millis.is_lossless() && seconds.is_lossless());
}

#[test]
fn the_two_digit_year_window_can_be_moved() {
    let pattern = DatePattern::compile("yy-MM-dd").unwrap();
    assert_eq!(pattern.parse("49-01-01", &utc()), Ok(-662_688_000_000)); // 1949
    assert_eq!(pattern.parse("45-01-01", &utc()), Ok(2_366_841_600_000)); // 2045
    // A window starting in 1950 (as a formatter created in 2030 would have it).
    let moved = pattern.with_two_digit_year_start(-631_152_000_000);
    assert_eq!(moved.parse("49-01-01", &utc()), Ok(2_493_072_000_000)); // 2049
    assert_eq!(moved.parse("50-01-01", &utc()), Ok(-631_152_000_000)); // 1950
}

#[test]
fn warnings_catch_likely_mistakes_java_accepts() {
    let warned = |p: &str| DatePattern::compile(p).unwrap().warnings();
    assert!(warned("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").is_empty());
    assert!(warned("YYYY-MM-dd")[0].contains("week year"));
    assert!(warned("yyyy-MM-DD")[0].contains("day of the year"));
    assert!(warned("yyyy-mm-dd")[0].contains("minute"));
    assert!(warned("yyyy-MM-dd hh:mm")[0].contains("12-hour"));
    assert!(warned("YYYY-ww-u").is_empty());
    assert!(warned("milliseconds").is_empty());
}

#[test]
fn zone_errors_explain_and_suggest() {
    assert_eq!(Zone::parse("").unwrap_err().to_string(), "empty time zone");
    assert_eq!(
        Zone::parse("america/new_york").unwrap_err().to_string(),
        "unknown time zone \"america/new_york\" (did you mean \"America/New_York\"?)"
    );
    assert_eq!(
        Zone::parse("EDT").unwrap_err().to_string(),
        "unknown time zone \"EDT\""
    );
    assert_eq!(
        Zone::parse("GMT+24:00").unwrap_err().to_string(),
        "time zone offset \"GMT+24:00\" out of range: hours must be 0-23 and minutes 0-59"
    );
    assert_eq!(Zone::parse("GMT-8").unwrap().id(), "GMT-08:00");
    assert_eq!(Zone::parse(" UTC ").unwrap().id(), "UTC");
    assert_eq!(Zone::fixed(19_800).id(), "GMT+05:30");
}

#[test]
fn pst_follows_los_angeles_and_est_stays_fixed() {
    let pattern = DatePattern::compile("yyyy-MM-dd HH:mm").unwrap();
    let pst = Zone::parse("PST").unwrap();
    let est = Zone::parse("EST").unwrap();
    // 2026-07-01 12:00 is PDT (-7) in PST's region, but -5 in fixed EST all year.
    assert_eq!(
        pattern.parse("2026-07-01 12:00", &pst),
        Ok(1_782_932_400_000)
    );
    assert_eq!(
        pattern.parse("2026-07-01 12:00", &est),
        Ok(1_782_925_200_000)
    );
}

#[test]
fn a_zone_name_is_written_only_where_it_means_the_zones_offset_at_that_time() {
    // Kathmandu was +05:30 until 1986; NPT means +05:45. Writing NPT for 1970 would read back
    // fifteen minutes off (Java does exactly that).
    let pattern = DatePattern::compile("EEEE, MMMM d, yyyy h:mm:ss.SSS a z").unwrap();
    let kathmandu = Zone::parse("Asia/Kathmandu").unwrap();
    let text = pattern.format(0, &kathmandu);
    assert_eq!(text, "Thursday, January 1, 1970 5:30:00.000 AM GMT+05:30");
    assert_eq!(pattern.parse(&text, &kathmandu), Ok(0));
    let now = 1_795_860_000_000;
    assert!(pattern.format(now, &kathmandu).ends_with(" NPT"));
    assert_eq!(
        pattern.parse(&pattern.format(now, &kathmandu), &kathmandu),
        Ok(now)
    );
}
