//! Time zones as Java's `TimeZone.getTimeZone` knows them, backed by jiff's bundled tz database.
//!
//! Accepted ids: IANA names (case-sensitive, as in Java), `GMT`, `UTC`, `Z`, Java's custom ids
//! `GMT±h[h][[:]mm]`, bare offsets `±h[h][[:]mm]`, and Java's three-letter ids: `EST`, `MST`,
//! `HST` are fixed offsets (−05:00, −07:00, −10:00), the others map to regions as Java's
//! `ZoneInfoFile` maps them (`PST` → `America/Los_Angeles`, `CST` → `America/Chicago`, `IST` →
//! `Asia/Kolkata`, `ECT` → `Europe/Paris`, …).
//!
//! The tz database is the one compiled into the binary (jiff's `tzdb-bundle-always`), never the
//! host's `/usr/share/zoneinfo`: results then do not depend on whether a machine has `tzdata`
//! installed or how old it is, just as Java carries its own `tzdb.dat`.
//!
//! Deliberate deviations from Java:
//! - an unknown id is an error; Java silently answers GMT (so `EDT`, `PDT`, `UTC+2` or
//!   `america/new_york` would quietly mean GMT there). The error suggests the right spelling
//!   when only the case is wrong;
//! - bare offsets (`-08:00`, `+6:00`) are accepted as `GMT-08:00`, `GMT+06:00`: Cloud Elements
//!   documents them for `${dateTimeZone:…}`, Java's `getTimeZone` alone would read GMT;
//! - before a zone adopted standard time (mostly before 1900), Java's `ZoneInfo` uses the
//!   zone's first standard offset where the tz database has local mean time; Tributary uses the
//!   tz database, with offsets truncated to whole minutes (Java's `Z` and `X` print minutes).
//!
//! A local time in a gap (spring forward) or an overlap (fall back) resolves as Java's
//! `GregorianCalendar` resolves it: with the offset in force before the transition for a gap
//! (so 02:30 on a New York spring-forward day is 03:30 EDT), and with the offset after the
//! transition for an overlap (standard time: the later of the two instants).

use std::fmt;
use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};

use super::civil::{Civil, MS_PER_DAY};
use super::names::{ZoneNames, match_zone_name, zone_names};

/// A time zone, compiled once per configuration. Cheap to clone.
#[derive(Clone)]
pub struct Zone {
    id: String,
    kind: Kind,
    names: Option<&'static ZoneNames>,
}

#[derive(Clone)]
enum Kind {
    /// A fixed offset in seconds east of UTC.
    Fixed(i32),
    Region(TimeZone),
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Fixed(seconds) => write!(f, "Zone({}, fixed {seconds}s)", self.id),
            Kind::Region(_) => write!(f, "Zone({})", self.id),
        }
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.id == other.id
    }
}

/// A zone id that Tributary does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("empty time zone")]
    Empty,
    #[error("unknown time zone {id:?}{}", suggestion.as_ref().map(|s| format!(" (did you mean {s:?}?)")).unwrap_or_default())]
    Unknown {
        id: String,
        suggestion: Option<String>,
    },
    #[error("time zone offset {id:?} out of range: hours must be 0-23 and minutes 0-59")]
    OffsetOutOfRange { id: String },
}

