//! Java `SimpleDateFormat` patterns and time zones: the dates every poller configuration
//! written for Cloud Elements carries (`updatedDateFormat`, `updatedDateTimezone`, and the
//! formats inside URL placeholders).
//!
//! This module owns compiling a pattern once per configuration ([`DatePattern::compile`]),
//! reading record dates with it ([`DatePattern::parse`]), writing instants with it
//! ([`DatePattern::format`]), and time zones ([`Zone`]). Java 17's `SimpleDateFormat` with
//! `Locale.US` is the oracle: `tests/java/Oracle.java` prints what Java does for every case of
//! `tests/dates_table.rs`, and those values are the expectations there.
//!
//! # What is read, and how strictly
//! Parsing is Java's non-lenient parsing (`setLenient(false)`): every field given must be in
//! range and consistent with the others (no 31 April, no `Fri` for a Saturday, no `13:00 AM`).
//! Java's leniencies that hold even in non-lenient mode, and that configurations meet in real
//! data, are kept:
//! - numbers are read whatever their width (`M` reads `1` and `01`; `SSS` reads `39` as 39
//!   ms), except that a number directly followed by another numeric field reads exactly its
//!   count (`yyyyMMdd`);
//! - spaces and tabs before a numeric or zone field are skipped;
//! - names (`MMM`, `EEE`, `a`, `G`, zone names) ignore case, and `MMM`/`MMMM` and `EEE`/`EEEE`
//!   each accept both the short and the long name;
//! - `y`/`yy` given exactly two digits use a 100-year window (see below); other widths are
//!   literal years;
//! - `Z` and `z` read the same things: `+hhmm`, `GMT`, `GMT±hh:mm` and zone names (`PST`,
//!   `CEST`, `Eastern Standard Time`); `X` reads `Z`, `±hh`, `±hhmm`, `±hh:mm` by count. `Z`
//!   does not read a bare `Z` nor `+hh:mm` (Java: `ParseException`);
//! - a `Y` (week year) that comes after any `y` makes a week date and ignores `M` and `d`,
//!   exactly as Java does (so `YYYY-MM-dd` reads every date of a year as the first day of its
//!   week 1; [`DatePattern::warnings`] flags such patterns).
//!
//! One leniency of Java's default (lenient) mode is kept as well: a local time inside a
//! daylight-saving gap is moved forward by the gap (02:30 on a spring-forward night in New York
//! is 03:30 EDT), where strict Java would reject the record. A provider that writes such a time
//! has a clock or zone slightly wrong; refusing the record would hide a change. In an overlap
//! the later instant (standard time) is chosen, as both Java modes do. See [`Zone`].
//!
//! # Deliberate deviations from Java
//! - **Text after the pattern**: Java's `parse(String)` stops at the end of the pattern and
//!   ignores what follows (`yyyy-MM-dd` reads `2026-11-28T10:00:00Z`). So does
//!   [`DatePattern::parse_prefix`], which also says how much it read: the poller and
//!   `tributary dates parse` read record dates with it, as Cloud Elements did, and warn about
//!   what was ignored. [`DatePattern::parse`] is the strict reading (the whole input must
//!   match), for callers that want it.
//! - **Four or more `S` are a decimal fraction of the second**, truncated to milliseconds:
//!   `.123456` with `SSSSSS` is 123 ms, and formatting writes `123000`. Java reads the digits as
//!   a count of milliseconds (123456 ms, two minutes later) and pads the milliseconds
//!   (`000123`). Configurations use `SSSSSS` for providers that send microseconds (closeio);
//!   Java's reading would move every date by up to 16 minutes and push the poll cursor into the
//!   future, skipping changes. One to three `S` are exactly Java's (`.5` with `SSS` is 5 ms).
//! - **Years are kept within 1..=9999** (and 9999 BC with `G`). Java takes any `int`.
//! - **The proleptic Gregorian calendar** throughout. Java switches to the Julian calendar
//!   before 15 October 1582.
//! - **The two-digit-year window is fixed**, not derived from the wall clock when the pattern
//!   is compiled (Java: from 80 years before to 20 years after the formatter's creation). The
//!   default start is 1946-06-01T00:00:00Z ([`DatePattern::DEFAULT_TWO_DIGIT_YEAR_START_MS`]),
//!   Java's window for a formatter created in mid 2026: `00`-`45` are 2000-2045, `47`-`99`
//!   are 1947-1999, and `46` is 2046 before 1 June and 1946 from then on. Callers with a clock
//!   can move it with [`DatePattern::with_two_digit_year_start`].
//! - **Numbers are ASCII digits** (Java also takes other Unicode digits) and at most
//!   999,999,999 (Java wraps larger ones around `int`).
//! - **Zone names** for `z`/`zzzz` come from a table of the zones configurations use (US, EU,
//!   India, Japan, Nepal, Brazil, Sydney, UTC/GMT); other zones print `GMT±hh:mm` (or the tz
//!   database's abbreviation when it is a table name for the same offset), where Java has its
//!   full CLDR table (`WIB`, `MSK`). A name is written only when it reads back as the zone's
//!   offset at that instant (Kathmandu in 1970 writes `GMT+05:30`, not `NPT`, which means
//!   +05:45; a zone before standard time writes its local mean time's offset, not `LMT`): Java
//!   writes the name and reads it back as another instant, or not at all.
//! - **A pattern letter repeated more than 64 times** is refused (Java pads to any width).
//!
//! Error messages name the problem and the byte offset in the input or pattern
//! (`unknown pattern letter 'q' at position 5`). Nothing here panics, whatever the input.

