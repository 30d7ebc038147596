//! The `ceql` fuzz target's check, shared with `tests/fuzz_regressions.rs`: any text as a CEQL
//! `where` clause. Parsing never panics and an error points at a character of the text; what
//! parses, written back as CEQL, parses to the same expression, and evaluates without
//! panicking.

use serde_json::json;
use tributary_domain::ceql::{self, CompareOp, Expr, Field, Literal};

pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match ceql::parse(&text) {
        Ok(expr) => {
            let written = write(&expr);
            match ceql::parse(&written) {
                Ok(again) => assert_eq!(
                    again, expr,
                    "{text:?} written back as {written:?} parses to another expression"
                ),
                Err(error) => {
                    panic!("{text:?} written back as {written:?} does not parse: {error}")
                }
            }
            let record = json!({
                "a": 1, "b": "x%_", "c": null, "d": {"e": [1, "2"]}, "a.b": true, "n": "12.5"
            });
            let _ = ceql::evaluate(&expr, &record);
        }
        Err(error) => assert!(
            error.position <= text.len() && text.is_char_boundary(error.position),
            "{text:?}: error position {} is not at a character ({error})",
            error.position
        ),
    }
}

/// `expr` as CEQL text: keywords in capitals, single spaces, parentheses only around a group
/// inside another group, strings and back-quoted names with their quotes doubled.
pub fn write(expr: &Expr) -> String {
    match expr {
        Expr::And(parts) => join(parts, " AND "),
        Expr::Or(parts) => join(parts, " OR "),
        Expr::Compare { field, op, value } => {
            let op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Gt => ">",
                CompareOp::Le => "<=",
                CompareOp::Ge => ">=",
            };
            format!("{} {op} {}", name(field), literal(value))
        }
        Expr::Like { field, pattern } => {
            format!("{} LIKE {}", name(field), quote(pattern, '\''))
        }
        Expr::In { field, values } => {
            let values: Vec<String> = values.iter().map(literal).collect();
            format!("{} IN ({})", name(field), values.join(", "))
        }
        Expr::IsNull { field, negated } => {
            let not = if *negated { "NOT " } else { "" };
            format!("{} IS {not}NULL", name(field))
        }
    }
}

fn join(parts: &[Expr], separator: &str) -> String {
    let parts: Vec<String> = parts
        .iter()
        .map(|part| match part {
            Expr::And(_) | Expr::Or(_) => format!("({})", write(part)),
            other => write(other),
        })
        .collect();
    parts.join(separator)
}

fn name(field: &Field) -> String {
    if field.quoted {
        quote(&field.name, '`')
    } else {
        field.name.clone()
    }
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::String(text) => quote(text, '\''),
        Literal::Number(number) => number.to_string(),
        Literal::Bool(true) => "TRUE".into(),
        Literal::Bool(false) => "FALSE".into(),
    }
}

fn quote(text: &str, quote: char) -> String {
    let doubled = format!("{quote}{quote}");
    format!("{quote}{}{quote}", text.replace(quote, &doubled))
}
