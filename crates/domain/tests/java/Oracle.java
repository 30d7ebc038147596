// The oracle for Tributary's Java date patterns: prints what java.text.SimpleDateFormat and
// java.util.TimeZone do for every case of crates/domain/tests/dates_table.rs, as Rust source.
//
// Run (JDK 17, the Java that Cloud Elements configurations were written against):
//
//   cd crates/domain/tests/java && javac -d /tmp/oracle Oracle.java \
//     && java -Duser.timezone=UTC -Duser.language=en -Duser.country=US -cp /tmp/oracle Oracle \
//        > cases.rs
//
// which rewrites the tables that tests/dates_table.rs includes. CI does not run this (it has no
// Java); the Rust tests carry the printed values as literals.
//
// Conventions fixed here and mirrored in Rust:
// - Locale.US (English names; weeks start on Sunday, the first week has at least one day);
// - set2DigitYearStart(1946-06-01T00:00:00Z): the window Java picks for a formatter made in mid
//   2026, and Tributary's default (`DatePattern::DEFAULT_TWO_DIGIT_YEAR_START_MS`);
// - each parse case is run twice, with setLenient(false) and with Java's default (lenient), and
//   reports the epoch ms and how many input bytes (UTF-8) were consumed, or the error index.
import java.nio.charset.StandardCharsets;
import java.text.ParsePosition;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.Locale;
import java.util.TimeZone;

public class Oracle {
    static final long CENTURY_START = -743_990_400_000L; // 1946-06-01T00:00:00Z

