//! A query language's text read back: the parameter's text matched against the definition's
//! parts (`SELECT … FROM Account` + where + ` ORDER BY …`), the condition text split at its
//! joiner outside string literals, each condition read as `field operator literal` with the
//! definition's operator words, quote and escapes, and evaluated on a record.
//!
//! It reads what the element client writes (`crates/elements/src/query/dialect.rs`), not every
//! text the language allows: conditions joined by one joiner, fields as the definition names
//! them, literals quoted, numeric, `null`, or dates in the dialect's format. A text it cannot
//! read is answered with a 400 naming the part.

use std::cmp::Ordering;

use serde_json::Value;
use tributary_domain::dates::DateFormatter;

use crate::engine::records::Row;
use crate::generic::data;
use crate::generic::spec::{Language, ResourceSpec, TextPart};

/// What a query text said besides its fixed parts.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Read {
    pub conditions: String,
    pub order: String,
    pub page_size: Option<u64>,
    pub offset: Option<u64>,
}

/// Matches `text` against the language's parts; `None` when it does not fit.
pub(crate) fn read(language: &Language, text: &str) -> Option<Read> {
    let parts = &language.parts;
    let mut out = Read::default();
    let mut at = 0;
    let mut index = 0;
    while index < parts.len() {
        if let TextPart::Text(literal) = &parts[index] {
            if !text[at..].starts_with(literal.as_str()) {
                return None;
            }
            at += literal.len();
            index += 1;
            continue;
        }
        // A run of slots, up to the next fixed text (the last one must end the text).
        let run_end = parts[index..]
            .iter()
            .position(|p| matches!(p, TextPart::Text(_)))
            .map_or(parts.len(), |n| index + n);
        let end = match parts.get(run_end) {
            Some(TextPart::Text(literal)) if run_end + 1 == parts.len() => text
                .len()
                .checked_sub(literal.len())
                .filter(|end| *end >= at && text[*end..] == *literal)?,
            Some(TextPart::Text(literal)) => at + text[at..].find(literal.as_str())?,
            _ => text.len(),
        };
        let segment = &text[at..end];
        let run = &parts[index..run_end];
        match run {
            [slot] => fill(&mut out, slot, segment)?,
            [TextPart::Where, TextPart::Order] => {
                let split = if language.order_prefix.is_empty() {
                    None
                } else {
                    segment.rfind(language.order_prefix.as_str())
                };
                let (conditions, order) = split.map_or((segment, ""), |i| segment.split_at(i));
                out.conditions = conditions.to_owned();
                out.order = order.to_owned();
            }
            _ => return None,
        }
        at = end;
        index = run_end;
    }
    (at == text.len()).then_some(out)
}

fn fill(out: &mut Read, slot: &TextPart, segment: &str) -> Option<()> {
    let number = || segment.trim().parse::<u64>().ok();
    match slot {
        TextPart::Where => out.conditions = segment.to_owned(),
        TextPart::Order => out.order = segment.to_owned(),
        TextPart::PageSize => out.page_size = Some(number()?),
        TextPart::PageOffset => out.offset = Some(number()?),
        TextPart::PageStart => out.offset = Some(number()?.saturating_sub(1)),
        TextPart::PageNumber => out.offset = Some(number()?.saturating_sub(1)),
        TextPart::Text(_) => {}
    }
    Some(())
}

/// A literal of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Null,
    Text(String),
    /// A number, or an unquoted word (an unquoted date).
    Bare(String),
}

/// One condition: a record field, a CEQL operator, a literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub field: String,
    pub operator: String,
    pub literal: Literal,
}

/// Reads the condition text (`" WHERE a = 'x' AND b >= 2026-01-01T00:00:00Z"`, or empty).
pub(crate) fn conditions(language: &Language, text: &str) -> Result<Vec<Condition>, String> {
    let text = text.trim_end();
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_prefix(language.where_prefix.as_str())
        .or_else(|| text.trim_start().strip_prefix(language.where_prefix.trim()))
        .ok_or_else(|| {
            format!(
                "the condition text {text:?} does not start with {:?}",
                language.where_prefix
            )
        })?;
    split_outside_quotes(language, body)
        .into_iter()
        .map(|part| condition(language, part.trim()))
        .collect()
}

