//! Reading text with a compiled pattern: Java's `SimpleDateFormat.parse` in non-lenient mode,
//! then `GregorianCalendar`'s field resolution and validation.

use super::civil::{
    Civil, MS_PER_DAY, days_from_civil, days_from_valid_date, days_in_month, week_of_month,
    week_of_year, week1_start, weekday, weeks_in_week_year,
};
use super::names::{AM_PM, ERAS, MONTH_NAMES, WEEKDAY_NAMES};
use super::names::{match_long_or_short, match_name, match_zone_name};
use super::pattern::{Item, Letter};
use super::{DateParseError, ParseErrorKind, Zone};

/// Calendar fields, as Java's `Calendar` has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Era = 0,
    Year,
    WeekYear,
    Month,
    Day,
    DayOfYear,
    DayOfWeek,
    DayOfWeekInMonth,
    WeekOfYear,
    WeekOfMonth,
    HourOfDay,
    Hour,
    AmPm,
    Minute,
    Second,
    Milli,
}

const FIELD_COUNT: usize = 16;

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Era => "era",
            Field::Year => "year",
            Field::WeekYear => "week year",
            Field::Month => "month",
            Field::Day => "day of month",
            Field::DayOfYear => "day of year",
            Field::DayOfWeek => "day of week",
            Field::DayOfWeekInMonth => "day of week in month",
            Field::WeekOfYear => "week of year",
            Field::WeekOfMonth => "week of month",
            Field::HourOfDay => "hour of day",
            Field::Hour => "hour",
            Field::AmPm => "AM/PM",
            Field::Minute => "minute",
            Field::Second => "second",
            Field::Milli => "millisecond",
        }
    }

    /// Java's `GregorianCalendar` minimum and maximum, checked in non-lenient mode; years are
    /// kept within 1..=9999 (see the module docs).
    fn range(self) -> (i64, i64) {
        match self {
            Field::Era => (0, 1),
            Field::Year | Field::WeekYear => (1, 9999),
            Field::Month => (0, 11),
            Field::Day => (1, 31),
            Field::DayOfYear => (1, 366),
            Field::DayOfWeek => (1, 7),
            Field::DayOfWeekInMonth => (1, 6),
            Field::WeekOfYear => (1, 53),
            Field::WeekOfMonth => (0, 6),
            Field::HourOfDay => (0, 23),
            Field::Hour => (0, 11),
            Field::AmPm => (0, 1),
            Field::Minute | Field::Second => (0, 59),
            Field::Milli => (0, 999),
        }
    }

    /// Shown to users: months count from 1, not from 0 as in Java's calendar.
    fn display(self, value: i64) -> i64 {
        if self == Field::Month {
            value + 1
        } else {
            value
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Set {
    value: i64,
    position: usize,
    stamp: u32,
}

/// The fields read so far. Kept small and flat: it is built for every parsed date.
#[derive(Debug, Default)]
struct Fields {
    /// Bit `f` set when field `f` was read.
    mask: u16,
    values: [i64; FIELD_COUNT],
    positions: [u32; FIELD_COUNT],
    /// Order in which fields were read (Java resolves conflicts by the latest).
    stamps: [u8; FIELD_COUNT],
    stamp: u8,
    /// An explicit offset from the text, in seconds, and where it was.
    offset: Option<(i32, usize)>,
    ambiguous_year: bool,
}

impl Fields {
    fn put(&mut self, field: Field, value: i64, position: usize) {
        let index = field as usize;
        self.stamp = self.stamp.saturating_add(1);
        self.mask |= 1 << index;
        self.values[index] = value;
        self.positions[index] = u32::try_from(position).unwrap_or(u32::MAX);
        self.stamps[index] = self.stamp;
    }
    fn is_set(&self, field: Field) -> bool {
        self.mask & (1 << field as usize) != 0
    }
    fn get(&self, field: Field) -> Option<i64> {
        self.is_set(field).then(|| self.values[field as usize])
    }
    fn stamp(&self, field: Field) -> u32 {
        if self.is_set(field) {
            u32::from(self.stamps[field as usize])
        } else {
            0
        }
    }
    fn set(&self, field: Field) -> Option<Set> {
        self.is_set(field).then(|| Set {
            value: self.values[field as usize],
            position: self.positions[field as usize] as usize,
            stamp: self.stamp(field),
        })
    }
}

pub(crate) struct Parser<'a> {
    pub items: &'a [Item],
    pub zone: &'a Zone,
    pub two_digit_year_start_ms: i64,
    pub two_digit_start_year: i64,
}

fn fail(position: usize, kind: ParseErrorKind) -> DateParseError {
    DateParseError { position, kind }
}

impl Parser<'_> {
    /// Parses from the start of `input`; returns the instant and the bytes consumed.
    pub(crate) fn parse_prefix(&self, input: &str) -> Result<(i64, usize), DateParseError> {
        let text = input.as_bytes();
        let mut pos = 0usize;
        let mut fields = Fields::default();
        for item in self.items {
            match item {
                Item::Literal(literal) => {
                    let lit = literal.as_bytes();
                    // Java compares char by char and reports the first that differs.
                    for (offset, &expected) in lit.iter().enumerate() {
                        if text.get(pos + offset) != Some(&expected) {
                            let at = pos + offset;
                            // Report the whole literal, and where it went wrong.
                            return Err(fail(
                                char_boundary(input, at),
                                ParseErrorKind::ExpectedLiteral(literal.clone()),
                            ));
                        }
                    }
                    pos += lit.len();
                }
                Item::Field {
                    letter,
                    count,
                    fixed_width,
                    ..
                } => {
                    pos = self.field(text, pos, *letter, *count, *fixed_width, &mut fields)?;
                }
            }
        }
        let epoch_ms = self.resolve(&fields)?;
        Ok((epoch_ms, pos))
    }

    fn field(
        &self,
        text: &[u8],
        start: usize,
        letter: Letter,
        count: usize,
        fixed_width: bool,
        fields: &mut Fields,
    ) -> Result<usize, DateParseError> {
        // Java skips spaces and tabs before every field, and fails at the end of the text.
        let pos = skip_blanks(text, start);
        if pos >= text.len() {
            return Err(fail(
                start,
                ParseErrorKind::UnexpectedEnd(letter_name(letter)),
            ));
        }
        // Names are matched where the field starts (Java's matchString uses `start`, not the
        // position after the skipped spaces).
        let name_at = |names: &[&str]| match_name(&text[start..], names);
        let number = |fields_limit: bool| read_number(text, start, pos, count, fields_limit);
        match letter {
            Letter::Era => {
                let (index, len) = name_at(&ERAS)
                    .ok_or_else(|| fail(start, ParseErrorKind::ExpectedName("era (AD or BC)")))?;
                fields.put(Field::Era, index as i64, start);
                Ok(start + len)
            }
            Letter::Year | Letter::WeekYear => {
                let (value, end) = number(fixed_width)?;
                let field = if letter == Letter::Year {
                    Field::Year
                } else {
                    Field::WeekYear
                };
                let mut value = value;
                if count <= 2 && is_two_digits(text, pos, end) {
                    let (windowed, ambiguous) = two_digit_year(value, self.two_digit_start_year);
                    fields.ambiguous_year = ambiguous;
                    value = windowed;
                }
                fields.put(field, value, pos);
                Ok(end)
            }
            Letter::Month | Letter::MonthStandalone if count <= 2 => {
                let (value, end) = number(fixed_width)?;
                fields.put(Field::Month, value - 1, pos);
                Ok(end)
            }
            Letter::Month | Letter::MonthStandalone => {
                let (index, len) = match_long_or_short(&text[start..], &MONTH_NAMES)
                    .ok_or_else(|| fail(start, ParseErrorKind::ExpectedName("month name")))?;
                fields.put(Field::Month, index as i64, start);
                Ok(start + len)
            }
            Letter::DayOfWeekName => {
                let (index, len) = match_long_or_short(&text[start..], &WEEKDAY_NAMES)
                    .ok_or_else(|| fail(start, ParseErrorKind::ExpectedName("day name")))?;
                fields.put(Field::DayOfWeek, index as i64 + 1, start);
                Ok(start + len)
            }
            Letter::AmPm => {
                let (index, len) = name_at(&AM_PM)
                    .ok_or_else(|| fail(start, ParseErrorKind::ExpectedName("AM or PM")))?;
                fields.put(Field::AmPm, index as i64, start);
                Ok(start + len)
            }
            Letter::HourOfDay1 | Letter::Hour1 => {
                let (value, end) = number(fixed_width)?;
                let (max, field) = if letter == Letter::HourOfDay1 {
                    (24, Field::HourOfDay)
                } else {
                    (12, Field::Hour)
                };
                // Non-lenient Java checks these at once: k is 1-24, h is 1-12.
                if !(1..=max).contains(&value) {
                    return Err(fail(
                        pos,
                        ParseErrorKind::OutOfRange {
                            field: if max == 24 {
                                "hour (k, 1-24)"
                            } else {
                                "hour (h, 1-12)"
                            },
                            value,
                        },
                    ));
                }
                fields.put(field, if value == max { 0 } else { value }, pos);
                Ok(end)
            }
            Letter::Millisecond if count >= 4 => {
                let (millis, end) = read_fraction(text, start, pos, count, fixed_width)?;
                fields.put(Field::Milli, millis, pos);
                Ok(end)
            }
            Letter::ZoneName | Letter::ZoneRfc822 => {
                let (seconds, end) = zone_text(text, pos, self.zone)?;
                fields.offset = Some((seconds, pos));
                Ok(end)
            }
            Letter::ZoneIso => {
                let (seconds, end) = iso_offset(text, pos, count)?;
                fields.offset = Some((seconds, pos));
                Ok(end)
            }
            _ => {
                let field = match letter {
                    Letter::DayOfMonth => Field::Day,
                    Letter::DayOfYear => Field::DayOfYear,
                    Letter::IsoDayOfWeek => Field::DayOfWeek,
                    Letter::DayOfWeekInMonth => Field::DayOfWeekInMonth,
                    Letter::WeekOfYear => Field::WeekOfYear,
                    Letter::WeekOfMonth => Field::WeekOfMonth,
                    Letter::HourOfDay0 => Field::HourOfDay,
                    Letter::Hour0 => Field::Hour,
                    Letter::Minute => Field::Minute,
                    Letter::Second => Field::Second,
                    _ => Field::Milli,
                };
                let (value, end) = number(fixed_width)?;
                let value = if letter == Letter::IsoDayOfWeek {
                    // u: 1 = Monday … 7 = Sunday, stored as Java's Sunday-first weekday.
                    value % 7 + 1
                } else {
                    value
                };
                fields.put(field, value, pos);
                Ok(end)
            }
        }
    }

    /// Java's calendar: pick the fields that fix the date, build the local time, check every
    /// field given against it (non-lenient), then apply the offset or the zone.
    fn resolve(&self, fields: &Fields) -> Result<i64, DateParseError> {
        if let Some((offset, position)) = fields.offset
            && !offset_in_range(offset)
        {
            return Err(fail(position, ParseErrorKind::OffsetOutOfRange(offset)));
        }
        if !fields.ambiguous_year
            && let Some(local) = plain_local_ms(fields)
        {
            return Ok(self.to_epoch(fields, local));
        }
        for field in FIELDS {
            if let Some(set) = fields.set(field) {
                let (min, max) = field.range();
                if set.value < min || set.value > max {
                    return Err(fail(
                        set.position,
                        ParseErrorKind::OutOfRange {
                            field: field.name(),
                            value: field.display(set.value),
                        },
                    ));
                }
            }
        }
        let mut local = self.local_ms(fields, 0)?;
        let mut epoch = self.to_epoch(fields, local);
        if fields.ambiguous_year && epoch < self.two_digit_year_start_ms {
            local = self.local_ms(fields, 100)?;
            epoch = self.to_epoch(fields, local);
        }
        Ok(epoch)
    }

    fn to_epoch(&self, fields: &Fields, local_ms: i64) -> i64 {
        match fields.offset {
            Some((offset, _)) => local_ms - i64::from(offset) * 1000,
            None => self.zone.local_to_epoch_ms(local_ms),
        }
    }

    /// The local wall-clock time in ms since 1970-01-01T00:00 local, validated.
    fn local_ms(&self, fields: &Fields, add_years: i64) -> Result<i64, DateParseError> {
        let get = |f| fields.get(f);
        let era_bc = get(Field::Era) == Some(0);
        let to_proleptic = |year_of_era: i64| if era_bc { 1 - year_of_era } else { year_of_era };
        let week_date = fields.stamp(Field::WeekYear) > fields.stamp(Field::Year);
        let dow = get(Field::DayOfWeek);
        let days = if week_date {
            // Java's CalendarBuilder: Y set (after y, if any) builds a week date and ignores
            // the month and the day of month.
            let week_year = to_proleptic(get(Field::WeekYear).unwrap_or(1970) + add_years);
            let week = get(Field::WeekOfYear).unwrap_or(1);
            if let Some(set) = fields.set(Field::WeekOfYear)
                && week > weeks_in_week_year(week_year)
            {
                return Err(fail(
                    set.position,
                    ParseErrorKind::Inconsistent {
                        field: "week of year",
                        value: week,
                    },
                ));
            }
            week1_start(week_year) + 7 * (week - 1) + (dow.unwrap_or(1) - 1)
        } else {
            let year = to_proleptic(get(Field::Year).unwrap_or(1970) + add_years);
            let month = get(Field::Month).unwrap_or(0);
            let first_of_month = days_from_civil(year, month + 1, 1);
            if let Some(day) = get(Field::Day) {
                first_of_month + day - 1
            } else if let Some(doy) = get(Field::DayOfYear) {
                days_from_civil(year, 1, 1) + doy - 1
            } else if let Some(week) = get(Field::WeekOfMonth) {
                let week1 = first_of_month - (weekday(first_of_month) - 1);
                week1 + 7 * (week - 1) + dow.unwrap_or(1) - 1
            } else if get(Field::DayOfWeekInMonth).is_some()
                || (dow.is_some()
                    && get(Field::Month).is_some()
                    && get(Field::WeekOfYear).is_none())
            {
                let nth = get(Field::DayOfWeekInMonth).unwrap_or(1);
                let wanted = dow.unwrap_or(1);
                let first = first_of_month + (wanted - weekday(first_of_month)).rem_euclid(7);
                first + 7 * (nth - 1)
            } else if get(Field::WeekOfYear).is_some() || dow.is_some() {
                let week = get(Field::WeekOfYear).unwrap_or(1);
                week1_start(year) + 7 * (week - 1) + dow.unwrap_or(1) - 1
            } else {
                first_of_month
            }
        };
        let hour_of_day = match (fields.set(Field::HourOfDay), get(Field::Hour)) {
            (Some(h), _)
                if h.stamp >= fields.stamp(Field::Hour).max(fields.stamp(Field::AmPm))
                    || get(Field::Hour).is_none() =>
            {
                h.value
            }
            (_, hour) => hour.unwrap_or(0) + 12 * get(Field::AmPm).unwrap_or(0),
        };
        let millis_of_day = ((hour_of_day * 60 + get(Field::Minute).unwrap_or(0)) * 60
            + get(Field::Second).unwrap_or(0))
            * 1000
            + get(Field::Milli).unwrap_or(0);
        let local = days * MS_PER_DAY + millis_of_day;

        // Non-lenient Java recomputes every field from the result and rejects a mismatch
        // (31 April, a wrong weekday, 13:00 AM). A week date skips the date fields.
        let civil = Civil::from_local_ms(local);
        if !((1..=9999).contains(&civil.year) || era_bc && civil.year > -9999) {
            return Err(fail(0, ParseErrorKind::YearOutOfRange(civil.year)));
        }
        let year_of_era = if civil.year <= 0 {
            1 - civil.year
        } else {
            civil.year
        };
        let dom = i64::from(civil.day);
        let actual = |field: Field| -> i64 {
            match field {
                Field::Era => i64::from(civil.year > 0),
                Field::Year => year_of_era,
                Field::WeekYear => {
                    let week_year = week_of_year(civil.days).0;
                    if week_year <= 0 {
                        1 - week_year
                    } else {
                        week_year
                    }
                }
                Field::Month => i64::from(civil.month) - 1,
                Field::Day => dom,
                Field::DayOfYear => civil.day_of_year(),
                Field::DayOfWeek => weekday(civil.days),
                Field::DayOfWeekInMonth => (dom - 1) / 7 + 1,
                Field::WeekOfYear => week_of_year(civil.days).1,
                Field::WeekOfMonth => week_of_month(civil.days, dom),
                Field::HourOfDay => civil.hour_of_day(),
                Field::Hour => civil.hour_of_day() % 12,
                Field::AmPm => civil.hour_of_day() / 12,
                Field::Minute => civil.minute(),
                Field::Second => civil.second(),
                Field::Milli => civil.milli(),
            }
        };
        // The day is checked before the month and year, so 31 April blames the 31.
        for field in CHECK_ORDER {
            let Some(set) = fields.set(field) else {
                continue;
            };
            if week_date
                && !matches!(
                    field,
                    Field::HourOfDay
                        | Field::Hour
                        | Field::AmPm
                        | Field::Minute
                        | Field::Second
                        | Field::Milli
                )
            {
                continue;
            }
            let expected = if matches!(field, Field::Year | Field::WeekYear) {
                set.value + add_years
            } else {
                set.value
            };
            if actual(field) != expected {
                return Err(fail(
                    set.position,
                    ParseErrorKind::Inconsistent {
                        field: field.name(),
                        value: field.display(set.value),
                    },
                ));
            }
        }
        Ok(local)
    }
}