mod civil;
mod format;
pub mod formatter;
mod names;
mod parse;
mod pattern;
mod plan;
mod zone;

use std::fmt;

pub use formatter::{DateFormatter, Formatted, FormatterError, parse_instant};
pub use zone::{Zone, ZoneError};

use pattern::{Item, Letter};

/// A compiled date format: a Java pattern, or `milliseconds` / `seconds` since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct DatePattern {
    source: String,
    kind: Kind,
    two_digit_year_start_ms: i64,
    two_digit_start_year: i64,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// The items, and the fast path's plan when the pattern has one (see [`plan`]).
    Pattern(Vec<Item>, Option<plan::Plan>),
    EpochMillis,
    EpochSeconds,
}

/// A pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("unknown pattern letter '{letter}' at position {position}")]
    UnknownLetter { letter: char, position: usize },
    #[error("unterminated quote starting at position {position}")]
    UnterminatedQuote { position: usize },
    #[error("pattern letter '{letter}' repeated {count} times at position {position} (too many)")]
    TooManyLetters {
        letter: char,
        count: usize,
        position: usize,
    },
}

impl PatternError {
    /// Byte offset in the pattern where the problem is.
    pub fn position(&self) -> usize {
        match self {
            PatternError::UnknownLetter { position, .. }
            | PatternError::UnterminatedQuote { position }
            | PatternError::TooManyLetters { position, .. } => *position,
        }
    }
}

/// Text that does not match a pattern, with the byte offset where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateParseError {
    pub position: usize,
    pub kind: ParseErrorKind,
}