/// Java's deprecated three-letter ids that name regions (`ZoneInfoFile`'s old mappings).
const JAVA_SHORT_IDS: &[(&str, &str)] = &[
    ("ACT", "Australia/Darwin"),
    ("AET", "Australia/Sydney"),
    ("AGT", "America/Argentina/Buenos_Aires"),
    ("ART", "Africa/Cairo"),
    ("AST", "America/Anchorage"),
    ("BET", "America/Sao_Paulo"),
    ("BST", "Asia/Dhaka"),
    ("CAT", "Africa/Harare"),
    ("CNT", "America/St_Johns"),
    ("CST", "America/Chicago"),
    ("CTT", "Asia/Shanghai"),
    ("EAT", "Africa/Addis_Ababa"),
    ("ECT", "Europe/Paris"),
    ("IET", "America/Indiana/Indianapolis"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("MIT", "Pacific/Apia"),
    ("NET", "Asia/Yerevan"),
    ("NST", "Pacific/Auckland"),
    ("PLT", "Asia/Karachi"),
    ("PNT", "America/Phoenix"),
    ("PRT", "America/Puerto_Rico"),
    ("PST", "America/Los_Angeles"),
    ("SST", "Pacific/Guadalcanal"),
    ("VST", "Asia/Ho_Chi_Minh"),
];

fn database() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

impl Zone {
    /// UTC (Java's `GMT`).
    pub fn utc() -> Zone {
        Zone::fixed_named("UTC", 0)
    }

    /// A fixed offset east of UTC, named as Java names custom zones (`GMT-08:00`).
    pub fn fixed(offset_seconds: i32) -> Zone {
        Zone::fixed_named(&custom_id(offset_seconds), offset_seconds)
    }

    fn fixed_named(id: &str, offset_seconds: i32) -> Zone {
        Zone {
            id: id.to_owned(),
            kind: Kind::Fixed(offset_seconds),
            names: zone_names(id),
        }
    }

    /// Parses a zone id; see the module docs for what is accepted.
    pub fn parse(id: &str) -> Result<Zone, ZoneError> {
        let trimmed = id.trim();
        if trimmed.is_empty() {
            return Err(ZoneError::Empty);
        }
        match trimmed {
            "GMT" | "UTC" => return Ok(Zone::fixed_named(trimmed, 0)),
            // Java answers GMT for "Z" (an id it does not know, falling back to GMT).
            "Z" => return Ok(Zone::fixed_named("GMT", 0)),
            "EST" => return Ok(Zone::fixed_named("EST", -5 * 3600)),
            "MST" => return Ok(Zone::fixed_named("MST", -7 * 3600)),
            "HST" => return Ok(Zone::fixed_named("HST", -10 * 3600)),
            _ => {}
        }
        let offset_text = trimmed
            .strip_prefix("GMT")
            .filter(|rest| rest.starts_with(['+', '-']))
            .or_else(|| Some(trimmed).filter(|t| t.starts_with(['+', '-'])));
        if let Some(text) = offset_text {
            return match parse_custom_offset(text) {
                Some(Ok(seconds)) => Ok(Zone::fixed(seconds)),
                Some(Err(())) => Err(ZoneError::OffsetOutOfRange { id: id.to_owned() }),
                None => Err(ZoneError::Unknown {
                    id: id.to_owned(),
                    suggestion: None,
                }),
            };
        }
        let region = JAVA_SHORT_IDS
            .iter()
            .find(|(short, _)| *short == trimmed)
            .map_or(trimmed, |(_, region)| *region);
        match database().get(region) {
            // Java's ids are case-sensitive; jiff's lookup is not. Accept only an exact match.
            Ok(tz) if tz.iana_name() == Some(region) => Ok(Zone {
                id: trimmed.to_owned(),
                names: zone_names(trimmed).or_else(|| zone_names(region)),
                kind: Kind::Region(tz),
            }),
            Ok(tz) => Err(ZoneError::Unknown {
                id: id.to_owned(),
                suggestion: tz.iana_name().map(str::to_owned),
            }),
            Err(_) => Err(ZoneError::Unknown {
                id: id.to_owned(),
                suggestion: None,
            }),
        }
    }

    /// The id, as Java's `TimeZone.getID()` would print it (`GMT-08:00` for `GMT-8`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The offset from UTC in seconds at an instant.
    pub fn offset_seconds_at(&self, epoch_ms: i64) -> i32 {
        match &self.kind {
            Kind::Fixed(seconds) => *seconds,
            Kind::Region(tz) => whole_minutes(tz.to_offset(timestamp_clamped(epoch_ms))),
        }
    }

    /// Whether daylight saving time is in force at an instant.
    pub(crate) fn is_dst_at(&self, epoch_ms: i64) -> bool {
        match &self.kind {
            Kind::Fixed(_) => false,
            Kind::Region(tz) => tz
                .to_offset_info(timestamp_clamped(epoch_ms))
                .dst()
                .is_dst(),
        }
    }

    /// The tz database's abbreviation at an instant (`EST`, `+0545`), for zones Java's table
    /// here does not name.
    fn abbreviation_at(&self, epoch_ms: i64) -> Option<String> {
        match &self.kind {
            Kind::Fixed(_) => None,
            Kind::Region(tz) => Some(
                tz.to_offset_info(timestamp_clamped(epoch_ms))
                    .abbreviation()
                    .to_owned(),
            ),
        }
    }

    pub(crate) fn names(&self) -> Option<&'static ZoneNames> {
        self.names
    }

    /// What Java's `z` (`long == false`) or `zzzz` prints at an instant.
    pub(crate) fn display_name(&self, epoch_ms: i64, long: bool) -> String {
        let offset = self.offset_seconds_at(epoch_ms);
        if let Some(row) = self.names {
            let daylight = self.is_dst_at(epoch_ms);
            // A name says an offset (NPT is +05:45); where history had another (Kathmandu was
            // +05:30 until 1986), write the offset itself, so the text reads back as the same
            // instant. Java writes the name and reads it back wrong; see the module docs.
            if row.standard_offset + if daylight { 3600 } else { 0 } == offset {
                let index = usize::from(daylight) * 2 + usize::from(long);
                return row.names[index].to_owned();
            }
            return custom_id(offset);
        }
        // The tz database's abbreviation only where the parser reads it back as this offset:
        // `WIB`, `MSK` or a zone's `LMT` before standard time are not in the names table, and
        // writing them made text that its own pattern refused.
        if !long
            && let Some(abbreviation) = self.abbreviation_at(epoch_ms)
            && abbreviation.bytes().all(|b| b.is_ascii_alphabetic())
            && match_zone_name(abbreviation.as_bytes(), None) == Some((offset, abbreviation.len()))
        {
            return abbreviation;
        }
        custom_id(offset)
    }

    /// The instant of a local wall-clock time, resolving gaps and overlaps as Java does.
    pub(crate) fn local_to_epoch_ms(&self, local_ms: i64) -> i64 {
        let offset = match &self.kind {
            Kind::Fixed(seconds) => *seconds,
            Kind::Region(tz) => region_offset_for_local(tz, local_ms),
        };
        local_ms.saturating_sub(i64::from(offset) * 1000)
    }
}