const FIELDS: [Field; FIELD_COUNT] = [
    Field::Era,
    Field::Year,
    Field::WeekYear,
    Field::Month,
    Field::Day,
    Field::DayOfYear,
    Field::DayOfWeek,
    Field::DayOfWeekInMonth,
    Field::WeekOfYear,
    Field::WeekOfMonth,
    Field::HourOfDay,
    Field::Hour,
    Field::AmPm,
    Field::Minute,
    Field::Second,
    Field::Milli,
];

/// The common case, without the general machinery: a date from year, month, day (and perhaps
/// a weekday to check) and a time from H, m, s, S, all in range and consistent. `None` sends
/// anything else, valid or not, to [`Parser::local_ms`], which gives the same answer slowly or
/// says precisely what is wrong.
fn plain_local_ms(fields: &Fields) -> Option<i64> {
    const PLAIN: u16 = 1 << Field::Year as usize
        | 1 << Field::Month as usize
        | 1 << Field::Day as usize
        | 1 << Field::DayOfWeek as usize
        | 1 << Field::HourOfDay as usize
        | 1 << Field::Minute as usize
        | 1 << Field::Second as usize
        | 1 << Field::Milli as usize;
    if fields.mask & !PLAIN != 0 {
        return None;
    }
    let value = |field: Field, default: i64| {
        if fields.is_set(field) {
            fields.values[field as usize]
        } else {
            default
        }
    };
    let mut plain = Plain::DEFAULT;
    plain.year = value(Field::Year, plain.year);
    plain.month = value(Field::Month, plain.month);
    plain.day = value(Field::Day, plain.day);
    plain.day_of_week = fields.get(Field::DayOfWeek);
    plain.hour = value(Field::HourOfDay, plain.hour);
    plain.minute = value(Field::Minute, plain.minute);
    plain.second = value(Field::Second, plain.second);
    plain.milli = value(Field::Milli, plain.milli);
    plain.local_ms()
}

