//! How an instant is written into a provider request, and how a date written in a query is
//! read back: the typed date formatters of element definitions.
//!
//! A provider wants its date literals in one exact shape — epoch seconds in a query parameter,
//! epoch milliseconds as a JSON *string* in a search body, an unquoted ISO UTC literal in a query
//! language, a local time with an offset. [`DateFormatter`] names each shape; a Java pattern
//! with a zone covers the rest, written by [`DatePattern`] exactly as Java would.
//!
//! [`parse_instant`] reads the dates a `where` clause carries (RFC 3339 with `Z`, `±hh:mm` or
//! `±hhmm`, with or without a fraction; or a bare `yyyy-MM-dd`, taken as midnight UTC), so a
//! dialect can rewrite them in the provider's shape.

use std::sync::LazyLock;

use super::{DatePattern, Zone};

/// A date formatter: one of the built-in shapes, or a Java pattern in a zone.
#[derive(Debug, Clone, PartialEq)]
pub enum DateFormatter {
    /// Whole seconds since the epoch, as a number (`1767225600`).
    EpochSeconds,
    /// Milliseconds since the epoch, as a number (`1767225600000`).
    EpochMillis,
    /// Milliseconds since the epoch, as a string (`"1767225600000"`) where the distinction
    /// exists (JSON bodies); text elsewhere.
    EpochMillisString,
    /// ISO 8601 UTC to the second: `2026-01-01T00:00:00Z`.
    IsoUtc,
    /// ISO 8601 UTC to the millisecond: `2026-01-01T00:00:00.000Z`.
    IsoUtcMillis,
    /// A Java `SimpleDateFormat` pattern written in a zone.
    Pattern { pattern: DatePattern, zone: Zone },
}

/// A formatted date: a number (which JSON bodies keep as a number) or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formatted {
    Number(i64),
    Text(String),
}

impl Formatted {
    /// The value as text, whatever its kind (query parameters, paths, headers).
    pub fn into_text(self) -> String {
        match self {
            Formatted::Number(n) => n.to_string(),
            Formatted::Text(text) => text,
        }
    }
}

/// Why a formatter could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatterError {
    #[error("unknown date formatter {name:?}; the built-in ones are {}", DateFormatter::BUILT_IN.join(", "))]
    Unknown { name: String },
    #[error("pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
    #[error("zone {zone:?}: {message}")]
    Zone { zone: String, message: String },
}

const ISO_SECONDS: &str = "yyyy-MM-dd'T'HH:mm:ss'Z'";
const ISO_MILLIS: &str = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";

impl DateFormatter {
    /// The names of the built-in formatters, as definitions write them.
    pub const BUILT_IN: &'static [&'static str] = &[
        "epoch_seconds",
        "epoch_millis",
        "epoch_millis_string",
        "iso_utc",
        "iso_utc_millis",
    ];

    /// A built-in formatter by name.
    pub fn built_in(name: &str) -> Result<DateFormatter, FormatterError> {
        Ok(match name {
            "epoch_seconds" => DateFormatter::EpochSeconds,
            "epoch_millis" => DateFormatter::EpochMillis,
            "epoch_millis_string" => DateFormatter::EpochMillisString,
            "iso_utc" => DateFormatter::IsoUtc,
            "iso_utc_millis" => DateFormatter::IsoUtcMillis,
            _ => {
                return Err(FormatterError::Unknown {
                    name: name.to_owned(),
                });
            }
        })
    }

    /// A Java pattern written in a zone (an IANA id, `GMT`, `UTC`, an offset such as `-08:00`).
    pub fn pattern(pattern: &str, zone: &str) -> Result<DateFormatter, FormatterError> {
        let compiled = DatePattern::compile(pattern).map_err(|e| FormatterError::Pattern {
            pattern: pattern.to_owned(),
            message: e.to_string(),
        })?;
        let zone = Zone::parse(zone).map_err(|e| FormatterError::Zone {
            zone: zone.to_owned(),
            message: e.to_string(),
        })?;
        Ok(DateFormatter::Pattern {
            pattern: compiled,
            zone,
        })
    }

    /// Writes an instant (epoch milliseconds).
    pub fn format(&self, epoch_ms: i64) -> Formatted {
        // The two constant patterns, compiled once (every poll writes its window's dates).
        static ISO: LazyLock<[Option<DatePattern>; 2]> = LazyLock::new(|| {
            [ISO_SECONDS, ISO_MILLIS].map(|pattern| DatePattern::compile(pattern).ok())
        });
        let utc = |pattern: &Option<DatePattern>| match pattern {
            Some(compiled) => compiled.format(epoch_ms, &Zone::utc()),
            // The two constant patterns compile; a failure here would be a typo above.
            None => epoch_ms.to_string(),
        };
        match self {
            DateFormatter::EpochSeconds => Formatted::Number(epoch_ms.div_euclid(1000)),
            DateFormatter::EpochMillis => Formatted::Number(epoch_ms),
            DateFormatter::EpochMillisString => Formatted::Text(epoch_ms.to_string()),
            DateFormatter::IsoUtc => Formatted::Text(utc(&ISO[0])),
            DateFormatter::IsoUtcMillis => Formatted::Text(utc(&ISO[1])),
            DateFormatter::Pattern { pattern, zone } => {
                Formatted::Text(pattern.format(epoch_ms, zone))
            }
        }
    }
}

