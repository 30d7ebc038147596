//! URL placeholders: `${gmtDate:FMT}` and friends in a poller's `url`, substituted at poll time.
//!
//! This module owns compiling a URL with placeholders once per configuration
//! ([`UrlTemplate::compile`], which checks every pattern and zone) and rendering it for one poll
//! ([`UrlTemplate::render`]). The placeholders, from Cloud Elements' documentation:
//!
//! | placeholder | value |
//! |---|---|
//! | `${gmtDate:FMT}`, `${date:FMT}` | the cursor, formatted in UTC |
//! | `${dateTimeZone:ZONE:FMT}` (also `${DateTimeZone:…}`) | the cursor, formatted in ZONE |
//! | `${nowTimeZone:ZONE:FMT}` | the poll's start, formatted in ZONE (for upper bounds) |
//! | `${epoch}`, `${milliseconds}`, `${epoch:ms}` | the cursor in epoch milliseconds |
//! | `${epoch:s}`, `${epoch:us}` | the cursor in epoch seconds, microseconds |
//!
//! FMT is a Java pattern and may hold quotes, colons and braces inside quotes
//! (`${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}`): the placeholder ends at the first `}` outside
//! quotes. ZONE may itself hold colons (`-8:00`, `GMT+02:00`): it is the longest text before a
//! colon that is a valid zone.
//!
//! Choices where Cloud Elements is silent: a bare `${date}` or `${gmtDate}` uses
//! `yyyy-MM-dd'T'HH:mm:ss'Z'` (the format of event dates); an unknown placeholder name is an
//! error at compile time rather than text sent to the provider. Substituted values are
//! percent-encoded (everything but `A-Z a-z 0-9 - . _ ~`), so a `+` in an offset or a `:` in a
//! time reaches the provider intact; the rest of the URL is left as configured.

use std::fmt::Write;

use crate::dates::{DatePattern, PatternError, Zone, ZoneError};

/// Format of a bare `${date}` / `${gmtDate}`.
const DEFAULT_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss'Z'";

/// A URL compiled once per configuration.
#[derive(Debug, Clone)]
pub struct UrlTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Value(Value),
}

#[derive(Debug, Clone)]
enum Value {
    /// The cursor (or, with `now`, the poll start) formatted in a zone.
    Date {
        pattern: DatePattern,
        zone: Zone,
        now: bool,
    },
    /// The cursor since the epoch; the divisor or multiplier of milliseconds.
    Epoch(EpochUnit),
}

#[derive(Debug, Clone, Copy)]
enum EpochUnit {
    Seconds,
    Millis,
    Micros,
}

/// A URL whose placeholders do not compile, with the byte offset in the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at position {position}")]
pub struct PlaceholderError {
    pub position: usize,
    pub kind: PlaceholderErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderErrorKind {
    #[error("placeholder not closed with '}}'")]
    Unterminated,
    #[error(
        "unknown placeholder {0:?} (expected gmtDate, date, dateTimeZone, nowTimeZone, epoch or milliseconds)"
    )]
    UnknownName(String),
    #[error("placeholder {0:?} needs a zone and a format, as {0}:ZONE:FORMAT")]
    MissingZone(String),
    #[error("unknown epoch unit {0:?} (expected s, ms or us)")]
    UnknownEpochUnit(String),
    #[error("invalid date format: {0}")]
    Pattern(PatternError),
    #[error("invalid time zone: {0}")]
    Zone(ZoneError),
}

impl UrlTemplate {
    /// Compiles every placeholder of a URL.
    pub fn compile(url: &str) -> Result<UrlTemplate, PlaceholderError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = url;
        let mut offset = 0;
        while let Some(found) = rest.find("${") {
            text.push_str(&rest[..found]);
            let start = offset + found;
            let body_start = start + 2;
            let end = closing_brace(&url[body_start..]).ok_or(PlaceholderError {
                position: start,
                kind: PlaceholderErrorKind::Unterminated,
            })? + body_start;
            let value = compile_value(&url[body_start..end], body_start)?;
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Value(value));
            offset = end + 1;
            rest = &url[offset..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(UrlTemplate {
            source: url.to_owned(),
            parts,
        })
    }

