//! CEQL `where` clauses translated into a provider's query parameters.
//!
//! A clause is split into its top-level `AND` parts. Each part either becomes a provider
//! parameter, as the element file declares (`filters`: CEQL name → parameter), or is evaluated
//! by Tributary on the records the provider returns, or is refused with a 400 that names it:
//! - `since = '…'`, and `<updated field> >= '…'`, become `since` (the provider's is inclusive);
//!   `until = '…'` and `<updated field> <= '…'` become `until`;
//! - `<name> = <value>` becomes a parameter when `<name>` is a declared filter;
//! - any other part is evaluated locally when it is safe: equality, `!=`, `IN`, `LIKE`,
//!   `IS [NOT] NULL`, and ordering comparisons against numbers. Ordering comparisons against
//!   strings are refused, because a provider's date strings need not order as text (Keap writes
//!   `+0000`, clients send `Z`), and a silently wrong filter is worse than an error;
//! - `>`/`<` on the updated field are refused with a hint: the provider only has inclusive
//!   bounds.
//!
//! Local evaluation filters each page the provider returns, so a page can hold fewer records
//! than asked for; paging still ends only when the provider's pages end.

use tributary_domain::ceql::{self, CompareOp, Expr, Field, Literal};

use crate::definition::Resource;

/// Provider parameters, and the parts evaluated by Tributary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translated {
    pub params: Vec<(String, String)>,
    pub local: Vec<Expr>,
}

impl Translated {
    /// Whether a record passes every locally evaluated part.
    pub fn keeps(&self, record: &serde_json::Value) -> bool {
        self.local.iter().all(|part| ceql::evaluate(part, record))
    }

    /// The locally evaluated parts as text, for the response header that says so.
    pub fn local_text(&self) -> Option<String> {
        (!self.local.is_empty()).then(|| {
            self.local
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join(" AND ")
        })
    }
}

/// A clause that cannot be served, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// Translates a parsed `where` (and an `orderBy`) for one resource.
pub fn translate(
    resource: &Resource,
    clause: Option<&Expr>,
    order_by: Option<&str>,
) -> Result<Translated, QueryError> {
    let mut out = Translated::default();
    let parts: Vec<&Expr> = match clause {
        None => Vec::new(),
        Some(Expr::And(parts)) => parts.iter().collect(),
        Some(other) => vec![other],
    };
    for part in parts {
        match provider_parameter(resource, part)? {
            Some((name, value)) => {
                if out.params.iter().any(|(n, _)| *n == name) {
                    return Err(QueryError(format!(
                        "the clause {} sets {name} a second time",
                        describe(part)
                    )));
                }
                out.params.push((name, value));
            }
            None => {
                check_local(resource, part)?;
                out.local.push(part.clone());
            }
        }
    }
    if let Some(order) = order_by {
        let mut words = order.split_whitespace();
        let field = words.next().unwrap_or("");
        let direction = words.next().map(str::to_ascii_lowercase);
        if words.next().is_some() || !resource.order_by.iter().any(|o| o == field) {
            return Err(QueryError(format!(
                "orderBy {order:?}: {} can be ordered by {}",
                resource.name,
                if resource.order_by.is_empty() {
                    "nothing (the provider has no ordering)".to_owned()
                } else {
                    resource.order_by.join(", ")
                }
            )));
        }
        out.params.push(("order".into(), field.to_owned()));
        match direction.as_deref() {
            None | Some("asc") => {}
            Some("desc") if resource.order_direction => {
                out.params
                    .push(("order_direction".into(), "DESCENDING".into()));
            }
            Some(other) => {
                return Err(QueryError(format!(
                    "orderBy {order:?}: direction {other:?} is not supported for {}",
                    resource.name
                )));
            }
        }
    }
    Ok(out)
}

fn literal_text(value: &Literal) -> String {
    match value {
        Literal::String(text) => text.clone(),
        Literal::Number(number) => number.to_string(),
        Literal::Bool(flag) => flag.to_string(),
    }
}

