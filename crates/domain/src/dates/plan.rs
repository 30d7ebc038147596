//! A fast path for the patterns most configurations use: numeric fields (`y M d H m s S`),
//! fixed literals, month and weekday names (`MMM`, `EEE`, …) and offsets in the text (`Z`,
//! `z`, `X`). Compiling such a pattern also builds a [`Plan`]: its steps read straight into the
//! few values those fields can fill, with no calendar-field bookkeeping (stamps, positions, a
//! mask), and resolve with [`Plain::local_ms`], the same shortcut the general resolution takes
//! first.
//!
//! The plan only ever answers for text the general path would accept with the same instant and
//! length; for anything else (an error, a two-digit year on the window's edge, a field out of
//! range, a weekday that does not match) it answers `None` and the general path in
//! [`super::parse`] reads the text again, to give the answer or the precise error. Every
//! reading here calls the same helpers as the general path.

use super::Zone;
use super::names::{MONTH_NAMES, WEEKDAY_NAMES, match_long_or_short};
use super::parse::{
    Plain, is_two_digits, iso_offset, offset_in_range, read_fraction, read_number, skip_blanks,
    two_digit_year, zone_text,
};
use super::pattern::{Item, Letter};

/// The steps of a pattern the fast path can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    steps: Box<[Step]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A one-byte literal (`-`, `:`, `T`), the most common kind.
    Byte(u8),
    /// A longer literal.
    Literal(Box<[u8]>),
    /// A numeric field: Java's `count`, and whether it is fixed-width (`obeyCount`).
    Number {
        slot: Slot,
        count: usize,
        fixed_width: bool,
    },
    /// `y` or `yy`: a number, in the 100-year window when it has exactly two digits.
    ShortYear {
        count: usize,
        fixed_width: bool,
    },
    /// Four or more `S`: a decimal fraction of the second.
    Fraction {
        count: usize,
        fixed_width: bool,
    },
    MonthName,
    DayName,
    /// `z` or `Z`.
    ZoneText,
    /// `X`, `XX`, `XXX`.
    ZoneIso {
        count: usize,
    },
}

/// Where a number goes: an index into the values the plan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Year,
    /// Read from 1, kept from 0 as Java's calendar does.
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
}

/// The values a plan reads, indexed by [`Slot`]; each starts as [`Plain::DEFAULT`] has it.
const DEFAULTS: [i64; 7] = [
    Plain::DEFAULT.year,
    Plain::DEFAULT.month,
    Plain::DEFAULT.day,
    Plain::DEFAULT.hour,
    Plain::DEFAULT.minute,
    Plain::DEFAULT.second,
    Plain::DEFAULT.milli,
];

/// The common case of [`read_number`]: one to nine digits right at `pos` (no blanks, no sign),
/// at most `width` of them for a fixed-width field. `None` for anything else, which the shared
/// reader handles.
#[inline(always)]
fn digits(text: &[u8], pos: usize, width: usize) -> Option<(i64, usize)> {
    // Ten digits may exceed 999,999,999: stop there and let the shared reader decide.
    let stop = text.len().min(pos + width.min(10));
    let mut end = pos;
    let mut value = 0i64;
    while end < stop {
        let digit = text[end].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + i64::from(digit);
        end += 1;
    }
    if end == pos || end - pos == 10 {
        return None;
    }
    Some((value, end))
}

/// A number field at `pos`: the digits directly, or the shared reader for blanks, signs and
/// long numbers. `None` where the general path reports an error. Returns (value, where the
/// digits or sign start, end).
#[inline(always)]
fn number(text: &[u8], pos: usize, count: usize, fixed_width: bool) -> Option<(i64, usize, usize)> {
    let width = if fixed_width { count } else { usize::MAX };
    if let Some((value, end)) = digits(text, pos, width) {
        return Some((value, pos, end));
    }
    let at = skip_blanks(text, pos);
    let (value, end) = read_number(text, pos, at, count, fixed_width).ok()?;
    Some((value, at, end))
}