/// Splits at the joiner, never inside a quoted literal.
fn split_outside_quotes<'a>(language: &Language, text: &'a str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let (mut start, mut at, mut quoted) = (0, 0, false);
    let joiner = language.joiner.as_str();
    while at < text.len() {
        let rest = &text[at..];
        if quoted {
            if let Some((from, _)) = language
                .escapes
                .iter()
                .find(|(from, _)| rest.starts_with(from.as_str()))
            {
                at += from.len();
                continue;
            }
            if rest.starts_with(language.quote.as_str()) {
                quoted = false;
                at += language.quote.len();
                continue;
            }
        } else if !language.quote.is_empty() && rest.starts_with(language.quote.as_str()) {
            quoted = true;
            at += language.quote.len();
            continue;
        } else if !joiner.is_empty() && rest.starts_with(joiner) {
            parts.push(&text[start..at]);
            at += joiner.len();
            start = at;
            continue;
        }
        at += rest.chars().next().map_or(1, char::len_utf8);
    }
    parts.push(&text[start..]);
    parts
}

fn condition(language: &Language, text: &str) -> Result<Condition, String> {
    let field_end = text
        .find(|c: char| c.is_whitespace() || "=!<>".contains(c))
        .unwrap_or(text.len());
    let field = &text[..field_end];
    let rest = text[field_end..].trim_start();
    let mut operators: Vec<&(String, String)> = language.operators.iter().collect();
    operators.sort_by_key(|(word, _)| std::cmp::Reverse(word.len()));
    let (word, operator) = operators
        .into_iter()
        .find(|(word, _)| rest.starts_with(word.as_str()))
        .ok_or_else(|| format!("the condition {text:?} has no operator the simulator knows"))?;
    let literal_text = rest[word.len()..].trim();
    let literal = if literal_text.is_empty() {
        Literal::Null
    } else {
        literal(language, literal_text).ok_or_else(|| {
            format!("the condition {text:?} has a literal the simulator cannot read")
        })?
    };
    if field.is_empty() {
        return Err(format!("the condition {text:?} names no field"));
    }
    let field = language
        .fields
        .iter()
        .find(|(provider, _)| provider == field)
        .map_or(field, |(_, record)| record.as_str());
    Ok(Condition {
        field: field.to_owned(),
        operator: operator.clone(),
        literal,
    })
}

