//! English names: months, weekdays, eras, AM/PM, and the time-zone names Java's `z` prints and
//! reads (Java 17, `Locale.US`, CLDR data), for the zones configurations actually use.

pub(crate) const MONTHS_LONG: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const MONTHS_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Index 0 is Sunday (Java's weekday 1).
pub(crate) const WEEKDAYS_LONG: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
pub(crate) const WEEKDAYS_SHORT: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
pub(crate) const AM_PM: [&str; 2] = ["AM", "PM"];
pub(crate) const ERAS: [&str; 2] = ["BC", "AD"];

/// Java's `matchString` for long names, then short ones (`MMM`, `MMMM`, `EEE`, `EEEE`):
/// every English long name starts with its three-letter short name, so find the short name
/// first and then see whether the long one follows. Returns (index, length in bytes).
pub(crate) fn match_long_or_short(
    text: &[u8],
    long: &[&str],
    short: &[&str],
) -> Option<(usize, usize)> {
    let head = text.get(..3)?;
    let key = |b: &[u8]| {
        u32::from(b[0].to_ascii_lowercase()) << 16
            | u32::from(b[1].to_ascii_lowercase()) << 8
            | u32::from(b[2].to_ascii_lowercase())
    };
    let wanted = key(head);
    // Short names are three ASCII letters; compare them as one number.
    let index = short
        .iter()
        .position(|name| name.len() == 3 && key(name.as_bytes()) == wanted)?;
    let full = long[index].as_bytes();
    if text.len() >= full.len() && text[..full.len()].eq_ignore_ascii_case(full) {
        Some((index, full.len()))
    } else {
        Some((index, head.len()))
    }
}

/// Java's `matchString`: the longest name that the text starts with, ignoring ASCII case.
/// Returns (index, length in bytes).
pub(crate) fn match_name(text: &[u8], names: &[&str]) -> Option<(usize, usize)> {
    let first = text.first()?.to_ascii_lowercase();
    let mut best: Option<(usize, usize)> = None;
    for (index, name) in names.iter().enumerate() {
        if name.as_bytes()[0].to_ascii_lowercase() != first {
            continue;
        }
        let len = name.len();
        if best.is_some_and(|(_, best_len)| len <= best_len) {
            continue;
        }
        if text.len() >= len && text[..len].eq_ignore_ascii_case(name.as_bytes()) {
            best = Some((index, len));
        }
    }
    best
}

/// Names of one zone as Java prints them: (standard short, standard long, daylight short,
/// daylight long), with the zone's standard offset in seconds.
#[derive(Debug)]
pub(crate) struct ZoneNames {
    pub ids: &'static [&'static str],
    pub standard_offset: i32,
    pub names: [&'static str; 4],
}

const H: i32 = 3600;

/// Order matters for parsing a name shared by several zones: the configured zone's own names
/// are tried first, then this table from the top (Java searches its whole zone table in an
/// order of its own; these choices match what it returns for the US formatter default).
pub(crate) const ZONE_NAMES: &[ZoneNames] = &[
    ZoneNames {
        ids: &["GMT", "Etc/GMT", "Greenwich", "Europe/London"],
        standard_offset: 0,
        names: ["GMT", "Greenwich Mean Time", "BST", "British Summer Time"],
    },
    ZoneNames {
        ids: &["UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Zulu"],
        standard_offset: 0,
        names: [
            "UTC",
            "Coordinated Universal Time",
            "UTC",
            "Coordinated Universal Time",
        ],
    },
    ZoneNames {
        ids: &[
            "America/New_York",
            "US/Eastern",
            "EST5EDT",
            "America/Detroit",
            "America/Toronto",
            "America/Indiana/Indianapolis",
            "IET",
            "EST",
        ],
        standard_offset: -5 * H,
        names: [
            "EST",
            "Eastern Standard Time",
            "EDT",
            "Eastern Daylight Time",
        ],
    },
    ZoneNames {
        ids: &["America/Chicago", "US/Central", "CST6CDT", "CST"],
        standard_offset: -6 * H,
        names: [
            "CST",
            "Central Standard Time",
            "CDT",
            "Central Daylight Time",
        ],
    },
    ZoneNames {
        ids: &[
            "America/Denver",
            "US/Mountain",
            "MST7MDT",
            "America/Phoenix",
            "US/Arizona",
            "PNT",
            "MST",
        ],
        standard_offset: -7 * H,
        names: [
            "MST",
            "Mountain Standard Time",
            "MDT",
            "Mountain Daylight Time",
        ],
    },
    ZoneNames {
        ids: &["America/Los_Angeles", "US/Pacific", "PST8PDT", "PST"],
        standard_offset: -8 * H,
        names: [
            "PST",
            "Pacific Standard Time",
            "PDT",
            "Pacific Daylight Time",
        ],
    },
    ZoneNames {
        ids: &["America/Anchorage", "US/Alaska", "AST"],
        standard_offset: -9 * H,
        names: [
            "AKST",
            "Alaska Standard Time",
            "AKDT",
            "Alaska Daylight Time",
        ],
    },
    ZoneNames {
        ids: &["Pacific/Honolulu", "US/Hawaii", "HST"],
        standard_offset: -10 * H,
        names: ["HST", "Hawaii Standard Time", "HDT", "Hawaii Daylight Time"],
    },
    ZoneNames {
        ids: &[
            "Europe/Berlin",
            "Europe/Paris",
            "Europe/Amsterdam",
            "Europe/Brussels",
            "Europe/Madrid",
            "Europe/Rome",
            "Europe/Vienna",
            "Europe/Zurich",
            "Europe/Stockholm",
            "Europe/Oslo",
            "Europe/Copenhagen",
            "Europe/Warsaw",
            "Europe/Prague",
            "Europe/Budapest",
            "CET",
            "ECT",
        ],
        standard_offset: H,
        names: [
            "CET",
            "Central European Standard Time",
            "CEST",
            "Central European Summer Time",
        ],
    },
    ZoneNames {
        ids: &[
            "Europe/Athens",
            "Europe/Helsinki",
            "Europe/Kiev",
            "Europe/Kyiv",
            "Europe/Bucharest",
            "Europe/Sofia",
            "EET",
        ],
        standard_offset: 2 * H,
        names: [
            "EET",
            "Eastern European Standard Time",
            "EEST",
            "Eastern European Summer Time",
        ],
    },
    ZoneNames {
        ids: &["Europe/Lisbon", "WET", "Atlantic/Canary"],
        standard_offset: 0,
        names: [
            "WET",
            "Western European Standard Time",
            "WEST",
            "Western European Summer Time",
        ],
    },
    ZoneNames {
        ids: &["Asia/Kolkata", "Asia/Calcutta", "IST"],
        standard_offset: 5 * H + 1800,
        names: ["IST", "India Standard Time", "IST", "India Standard Time"],
    },
    ZoneNames {
        ids: &["Asia/Tokyo", "JST", "Japan"],
        standard_offset: 9 * H,
        names: ["JST", "Japan Standard Time", "JDT", "Japan Daylight Time"],
    },
    ZoneNames {
        ids: &["Asia/Kathmandu", "Asia/Katmandu"],
        standard_offset: 5 * H + 2700,
        names: ["NPT", "Nepal Time", "NPT", "Nepal Time"],
    },
    ZoneNames {
        ids: &["America/Sao_Paulo", "BET"],
        standard_offset: -3 * H,
        names: [
            "BRT",
            "Brasilia Standard Time",
            "BRST",
            "Brasilia Summer Time",
        ],
    },
    ZoneNames {
        ids: &[
            "Australia/Sydney",
            "Australia/Melbourne",
            "Australia/Canberra",
            "AET",
        ],
        standard_offset: 10 * H,
        names: [
            "AEST",
            "Australian Eastern Standard Time",
            "AEDT",
            "Australian Eastern Daylight Time",
        ],
    },
];

/// The names row of a zone id, if Tributary knows Java's names for it.
pub(crate) fn zone_names(id: &str) -> Option<&'static ZoneNames> {
    ZONE_NAMES.iter().find(|row| row.ids.contains(&id))
}

/// Java's `subParseZoneString`, reduced to [`ZONE_NAMES`]: the first row (the configured zone's
/// row first) with a name that starts the text. Returns (offset seconds, bytes consumed).
pub(crate) fn match_zone_name(text: &[u8], own: Option<&ZoneNames>) -> Option<(i32, usize)> {
    let rows = own.into_iter().chain(ZONE_NAMES.iter());
    for row in rows {
        // Java checks long standard, short standard, long daylight, short daylight in turn.
        for index in [1, 0, 3, 2] {
            let name = row.names[index];
            if text.len() >= name.len() && text[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            {
                let daylight = index >= 2 && row.names[index] != row.names[index - 2];
                let offset = row.standard_offset + if daylight { H } else { 0 };
                return Some((offset, name.len()));
            }
        }
    }
    None
}