/// The provider parameter one part maps to, if any (an error when it looks like one but the
/// provider cannot take it).
fn provider_parameter(
    resource: &Resource,
    part: &Expr,
) -> Result<Option<(String, String)>, QueryError> {
    let Expr::Compare { field, op, value } = part else {
        return Ok(None);
    };
    let name = field.name.as_str();
    let updated = resource.updated_field.as_deref() == Some(name);
    let param = |ceql_name: &str| resource.filters.get(ceql_name).cloned();
    let bound = match (name, op) {
        ("since", CompareOp::Eq) => Some("since"),
        ("until", CompareOp::Eq) => Some("until"),
        (_, CompareOp::Ge) if updated => Some("since"),
        (_, CompareOp::Le) if updated => Some("until"),
        (_, CompareOp::Gt | CompareOp::Lt) if updated => {
            return Err(QueryError(format!(
                "the clause {} cannot be served: {} filters {name} with inclusive bounds only; use >= or <=",
                describe(part),
                resource.name
            )));
        }
        ("since" | "until", _) => {
            return Err(QueryError(format!(
                "the clause {}: {name} takes = only",
                describe(part)
            )));
        }
        _ => None,
    };
    if let Some(bound) = bound {
        return match param(bound) {
            Some(provider) => Ok(Some((provider, literal_text(value)))),
            None => Err(QueryError(format!(
                "the clause {} cannot be served: {} has no {bound} filter at the provider",
                describe(part),
                resource.name
            ))),
        };
    }
    if *op == CompareOp::Eq
        && let Some(provider) = param(name)
    {
        return Ok(Some((provider, literal_text(value))));
    }
    Ok(None)
}

/// Refuses parts whose local evaluation could be silently wrong.
fn check_local(resource: &Resource, part: &Expr) -> Result<(), QueryError> {
    match part {
        Expr::And(parts) | Expr::Or(parts) => {
            parts.iter().try_for_each(|p| check_local(resource, p))
        }
        Expr::Compare { field, op, value } => {
            if matches!(field.name.as_str(), "since" | "until") {
                return Err(QueryError(format!(
                    "the clause {} cannot be served: since and until go to the provider and only \
                     at the top level, joined by AND",
                    describe(part)
                )));
            }
            let ordering = !matches!(op, CompareOp::Eq | CompareOp::Ne);
            if ordering && !matches!(value, Literal::Number(_)) {
                return Err(QueryError(format!(
                    "the clause {} cannot be served: {} cannot filter {} by order at the \
                     provider, and comparing its text here could be wrong",
                    describe(part),
                    resource.name,
                    field.name
                )));
            }
            Ok(())
        }
        Expr::Like { .. } | Expr::In { .. } | Expr::IsNull { .. } => Ok(()),
    }
}

fn field_text(field: &Field) -> String {
    if field.quoted {
        format!("`{}`", field.name)
    } else {
        field.name.clone()
    }
}

fn quoted(value: &Literal) -> String {
    match value {
        Literal::String(text) => format!("'{}'", text.replace('\'', "''")),
        other => literal_text(other),
    }
}

/// A part written back as CEQL.
pub fn describe(expr: &Expr) -> String {
    match expr {
        Expr::And(parts) => parts
            .iter()
            .map(describe_grouped)
            .collect::<Vec<_>>()
            .join(" AND "),
        Expr::Or(parts) => parts
            .iter()
            .map(describe_grouped)
            .collect::<Vec<_>>()
            .join(" OR "),
        Expr::Compare { field, op, value } => {
            let op = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Gt => ">",
                CompareOp::Le => "<=",
                CompareOp::Ge => ">=",
            };
            format!("{} {op} {}", field_text(field), quoted(value))
        }
        Expr::Like { field, pattern } => {
            format!(
                "{} LIKE {}",
                field_text(field),
                quoted(&Literal::String(pattern.clone()))
            )
        }
        Expr::In { field, values } => format!(
            "{} IN ({})",
            field_text(field),
            values.iter().map(quoted).collect::<Vec<_>>().join(", ")
        ),
        Expr::IsNull { field, negated } => format!(
            "{} IS {}NULL",
            field_text(field),
            if *negated { "NOT " } else { "" }
        ),
    }
}

