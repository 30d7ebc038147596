//! The date round trip both date targets check (`date_parse`, `pattern_compile`): an instant
//! written with a pattern reads back as an instant that is written the same (the instant at the
//! pattern's precision), and as the very instant when the pattern is lossless and the zone
//! fixed. Patterns Tributary warns about (`DatePattern::warnings`: a week year read as a year, a
//! day of the year next to a month, a number running into the next one) read back what Java
//! reads, which is not what they wrote; so do two Java rules no warning names (see
//! [`reads_less_than_it_writes`]). A pattern without a whole date may be refused its own text: a
//! day of the week (`E`, `u`, `F`, `w`, `W`) is checked against the date the text lacks.

use tributary_domain::dates::{DatePattern, ParseErrorKind, Zone};

/// 0100-01-02T00:00:00Z. Before it, Java's two-digit-year window makes `y` read the years 10-99
/// it writes with two digits as 2010-2099 (`tests/dates_table.rs` pins that), so the round trip
/// starts here.
pub const FIRST_ROUND_TRIP_MS: i64 = -59_011_372_800_000;

pub fn round_trip(pattern: &DatePattern, zone: &Zone, fixed: bool, instant: i64) {
    if instant < FIRST_ROUND_TRIP_MS {
        let _ = pattern.parse(&pattern.format(instant, zone), zone);
        return;
    }
    let source = pattern.source();
    let sound = pattern.warnings().is_empty()
        && !reads_less_than_it_writes(source)
        && (in_two_digit_window(instant) || !has_two_digit_year(source))
        && (fixed || has_date_and_time(source))
        && weeks_read_back(source);
    let exact = fixed && pattern.is_lossless();
    let formatted = pattern.format(instant, zone);
    match pattern.parse(&formatted, zone) {
        Ok(parsed) => {
            let again = pattern.format(parsed, zone);
            assert!(
                again == formatted || !sound,
                "{source:?} in {}: {instant} is written {formatted:?}, which reads {parsed}, \
                 written {again:?}",
                zone.id()
            );
            assert!(
                parsed == instant || !exact,
                "{source:?} is lossless, but in {} {instant} is written {formatted:?}, which \
                 reads {parsed}",
                zone.id()
            );
        }
        Err(error) => {
            // In a zone east of UTC, 9999-12-30 is already 10000 somewhere (as a year, or as the
            // week year of 9999's last days).
            let far = match error.kind {
                ParseErrorKind::YearOutOfRange(_) => true,
                ParseErrorKind::OutOfRange { field, .. } => field.ends_with("year"),
                _ => false,
            };
            let partial =
                matches!(error.kind, ParseErrorKind::Inconsistent { .. }) && !pattern.is_lossless();
            assert!(
                far || partial || !(sound || exact),
                "{source:?} in {}: {instant} is written {formatted:?}, which does not parse: \
                 {error}",
                zone.id()
            );
        }
    }
}

/// Whether the pattern writes a whole date and time, to the second. Without them, a region's
/// offset is taken at the instant the text does not give: `XX` writes New York's summer -0400,
/// which reads back at 1970-01-01, in winter; a pattern without hours reads midnight, which may
/// be on the other side of a change. So only a fixed zone gives such text back.
fn has_date_and_time(source: &str) -> bool {
    let fields = fields(source);
    let has = |wanted: &[char]| fields.iter().any(|(letter, _)| wanted.contains(letter));
    let date = has(&['y']) && (has(&['M', 'L']) && has(&['d']) || has(&['D']));
    let hour = has(&['H', 'k']) || has(&['h', 'K']) && has(&['a']);
    date && hour && has(&['m']) && has(&['s'])
}

/// Week fields (`Y`, `w`, `W`, `F`) read back what they wrote only beside a whole calendar date
/// (`y`, `M`/`L` and `d`, or `y` and `D`), which they are checked against, or as a whole week
/// date alone (`Y`, `w`, and `u` or `E`). Otherwise Java makes a date of them in its own way
/// (`Y w` is the first day of that week, whose `W` is another).
fn weeks_read_back(source: &str) -> bool {
    let fields = fields(source);
    let has = |wanted: &[char]| fields.iter().any(|(letter, _)| wanted.contains(letter));
    if !has(&['Y', 'w', 'W', 'F']) {
        return true;
    }
    let calendar_date = has(&['y']) && (has(&['M', 'L']) && has(&['d']) || has(&['D']));
    let week_date = has(&['Y']) && has(&['w']) && has(&['u', 'E']);
    (calendar_date && !has(&['Y'])) || (week_date && !has(&['y', 'M', 'L', 'd', 'D', 'W', 'F']))
}

/// A two-digit year reads as a year of the window starting 1946-06-01; outside it the instant
/// moves by centuries, and in a region its zone's offset with it (1277 wrote +00:53, 1977 reads
/// as CET), so the text reads back as other text.
fn in_two_digit_window(instant: i64) -> bool {
    let start = DatePattern::DEFAULT_TWO_DIGIT_YEAR_START_MS;
    // 100 years of 365.25 days, less a day for the zones either side of UTC.
    (start + 86_400_000..start + 3_155_760_000_000 - 86_400_000).contains(&instant)
}

fn has_two_digit_year(source: &str) -> bool {
    fields(source)
        .iter()
        .any(|&(letter, count)| count == 2 && (letter == 'y' || letter == 'Y'))
}

/// Java rules by which a pattern reads less than it wrote: a two-digit year beside another year
/// field (Java reads the last, without its century); a single `X` (it writes only the hours of
/// an offset, so +05:30 reads back as +05); a digit right after a number field (the number reads
/// it as its own: `yyyy2`); a week year beside a year (Java reads the week date and ignores the
/// calendar date it also wrote).
fn reads_less_than_it_writes(source: &str) -> bool {
    let (fields, digit_after_field) = scan(source);
    let count = |wanted: char| {
        fields
            .iter()
            .filter(|(letter, _)| *letter == wanted)
            .count()
    };
    let two_digit_year = fields.contains(&('y', 2));
    (two_digit_year && count('y') > 1)
        || (count('y') > 0 && count('Y') > 0)
        || fields.contains(&('X', 1))
        || digit_after_field
}

fn fields(source: &str) -> Vec<(char, usize)> {
    scan(source).0
}

/// The pattern's fields as (letter, count), quoted text and literals left out; and whether a
/// literal digit follows a field directly.
fn scan(source: &str) -> (Vec<(char, usize)>, bool) {
    let mut fields: Vec<(char, usize)> = Vec::new();
    let mut digit_after_field = false;
    let mut chars = source.chars().peekable();
    // in_field: the last character was a field's letter; after_field: no literal since then.
    let (mut quoted, mut in_field, mut after_field) = (false, false, false);
    while let Some(c) = chars.next() {
        in_field &= c.is_ascii_alphabetic() && !quoted;
        if c == '\'' {
            // '' is a quote character, inside quotes or out; one ' opens or closes a quote.
            if chars.peek() == Some(&'\'') {
                chars.next();
                after_field = false;
            } else {
                quoted = !quoted;
            }
            continue;
        }
        if quoted || !c.is_ascii_alphabetic() {
            digit_after_field |= after_field && c.is_ascii_digit();
            after_field = false;
            continue;
        }
        match fields.last_mut() {
            Some((letter, count)) if in_field && *letter == c => *count += 1,
            _ => fields.push((c, 1)),
        }
        (in_field, after_field) = (true, true);
    }
    (fields, digit_after_field)
}