/// Why a date did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    ExpectedLiteral(String),
    UnexpectedEnd(&'static str),
    ExpectedName(&'static str),
    ExpectedNumber(&'static str),
    NumberTooLarge,
    ExpectedOffset(&'static str),
    OffsetOutOfRange(i32),
    OutOfRange { field: &'static str, value: i64 },
    Inconsistent { field: &'static str, value: i64 },
    YearOutOfRange(i64),
    TrailingText,
}

impl fmt::Display for DateParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ParseErrorKind::ExpectedLiteral(text) => write!(f, "expected {text:?}")?,
            ParseErrorKind::UnexpectedEnd(what) => {
                write!(f, "text ended where the {what} was expected")?
            }
            ParseErrorKind::ExpectedName(what) => write!(f, "expected a {what}")?,
            ParseErrorKind::ExpectedNumber(what) => write!(f, "expected a {what}")?,
            ParseErrorKind::NumberTooLarge => write!(f, "number too large")?,
            ParseErrorKind::ExpectedOffset(what) => {
                write!(f, "expected a time zone offset ({what})")?
            }
            ParseErrorKind::OffsetOutOfRange(seconds) => {
                write!(f, "time zone offset out of range ({seconds} s)")?
            }
            ParseErrorKind::OutOfRange { field, value } => {
                write!(f, "{field} {value} out of range")?
            }
            ParseErrorKind::Inconsistent { field, value } => {
                write!(f, "{field} {value} does not match the rest of the date")?
            }
            ParseErrorKind::YearOutOfRange(year) => write!(f, "year {year} out of range (1-9999)")?,
            ParseErrorKind::TrailingText => write!(f, "unexpected text after the date")?,
        }
        write!(f, " at position {}", self.position)
    }
}

impl std::error::Error for DateParseError {}

impl DatePattern {
    /// Java's two-digit-year window start for a formatter created in mid 2026:
    /// 1946-06-01T00:00:00Z.
    pub const DEFAULT_TWO_DIGIT_YEAR_START_MS: i64 = -743_990_400_000;

    /// Compiles a Java pattern, or `milliseconds` / `seconds` (epoch numbers).
    pub fn compile(pattern: &str) -> Result<DatePattern, PatternError> {
        let kind = match pattern {
            "milliseconds" => Kind::EpochMillis,
            "seconds" => Kind::EpochSeconds,
            _ => {
                let items = pattern::compile(pattern)?;
                let plan = plan::Plan::new(&items);
                Kind::Pattern(items, plan)
            }
        };
        Ok(DatePattern {
            source: pattern.to_owned(),
            kind,
            two_digit_year_start_ms: Self::DEFAULT_TWO_DIGIT_YEAR_START_MS,
            two_digit_start_year: 1946,
        })
    }

    /// Moves the 100-year window for two-digit years to start at `epoch_ms` (Java's
    /// `set2DigitYearStart`; the start's year is taken in UTC).
    pub fn with_two_digit_year_start(mut self, epoch_ms: i64) -> DatePattern {
        let epoch_ms = epoch_ms.clamp(-62_000_000_000_000, 253_000_000_000_000);
        self.two_digit_year_start_ms = epoch_ms;
        self.two_digit_start_year = civil::Civil::from_local_ms(epoch_ms).year;
        self
    }

    /// The pattern as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether formatting then parsing gives back the same instant: no field is lost (all of
    /// year, month or day of year, day, hours, minutes, seconds and milliseconds are present,
    /// unambiguous, and the zone is either in the text, whole, or fixed by the caller), and no
    /// number runs into the next one with fewer letters than it has digits (see
    /// [`Self::warnings`]) or into a literal digit.
    pub fn is_lossless(&self) -> bool {
        let Kind::Pattern(items, _) = &self.kind else {
            return true;
        };
        let has = |f: &dyn Fn(Letter, usize) -> bool| {
            items
                .iter()
                .any(|i| matches!(i, Item::Field { letter, count, .. } if f(*letter, *count)))
        };
        has(&|l, c| l == Letter::Year && c != 2)
            // A two-digit year beside a full one: Java reads the last, without its century.
            && !has(&|l, c| l == Letter::Year && c == 2)
            && (has(&|l, _| matches!(l, Letter::Month | Letter::MonthStandalone))
                && has(&|l, _| l == Letter::DayOfMonth)
                || has(&|l, _| l == Letter::DayOfYear))
            && (has(&|l, _| matches!(l, Letter::HourOfDay0 | Letter::HourOfDay1))
                || has(&|l, _| matches!(l, Letter::Hour0 | Letter::Hour1))
                    && has(&|l, _| l == Letter::AmPm))
            && has(&|l, _| l == Letter::Minute)
            && has(&|l, _| l == Letter::Second)
            && has(&|l, c| l == Letter::Millisecond && c >= 3)
            && !has(&|l, _| l == Letter::WeekYear)
            // The hour twice, of the day and of a half day: Java checks one against the other,
            // and without an 'a' they disagree every afternoon.
            && !(has(&|l, _| matches!(l, Letter::HourOfDay0 | Letter::HourOfDay1))
                && has(&|l, _| matches!(l, Letter::Hour0 | Letter::Hour1))
                && !has(&|l, _| l == Letter::AmPm))
            // One X writes only the offset's hours: +05:30 reads back as +05.
            && !has(&|l, c| l == Letter::ZoneIso && c == 1)
            && too_narrow(items).is_empty()
            && !digit_after_number(items)
    }

    /// Reads a whole date; text after the date is an error (see the module docs).
    pub fn parse(&self, input: &str, zone: &Zone) -> Result<i64, DateParseError> {
        let (epoch_ms, consumed) = match self.parse_prefix_fast(input, zone) {
            Some(found) => found,
            None => self.parse_prefix_slow(input, zone)?,
        };
        if consumed < input.len() {
            return Err(DateParseError {
                position: consumed,
                kind: ParseErrorKind::TrailingText,
            });
        }
        Ok(epoch_ms)
    }

    /// Reads a date at the start of `input`, as Java's `parse` does, and returns the instant
    /// with the number of bytes read.
    pub fn parse_prefix(&self, input: &str, zone: &Zone) -> Result<(i64, usize), DateParseError> {
        match self.parse_prefix_fast(input, zone) {
            Some(found) => Ok(found),
            None => self.parse_prefix_slow(input, zone),
        }
    }

    /// The fast path, for patterns with a plan: the general path's answer when it accepts
    /// the text, `None` otherwise (see [`plan`]).
    #[inline]
    fn parse_prefix_fast(&self, input: &str, zone: &Zone) -> Option<(i64, usize)> {
        match &self.kind {
            Kind::Pattern(_, Some(plan)) => {
                plan.parse_prefix(input, zone, self.two_digit_start_year)
            }
            _ => None,
        }
    }

    /// Every pattern, every error.
    fn parse_prefix_slow(&self, input: &str, zone: &Zone) -> Result<(i64, usize), DateParseError> {
        match &self.kind {
            Kind::EpochMillis => parse_epoch(input, 1),
            Kind::EpochSeconds => parse_epoch(input, 1000),
            Kind::Pattern(items, _) => self.parse_prefix_general(items, input, zone),
        }
    }

    /// The general path: every pattern, every error.
    fn parse_prefix_general(
        &self,
        items: &[Item],
        input: &str,
        zone: &Zone,
    ) -> Result<(i64, usize), DateParseError> {
        parse::Parser {
            items,
            zone,
            two_digit_year_start_ms: self.two_digit_year_start_ms,
            two_digit_start_year: self.two_digit_start_year,
        }
        .parse_prefix(input)
    }

    /// Writes an instant in a zone.
    pub fn format(&self, epoch_ms: i64, zone: &Zone) -> String {
        match &self.kind {
            Kind::EpochMillis => epoch_ms.to_string(),
            Kind::EpochSeconds => epoch_ms.div_euclid(1000).to_string(),
            Kind::Pattern(items, _) => format::format(items, epoch_ms, zone),
        }
    }

    /// Patterns Java accepts but that are almost certainly mistakes, in words a user can act
    /// on. Empty for sound patterns.
    pub fn warnings(&self) -> Vec<String> {
        let Kind::Pattern(items, _) = &self.kind else {
            return Vec::new();
        };
        let letters: Vec<(Letter, usize)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Field {
                    letter, position, ..
                } => Some((*letter, *position)),
                Item::Literal(_) => None,
            })
            .collect();
        let has = |l: Letter| letters.iter().any(|(x, _)| *x == l);
        let at = |l: Letter| letters.iter().find(|(x, _)| *x == l).map_or(0, |(_, p)| *p);
        let mut warnings = Vec::new();
        if has(Letter::WeekYear) && !has(Letter::WeekOfYear) {
            warnings.push(format!(
                "'Y' at position {} is the week year: Java reads every date as the first day of \
                 its week 1; use 'y' for the year",
                at(Letter::WeekYear)
            ));
        }
        if has(Letter::DayOfYear) && has(Letter::Month) {
            warnings.push(format!(
                "'D' at position {} is the day of the year; use 'd' for the day of the month",
                at(Letter::DayOfYear)
            ));
        }
        if has(Letter::Minute)
            && has(Letter::DayOfMonth)
            && !has(Letter::Month)
            && !has(Letter::MonthStandalone)
        {
            warnings.push(format!(
                "'m' at position {} is the minute; use 'M' for the month",
                at(Letter::Minute)
            ));
        }
        if has(Letter::Hour1) && !has(Letter::AmPm) {
            warnings.push(format!(
                "'h' at position {} is the 12-hour clock but the pattern has no 'a'; use 'H' \
                 for 0-23",
                at(Letter::Hour1)
            ));
        }
        for (position, count, widest) in too_narrow(items) {
            let letter = self.source[position..].chars().next().unwrap_or('?');
            warnings.push(format!(
                "'{letter}' at position {position} runs into the number after it, so it reads \
                 exactly {count} digit{}, but it writes up to {widest}: text it writes does \
                 not read back; use {}",
                if count == 1 { "" } else { "s" },
                letter.to_string().repeat(widest)
            ));
        }
        warnings
    }
}