impl Plan {
    /// The plan of a compiled pattern, if every item is one the fast path reads.
    pub(crate) fn new(items: &[Item]) -> Option<Plan> {
        let steps = items
            .iter()
            .map(|item| match *item {
                Item::Literal(ref text) => Some(match *text.as_bytes() {
                    [byte] => Step::Byte(byte),
                    ref bytes => Step::Literal(bytes.into()),
                }),
                Item::Field {
                    letter,
                    count,
                    fixed_width,
                    ..
                } => {
                    let number = |slot| {
                        Some(Step::Number {
                            slot,
                            count,
                            fixed_width,
                        })
                    };
                    match letter {
                        Letter::Year if count <= 2 => Some(Step::ShortYear { count, fixed_width }),
                        Letter::Year => number(Slot::Year),
                        Letter::Month | Letter::MonthStandalone if count <= 2 => {
                            number(Slot::Month)
                        }
                        Letter::Month | Letter::MonthStandalone => Some(Step::MonthName),
                        Letter::DayOfMonth => number(Slot::Day),
                        Letter::DayOfWeekName => Some(Step::DayName),
                        Letter::HourOfDay0 => number(Slot::Hour),
                        Letter::Minute => number(Slot::Minute),
                        Letter::Second => number(Slot::Second),
                        Letter::Millisecond if count >= 4 => {
                            Some(Step::Fraction { count, fixed_width })
                        }
                        Letter::Millisecond => number(Slot::Milli),
                        Letter::ZoneName | Letter::ZoneRfc822 => Some(Step::ZoneText),
                        Letter::ZoneIso => Some(Step::ZoneIso { count }),
                        // Eras, week dates, days of the year, 12-hour clocks, k, u, F, W, w:
                        // the general path.
                        _ => None,
                    }
                }
            })
            .collect::<Option<Box<[Step]>>>()?;
        Some(Plan { steps })
    }

