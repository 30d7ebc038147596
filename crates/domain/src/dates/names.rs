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

/// Long names that each start with their three-letter short name (every English month and
/// weekday does). Short names are found by a perfect hash of their lower-cased letters, built
/// when compiling: one multiplication, one table look-up and one comparison, whatever the name.
#[derive(Debug)]
pub(crate) struct LongOrShort<const N: usize> {
    long: [&'static str; N],
    /// The short names as keys (see [`key`]).
    keys: [u32; N],
    /// `slots[slot(key, multiplier)]` is one more than the index of the name with that key;
    /// 0 where no name hashes.
    slots: [u8; SLOTS],
    multiplier: u32,
}

const SLOT_BITS: u32 = 5;
const SLOTS: usize = 1 << SLOT_BITS;

const fn slot(key: u32, multiplier: u32) -> usize {
    (key.wrapping_mul(multiplier) >> (32 - SLOT_BITS)) as usize
}

impl<const N: usize> LongOrShort<N> {
    /// Fails to compile (a panic in a constant) if a short name is not three ASCII letters
    /// that begin its long name.
    const fn new(long: &[&'static str; N], short: &[&'static str; N]) -> LongOrShort<N> {
        assert!(N < SLOTS);
        let mut keys = [0; N];
        let mut index = 0;
        while index < N {
            let (s, l) = (short[index].as_bytes(), long[index].as_bytes());
            assert!(s.len() == 3 && l.len() >= 3);
            assert!(s[0] == l[0] && s[1] == l[1] && s[2] == l[2]);
            assert!(
                s[0].is_ascii_alphabetic()
                    && s[1].is_ascii_alphabetic()
                    && s[2].is_ascii_alphabetic()
            );
            keys[index] = key(s[0], s[1], s[2]);
            index += 1;
        }
        // Odd multipliers from an arbitrary start until one sends every key to its own slot
        // (about one in ten does for twelve keys in 32 slots).
        let mut multiplier: u32 = 0x9e37_79b9;
        loop {
            let mut slots = [0u8; SLOTS];
            let mut index = 0;
            while index < N && slots[slot(keys[index], multiplier)] == 0 {
                slots[slot(keys[index], multiplier)] = index as u8 + 1;
                index += 1;
            }
            if index == N {
                return LongOrShort {
                    long: *long,
                    keys,
                    slots,
                    multiplier,
                };
            }
            multiplier = multiplier.wrapping_add(2);
        }
    }
}

pub(crate) const MONTH_NAMES: LongOrShort<12> = LongOrShort::new(&MONTHS_LONG, &MONTHS_SHORT);
pub(crate) const WEEKDAY_NAMES: LongOrShort<7> = LongOrShort::new(&WEEKDAYS_LONG, &WEEKDAYS_SHORT);

/// Three bytes, lower-cased, as one number: equal keys are equal ignoring ASCII case.
const fn key(a: u8, b: u8, c: u8) -> u32 {
    (a.to_ascii_lowercase() as u32) << 16
        | (b.to_ascii_lowercase() as u32) << 8
        | c.to_ascii_lowercase() as u32
}

/// Java's `matchString` for long names, then short ones (`MMM`, `MMMM`, `EEE`, `EEEE`):
/// every English long name starts with its three-letter short name, so find the short name
/// first and then see whether the rest of the long one follows. Returns (index, length in
/// bytes).
pub(crate) fn match_long_or_short<const N: usize>(
    text: &[u8],
    names: &LongOrShort<N>,
) -> Option<(usize, usize)> {
    let [a, b, c, ..] = *text else {
        return None;
    };
    let wanted = key(a, b, c);
    let index = usize::from(names.slots[slot(wanted, names.multiplier)]).checked_sub(1)?;
    if names.keys.get(index) != Some(&wanted) {
        return None;
    }
    let full = names.long[index].as_bytes();
    match text.get(3..full.len()) {
        Some(rest) if rest.eq_ignore_ascii_case(&full[3..]) => Some((index, full.len())),
        _ => Some((index, 3)),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `match_long_or_short` stands for: Java's `matchString` over the long names, then
    /// the short ones, ignoring ASCII case.
    fn reference(text: &[u8], long: &[&str], short: &[&str]) -> Option<(usize, usize)> {
        let starts = |name: &str| {
            text.len() >= name.len() && text[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        };
        (long.iter().position(|name| starts(name)))
            .map(|index| (index, long[index].len()))
            .or_else(|| {
                let index = short.iter().position(|name| starts(name))?;
                Some((index, short[index].len()))
            })
    }

    #[test]
    fn names_are_found_as_java_finds_them() {
        let mut texts: Vec<Vec<u8>> = Vec::new();
        // Every three bytes from letters of both cases and a few others, ...
        let bytes: Vec<u8> = (b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .chain([b' ', b'@', b'`', b'[', b'{', b'0', 0xc3, 0xa9])
            .collect();
        for &a in &bytes {
            for &b in &bytes {
                for &c in &bytes {
                    texts.push(vec![a, b, c]);
                }
            }
        }
        // ... and every name, in three cases, cut short, and followed by text.
        for name in MONTHS_LONG.iter().chain(&WEEKDAYS_LONG) {
            for name in [name.to_string(), name.to_lowercase(), name.to_uppercase()] {
                for end in 0..=name.len() {
                    texts.push(name.as_bytes()[..end].to_vec());
                    texts.push(format!("{}, 28", &name[..end]).into_bytes());
                    texts.push(format!("{}day", &name[..end]).into_bytes());
                }
            }
        }
        for text in &texts {
            assert_eq!(
                match_long_or_short(text, &MONTH_NAMES),
                reference(text, &MONTHS_LONG, &MONTHS_SHORT),
                "{text:?}"
            );
            assert_eq!(
                match_long_or_short(text, &WEEKDAY_NAMES),
                reference(text, &WEEKDAYS_LONG, &WEEKDAYS_SHORT),
                "{text:?}"
            );
        }
    }
}