/// Whether a number field is followed by a literal digit, which it reads as one of its own
/// (`yyyy0`), as Java does.
fn digit_after_number(items: &[Item]) -> bool {
    items.windows(2).any(|pair| match pair {
        [Item::Field { letter, count, .. }, Item::Literal(text)] => {
            letter.is_numeric(*count) && text.starts_with(|c: char| c.is_ascii_digit())
        }
        _ => false,
    })
}

/// The number fields that run into the next number with fewer letters than the digits they
/// write (Java reads such a field as exactly `count` digits, so `yMMdd` reads 20261128 as year
/// 2): (position, count, widest).
fn too_narrow(items: &[Item]) -> Vec<(usize, usize, usize)> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Field {
                letter,
                count,
                fixed_width: true,
                position,
            } => letter
                .widest(*count)
                .filter(|widest| count < widest)
                .map(|widest| (*position, *count, widest)),
            _ => None,
        })
        .collect()
}

/// `milliseconds` / `seconds`: an optional `-` and ASCII digits, nothing else.
fn parse_epoch(input: &str, scale: i64) -> Result<(i64, usize), DateParseError> {
    let bytes = input.as_bytes();
    let digits_start = usize::from(bytes.first() == Some(&b'-'));
    let digits = &bytes[digits_start..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return Err(DateParseError {
            position: digits_start,
            kind: ParseErrorKind::ExpectedNumber("number"),
        });
    }
    let too_large = || DateParseError {
        position: 0,
        kind: ParseErrorKind::NumberTooLarge,
    };
    let mut value: i64 = 0;
    for &digit in &digits[..end] {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(digit - b'0')))
            .ok_or_else(too_large)?;
    }
    if digits_start == 1 {
        value = -value;
    }
    let epoch_ms = value.checked_mul(scale).ok_or_else(too_large)?;
    Ok((epoch_ms, digits_start + end))
}