/// The fields of the common case, as read (the month counts from 0, as in Java's calendar);
/// [`Plain::DEFAULT`] holds what Java's calendar assumes for those not read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plain {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub day_of_week: Option<i64>,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub milli: i64,
}

impl Plain {
    pub(crate) const DEFAULT: Plain = Plain {
        year: 1970,
        month: 0,
        day: 1,
        day_of_week: None,
        hour: 0,
        minute: 0,
        second: 0,
        milli: 0,
    };

    /// The local time, if every field is in range and the weekday (if any) matches; `None`
    /// otherwise, for the general resolution to decide.
    #[inline]
    pub(crate) fn local_ms(&self) -> Option<i64> {
        let Plain {
            year,
            month,
            day,
            day_of_week,
            hour,
            minute,
            second,
            milli,
        } = *self;
        let time_in_range = (0..=23).contains(&hour)
            && (0..=59).contains(&minute)
            && (0..=59).contains(&second)
            && (0..=999).contains(&milli);
        if !time_in_range || day > 28 && day > days_in_month(year, month + 1) {
            return None;
        }
        // Checks the year, the month and the day's lower bound.
        let days = days_from_valid_date(year, month, day)?;
        if day_of_week.is_some_and(|dow| weekday(days) != dow) {
            return None;
        }
        Some(days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + milli)
    }
}