    /// Reads `input` as the general path would, or answers `None` to leave it to the general
    /// path: (epoch ms, bytes read).
    pub(crate) fn parse_prefix(
        &self,
        input: &str,
        zone: &Zone,
        two_digit_start_year: i64,
    ) -> Option<(i64, usize)> {
        let text = input.as_bytes();
        let mut values = DEFAULTS;
        let mut day_of_week = None;
        let mut offset: Option<i32> = None;
        let mut pos = 0;
        for step in &self.steps {
            pos = match *step {
                Step::Byte(byte) => {
                    if text.get(pos) != Some(&byte) {
                        return None;
                    }
                    pos + 1
                }
                Step::Literal(ref literal) => {
                    let found = text.get(pos..pos + literal.len())?;
                    if found.iter().zip(literal.iter()).any(|(a, b)| a != b) {
                        return None;
                    }
                    pos + literal.len()
                }
                Step::Number {
                    slot,
                    count,
                    fixed_width,
                } => {
                    let (value, _, end) = number(text, pos, count, fixed_width)?;
                    values[slot as usize] = if slot == Slot::Month {
                        value - 1
                    } else {
                        value
                    };
                    end
                }
                Step::ShortYear { count, fixed_width } => {
                    let (value, at, end) = number(text, pos, count, fixed_width)?;
                    values[Slot::Year as usize] = if is_two_digits(text, at, end) {
                        let (year, ambiguous) = two_digit_year(value, two_digit_start_year);
                        // The century depends on the rest of the date: the general path.
                        if ambiguous {
                            return None;
                        }
                        year
                    } else {
                        value
                    };
                    end
                }
                Step::Fraction { count, fixed_width } => {
                    let at = skip_blanks(text, pos);
                    if at >= text.len() {
                        return None;
                    }
                    let (millis, end) = read_fraction(text, pos, at, count, fixed_width).ok()?;
                    values[Slot::Milli as usize] = millis;
                    end
                }
                // Names are matched where the field starts, blanks included (as Java does).
                Step::MonthName => {
                    let (index, len) = match_long_or_short(text.get(pos..)?, &MONTH_NAMES)?;
                    values[Slot::Month as usize] = index as i64;
                    pos + len
                }
                Step::DayName => {
                    let (index, len) = match_long_or_short(text.get(pos..)?, &WEEKDAY_NAMES)?;
                    day_of_week = Some(index as i64 + 1);
                    pos + len
                }
                Step::ZoneText => {
                    let at = skip_blanks(text, pos);
                    if at >= text.len() {
                        return None;
                    }
                    let (seconds, end) = zone_text(text, at, zone).ok()?;
                    offset = Some(seconds);
                    end
                }
                Step::ZoneIso { count } => {
                    let at = skip_blanks(text, pos);
                    if at >= text.len() {
                        return None;
                    }
                    let (seconds, end) = iso_offset(text, at, count).ok()?;
                    offset = Some(seconds);
                    end
                }
            };
        }
        let [year, month, day, hour, minute, second, milli] = values;
        let plain = Plain {
            year,
            month,
            day,
            day_of_week,
            hour,
            minute,
            second,
            milli,
        };
        let local = plain.local_ms()?;
        let epoch_ms = match offset {
            Some(seconds) if offset_in_range(seconds) => local - i64::from(seconds) * 1000,
            Some(_) => return None,
            None => zone.local_to_epoch_ms(local),
        };
        Some((epoch_ms, pos))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{DateParseError, DatePattern, Kind, ParseErrorKind};
    use super::*;

    /// Patterns with a plan, and a few without (which must not get one).
    const PLANNED: &[&str] = &[
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
        "EEE, dd MMM yyyy HH:mm:ss Z",
        "EEE, dd MMM yyyy HH:mm:ss z",
        "EEEE, d MMMM yyyy HH:mm:ss zzzz",
        "EEE MMM dd HH:mm:ss zzz yyyy",
        "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        "yyyy-MM-dd'T'HH:mm:ss.SSSXX",
        "yyyy-MM-dd'T'HH:mm:ssX",
        "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
        "yyyy-MM-dd'T'HH:mm:ss.SSSSSSZ",
        "yyyyMMddHHmmssSSS",
        "yyyyMMddHHmmssSSSSSS",
        "yyMMddHHmm",
        "yy-MM-dd HH:mm:ss",
        "dd.MM.yy",
        "y-M-d",
        "dd MMM yy",
        "MMMdd yyyy",
        "EEEdd MMM yyyy",
        "LLL yyyy",
        "d/M/yyyy H:m:s.S",
        "yyyy yyyy",
        "yyyy-MM-dd EEE EEE",
        "yyyy-MM-dd HH:mm Z X z",
        "'Date: 'yyyy-MM-dd",
        "yyyy''MM''dd",
        "HH:mm",
        "EEE",
        "MMM",
        "Z",
        "",
    ];
    const UNPLANNED: &[&str] = &[
        "yyyy-MM-dd hh:mm a",
        "yyyy-MM-dd kk:mm",
        "yyyy-MM-dd KK:mm a",
        "yyyy-MM-dd G",
        "yyyy-DDD",
        "YYYY-ww-u",
        "yyyy-MM F E",
        "yyyy-MM-W-E",
        "yyyy-MM-dd u",
        "yyyy-MM-dd w",
    ];
    const INPUTS: &[&str] = &[
        "2026-11-28T10:00:00.123Z",
        "2026-11-28T10:00:00.123+01:00",
        "2026-11-28T10:00:00.123-0130",
        "2026-11-28T10:00:00.123456Z",
        "2026-11-28T10:00:00.1+05",
        "2026-11-28T10:00:00+05:45",
        "2017-1-1T2:7:9.39Z",
        " 2017-01-01T22:17:59.039Z",
        "-2017-01-01T00:00:00.000Z",
        "0000000002017-01-01T00:00:00.000Z",
        "2023-02-29T00:00:00.000Z",
        "2024-02-29T23:59:59.999Z",
        "Sat, 28 Nov 2026 10:00:00 -0800",
        "sat, 28 nov 2026 10:00:00 +0000",
        "Saturday, 28 November 2026 10:00:00 -0800",
        "SATURDAY, 28 NOVEMBER 2026 10:00:00 PST",
        "Sat, 28 Nov 2026 10:00:00 GMT",
        "Sat, 28 Nov 2026 10:00:00 GMT+5:30",
        "Sat, 28 Nov 2026 10:00:00 Pacific Standard Time",
        "Sat, 28 Nov 2026 10:00:00 +1400",
        "Sat, 28 Nov 2026 10:00:00 -1400",
        "Fri, 28 Nov 2026 10:00:00 -0800",
        "Sat,  28 Nov 2026 10:00:00  -0800",
        "Sat, 31 Apr 2026 10:00:00 -0800",
        "Sat Nov 28 10:00:00 PST 2026",
        "Sat Nov 28 10:00:00 CEST 2026",
        "20261128100000123",
        "20261128100000123456",
        "2611281000",
        "46-06-01 00:00:00",
        "46-05-31 23:59:59",
        "45-01-01 00:00:00",
        "28 Nov 46",
        "28.11.47",
        "1/6/1946 0:0:0.5",
        "31/12/9999 23:59:59.999",
        "1/1/1 0:0:0.0",
        "Nov28 2026",
        "Sat28 Nov 2026",
        "2026 2027",
        "2026-11-28 Sat Sat",
        "2026-11-28 Sat Sun",
        "2026-11-28 10:00 +0100 Z GMT",
        "Date: 2026-11-28",
        "2026'11'28",
        "12:34",
        "Thu",
        "May",
        "+0530",
        "",
        " ",
        "\t2026-11-28",
    ];

    fn general(
        pattern: &DatePattern,
        input: &str,
        zone: &Zone,
    ) -> Result<(i64, usize), DateParseError> {
        let Kind::Pattern(items, _) = &pattern.kind else {
            panic!("not a pattern");
        };
        pattern.parse_prefix_general(items, input, zone)
    }

    fn plan_of(pattern: &DatePattern) -> Option<&Plan> {
        match &pattern.kind {
            Kind::Pattern(_, plan) => plan.as_ref(),
            _ => None,
        }
    }

    /// Where the plan answers, the general path answers the same; and through
    /// [`DatePattern::parse_prefix`] every answer, error or not, is the general path's.
    fn check(pattern: &DatePattern, input: &str, zone: &Zone) -> bool {
        let expected = general(pattern, input, zone);
        let fast = plan_of(pattern)
            .and_then(|plan| plan.parse_prefix(input, zone, pattern.two_digit_start_year));
        if let Some(found) = fast {
            assert_eq!(
                Ok(found),
                expected,
                "{:?} on {input:?} in {zone:?}",
                pattern.source()
            );
        }
        assert_eq!(pattern.parse_prefix(input, zone), expected);
        let whole = expected.and_then(|(epoch_ms, consumed)| {
            if consumed < input.len() {
                Err(DateParseError {
                    position: consumed,
                    kind: ParseErrorKind::TrailingText,
                })
            } else {
                Ok(epoch_ms)
            }
        });
        assert_eq!(pattern.parse(input, zone), whole);
        fast.is_some()
    }

    /// The input, cut short, with each character removed, replaced or doubled, and with
    /// characters inserted.
    fn variants(input: &str) -> Vec<String> {
        let bounds: Vec<usize> = (0..=input.len())
            .filter(|&i| input.is_char_boundary(i))
            .collect();
        let mut out = vec![input.to_owned()];
        for &i in &bounds {
            out.push(input[..i].to_owned());
            for inserted in [" ", "\t", "0", "-", "+"] {
                out.push(format!("{}{inserted}{}", &input[..i], &input[i..]));
            }
        }
        for pair in bounds.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            out.push(format!("{}{}", &input[..a], &input[b..]));
            out.push(format!("{}{}", &input[..b], &input[a..]));
            for replaced in [" ", "-", "+", ":", "0", "9", "5", "x", "Z", "A", "é"] {
                out.push(format!("{}{replaced}{}", &input[..a], &input[b..]));
            }
        }
        out
    }

