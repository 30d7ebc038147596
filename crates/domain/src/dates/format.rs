//! Writing an instant with a compiled pattern: Java's `SimpleDateFormat.format`.

use std::fmt::Write;

use super::Zone;
use super::civil::{Civil, week_of_month, week_of_year, weekday};
use super::names::{AM_PM, ERAS, MONTHS_LONG, MONTHS_SHORT, WEEKDAYS_LONG, WEEKDAYS_SHORT};
use super::pattern::{Item, Letter};

pub(crate) fn format(items: &[Item], epoch_ms: i64, zone: &Zone) -> String {
    // Whole minutes, truncated as Java's Z and X print them, so that the local time and the
    // printed offset agree for local-mean-time offsets with seconds (Kathmandu before 1920).
    let offset = zone.offset_seconds_at(epoch_ms) / 60 * 60;
    let local = epoch_ms.saturating_add(i64::from(offset) * 1000);
    let civil = Civil::from_local_ms(local);
    let mut out = String::with_capacity(32);
    for item in items {
        match item {
            Item::Literal(text) => out.push_str(text),
            Item::Field { letter, count, .. } => {
                field(&mut out, *letter, *count, &civil, epoch_ms, offset, zone)
            }
        }
    }
    out
}

fn field(
    out: &mut String,
    letter: Letter,
    count: usize,
    civil: &Civil,
    epoch_ms: i64,
    offset: i32,
    zone: &Zone,
) {
    let year_of_era = if civil.year <= 0 {
        1 - civil.year
    } else {
        civil.year
    };
    let day = i64::from(civil.day);
    let dow = weekday(civil.days);
    match letter {
        Letter::Era => out.push_str(ERAS[usize::from(civil.year > 0)]),
        Letter::Year => year(out, year_of_era, count),
        Letter::WeekYear => {
            let week_year = week_of_year(civil.days).0;
            year(
                out,
                if week_year <= 0 {
                    1 - week_year
                } else {
                    week_year
                },
                count,
            )
        }
        Letter::Month | Letter::MonthStandalone => {
            let index = civil.month as usize - 1;
            match count {
                1 | 2 => pad(out, i64::from(civil.month), count),
                3 => out.push_str(MONTHS_SHORT[index]),
                _ => out.push_str(MONTHS_LONG[index]),
            }
        }
        Letter::DayOfMonth => pad(out, day, count),
        Letter::DayOfYear => pad(out, civil.day_of_year(), count),
        Letter::DayOfWeekName => {
            let names = if count >= 4 {
                &WEEKDAYS_LONG
            } else {
                &WEEKDAYS_SHORT
            };
            out.push_str(names[(dow - 1) as usize]);
        }
        Letter::IsoDayOfWeek => pad(out, (dow + 5) % 7 + 1, count),
        Letter::DayOfWeekInMonth => pad(out, (day - 1) / 7 + 1, count),
        Letter::WeekOfYear => pad(out, week_of_year(civil.days).1, count),
        Letter::WeekOfMonth => pad(out, week_of_month(civil.days, day), count),
        Letter::AmPm => out.push_str(AM_PM[(civil.hour_of_day() / 12) as usize]),
        Letter::HourOfDay0 => pad(out, civil.hour_of_day(), count),
        Letter::HourOfDay1 => {
            let h = civil.hour_of_day();
            pad(out, if h == 0 { 24 } else { h }, count)
        }
        Letter::Hour0 => pad(out, civil.hour_of_day() % 12, count),
        Letter::Hour1 => {
            let h = civil.hour_of_day() % 12;
            pad(out, if h == 0 { 12 } else { h }, count)
        }
        Letter::Minute => pad(out, civil.minute(), count),
        Letter::Second => pad(out, civil.second(), count),
        Letter::Millisecond if count >= 4 => {
            // Deliberate deviation: a fraction of the second, so SSSSSS writes microseconds.
            pad(out, civil.milli(), 3);
            for _ in 3..count {
                out.push('0');
            }
        }
        Letter::Millisecond => pad(out, civil.milli(), count),
        Letter::ZoneName => out.push_str(&zone.display_name(epoch_ms, count >= 4)),
        Letter::ZoneRfc822 => {
            let (sign, h, m) = split_offset(offset);
            let _ = write!(out, "{sign}{h:02}{m:02}");
        }
        Letter::ZoneIso => {
            if offset == 0 {
                out.push('Z');
                return;
            }
            let (sign, h, m) = split_offset(offset);
            let _ = match count {
                1 => write!(out, "{sign}{h:02}"),
                2 => write!(out, "{sign}{h:02}{m:02}"),
                _ => write!(out, "{sign}{h:02}:{m:02}"),
            };
        }
    }
}

/// y and Y: two letters clip to the last two digits; otherwise zero-padded to the count.
fn year(out: &mut String, value: i64, count: usize) {
    if count == 2 {
        pad(out, value % 100, 2)
    } else {
        pad(out, value, count)
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        out.push('-');
    }
    let _ = write!(out, "{:0width$}", value.unsigned_abs(), width = width);
}

/// Java rounds an offset to whole minutes for Z and X (sub-minute local mean time offsets).
fn split_offset(offset: i32) -> (char, u32, u32) {
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    (sign, minutes / 60, minutes % 60)
}