const CHECK_ORDER: [Field; FIELD_COUNT] = [
    Field::Day,
    Field::DayOfYear,
    Field::DayOfWeekInMonth,
    Field::WeekOfMonth,
    Field::WeekOfYear,
    Field::DayOfWeek,
    Field::Month,
    Field::WeekYear,
    Field::Year,
    Field::Era,
    Field::HourOfDay,
    Field::Hour,
    Field::AmPm,
    Field::Minute,
    Field::Second,
    Field::Milli,
];

fn letter_name(letter: Letter) -> &'static str {
    match letter {
        Letter::Era => "era",
        Letter::Year => "year",
        Letter::WeekYear => "week year",
        Letter::Month | Letter::MonthStandalone => "month",
        Letter::DayOfMonth => "day of month",
        Letter::DayOfYear => "day of year",
        Letter::DayOfWeekName | Letter::IsoDayOfWeek => "day of week",
        Letter::DayOfWeekInMonth => "day of week in month",
        Letter::WeekOfYear => "week of year",
        Letter::WeekOfMonth => "week of month",
        Letter::AmPm => "AM/PM",
        Letter::HourOfDay0 | Letter::HourOfDay1 | Letter::Hour0 | Letter::Hour1 => "hour",
        Letter::Minute => "minute",
        Letter::Second => "second",
        Letter::Millisecond => "millisecond",
        Letter::ZoneName | Letter::ZoneRfc822 | Letter::ZoneIso => "time zone",
    }
}

