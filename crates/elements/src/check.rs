//! `tributary elements check`: a definition's problems, each at its line and column, so that a
//! user writing their own element sees where to look, as a compiler would show it.
//!
//! Two kinds of problem: the TOML does not parse into a definition (serde's message, which
//! already lists the valid variants of an enum such as a pager kind), or it parses and
//! validation refuses a field (`crate::validate`, whose messages say what would be valid). A
//! validation problem names a path (`api.list.pager`, `resources[2] (tasks).deletes.kind`); it
//! is found in the document through the parser's spans, at the deepest part of the path that
//! the file spells out (a missing key points at the table that should hold it).

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::definition::Element;

/// One problem of a definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the problem in the file.
    pub line: usize,
    /// 1-based column (in characters) of the problem in its line.
    pub column: usize,
    /// The field's path in the definition, when the problem is about one field.
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parses and validates a definition's text: the element when it is valid, else every problem
/// found, in the file's order.
pub fn check(text: &str) -> Result<Element, Vec<Problem>> {
    let mut element: Element = match toml::from_str(text) {
        Ok(element) => element,
        Err(error) => {
            let at = error.span().map_or(0, |span| span.start);
            let (line, column) = line_column(text, at);
            return Err(vec![Problem {
                line,
                column,
                field: None,
                message: error.message().trim_end().to_owned(),
            }]);
        }
    };
    let found = crate::validate::problems(&mut element);
    if found.is_empty() {
        return Ok(element);
    }
    // The text parsed into a definition above, so it parses as a table here.
    let document = DeTable::parse(text).ok();
    let mut problems: Vec<Problem> = found
        .into_iter()
        .map(|(field, message)| {
            let at = document.as_ref().map_or(0, |table| locate(table, &field));
            let (line, column) = line_column(text, at);
            Problem {
                line,
                column,
                field: Some(field),
                message,
            }
        })
        .collect();
    problems.sort_by_key(|p| (p.line, p.column));
    Err(problems)
}

/// The byte offset of the deepest part of `field` that the document spells out (0 when even
/// its first part is missing: the problem is then about the file as a whole).
fn locate(document: &Spanned<DeTable<'_>>, field: &str) -> usize {
    let mut at = 0;
    let mut table: &DeTable<'_> = document.get_ref();
    for (name, index) in segments(field) {
        let Some((key, mut value)) = table.get_key_value(name) else {
            break;
        };
        at = key.span().start;
        if let Some(index) = index {
            let DeValue::Array(items) = value.get_ref() else {
                break;
            };
            let Some(item) = items.get(index) else { break };
            at = item.span().start;
            value = item;
        }
        let DeValue::Table(inner) = value.get_ref() else {
            break;
        };
        table = inner;
    }
    at
}

/// A validation path's segments: `resources[2] (tasks).deletes.kind` → (`resources`, 2),
/// (`deletes`, none), (`kind`, none). The parenthesised name is a reader's aid, skipped.
fn segments(field: &str) -> Vec<(&str, Option<usize>)> {
    let mut out = Vec::new();
    let mut rest = field;
    while !rest.is_empty() {
        // A segment ends at the first '.' outside parentheses.
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                '.' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let segment = rest[..end].split(" (").next().unwrap_or_default().trim();
        rest = rest.get(end + 1..).unwrap_or_default();
        let (name, index) = match segment.split_once('[') {
            Some((name, tail)) => (name, tail.trim_end_matches(']').parse().ok()),
            None => (segment, None),
        };
        out.push((name, index));
    }
    out
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILTIN: &str = include_str!("../definitions/infusionsoftrest.toml");

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in the text"))
            + 1
    }

    #[test]
    fn a_built_in_definition_checks_clean() {
        let element = check(BUILTIN).expect("infusionsoftrest is valid");
        assert_eq!(element.key, "infusionsoftrest");
    }

    #[test]
    fn a_parse_error_is_shown_at_its_line_and_column() {
        let text = BUILTIN.replace("max_page_size = 1000", "max_page_size = \"many\"");
        let problems = check(&text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        let problem = &problems[0];
        assert_eq!(problem.line, line_of(&text, "max_page_size = \"many\""));
        assert_eq!(problem.column, "max_page_size = ".len() + 1);
        assert!(problem.message.contains("expected u32"), "{problem}");
    }

    #[test]
    fn an_unknown_variant_lists_the_valid_ones() {
        let text = BUILTIN.replacen("kind = \"offset\"", "kind = \"pages\"", 1);
        let problems = check(&text).unwrap_err();
        assert_eq!(
            problems[0].line,
            line_of(&text, "\"pages\""),
            "{problems:?}"
        );
        assert!(problems[0].message.contains("`offset`"), "{}", problems[0]);

        let text = BUILTIN.replacen("type = \"oauth2\"", "type = \"oauth3\"", 1);
        let problems = check(&text).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("auth.type"));
        assert_eq!(problems[0].line, line_of(&text, "oauth3"), "{problems:?}");
        assert!(
            problems[0].message.contains("\"oauth2\""),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_validation_problem_points_at_its_field() {
        let text = BUILTIN.replacen("max_page_size = 1000", "max_page_size = 0", 1);
        let problems = check(&text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].field.as_deref(), Some("api.max_page_size"));
        assert_eq!(problems[0].line, line_of(&text, "max_page_size = 0"));
        assert_eq!(problems[0].column, 1);
        assert_eq!(
            problems[0].to_string(),
            format!(
                "{}:1: api.max_page_size: must be at least 1",
                line_of(&text, "max_page_size = 0")
            )
        );
    }

    #[test]
    fn a_problem_inside_the_nth_resource_points_into_that_resource() {
        let key = "key = \"infusionsoftrest\"";
        let text = BUILTIN.replacen(key, "key = \"Bad Key\"", 1);
        let problems = check(&text).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("key"));
        assert_eq!(problems[0].line, line_of(&text, "Bad Key"));

        // The third [[resources]] table's path, as validation writes it.
        let at = locate(
            &DeTable::parse(BUILTIN).unwrap(),
            "resources[2] (opportunities).path",
        );
        let (line, _) = line_column(BUILTIN, at);
        let third = BUILTIN
            .match_indices("[[resources]]")
            .nth(2)
            .map(|(i, _)| line_column(BUILTIN, i).0)
            .unwrap();
        let fourth = BUILTIN
            .match_indices("[[resources]]")
            .nth(3)
            .map(|(i, _)| line_column(BUILTIN, i).0)
            .unwrap();
        assert!(
            (third..fourth).contains(&line),
            "line {line} is not in the third resource ({third}..{fourth})"
        );
    }

    #[test]
    fn a_missing_part_points_at_the_deepest_part_present() {
        let document = DeTable::parse(BUILTIN).unwrap();
        let api = locate(&document, "api");
        assert_eq!(line_column(BUILTIN, api).0, line_of(BUILTIN, "[api]"));
        assert_eq!(locate(&document, "api.no_such.thing"), api);
        assert_eq!(locate(&document, "nothing_here"), 0);
    }

    #[test]
    fn paths_split_into_names_and_indexes() {
        assert_eq!(
            segments("resources[12] (a.b).deletes.kind"),
            [("resources", Some(12)), ("deletes", None), ("kind", None)]
        );
        assert_eq!(segments("key"), [("key", None)]);
        assert_eq!(line_column("ab\ncdé\nx", 7), (2, 4));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