    /// The URL as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the URL has any placeholder.
    pub fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Value(_)))
    }

    /// The URL for one poll: `cursor_ms` for the date placeholders, `poll_start_ms` for
    /// `${nowTimeZone:…}`. Values are percent-encoded.
    pub fn render(&self, cursor_ms: i64, poll_start_ms: i64) -> String {
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(Value::Date { pattern, zone, now }) => {
                    let at = if *now { poll_start_ms } else { cursor_ms };
                    encode_into(&mut out, &pattern.format(at, zone));
                }
                Part::Value(Value::Epoch(unit)) => {
                    let value = match unit {
                        EpochUnit::Seconds => i128::from(cursor_ms.div_euclid(1000)),
                        EpochUnit::Millis => i128::from(cursor_ms),
                        EpochUnit::Micros => i128::from(cursor_ms) * 1000,
                    };
                    let _ = write!(out, "{value}");
                }
            }
        }
        out
    }
}

/// The `}` that closes a placeholder body: the first one outside Java quotes.
fn closing_brace(body: &str) -> Option<usize> {
    let mut quoted = false;
    for (index, c) in body.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '}' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

fn compile_value(body: &str, at: usize) -> Result<Value, PlaceholderError> {
    let (name, argument) = match body.find(':') {
        Some(colon) => (&body[..colon], Some((&body[colon + 1..], at + colon + 1))),
        None => (body, None),
    };
    let error = |position, kind| PlaceholderError { position, kind };
    let date = |format: &str, format_at: usize, zone: Zone, now: bool| {
        DatePattern::compile(format)
            .map(|pattern| Value::Date { pattern, zone, now })
            .map_err(|e| error(format_at + e.position(), PlaceholderErrorKind::Pattern(e)))
    };
    match name {
        "gmtDate" | "date" => match argument {
            Some((format, format_at)) => date(format, format_at, Zone::utc(), false),
            None => date(DEFAULT_FORMAT, at, Zone::utc(), false),
        },
        "dateTimeZone" | "DateTimeZone" | "nowTimeZone" | "NowTimeZone" => {
            let now = name.eq_ignore_ascii_case("nowTimeZone");
            let (argument, argument_at) = argument
                .ok_or_else(|| error(at, PlaceholderErrorKind::MissingZone(name.into())))?;
            let (zone, format, format_at) = split_zone(argument, argument_at)?;
            date(format, format_at, zone, now)
        }
        "epoch" | "milliseconds" => match argument {
            None => Ok(Value::Epoch(EpochUnit::Millis)),
            Some(("ms", _)) if name == "epoch" => Ok(Value::Epoch(EpochUnit::Millis)),
            Some(("s", _)) if name == "epoch" => Ok(Value::Epoch(EpochUnit::Seconds)),
            Some(("us", _)) if name == "epoch" => Ok(Value::Epoch(EpochUnit::Micros)),
            Some((unit, unit_at)) => Err(error(
                unit_at,
                PlaceholderErrorKind::UnknownEpochUnit(unit.into()),
            )),
        },
        _ => Err(error(at, PlaceholderErrorKind::UnknownName(name.into()))),
    }
}

/// `ZONE:FORMAT` where ZONE may hold colons: the longest zone before a colon.
fn split_zone(argument: &str, at: usize) -> Result<(Zone, &str, usize), PlaceholderError> {
    let mut best = None;
    let mut first_error = None;
    for (colon, _) in argument.match_indices(':') {
        match Zone::parse(&argument[..colon]) {
            Ok(zone) => best = Some((zone, colon)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match best {
        Some((zone, colon)) => Ok((zone, &argument[colon + 1..], at + colon + 1)),
        None => Err(PlaceholderError {
            position: at,
            kind: match first_error {
                Some(e) => PlaceholderErrorKind::Zone(e),
                None => PlaceholderErrorKind::MissingZone("dateTimeZone".into()),
            },
        }),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_into(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}