fn region_offset_for_local(tz: &TimeZone, local_ms: i64) -> i32 {
    let civil = Civil::from_local_ms(local_ms);
    let ms = civil.millis_of_day;
    let datetime = i16::try_from(civil.year).ok().and_then(|year| {
        jiff::civil::DateTime::new(
            year,
            civil.month as i8,
            civil.day as i8,
            (ms / 3_600_000) as i8,
            (ms / 60_000 % 60) as i8,
            (ms / 1000 % 60) as i8,
            (ms % 1000) as i32 * 1_000_000,
        )
        .ok()
    });
    match datetime {
        Some(datetime) => match tz.to_ambiguous_timestamp(datetime).offset() {
            AmbiguousOffset::Unambiguous { offset } => whole_minutes(offset),
            // Java assumes the offset before the transition: 02:30 in a spring-forward gap
            // becomes 03:30 daylight time.
            AmbiguousOffset::Gap { before, .. } => whole_minutes(before),
            // Java assumes the offset after the transition (standard time): the later instant.
            AmbiguousOffset::Fold { after, .. } => whole_minutes(after),
        },
        // Outside jiff's years (±9999): the offset at the nearest end of its range.
        None => whole_minutes(tz.to_offset(timestamp_clamped(
            local_ms.clamp(-9999 * 366 * MS_PER_DAY, 9999 * 366 * MS_PER_DAY),
        ))),
    }
}

/// Offsets are kept to whole minutes, truncated as Java's `Z` and `X` print them: the local
/// mean time of a zone before it adopted standard time (Berlin +00:53:28 until 1893) loses
/// its seconds, so that a formatted local time and its printed offset always agree.
fn whole_minutes(offset: jiff::tz::Offset) -> i32 {
    offset.seconds() / 60 * 60
}

fn timestamp_clamped(epoch_ms: i64) -> Timestamp {
    let min = Timestamp::MIN.as_millisecond() + MS_PER_DAY;
    let max = Timestamp::MAX.as_millisecond() - MS_PER_DAY;
    Timestamp::from_millisecond(epoch_ms.clamp(min, max)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Java's `ZoneInfoFile.toCustomID`: `GMT+05:30`, `GMT-08:00`; `GMT` for zero... as Java prints
/// custom zones (a zero offset is `GMT+00:00`).
pub(crate) fn custom_id(offset_seconds: i32) -> String {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let minutes = offset_seconds.unsigned_abs() / 60;
    format!("GMT{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `±h`, `±hh`, `±h:mm`, `±hh:mm`, `±hhmm` (Java's `parseCustomTimeZone` after `GMT`).
/// `None` when the text is not an offset at all, `Some(Err)` when it is one out of range.
fn parse_custom_offset(text: &str) -> Option<Result<i32, ()>> {
    let bytes = text.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &bytes[1..];
    let digits = |s: &[u8]| -> Option<i32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0, |n, d| n * 10 + i32::from(d - b'0')))
    };
    let (hours, minutes) = match rest.iter().position(|&b| b == b':') {
        Some(colon) => {
            let (h, m) = (&rest[..colon], &rest[colon + 1..]);
            if h.len() > 2 || m.len() != 2 {
                return None;
            }
            (digits(h)?, digits(m)?)
        }
        None => match rest.len() {
            1 | 2 => (digits(rest)?, 0),
            4 => (digits(&rest[..2])?, digits(&rest[2..])?),
            _ => return None,
        },
    };
    if hours > 23 || minutes > 59 {
        return Some(Err(()));
    }
    Some(Ok(sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_offsets_follow_java_grammar() {
        assert_eq!(parse_custom_offset("-8"), Some(Ok(-8 * 3600)));
        assert_eq!(parse_custom_offset("+5:30"), Some(Ok(19_800)));
        assert_eq!(parse_custom_offset("+0200"), Some(Ok(7200)));
        assert_eq!(parse_custom_offset("+24:00"), Some(Err(())));
        assert_eq!(parse_custom_offset("+"), None);
        assert_eq!(parse_custom_offset("+123"), None);
    }

    #[test]
    fn the_bundled_database_is_used_even_without_system_tzdata() {
        let zone = Zone::parse("America/New_York").unwrap();
        assert_eq!(zone.offset_seconds_at(1_782_907_200_000), -4 * 3600);
    }
}