fn literal(language: &Language, text: &str) -> Option<Literal> {
    let quote = language.quote.as_str();
    if quote.is_empty() || !text.starts_with(quote) {
        return Some(if text.eq_ignore_ascii_case("null") {
            Literal::Null
        } else {
            Literal::Bare(text.to_owned())
        });
    }
    let mut out = String::new();
    let mut rest = &text[quote.len()..];
    loop {
        if let Some((from, to)) = language
            .escapes
            .iter()
            .find(|(from, _)| rest.starts_with(from.as_str()))
        {
            out.push_str(to);
            rest = &rest[from.len()..];
        } else if let Some(after) = rest.strip_prefix(quote) {
            return after.trim().is_empty().then_some(Literal::Text(out));
        } else {
            let c = rest.chars().next()?;
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
}

/// Whether `row` meets every condition.
pub(crate) fn matches(
    language: &Language,
    resource: &ResourceSpec,
    row: &Row,
    conditions: &[Condition],
) -> bool {
    conditions
        .iter()
        .all(|c| holds(language.date_format.as_ref(), resource, row, c))
}

/// Whether `row` meets `condition`, dates in the condition read with `date_format`.
pub(crate) fn holds(
    date_format: Option<&DateFormatter>,
    resource: &ResourceSpec,
    row: &Row,
    condition: &Condition,
) -> bool {
    let date = [
        (&resource.updated, row.updated_ms),
        (&resource.created, row.created_ms),
    ]
    .into_iter()
    .find_map(|(field, ms)| {
        field
            .as_ref()
            .filter(|d| d.field == condition.field)
            .map(|d| data::shown_ms(&d.format, ms))
    });
    let ordering = |value: Option<Value>| -> Option<Ordering> {
        let literal = match &condition.literal {
            Literal::Text(text) | Literal::Bare(text) => text,
            Literal::Null => return None,
        };
        if let Some(ms) = date {
            let wanted = data::parse_date(date_format, literal)?;
            return Some(ms.cmp(&wanted));
        }
        let value = value?;
        match (value.as_f64(), literal.parse::<f64>()) {
            (Some(have), Ok(want)) => have.partial_cmp(&want),
            _ => Some(data::text_of(&value).as_str().cmp(literal.as_str())),
        }
    };
    let value = if condition.field == resource.id_field {
        Some(Value::from(row.id))
    } else if date.is_some() {
        Some(Value::Null)
    } else {
        row.field(&condition.field).cloned()
    };
    let present = value.as_ref().is_some_and(|v| !v.is_null()) || date.is_some();
    match condition.operator.as_str() {
        "IS NULL" => !present,
        "IS NOT NULL" => present,
        "=" if condition.literal == Literal::Null => !present,
        "!=" if condition.literal == Literal::Null => present,
        "=" => ordering(value) == Some(Ordering::Equal),
        "!=" => ordering(value) != Some(Ordering::Equal),
        "<" => ordering(value) == Some(Ordering::Less),
        "<=" => matches!(ordering(value), Some(Ordering::Less | Ordering::Equal)),
        ">" => ordering(value) == Some(Ordering::Greater),
        ">=" => matches!(ordering(value), Some(Ordering::Greater | Ordering::Equal)),
        // Anything else the client sends (IN, LIKE) is not narrowed here: Tributary evaluates
        // what it cannot send, and a wider answer is still correct for the parts it did.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soql() -> Language {
        Language {
            param: "q".into(),
            parts: vec![
                TextPart::Text("SELECT Id FROM Account".into()),
                TextPart::Where,
                TextPart::Text(" ORDER BY SystemModstamp, Id".into()),
            ],
            where_prefix: " WHERE ".into(),
            joiner: " AND ".into(),
            order_prefix: " ORDER BY ".into(),
            operators: [
                ("=", "="),
                (">=", ">="),
                ("<=", "<="),
                ("= null", "IS NULL"),
            ]
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect(),
            quote: "'".into(),
            escapes: vec![("\\'".into(), "'".into()), ("\\\\".into(), "\\".into())],
            date_format: None,
            fields: vec![("hs_name".into(), "Name".into())],
        }
    }

    #[test]
    fn a_query_text_is_read_back_into_its_conditions() {
        let language = soql();
        let whole = read(
            &language,
            "SELECT Id FROM Account WHERE Name = 'O\\'Brien AND sons' AND SystemModstamp >= 2026-01-01T00:00:00Z ORDER BY SystemModstamp, Id",
        )
        .unwrap();
        let found = conditions(&language, &whole.conditions).unwrap();
        assert_eq!(
            found,
            vec![
                Condition {
                    field: "Name".into(),
                    operator: "=".into(),
                    literal: Literal::Text("O'Brien AND sons".into()),
                },
                Condition {
                    field: "SystemModstamp".into(),
                    operator: ">=".into(),
                    literal: Literal::Bare("2026-01-01T00:00:00Z".into()),
                },
            ]
        );
        let none = read(
            &language,
            "SELECT Id FROM Account ORDER BY SystemModstamp, Id",
        )
        .unwrap();
        assert!(conditions(&language, &none.conditions).unwrap().is_empty());
        assert!(read(&language, "SELECT Name FROM Account").is_none());
        let null = conditions(&language, " WHERE Industry = null").unwrap();
        assert_eq!(null[0].operator, "IS NULL");
        let renamed = conditions(&language, " WHERE hs_name = 'x'").unwrap();
        assert_eq!(
            renamed[0].field, "Name",
            "the record's field, not the provider's name"
        );
    }
}
