//! Calendar arithmetic on the proleptic Gregorian calendar, in plain integers.
//!
//! Days are counted from 1970-01-01 (day 0); weekdays use Java's numbering (1 = Sunday …
//! 7 = Saturday) and weeks follow `Locale.US`: a week starts on Sunday and week 1 of a year (or
//! month) is the one that holds its first day. Everything is total over `i64` inputs: callers
//! keep years within ±1,000,000 so nothing here overflows.

pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a civil date; `month` is 1-based and may be any value (it is
/// normalised into the year), and `day` may run past the month (lenient, like Java's calendar).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let month0 = month - 1;
    let year = year + month0.div_euclid(12);
    let month = month0.rem_euclid(12) + 1;
    // Howard Hinnant's days_from_civil, for the first of the month; then add the day.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + (day - 1)
}

/// The civil date (year, month 1-12, day 1-31) of a day count.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days in a month (1-12) of a year.
pub(crate) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days before the first of each month (0-11) in a common year.
const DAYS_BEFORE_MONTH: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// [`days_from_civil`] for a date already known to be valid (year 1..=9999, `month0` 0-11, day
/// within the month), in unsigned arithmetic: the common case of parsing, without the
/// normalising. `None` if the date is out of those ranges.
pub(crate) fn days_from_valid_date(year: i64, month0: i64, day: i64) -> Option<i64> {
    let year = u32::try_from(year)
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    let before_month = *DAYS_BEFORE_MONTH.get(usize::try_from(month0).ok()?)?;
    let day = u32::try_from(day).ok().filter(|d| (1..=31).contains(d))?;
    let leap_day = u32::from(month0 >= 2 && is_leap(i64::from(year)));
    let y = year - 1;
    let days = y * 365 + y / 4 - y / 100 + y / 400 + before_month + leap_day + day - 1;
    // 719 162 days from 0001-01-01 to 1970-01-01.
    Some(i64::from(days) - 719_162)
}

pub(crate) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Java's weekday of a day count: 1 = Sunday … 7 = Saturday. 1970-01-01 was a Thursday.
pub(crate) fn weekday(days: i64) -> i64 {
    (days + 4).rem_euclid(7) + 1
}

/// The Sunday on or before 1 January of `year`: the first day of its week 1.
pub(crate) fn week1_start(year: i64) -> i64 {
    let jan1 = days_from_civil(year, 1, 1);
    jan1 - (weekday(jan1) - 1)
}

/// (week year, week of year) of a day, with US weeks.
pub(crate) fn week_of_year(days: i64) -> (i64, i64) {
    let (year, _, _) = civil_from_days(days);
    let next = week1_start(year + 1);
    if days >= next {
        return (year + 1, 1);
    }
    (year, (days - week1_start(year)) / 7 + 1)
}

/// Number of weeks in a US week year.
pub(crate) fn weeks_in_week_year(year: i64) -> i64 {
    (week1_start(year + 1) - week1_start(year)) / 7
}

/// Week of the month (1-based; week 1 holds the first of the month).
pub(crate) fn week_of_month(days: i64, day_of_month: i64) -> i64 {
    let first = days - (day_of_month - 1);
    (day_of_month - 1 + weekday(first) - 1) / 7 + 1
}

/// Local civil fields of a local wall-clock time in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub days: i64,
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub millis_of_day: i64,
}

impl Civil {
    pub(crate) fn from_local_ms(local_ms: i64) -> Civil {
        let days = local_ms.div_euclid(MS_PER_DAY);
        let millis_of_day = local_ms.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            days,
            year,
            month,
            day,
            millis_of_day,
        }
    }

    pub(crate) fn day_of_year(&self) -> i64 {
        self.days - days_from_civil(self.year, 1, 1) + 1
    }

    pub(crate) fn hour_of_day(&self) -> i64 {
        self.millis_of_day / 3_600_000
    }
    pub(crate) fn minute(&self) -> i64 {
        self.millis_of_day / 60_000 % 60
    }
    pub(crate) fn second(&self) -> i64 {
        self.millis_of_day / 1000 % 60
    }
    pub(crate) fn milli(&self) -> i64 {
        self.millis_of_day % 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_round_trip_across_eras_and_leap_days() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(
            days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28),
            1
        );
        assert!(is_leap(2024) && is_leap(2000) && !is_leap(1900) && !is_leap(2023));
    }

    #[test]
    fn the_valid_date_shortcut_counts_days_as_the_general_formula_does() {
        for year in 1..=9999 {
            for month in 1..=12 {
                for day in [1, 28, days_in_month(year, month)] {
                    assert_eq!(
                        days_from_valid_date(year, month - 1, day),
                        Some(days_from_civil(year, month, day)),
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
        assert_eq!(days_from_valid_date(0, 0, 1), None);
        assert_eq!(days_from_valid_date(10_000, 0, 1), None);
        assert_eq!(days_from_valid_date(2026, 12, 1), None);
        assert_eq!(days_from_valid_date(2026, -1, 1), None);
        assert_eq!(days_from_valid_date(2026, 0, 0), None);
        assert_eq!(days_from_valid_date(2026, 0, 32), None);
    }

    #[test]
    fn weekdays_and_us_weeks_match_java() {
        assert_eq!(weekday(0), 5); // Thursday
        let nov28 = days_from_civil(2026, 11, 28);
        assert_eq!(weekday(nov28), 7);
        assert_eq!(week_of_year(nov28), (2026, 48));
        assert_eq!(week_of_year(days_from_civil(2025, 12, 28)), (2026, 1));
        assert_eq!(week_of_year(days_from_civil(2024, 12, 31)), (2025, 1));
        assert_eq!(week_of_month(nov28, 28), 4);
    }
}