/// `z` and `Z` read the same things in Java: `GMT`, `GMT±hh:mm`, `±hhmm`, or a zone name.
/// `pos` is past the skipped blanks and inside the text. Returns (offset seconds, end).
pub(crate) fn zone_text(
    text: &[u8],
    pos: usize,
    zone: &Zone,
) -> Result<(i32, usize), DateParseError> {
    let c = text[pos];
    if c == b'+' || c == b'-' {
        let sign = if c == b'+' { 1 } else { -1 };
        let (seconds, end) = numeric_offset(text, pos + 1, 0, false)?;
        return Ok((sign * seconds, end));
    }
    if text.len() - pos >= 3 && text[pos..pos + 3].eq_ignore_ascii_case(b"GMT") {
        let after = pos + 3;
        return match text.get(after) {
            Some(b'+') | Some(b'-') => {
                let sign = if text[after] == b'+' { 1 } else { -1 };
                let (seconds, end) = numeric_offset(text, after + 1, 0, true)?;
                Ok((sign * seconds, end))
            }
            _ => Ok((0, after)),
        };
    }
    match match_zone_name(&text[pos..], zone.names()) {
        Some((seconds, len)) => Ok((seconds, pos + len)),
        None => Err(fail(
            pos,
            ParseErrorKind::ExpectedOffset("a zone name or offset"),
        )),
    }
}