    // {pattern, zone, input, what Tributary follows, note}; what Tributary follows is strict (Java
// with setLenient(false)), lenient (Java's default), reject (Tributary refuses what Java takes)
// or differs:INSTANT (Tributary reads INSTANT, an ISO instant in the proleptic Gregorian
// calendar, where Java reads something else; each is a documented deviation).
    static final String[][] PARSE = {
        // The seed's own pattern (infusionsoftrest appointments, research §4.3).
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.039Z", "strict", "seed pattern"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2024-02-29T23:59:59.999Z", "strict", "leap day"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2023-02-29T00:00:00.000Z", "strict", "no leap day in 2023: strict rejects"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "1900-02-29T00:00:00.000Z", "strict", "1900 is not a leap year"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2000-02-29T00:00:00.000Z", "strict", "2000 is"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "America/New_York", "2026-07-01T12:00:00.000Z", "strict", "a quoted 'Z' is only a letter: the configured zone applies"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.39Z", "strict", "S counts milliseconds: .39 is 39 ms, not 390"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.5Z", "strict", ".5 is 5 ms"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.039+0000", "strict", "the literal Z does not match +"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59Z", "strict", "missing fraction"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-1-1T2:7:9.39Z", "strict", "numbers are read whatever their width"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", " 2017-01-01T22:17:59.039Z", "strict", "spaces before a number are skipped"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.039Zjunk", "strict", "Java stops before trailing text; Tributary's parse wants all, parse_prefix does not"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.039z", "strict", "literals are case-sensitive"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01t22:17:59.039Z", "strict", "literals are case-sensitive"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-13-01T00:00:00.000Z", "strict", "month 13: strict rejects, lenient rolls over"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-00-10T00:00:00.000Z", "strict", "month 0"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-32T00:00:00.000Z", "strict", "day 32"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-04-31T00:00:00.000Z", "strict", "April 31"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T24:00:00.000Z", "strict", "H 24"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T23:60:00.000Z", "strict", "minute 60"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2016-12-31T23:59:60.000Z", "strict", "no leap seconds"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T00:00:00.1000Z", "strict", "SSS given 1000 ms"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "+2017-01-01T00:00:00.000Z", "strict", "no plus sign"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "-2017-01-01T00:00:00.000Z", "strict", "year -2017"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "0000-01-01T00:00:00.000Z", "strict", "year 0"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "20170-01-01T00:00:00.000Z", "reject", "five-digit year: Tributary keeps years within 1..9999"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "", "strict", "empty"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2017-01-01T22:17:59.", "strict", "truncated"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "2026-11-28 10:00:00.000Z", "strict", "space for T"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "GMT", "2026-11-28T10:00:00.000-04:00", "strict", "orders' offset form (CE tests)"},
        // Fractions
        {"yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "GMT", "2024-05-01T10:00:00.123456", "differs:2024-05-01T10:00:00.123Z", "Java adds 123456 ms; Tributary reads six S as a fraction"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSSSSS", "GMT", "2024-05-01T10:00:00.999999", "differs:2024-05-01T10:00:00.999Z", "Java: 16 minutes later"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX", "GMT", "2024-05-01T10:00:00.000001+02:00", "differs:2024-05-01T08:00:00.000Z", "closeio's form"},
        {"yyyy-MM-dd'T'HH:mm:ss.S", "GMT", "2024-05-01T10:00:00.123", "strict", "one S still reads all digits"},
        {"yyyy-MM-dd'T'HH:mm:ss.SS", "GMT", "2024-05-01T10:00:00.12", "strict", "12 ms"},
        {"HHmmssSSS", "GMT", "101112123", "strict", "abutting fields obey their counts"},
        // Two-digit years
        {"yy-MM-dd", "GMT", "26-11-28", "strict", "2026"},
        {"yy-MM-dd", "GMT", "45-01-01", "strict", "2045: inside the 100 years after 1946-06-01"},
        {"yy-MM-dd", "GMT", "46-01-01", "strict", "46 is ambiguous: 1946-01-01 is before the start, so 2046"},
        {"yy-MM-dd", "GMT", "46-07-01", "strict", "1946-07-01 is after the start"},
        {"yy-MM-dd", "GMT", "99-12-31", "strict", "1999"},
        {"yy-MM-dd", "GMT", "00-01-01", "strict", "2000"},
        {"yy-MM-dd", "GMT", "2026-11-28", "strict", "four digits are taken literally"},
        {"yy-MM-dd", "GMT", "126-11-28", "differs:0126-11-28T00:00:00Z", "year 126: Java's Julian calendar is a day off the proleptic Gregorian"},
        {"yy-MM-dd", "GMT", "5-11-28", "differs:0005-11-28T00:00:00Z", "one digit: year 5"},
        {"y-MM-dd", "GMT", "26-11-28", "strict", "y behaves as yy when parsing"},
        {"yyyy-MM-dd", "GMT", "26-11-28", "differs:0026-11-28T00:00:00Z", "yyyy takes 26 literally"},
        {"yyMMdd", "GMT", "261128", "strict", "abutting two-digit year"},
        // Month and day names
        {"dd MMM yyyy", "GMT", "28 Nov 2026", "strict", ""},
        {"dd MMM yyyy", "GMT", "28 nov 2026", "strict", "names ignore case"},
        {"dd MMM yyyy", "GMT", "28 November 2026", "strict", "MMM also takes the long name"},
        {"dd MMM yyyy", "GMT", "28 NOVEMBER 2026", "strict", ""},
        {"dd MMM yyyy", "GMT", "28 Novem 2026", "strict", "a prefix of a long name is not a name"},
        {"dd MMMM yyyy", "GMT", "28 Nov 2026", "strict", "MMMM also takes the short name"},
        {"dd MMMM yyyy", "GMT", "28 September 2026", "strict", ""},
        {"dd MMM yyyy", "GMT", "28 Sept 2026", "strict", "Sept is not English short for September in Java"},
        {"dd MMM yyyy", "GMT", "28 11 2026", "strict", "MMM wants a name"},
        {"dd MM yyyy", "GMT", "28 Nov 2026", "strict", "MM wants a number"},
        {"dd LLL yyyy", "GMT", "28 Nov 2026", "strict", "L is the stand-alone month"},
        {"LL/yyyy", "GMT", "11/2026", "strict", "day defaults to 1"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 +0000", "strict", "RFC 822"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 -0800", "strict", ""},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Fri, 28 Nov 2026 10:00:00 +0000", "strict", "wrong weekday: strict rejects, lenient ignores"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Saturday, 28 Nov 2026 10:00:00 +0000", "strict", "EEE takes the long name"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "sat, 28 nov 2026 10:00:00 +0000", "strict", ""},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 GMT", "strict", "Z accepts GMT"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 Z", "strict", "does Z accept a bare Z?"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 +00:00", "strict", "Z with a colon"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 EST", "strict", "Z accepts zone names"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 UTC", "strict", ""},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 +2400", "strict", "hours above 23"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 +0060", "strict", "minutes above 59"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "Sat, 28 Nov 2026 10:00:00 +100", "strict", "three digits"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "America/New_York", "Sat, 28 Nov 2026 10:00:00 +0100", "strict", "the text's offset beats the zone"},
        {"EEEE, MMMM d, yyyy", "GMT", "Saturday, November 28, 2026", "strict", ""},
        {"EEEE, MMMM d, yyyy", "GMT", "Sat, Nov 28, 2026", "strict", ""},
        {"EEEE yyyy-MM-dd", "GMT", "Tuesday 2026-11-28", "strict", ""},
        {"E yyyy-MM-dd", "GMT", "Sun 2026-11-29", "strict", ""},
        // z
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 PDT", "strict", "daylight name"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 PST", "strict", "standard name in summer: still -8"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-01-15 12:00 EST", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 EDT", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 CDT", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 MST", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 CEST", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-01-15 12:00 CET", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 BST", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 JST", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 GMT+02:00", "strict", "z with a custom GMT offset"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 GMT-8", "strict", "one-digit hour after GMT"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 GMT+0200", "strict", "no colon after GMT"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 GMT", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "America/New_York", "2026-07-01 12:00 gmt", "strict", "GMT ignores case"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 UTC", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 +0200", "strict", "z takes RFC 822 too"},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 +02:00", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 Z", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "GMT", "2026-07-01 12:00 XYZ", "strict", "unknown name"},
        {"yyyy-MM-dd HH:mm zzzz", "GMT", "2026-07-01 12:00 Pacific Daylight Time", "strict", "long names"},
        {"yyyy-MM-dd HH:mm zzzz", "GMT", "2026-01-15 12:00 Eastern Standard Time", "strict", ""},
        // X
        {"yyyy-MM-dd'T'HH:mm:ssX", "America/New_York", "2026-07-01T12:00:00Z", "strict", "X takes Z for UTC"},
        {"yyyy-MM-dd'T'HH:mm:ssX", "GMT", "2026-07-01T12:00:00+02", "strict", ""},
        {"yyyy-MM-dd'T'HH:mm:ssX", "GMT", "2026-07-01T12:00:00-08", "strict", ""},
        {"yyyy-MM-dd'T'HH:mm:ssX", "GMT", "2026-07-01T12:00:00+0530", "strict", "X reads only the hours; the rest is trailing"},
        {"yyyy-MM-dd'T'HH:mm:ssX", "GMT", "2026-07-01T12:00:00+2", "strict", "X wants two digits"},
        {"yyyy-MM-dd'T'HH:mm:ssXX", "GMT", "2026-07-01T12:00:00+0530", "strict", ""},
        {"yyyy-MM-dd'T'HH:mm:ssXX", "GMT", "2026-07-01T12:00:00+05:30", "strict", "XX has no colon"},
        {"yyyy-MM-dd'T'HH:mm:ssXX", "GMT", "2026-07-01T12:00:00Z", "strict", ""},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2026-07-01T12:00:00+05:30", "strict", ""},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2026-07-01T12:00:00Z", "strict", ""},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2026-07-01T12:00:00+0530", "strict", "XXX needs the colon"},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2026-07-01T12:00:00z", "strict", "lower-case z is not UTC"},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2026-07-01T12:00:00GMT", "strict", "X does not take GMT"},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "GMT", "2026-07-01T12:00:00-00:00", "strict", ""},
        // 12-hour clocks
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 12:00 AM", "strict", "12 AM is midnight"},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 12:00 PM", "strict", "12 PM is noon"},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 12:30 AM", "strict", ""},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 01:00 PM", "strict", ""},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 11:59 PM", "strict", ""},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 00:30 AM", "strict", "h 0: strict rejects"},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 13:00 PM", "strict", "h 13"},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 12:00 am", "strict", "am ignores case"},
        {"yyyy-MM-dd hh:mm a", "GMT", "2026-11-28 12:00 A.M.", "strict", ""},
        {"yyyy-MM-dd hh:mm", "GMT", "2026-11-28 12:00", "strict", "no a: AM"},
        {"yyyy-MM-dd hh:mm", "GMT", "2026-11-28 07:00", "strict", ""},
        {"yyyy-MM-dd KK:mm a", "GMT", "2026-11-28 00:00 AM", "strict", "K is 0-11"},
        {"yyyy-MM-dd KK:mm a", "GMT", "2026-11-28 11:30 PM", "strict", ""},
        {"yyyy-MM-dd KK:mm a", "GMT", "2026-11-28 00:15 PM", "strict", ""},
        {"yyyy-MM-dd KK:mm a", "GMT", "2026-11-28 12:00 PM", "strict", "K 12: strict rejects"},
        {"yyyy-MM-dd kk:mm", "GMT", "2026-11-28 24:00", "strict", "k 24 is midnight, the same day"},
        {"yyyy-MM-dd kk:mm", "GMT", "2026-11-28 01:00", "strict", ""},
        {"yyyy-MM-dd kk:mm", "GMT", "2026-11-28 00:00", "strict", "k 0: strict rejects"},
        {"yyyy-MM-dd HH:mm", "GMT", "2026-11-28 00:00", "strict", ""},
        {"yyyy-MM-dd HH:mm", "GMT", "2026-11-28 23:59", "strict", ""},
        {"yyyy-MM-dd HH:mm a", "GMT", "2026-11-28 13:00 AM", "strict", "H with a: H wins"},
        {"HH:mm", "GMT", "10:30", "strict", "date defaults to 1970-01-01"},
        {"HH:mm", "America/New_York", "10:30", "strict", ""},
        // D u F w W Y G
        {"yyyy-DDD", "GMT", "2024-060", "strict", "day 60 of a leap year is Feb 29"},
        {"yyyy-DDD", "GMT", "2023-366", "strict", "no day 366"},
        {"yyyy-DDD", "GMT", "2024-366", "strict", ""},
        {"yyyy-D", "GMT", "2026-1", "strict", ""},
        {"yyyy-MM-dd u", "GMT", "2026-11-28 6", "strict", "u: 6 is Saturday"},
        {"yyyy-MM-dd u", "GMT", "2026-11-28 1", "strict", "wrong ISO weekday"},
        {"yyyy-MM-dd u", "GMT", "2026-11-29 7", "strict", "7 is Sunday"},
        {"yyyy-MM F E", "GMT", "2026-11 4 Sat", "strict", "fourth Saturday of November"},
        {"yyyy-MM F E", "GMT", "2026-11 1 Sun", "strict", ""},
        {"YYYY-ww-u", "GMT", "2026-48-6", "strict", "week date: Saturday of week 48"},
        {"YYYY-ww-u", "GMT", "2026-01-1", "strict", "week 1 of 2026 starts on Sunday 2025-12-28"},
        {"YYYY-ww-u", "GMT", "2027-01-5", "strict", ""},
        {"YYYY-ww E", "GMT", "2026-01 Sun", "strict", ""},
        {"yyyy-ww", "GMT", "2026-10", "strict", "week without weekday: the first day of the week"},
        {"yyyy-MM-W-E", "GMT", "2026-11-5-Sat", "strict", "fifth week of November, Saturday"},
        {"yyyy-MM-W-E", "GMT", "2026-11-1-Sun", "strict", ""},
        {"yyyy-MM-dd G", "GMT", "2026-11-28 AD", "strict", ""},
        {"yyyy-MM-dd G", "GMT", "2026-11-28 ad", "strict", ""},
        {"yyyy-MM-dd G", "GMT", "2026-11-28 XX", "strict", ""},
        {"yyyy-MM-dd w", "GMT", "2026-11-28 48", "strict", "a consistent week number"},
        {"yyyy-MM-dd w", "GMT", "2026-11-28 47", "strict", "an inconsistent one"},
        {"yyyy-MM-dd D", "GMT", "2026-11-28 332", "strict", "consistent day of year"},
        // Week-year Y where y was meant (a common mistake): Java builds a week date and ignores M and d.
        {"YYYY-MM-dd", "GMT", "2026-11-28", "strict", "Y instead of y: strict Java rejects"},
        {"YYYY-MM-dd'T'HH:mm:ss", "GMT", "2026-01-01T10:00:00", "strict", "inside week 1 of 2026 but not its first day"},
        {"YYYY-MM-dd'T'HH:mm:ss", "GMT", "2025-12-28T10:00:00", "strict", "the first day of week 1 of 2025"},
        {"YYYY-MM-dd'T'HH:mm:ss", "GMT", "2026-12-27T10:00:00", "strict", "the first day of week 1 of 2026"},
        {"yyyy-MM E", "GMT", "2026-11 Sat", "strict", "weekday without day"},
        {"E", "GMT", "Sat", "strict", "weekday alone"},
        {"yyyy", "GMT", "2026", "strict", "year alone"},
        {"yyyy-MM F", "GMT", "2026-11 4", "strict", "F without E"},
        // Literals
        {"'Date: 'yyyy-MM-dd", "GMT", "Date: 2026-11-28", "strict", ""},
        {"yyyy''MM''dd", "GMT", "2026'11'28", "strict", "'' is a quote"},
        {"'o''clock' HH", "GMT", "o'clock 10", "strict", "'' inside quotes"},
        {"yyyy-MM-dd'T'HH:mm:ss", "GMT", "2026-11-28T10:00:00", "strict", ""},
        {"yyyy/MM/dd HH.mm.ss", "GMT", "2026/11/28 10.00.00", "strict", ""},
        {"yyyy-MM-dd HH:mm", "GMT", "2026-11-28  10:00", "strict", "extra space before a number is skipped"},
        {"yyyy-MM-dd HH:mm", "GMT", "2026-11-28\t10:00", "strict", "a tab for the space literal"},
        {"yyyy-MM-dd", "GMT", "2026-+11-28", "strict", ""},
        {"yyyy-MM-dd", "GMT", "2026--11-28", "strict", "minus month"},
        {"yyyy-MM-dd", "GMT", "2026-11-28T10:00:00Z", "strict", "Java reads a prefix"},
        {"MM/dd/yyyy HH:mm:ss", "GMT", "11/28/2026 10:00:00", "strict", ""},
        {"yyyyMMdd", "GMT", "20261128", "strict", "abutting fields"},
        {"yyyyMMdd", "GMT", "2026112", "strict", ""},
        {"yyyyMMddHHmmss", "GMT", "20261128100000", "strict", ""},
        {"yyyyMMdd'T'HHmmss.SSSZ", "GMT", "20261128T100000.123+0100", "strict", ""},
        {"yyyy-MM-dd HH:mm:ss", "GMT", "2026-11-28 10:00:00", "strict", ""},
        {"dd.MM.yy", "Europe/Berlin", "28.11.26", "strict", ""},
        // DST in America/New_York and Europe/Berlin
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-03-08 01:59", "strict", "just before the spring gap"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-03-08 02:00", "lenient", "in the gap: strict Java rejects, lenient moves forward an hour"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-03-08 02:30", "lenient", "in the gap"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-03-08 03:00", "strict", "after the gap"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-11-01 00:59", "strict", "before the overlap"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-11-01 01:00", "strict", "overlap: Java takes standard time (the later instant)"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-11-01 01:30", "strict", "overlap"},
        {"yyyy-MM-dd HH:mm", "America/New_York", "2026-11-01 02:00", "strict", "after the overlap"},
        {"yyyy-MM-dd HH:mm XXX", "America/New_York", "2026-11-01 01:30 -04:00", "strict", "an explicit offset picks the first 01:30"},
        {"yyyy-MM-dd HH:mm XXX", "America/New_York", "2026-11-01 01:30 -05:00", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "America/New_York", "2026-11-01 01:30 EDT", "strict", ""},
        {"yyyy-MM-dd HH:mm z", "America/New_York", "2026-11-01 01:30 EST", "strict", ""},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-03-29 01:59", "strict", ""},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-03-29 02:00", "lenient", "Berlin's gap"},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-03-29 02:30", "lenient", ""},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-03-29 03:00", "strict", ""},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-10-25 01:59", "strict", ""},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-10-25 02:00", "strict", "Berlin's overlap: standard time"},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-10-25 02:30", "strict", ""},
        {"yyyy-MM-dd HH:mm", "Europe/Berlin", "2026-10-25 03:00", "strict", ""},
        {"yyyy-MM-dd HH:mm", "US/Eastern", "2026-07-01 12:00", "strict", "old alias"},
        {"yyyy-MM-dd HH:mm", "EST", "2026-07-01 12:00", "strict", "EST is fixed -05:00"},
        {"yyyy-MM-dd HH:mm", "MST", "2026-07-01 12:00", "strict", "MST is fixed -07:00"},
        {"yyyy-MM-dd HH:mm", "PST", "2026-07-01 12:00", "strict", "PST is Los Angeles, with DST"},
        {"yyyy-MM-dd HH:mm", "CST", "2026-07-01 12:00", "strict", ""},
        {"yyyy-MM-dd HH:mm", "GMT-08:00", "2026-07-01 12:00", "strict", ""},
        {"yyyy-MM-dd HH:mm", "Asia/Kathmandu", "2026-07-01 12:00", "strict", "+05:45"},
        {"yyyy-MM-dd HH:mm", "Europe/Moscow", "2014-10-26 01:30", "strict", "an overlap that is not DST"},
    };

    // {pattern, zone, epoch ms}
    static final String[][] FORMAT = {
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "1764324000123"},
        {"yyyy-MM-dd'T'HH:mm:ss'Z'", "UTC", "1764324000123"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "America/New_York", "1764324000123"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "-1"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "0"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "951868799999"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "GMT", "1764324000123"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "America/New_York", "1764324000123"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "America/New_York", "1782907200000"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "Asia/Kolkata", "1764324000123"},
        {"EEE, dd MMM yyyy HH:mm:ss Z", "Asia/Kathmandu", "1764324000123"},
        {"G GGGG", "GMT", "1764324000123"},
        {"y yy yyy yyyy yyyyy", "GMT", "1764324000123"},
        {"y yy yyy yyyy yyyyy", "GMT", "-61000000000000"},
        {"Y YY YYYY", "GMT", "1767052800000"},
        {"Y YY YYYY w ww", "GMT", "1767052800000"},
        {"YYYY-ww-u", "GMT", "1767139200000"},
        {"YYYY-ww-u yyyy", "GMT", "1735603200000"},
        {"M MM MMM MMMM MMMMM", "GMT", "1764324000123"},
        {"M MM MMM MMMM", "GMT", "1738368000000"},
        {"L LL LLL LLLL LLLLL", "GMT", "1764324000123"},
        {"d dd ddd", "GMT", "1738368000000"},
        {"D DD DDD DDDD", "GMT", "1738368000000"},
        {"D DD DDD", "GMT", "1764324000123"},
        {"E EE EEE EEEE EEEEE", "GMT", "1764324000123"},
        {"E EEEE", "GMT", "1764540000000"},
        {"u uu", "GMT", "1764324000123"},
        {"u uu", "GMT", "1764410400000"},
        {"F FF", "GMT", "1764324000123"},
        {"F", "GMT", "1764540000000"},
        {"w ww W WW", "GMT", "1764324000123"},
        {"w W", "GMT", "1738368000000"},
        {"w W", "GMT", "1735603200000"},
        {"a H HH k kk K KK h hh", "GMT", "1764288000000"},
        {"a H HH k kk K KK h hh", "GMT", "1764331200000"},
        {"a H HH k kk K KK h hh", "GMT", "1764370800000"},
        {"a H HH k kk K KK h hh", "GMT", "1764291600000"},
        {"m mm s ss", "GMT", "1764324305123"},
        {"S SS SSS SSSS", "GMT", "1764324000123"},
        {"S SS SSS", "GMT", "1764324000005"},
        {"z zzzz Z ZZZZ X XX XXX", "GMT", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "UTC", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "America/New_York", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "America/New_York", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "Europe/Berlin", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "Europe/Berlin", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "Europe/London", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "America/Los_Angeles", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "America/Chicago", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "America/Denver", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "America/Phoenix", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "Asia/Kolkata", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "Asia/Tokyo", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "Asia/Kathmandu", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "America/Sao_Paulo", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "Australia/Sydney", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "GMT-08:00", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "GMT+05:30", "1764324000123"},
        {"z zzzz Z ZZZZ X XX XXX", "EST", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "MST", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "HST", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "PST", "1782907200000"},
        {"z zzzz Z ZZZZ X XX XXX", "CST", "1764324000123"},
        {"yyyy-MM-dd HH:mm:ss z", "America/New_York", "1793511000000"},
        {"yyyy-MM-dd HH:mm:ss z", "America/New_York", "1793514600000"},
        {"yyyy-MM-dd HH:mm:ss z", "Europe/Berlin", "1792891800000"},
        {"yyyy-MM-dd HH:mm:ss z", "Europe/Berlin", "1792895400000"},
        {"yyyy-MM-dd'T'HH:mm:ssXXX", "America/New_York", "1773000000000"},
        {"yyyy''MM''dd 'o''clock' HH", "GMT", "1764324000123"},
        {"hh:mm a", "GMT", "1764288000000"},
        {"hh:mm a", "GMT", "1764331200000"},
        {"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", "GMT", "253402300799999"},
    };

    static final String[] ZONES = {
        "GMT", "UTC", "Z", "EST", "MST", "HST", "PST", "CST", "EDT", "PDT", "IST", "ECT", "JST", "CET",
        "America/New_York", "america/new_york", "US/Eastern", "EST5EDT", "Etc/GMT+8", "Europe/Kiev",
        "Asia/Calcutta", "GMT-8", "GMT+2", "GMT+02:00", "GMT-08:00", "GMT+0200", "GMT+5:30", "GMT+24:00",
        "GMT+23:59", "GMT+99", "gmt", "-08:00", "+6:00", "-8:00", "UTC+2", "UTC-05:00", "garbage", "",
        "GMT+", "Etc/UTC", "Europe/London", "Asia/Kathmandu", "America/Denver",
    };

    static String rs(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u{%x}", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static int bytes(String s, int utf16) {
        return s.substring(0, utf16).getBytes(StandardCharsets.UTF_8).length;
    }

    static SimpleDateFormat fmt(String pattern, String zone, boolean lenient) {
        SimpleDateFormat f = new SimpleDateFormat(pattern, Locale.US);
        f.setTimeZone(TimeZone.getTimeZone(zone));
        f.set2DigitYearStart(new Date(CENTURY_START));
        f.setLenient(lenient);
        return f;
    }

    static String parse(String pattern, String zone, String input, boolean lenient) {
        SimpleDateFormat f = fmt(pattern, zone, lenient);
        ParsePosition pos = new ParsePosition(0);
        Date d = f.parse(input, pos);
        if (d == null) return "err(" + bytes(input, Math.max(0, pos.getErrorIndex())) + ")";
        return "ok(" + d.getTime() + ", " + bytes(input, pos.getIndex()) + ")";
    }

    public static void main(String[] args) {
        System.out.println("// Generated by tests/java/Oracle.java: do not edit by hand.");
        System.out.println();
        System.out.println("/// (pattern, zone, input, strict Java, lenient Java, what Tributary follows, note)");
        System.out.println("const PARSE: &[ParseCase] = &[");
        for (String[] c : PARSE) {
            String follow = c[3].startsWith("differs:")
                ? "Differs(" + java.time.Instant.parse(c[3].substring(8)).toEpochMilli() + ")"
                : Character.toUpperCase(c[3].charAt(0)) + c[3].substring(1);
            System.out.printf("    p(%s, %s, %s, %s, %s, Follow::%s, %s),%n", rs(c[0]), rs(c[1]), rs(c[2]),
                parse(c[0], c[1], c[2], false), parse(c[0], c[1], c[2], true), follow, rs(c[4]));
        }
        System.out.println("];");
        System.out.println();
        System.out.println("/// (pattern, zone, epoch ms, Java's text)");
        System.out.println("const FORMAT: &[(&str, &str, i64, &str)] = &[");
        for (String[] c : FORMAT) {
            String out = fmt(c[0], c[1], false).format(new Date(Long.parseLong(c[2])));
            System.out.printf("    f(%s, %s, %s, %s),%n", rs(c[0]), rs(c[1]), c[2], rs(out));
        }
        System.out.println("];");
        System.out.println();
        System.out.println("/// (id, Java's getID, offset ms on 2026-01-15, on 2026-07-01). Java answers GMT (offset 0)");
        System.out.println("/// for ids it does not know.");
        System.out.println("const ZONES: &[(&str, &str, i64, i64)] = &[");
        long jan = 1768478400000L; // 2026-01-15T12:00:00Z
        long jul = 1782907200000L; // 2026-07-01T12:00:00Z
        for (String id : ZONES) {
            TimeZone tz = TimeZone.getTimeZone(id);
            System.out.printf("    z(%s, %s, %d, %d),%n", rs(id), rs(tz.getID()), tz.getOffset(jan), tz.getOffset(jul));
        }
        // Pattern compilation: which patterns Java refuses.
        System.out.println("];");
        System.out.println();
        System.out.println("/// (pattern, Java's IllegalArgumentException message, or \"\" when Java compiles it)");
        System.out.println("const COMPILE: &[(&str, &str)] = &[");
        String[] patterns = {"yyyy-MM-dd", "yyyy-qq", "yyyy-MM-dd'T", "XXXX", "'", "''", "yyyy 'it''s' MM", "b", "ñ yyyy", "", "{yyyy}", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"};
        for (String p : patterns) {
            String err = "";
            try { new SimpleDateFormat(p, Locale.US); } catch (IllegalArgumentException e) { err = e.getMessage(); }
            System.out.printf("    c(%s, %s),%n", rs(p), rs(err));
        }
        System.out.println("];");
    }
}