fn describe_grouped(expr: &Expr) -> String {
    match expr {
        Expr::And(_) | Expr::Or(_) => format!("({})", describe(expr)),
        other => describe(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    fn contacts() -> Resource {
        Registry::builtin(|_| None)
            .unwrap()
            .get("infusionsoftrest")
            .unwrap()
            .resource("contacts")
            .unwrap()
            .clone()
    }

    fn run(clause: &str) -> Result<Translated, QueryError> {
        let expr = ceql::parse(clause).unwrap();
        translate(&contacts(), Some(&expr), None)
    }

    #[test]
    fn since_until_and_declared_filters_reach_the_provider() {
        let t = run("since='2026-11-01T00:00:00.000Z' AND email = 'a@b.example'").unwrap();
        assert_eq!(
            t.params,
            [
                ("since".into(), "2026-11-01T00:00:00.000Z".into()),
                ("email".into(), "a@b.example".into())
            ]
        );
        assert!(t.local.is_empty());
        let t = run(
            "last_updated >= '2026-11-01T00:00:00Z' AND last_updated <= '2026-11-02T00:00:00Z'",
        )
        .unwrap();
        assert_eq!(
            t.params,
            [
                ("since".into(), "2026-11-01T00:00:00Z".into()),
                ("until".into(), "2026-11-02T00:00:00Z".into())
            ]
        );
    }

    #[test]
    fn other_safe_parts_are_evaluated_locally_and_said_so() {
        let t = run("email_status = 'Confirmed' AND given_name IN ('A', 'B') AND owner_id IS NULL")
            .unwrap();
        assert!(t.params.is_empty());
        assert_eq!(t.local.len(), 3);
        assert_eq!(
            t.local_text().unwrap(),
            "email_status = 'Confirmed' AND given_name IN ('A', 'B') AND owner_id IS NULL"
        );
        assert!(t.keeps(
            &serde_json::json!({"email_status": "Confirmed", "given_name": "A", "owner_id": null})
        ));
        assert!(!t.keeps(&serde_json::json!({"email_status": "Confirmed", "given_name": "C"})));
        let t = run("ScoreValue > 10 OR email_opted_in = true").unwrap();
        assert_eq!(t.local.len(), 1, "an OR of safe parts is evaluated whole");
    }

    #[test]
    fn unsafe_or_unservable_parts_are_refused_naming_the_clause() {
        for (clause, needle) in [
            (
                "last_updated > '2026-11-01T00:00:00Z'",
                "inclusive bounds only",
            ),
            (
                "date_created >= '2026-11-01'",
                "comparing its text here could be wrong",
            ),
            ("since > '2026-11-01'", "since takes = only"),
            ("since = 'a' AND since = 'b'", "sets since a second time"),
            (
                "email = 'x' OR since = '2026-01-01'",
                "only at the top level",
            ),
        ] {
            let error = run(clause).unwrap_err().to_string();
            assert!(error.contains(needle), "{clause}: {error}");
        }
        let companies = Registry::builtin(|_| None)
            .unwrap()
            .get("infusionsoftrest")
            .unwrap();
        let companies = companies.resource("companies").unwrap();
        let error = translate(
            companies,
            Some(&ceql::parse("since = '2026-01-01'").unwrap()),
            None,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("companies has no since filter"),
            "{error}"
        );
    }

    #[test]
    fn order_by_maps_to_the_providers_order_where_it_has_one() {
        let t = translate(&contacts(), None, Some("last_updated desc")).unwrap();
        assert_eq!(
            t.params,
            [
                ("order".into(), "last_updated".into()),
                ("order_direction".into(), "DESCENDING".into())
            ]
        );
        let error = translate(&contacts(), None, Some("shoe_size")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("can be ordered by id, date_created"),
            "{error}"
        );
    }
}