    #[test]
    fn plans_are_built_only_for_the_fields_they_read() {
        for pattern in PLANNED {
            let compiled = DatePattern::compile(pattern).unwrap();
            assert!(plan_of(&compiled).is_some(), "{pattern:?}");
        }
        for pattern in UNPLANNED {
            let compiled = DatePattern::compile(pattern).unwrap();
            assert!(plan_of(&compiled).is_none(), "{pattern:?}");
        }
    }

    #[test]
    fn the_benchmarked_dates_take_the_fast_path() {
        let gmt = Zone::parse("GMT").unwrap();
        for (pattern, input) in [
            ("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "2026-11-28T10:00:00.123Z"),
            (
                "EEE, dd MMM yyyy HH:mm:ss Z",
                "Sat, 28 Nov 2026 10:00:00 -0800",
            ),
        ] {
            let compiled = DatePattern::compile(pattern).unwrap();
            assert!(check(&compiled, input, &gmt), "{pattern:?} {input:?}");
        }
    }

    #[test]
    fn the_fast_path_and_the_general_path_agree() {
        let zones: Vec<Zone> = ["GMT", "America/New_York", "Asia/Kolkata", "PST", "+05:30"]
            .iter()
            .map(|id| Zone::parse(id).unwrap())
            .collect();
        let inputs: Vec<String> = INPUTS.iter().flat_map(|input| variants(input)).collect();
        let (mut answered, mut total) = (0usize, 0usize);
        for pattern in PLANNED.iter().chain(UNPLANNED) {
            let compiled = DatePattern::compile(pattern).unwrap();
            // The default window (1946-06-01), and one starting 1970-01-01.
            for pattern in [compiled.clone(), compiled.with_two_digit_year_start(0)] {
                for (index, input) in inputs.iter().enumerate() {
                    let zone = &zones[index % zones.len()];
                    answered += usize::from(check(&pattern, input, zone));
                    total += 1;
                }
            }
        }
        // The comparison means something only if the fast path answers often.
        assert!(answered > 5_000, "{answered} of {total}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Dates the patterns write, then changed at one place: both paths agree.
        #[test]
        fn formatted_then_changed_dates_read_the_same_on_both_paths(
            epoch_ms in -62_135_510_400_000i64..253_402_128_000_000,
            pattern in prop::sample::select(PLANNED),
            zone in prop::sample::select(&["GMT", "America/New_York", "Europe/Berlin", "+05:30"][..]),
            at in any::<prop::sample::Index>(),
            replacement in prop::sample::select(&["", " ", "0", "9", "-", "+", "x", ":", "00"][..]),
        ) {
            let pattern = DatePattern::compile(pattern).unwrap();
            let zone = Zone::parse(zone).unwrap();
            let text = pattern.format(epoch_ms, &zone);
            check(&pattern, &text, &zone);
            let bounds: Vec<usize> =
                (0..text.len()).filter(|&i| text.is_char_boundary(i)).collect();
            if !bounds.is_empty() {
                let a = bounds[at.index(bounds.len())];
                let b = (a + 1..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(a);
                check(&pattern, &format!("{}{replacement}{}", &text[..a], &text[b..]), &zone);
            }
        }
    }
}