/// Reads a date written in a query: RFC 3339 (`2026-01-01T00:00:00Z`, `…T00:00:00.000+01:00`),
/// the same with a `±hhmm` offset (`2026-01-01T00:00:00.000+0000`, as Keap and Salesforce write
/// them), or a day (`2026-01-01`, midnight UTC). `None` when it is none of these.
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    // Compiled once: a poll reads the dates of its query.
    static PATTERNS: LazyLock<Vec<DatePattern>> = LazyLock::new(|| {
        [
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
            "yyyy-MM-dd'T'HH:mm:ssZ",
            "yyyy-MM-dd",
        ]
        .iter()
        .filter_map(|pattern| DatePattern::compile(pattern).ok())
        .collect()
    });
    let utc = Zone::utc();
    PATTERNS
        .iter()
        .find_map(|pattern| pattern.parse(text, &utc).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00.250Z
    const NEW_YEAR: i64 = 1_767_225_600_250;

    #[test]
    fn each_built_in_formatter_writes_its_shape() {
        let cases = [
            ("epoch_seconds", Formatted::Number(1_767_225_600)),
            ("epoch_millis", Formatted::Number(NEW_YEAR)),
            (
                "epoch_millis_string",
                Formatted::Text("1767225600250".into()),
            ),
            ("iso_utc", Formatted::Text("2026-01-01T00:00:00Z".into())),
            (
                "iso_utc_millis",
                Formatted::Text("2026-01-01T00:00:00.250Z".into()),
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(
                DateFormatter::built_in(name).unwrap().format(NEW_YEAR),
                expected,
                "{name}"
            );
        }
        assert_eq!(
            DateFormatter::EpochSeconds.format(-1),
            Formatted::Number(-1),
            "seconds round down, before 1970 too"
        );
    }

    #[test]
    fn a_java_pattern_is_written_in_its_zone() {
        let los_angeles =
            DateFormatter::pattern("yyyy-MM-dd'T'HH:mm:ssXXX", "America/Los_Angeles").unwrap();
        assert_eq!(
            los_angeles.format(NEW_YEAR).into_text(),
            "2025-12-31T16:00:00-08:00"
        );
        let keap = DateFormatter::pattern("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "GMT").unwrap();
        assert_eq!(
            keap.format(NEW_YEAR).into_text(),
            "2026-01-01T00:00:00.250+0000"
        );
    }

    #[test]
    fn unknown_names_patterns_and_zones_are_refused_in_words() {
        let error = DateFormatter::built_in("iso").unwrap_err().to_string();
        assert!(
            error.contains("\"iso\"") && error.contains("epoch_millis_string"),
            "{error}"
        );
        let error = DateFormatter::pattern("yyyy-qq", "UTC")
            .unwrap_err()
            .to_string();
        assert!(error.contains("unknown pattern letter 'q'"), "{error}");
        let error = DateFormatter::pattern("yyyy", "Mars/Olympus")
            .unwrap_err()
            .to_string();
        assert!(error.contains("Mars/Olympus"), "{error}");
    }

    #[test]
    fn query_dates_are_read_in_the_shapes_clients_and_providers_write() {
        for text in [
            "2026-01-01T00:00:00.250Z",
            "2026-01-01T01:00:00.250+01:00",
            "2026-01-01T00:00:00.250+0000",
            "2025-12-31T19:00:00.250-0500",
        ] {
            assert_eq!(parse_instant(text), Some(NEW_YEAR), "{text}");
        }
        assert_eq!(parse_instant("2026-01-01T00:00:00Z"), Some(NEW_YEAR - 250));
        assert_eq!(parse_instant("2026-01-01"), Some(NEW_YEAR - 250));
        for text in ["", "yesterday", "2026-13-01", "1767225600"] {
            assert_eq!(parse_instant(text), None, "{text}");
        }
    }
}
