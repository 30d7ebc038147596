//! Compiling a `SimpleDateFormat` pattern into a list of items, as Java's `compile` does.

use super::PatternError;

/// Pattern letters, with Java's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Letter {
    Era,              // G
    Year,             // y
    WeekYear,         // Y
    Month,            // M
    MonthStandalone,  // L
    DayOfMonth,       // d
    DayOfYear,        // D
    DayOfWeekName,    // E
    IsoDayOfWeek,     // u
    DayOfWeekInMonth, // F
    WeekOfYear,       // w
    WeekOfMonth,      // W
    AmPm,             // a
    HourOfDay0,       // H 0-23
    HourOfDay1,       // k 1-24
    Hour0,            // K 0-11
    Hour1,            // h 1-12
    Minute,           // m
    Second,           // s
    Millisecond,      // S
    ZoneName,         // z
    ZoneRfc822,       // Z
    ZoneIso,          // X
}

impl Letter {
    fn from_char(c: char) -> Option<Letter> {
        Some(match c {
            'G' => Letter::Era,
            'y' => Letter::Year,
            'Y' => Letter::WeekYear,
            'M' => Letter::Month,
            'L' => Letter::MonthStandalone,
            'd' => Letter::DayOfMonth,
            'D' => Letter::DayOfYear,
            'E' => Letter::DayOfWeekName,
            'u' => Letter::IsoDayOfWeek,
            'F' => Letter::DayOfWeekInMonth,
            'w' => Letter::WeekOfYear,
            'W' => Letter::WeekOfMonth,
            'a' => Letter::AmPm,
            'H' => Letter::HourOfDay0,
            'k' => Letter::HourOfDay1,
            'K' => Letter::Hour0,
            'h' => Letter::Hour1,
            'm' => Letter::Minute,
            's' => Letter::Second,
            'S' => Letter::Millisecond,
            'z' => Letter::ZoneName,
            'Z' => Letter::ZoneRfc822,
            'X' => Letter::ZoneIso,
            _ => return None,
        })
    }

    /// Whether a field of this letter and count is read as a number; Java's `shouldObeyCount`
    /// (a numeric field right after another makes the first one fixed-width).
    pub(crate) fn is_numeric(self, count: usize) -> bool {
        match self {
            Letter::Month | Letter::MonthStandalone => count <= 2,
            Letter::Year
            | Letter::WeekYear
            | Letter::DayOfMonth
            | Letter::HourOfDay1
            | Letter::HourOfDay0
            | Letter::Minute
            | Letter::Second
            | Letter::Millisecond
            | Letter::DayOfYear
            | Letter::DayOfWeekInMonth
            | Letter::WeekOfYear
            | Letter::WeekOfMonth
            | Letter::Hour1
            | Letter::Hour0
            | Letter::IsoDayOfWeek => true,
            _ => false,
        }
    }

    /// The most digits a number field of this letter and count is written with (the count pads
    /// it further). A field followed directly by another number reads exactly `count` digits,
    /// so a count below this writes values it cannot read back (`yMMdd`: 2026 reads as 2).
    /// `None` for text fields and for fields written with exactly `count` digits (`yy`, `SSSS`
    /// and longer fractions).
    pub(crate) fn widest(self, count: usize) -> Option<usize> {
        if !self.is_numeric(count) {
            return None;
        }
        match self {
            Letter::Year | Letter::WeekYear if count == 2 => None,
            Letter::Millisecond if count >= 4 => None,
            Letter::Year | Letter::WeekYear => Some(4),
            Letter::DayOfYear | Letter::Millisecond => Some(3),
            Letter::DayOfWeekInMonth | Letter::WeekOfMonth | Letter::IsoDayOfWeek => Some(1),
            _ => Some(2),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Literal(String),
    Field {
        letter: Letter,
        count: usize,
        /// The next item is a numeric field: read at most `count` characters (Java's
        /// `obeyCount`).
        fixed_width: bool,
        /// Byte offset of the field in the pattern, for messages.
        position: usize,
    },
}

/// Longest run of one letter Tributary accepts: Java has no limit, but a pattern asking for a
/// 65-digit year is a mistake, and a limit keeps formatting bounded.
pub(crate) const MAX_COUNT: usize = 64;

pub(crate) fn compile(pattern: &str) -> Result<Vec<Item>, PatternError> {
    let mut items: Vec<Item> = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.char_indices().peekable();
    while let Some((position, c)) = chars.next() {
        if c == '\'' {
            // '' outside quotes is one quote; otherwise quote until the closing '.
            if chars.peek().is_some_and(|&(_, next)| next == '\'') {
                chars.next();
                literal.push('\'');
                continue;
            }
            loop {
                match chars.next() {
                    None => return Err(PatternError::UnterminatedQuote { position }),
                    Some((_, '\'')) => {
                        if chars.peek().is_some_and(|&(_, next)| next == '\'') {
                            chars.next();
                            literal.push('\'');
                        } else {
                            break;
                        }
                    }
                    Some((_, inner)) => literal.push(inner),
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            literal.push(c);
            continue;
        }
        let letter = Letter::from_char(c).ok_or(PatternError::UnknownLetter {
            letter: c,
            position,
        })?;
        let mut count = 1;
        while chars.peek().is_some_and(|&(_, next)| next == c) {
            chars.next();
            count += 1;
        }
        if count > MAX_COUNT {
            return Err(PatternError::TooManyLetters {
                letter: c,
                count,
                position,
            });
        }
        if letter == Letter::ZoneIso && count > 3 {
            return Err(PatternError::TooManyLetters {
                letter: c,
                count,
                position,
            });
        }
        if !literal.is_empty() {
            items.push(Item::Literal(std::mem::take(&mut literal)));
        }
        items.push(Item::Field {
            letter,
            count,
            fixed_width: false,
            position,
        });
    }
    if !literal.is_empty() {
        items.push(Item::Literal(literal));
    }
    // Java's obeyCount: a numeric field followed directly by a numeric field reads at most
    // `count` characters ("yyyyMMdd").
    for index in 1..items.len() {
        let next_numeric =
            matches!(items[index], Item::Field { letter, count, .. } if letter.is_numeric(count));
        if let Item::Field { fixed_width, .. } = &mut items[index - 1] {
            *fixed_width = next_numeric;
        }
    }
    Ok(items)
}