/// `X`, `XX`, `XXX`: `Z`, or a sign and `hh`, `hhmm`, `hh:mm` by count. `pos` is past the
/// skipped blanks and inside the text. Returns (offset seconds, end).
pub(crate) fn iso_offset(
    text: &[u8],
    pos: usize,
    count: usize,
) -> Result<(i32, usize), DateParseError> {
    let c = text[pos];
    if c == b'Z' {
        return Ok((0, pos + 1));
    }
    let sign = match c {
        b'+' => 1,
        b'-' => -1,
        _ => return Err(fail(pos, ParseErrorKind::ExpectedOffset("Z, + or -"))),
    };
    let (seconds, end) = numeric_offset(text, pos + 1, count, count == 3)?;
    Ok((sign * seconds, end))
}

/// Offsets Java's calendar accepts, in seconds.
pub(crate) fn offset_in_range(seconds: i32) -> bool {
    (-13 * 3600..=14 * 3600).contains(&seconds)
}

/// Java skips spaces and tabs before every field: the position of the first other byte.
pub(crate) fn skip_blanks(text: &[u8], start: usize) -> usize {
    let mut pos = start;
    while pos < text.len() && (text[pos] == b' ' || text[pos] == b'\t') {
        pos += 1;
    }
    pos
}

/// Whether a number read at `pos..end` is exactly two digits (no sign): `y` and `yy` then use
/// the 100-year window.
pub(crate) fn is_two_digits(text: &[u8], pos: usize, end: usize) -> bool {
    end - pos == 2 && text[pos].is_ascii_digit() && text[pos + 1].is_ascii_digit()
}

