//! QuickBooks' dates (`shared/research/providers.md` §4.3): entity metadata in the company's
//! local offset at one-second resolution (`2015-12-23T12:55:50-08:00`), the response-level
//! `time` with milliseconds (`2015-12-23T12:56:06.196-08:00`), transaction dates as local
//! calendar dates; and the literals clients send in queries and `changedSince` — a date-time
//! with an offset, or a date.
//!
//! Choices where undocumented: a date literal means midnight at the company's offset; a
//! date-time without an offset is read in the company's offset; a fraction in a literal is kept.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;

use crate::engine::dates::{floor_to_second, parse_lenient};
use crate::quickbooks::config::CompanyOffset;

fn offset(company: CompanyOffset) -> Offset {
    Offset::from_seconds(company.seconds()).unwrap_or(Offset::UTC)
}

fn format(ms: i64, company: CompanyOffset, pattern: &str) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts
            .to_zoned_datetime(jiff::tz::TimeZone::fixed(offset(company)))
            .strftime(pattern)
            .to_string(),
        Err(_) => String::new(),
    }
}

/// `2015-12-23T12:55:50-08:00`: metadata times, truncated to the second.
pub fn local(ms: i64, company: CompanyOffset) -> String {
    format(floor_to_second(ms), company, "%Y-%m-%dT%H:%M:%S%:z")
}

/// `2015-12-23T12:56:06.196-08:00`: the response's `time`.
pub fn local_ms(ms: i64, company: CompanyOffset) -> String {
    format(ms, company, "%Y-%m-%dT%H:%M:%S%.3f%:z")
}

/// `2015-12-23`: the local calendar date of a transaction.
pub fn local_date(ms: i64, company: CompanyOffset) -> String {
    format(ms, company, "%Y-%m-%d")
}

/// A query or `changedSince` literal as epoch milliseconds: a date-time with an offset, one
/// without (the company's), or a date (midnight at the company's offset).
pub fn parse_literal(text: &str, company: CompanyOffset) -> Option<i64> {
    let text = text.trim();
    if let Some(ms) = parse_lenient(text) {
        return Some(ms);
    }
    let civil: DateTime = match text.parse::<DateTime>() {
        Ok(datetime) if text.contains('T') => datetime,
        _ => text
            .parse::<Date>()
            .ok()?
            .to_datetime(jiff::civil::Time::midnight()),
    };
    offset(company)
        .to_timestamp(civil)
        .ok()
        .map(|ts| ts.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacific() -> CompanyOffset {
        CompanyOffset::parse("-08:00").expect("valid")
    }

    #[test]
    fn metadata_times_are_local_to_the_second_and_the_response_time_has_milliseconds() {
        let ms = 1_450_904_150_196; // 2015-12-23T20:55:50.196Z
        assert_eq!(local(ms, pacific()), "2015-12-23T12:55:50-08:00");
        assert_eq!(local_ms(ms, pacific()), "2015-12-23T12:55:50.196-08:00");
        assert_eq!(local_date(ms, pacific()), "2015-12-23");
        let india = CompanyOffset::parse("+05:30").expect("valid");
        assert_eq!(local(ms, india), "2015-12-24T02:25:50+05:30");
    }

    #[test]
    fn literals_take_an_offset_or_the_companys() {
        let utc = 1_450_904_150_000;
        assert_eq!(
            parse_literal("2015-12-23T12:55:50-08:00", pacific()),
            Some(utc)
        );
        assert_eq!(parse_literal("2015-12-23T20:55:50Z", pacific()), Some(utc));
        assert_eq!(parse_literal("2015-12-23T12:55:50", pacific()), Some(utc));
        assert_eq!(
            parse_literal("2015-12-23", pacific()),
            Some(1_450_857_600_000),
            "midnight in Pacific time is 08:00 UTC"
        );
        assert_eq!(parse_literal("last week", pacific()), None);
    }
}
