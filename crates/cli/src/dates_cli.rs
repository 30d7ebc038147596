//! `tributary dates parse|format`: check a `datesConfiguration` against real values before
//! creating an instance. Errors point at the offending character. A value is read as the poller
//! reads it, as Java's `parse(String)` does: text after the pattern is ignored, with a warning
//! on stderr pointing at it.

use std::process::ExitCode;

use tributary_domain::{DatePattern, Zone};

/// Prints `text` with a caret under byte offset `position`.
fn point_at(text: &str, position: usize) -> String {
    let column = text
        .char_indices()
        .take_while(|(i, _)| *i < position)
        .count();
    format!("  {text}\n  {}^", " ".repeat(column))
}

fn compile(pattern: &str, zone: Option<&str>) -> Result<(DatePattern, Zone), ExitCode> {
    let compiled = DatePattern::compile(pattern).map_err(|e| {
        eprintln!("error: --format: {e}\n{}", point_at(pattern, e.position()));
        ExitCode::from(2)
    })?;
    for warning in compiled.warnings() {
        eprintln!("warning: {warning}");
    }
    let zone = match zone {
        Some(id) => Zone::parse(id).map_err(|e| {
            eprintln!("error: --timezone: {e}");
            ExitCode::from(2)
        })?,
        None => Zone::utc(),
    };
    Ok((compiled, zone))
}

/// RFC 3339 UTC with milliseconds.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// `dates parse`: prints the instant as RFC 3339 UTC and as epoch milliseconds.
pub fn parse(pattern: &str, zone: Option<&str>, value: &str) -> ExitCode {
    let (compiled, zone) = match compile(pattern, zone) {
        Ok(pair) => pair,
        Err(code) => return code,
    };
    match compiled.parse_prefix(value, &zone) {
        Ok((ms, read)) => {
            let rest = value.get(read..).unwrap_or_default();
            if !rest.is_empty() {
                eprintln!(
                    "warning: {rest:?} after the pattern was ignored, as Java ignores it (the \
                     poller reads it the same way); extend the pattern to read it\n{}",
                    point_at(value, read)
                );
            }
            println!("{} {ms}", rfc3339(ms));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: {value:?} does not match {pattern:?}: {e}\n{}",
                point_at(value, e.position)
            );
            ExitCode::from(1)
        }
    }
}

/// `dates format`: INSTANT is RFC 3339 (any offset) or epoch milliseconds.
pub fn format(pattern: &str, zone: Option<&str>, instant: &str) -> ExitCode {
    let (compiled, zone) = match compile(pattern, zone) {
        Ok(pair) => pair,
        Err(code) => return code,
    };
    let ms = match instant.trim().parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => match instant.trim().parse::<jiff::Timestamp>() {
            Ok(ts) => ts.as_millisecond(),
            Err(_) => {
                eprintln!(
                    "error: {instant:?} is neither RFC 3339 (2026-11-28T10:00:00Z) nor epoch milliseconds"
                );
                return ExitCode::from(2);
            }
        },
    };
    println!("{}", compiled.format(ms, &zone));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caret_stands_under_the_offending_character_even_after_multibyte_text() {
        assert_eq!(point_at("2026-04-31", 8), "  2026-04-31\n          ^");
        assert_eq!(point_at("mär 31", 5), "  mär 31\n      ^");
    }
}