/// The 100-year window for a two-digit year (Java's defaultCenturyStart): the year, and
/// whether it is the window's first year, whose century depends on the rest of the date.
pub(crate) fn two_digit_year(value: i64, start_year: i64) -> (i64, bool) {
    let ambiguous = start_year % 100;
    let year = value + start_year / 100 * 100 + if value < ambiguous { 100 } else { 0 };
    (year, value == ambiguous)
}

/// Deliberate deviation: four or more S are a decimal fraction of the second, truncated to
/// milliseconds. Returns (milliseconds, end).
pub(crate) fn read_fraction(
    text: &[u8],
    start: usize,
    pos: usize,
    count: usize,
    fixed_width: bool,
) -> Result<(i64, usize), DateParseError> {
    let limit = if fixed_width {
        start + count
    } else {
        text.len()
    };
    let mut end = pos;
    let mut millis = 0i64;
    while end < text.len().min(limit) && text[end].is_ascii_digit() {
        if end - pos < 3 {
            millis = millis * 10 + i64::from(text[end] - b'0');
        }
        end += 1;
    }
    if end == pos {
        return Err(fail(
            pos,
            ParseErrorKind::ExpectedNumber("fraction of second"),
        ));
    }
    for _ in (end - pos)..3 {
        millis *= 10;
    }
    Ok((millis, end))
}

/// Java's `DecimalFormat.parse` as `SimpleDateFormat` uses it: an optional `-`, then ASCII
/// digits; with `fixed_width`, no further than `start + count` (counted from before the skipped
/// spaces, as Java does). Values beyond ±999,999,999 are refused rather than wrapped.
pub(crate) fn read_number(
    text: &[u8],
    start: usize,
    pos: usize,
    count: usize,
    fixed_width: bool,
) -> Result<(i64, usize), DateParseError> {
    let limit = if fixed_width {
        (start + count).min(text.len())
    } else {
        text.len()
    };
    let mut end = pos;
    let negative = end < limit && text[end] == b'-';
    if negative {
        end += 1;
    }
    let digits_start = end;
    let mut value: i64 = 0;
    while end < limit && text[end].is_ascii_digit() {
        value = value * 10 + i64::from(text[end] - b'0');
        if value > 999_999_999 {
            return Err(fail(pos, ParseErrorKind::NumberTooLarge));
        }
        end += 1;
    }
    if end == digits_start {
        return Err(fail(pos, ParseErrorKind::ExpectedNumber("number")));
    }
    Ok((if negative { -value } else { value }, end))
}

/// Java's `subParseNumericZone`: `hh[[:]mm]` after the sign. `count` is X's count (0 for z and
/// Z); `colon` whether a colon separates hours and minutes (XXX, and after `GMT`). Errors
/// point at the offending character, as Java's error index does.
fn numeric_offset(
    text: &[u8],
    start: usize,
    count: usize,
    colon: bool,
) -> Result<(i32, usize), DateParseError> {
    let bad = |at: usize| fail(at.min(text.len()), ParseErrorKind::ExpectedOffset("hh:mm"));
    let digit = |at: usize| {
        text.get(at)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i32::from(c - b'0'))
    };
    let mut index = start;
    let mut hours = digit(index).ok_or_else(|| bad(index))?;
    index += 1;
    match digit(index) {
        Some(d) => {
            hours = hours * 10 + d;
            index += 1;
        }
        // One-digit hours only after GMT (colon, no X count).
        None if count == 0 && colon => {}
        None => return Err(bad(index)),
    }
    if hours > 23 {
        return Err(fail(
            index - 1,
            ParseErrorKind::OffsetOutOfRange(hours * 3600),
        ));
    }
    let mut minutes = 0;
    if count != 1 {
        if colon {
            if text.get(index) != Some(&b':') {
                return Err(bad(index));
            }
            index += 1;
        }
        let tens = digit(index).ok_or_else(|| bad(index))?;
        index += 1;
        let ones = digit(index).ok_or_else(|| bad(index))?;
        index += 1;
        minutes = tens * 10 + ones;
        if minutes > 59 {
            return Err(fail(
                index - 1,
                ParseErrorKind::OffsetOutOfRange(minutes * 60),
            ));
        }
    }
    Ok((hours * 3600 + minutes * 60, index))
}

/// Positions are byte offsets; make sure one never lands inside a UTF-8 sequence.
fn char_boundary(input: &str, mut at: usize) -> usize {
    at = at.min(input.len());
    while !input.is_char_boundary(at) {
        at -= 1;
    }
    at
}
