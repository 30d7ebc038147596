//! CEQL `where` clauses translated for a provider, by the dialect its definition chooses.
//!
//! A clause is split into its top-level `AND` parts. Each part either goes to the provider, or
//! is evaluated by Tributary on the records the provider returns, or is refused with a 400 that
//! names it — never silently dropped:
//! - the **bounds** of the resource's updated field — `<updated> >= '…'` and `<= '…'`, and the
//!   aliases the definition names for them (Cloud Elements' `since = '…'`, `until = '…'`) — go
//!   to the provider: as the resource's bound parameters (params dialect, inclusive only, so
//!   `>`/`<` are refused with a hint), or as conditions (where and search dialects);
//! - a part on a declared filter (`filters`: CEQL name → the provider's name) goes to the
//!   provider when the dialect has its operator (the params dialect has only `=`);
//! - any other part is evaluated locally when that is safe: equality, `!=`, `IN`, `LIKE`,
//!   `IS [NOT] NULL`, and ordering comparisons against numbers. Ordering comparisons against
//!   strings are refused, because a provider's date strings need not order as text (one writes
//!   `+0000`, clients send `Z`), and a silently wrong filter is worse than an error.
//!
//! The dialects ([`dialect`]): **params** (query parameters), **where** (a query-language
//! condition text, SOQL- or QBO-style, its literals quoted and escaped so that a CEQL value can
//! never become query text), **search** (JSON filter objects, HubSpot-style). A poll's change
//! filter is one more bound, `<updated> >= <window start>` ([`poll_query`]).
//!
//! Where a definition lists a resource's `record_fields`, a clause naming any other field is
//! refused (issue 16: `nosuchfield = 'x'` was accepted and emitted nothing, for ever).
//!
//! Local evaluation filters each page the provider returns, so a page can hold fewer records
//! than asked for; paging still ends only when the provider's pages end.

mod dialect;

use tributary_domain::ceql::{self, CompareOp, Expr, Field, Literal};
use tributary_domain::dates::{DateFormatter, parse_instant};

use crate::definition::{Element, Resource};
use crate::template::QueryVars;

pub use crate::definition::query::{Dialect, FilterKeys, OPERATORS, QuerySpec, SortKeys};
pub use dialect::escape_string;

/// What a clause became.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translated {
    /// params: the provider's query parameters.
    pub params: Vec<(String, String)>,
    /// The parts evaluated by Tributary.
    pub local: Vec<Expr>,
    /// What request templates read as `query.*`.
    pub vars: QueryVars,
    /// Whether the provider was given a lower bound on the updated field.
    pub lower_bounded: bool,
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

/// A part that goes to the provider.
#[derive(Debug, Clone)]
enum Sent {
    /// A bound on the updated field.
    Bound {
        upper: bool,
        op: CompareOp,
        value: Literal,
    },
    /// A part on a declared filter: the provider's field name and the part.
    Filter { provider: String, part: Expr },
}

/// Whether the provider bounds this resource's updated field (so a poll can ask only for
/// changes).
pub fn bounds_updated_field(element: &Element, resource: &Resource) -> bool {
    element.bounds_updated_field(resource)
}

/// Reads the hub's `where` and `orderBy` parameters and translates them; errors start with
/// `where:`.
pub fn hub_query(
    element: &Element,
    resource: &Resource,
    params: &[(String, String)],
) -> Result<Translated, QueryError> {
    let (clause, order_by) = read_params(params)?;
    translate(element, resource, clause.as_ref(), order_by).map_err(prefixed)
}

/// Like [`hub_query`], for a poll: adds the change filter `<updated> >= since_ms` when the
/// query has no lower bound yet, the poller reads the resource's own updated field, and the
/// provider can take the bound. Says whether it added it.
pub fn poll_query(
    element: &Element,
    resource: &Resource,
    params: &[(String, String)],
    updated_field: &str,
    since_ms: i64,
) -> Result<(Translated, bool), QueryError> {
    let (clause, order_by) = read_params(params)?;
    let translated = translate(element, resource, clause.as_ref(), order_by).map_err(prefixed)?;
    if translated.lower_bounded
        || resource.updated_field.as_deref() != Some(updated_field)
        || !bounds_updated_field(element, resource)
    {
        return Ok((translated, false));
    }
    let bound = Expr::Compare {
        field: Field {
            name: updated_field.to_owned(),
            quoted: false,
        },
        op: CompareOp::Ge,
        value: Literal::String(DateFormatter::IsoUtcMillis.format(since_ms).into_text()),
    };
    let combined = match clause {
        None => bound,
        Some(Expr::And(mut parts)) => {
            parts.push(bound);
            Expr::And(parts)
        }
        Some(other) => Expr::And(vec![other, bound]),
    };
    let translated = translate(element, resource, Some(&combined), order_by).map_err(prefixed)?;
    Ok((translated, true))
}

fn prefixed(error: QueryError) -> QueryError {
    QueryError(format!("where: {error}"))
}

pub(crate) fn read_params(
    params: &[(String, String)],
) -> Result<(Option<Expr>, Option<&str>), QueryError> {
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let clause = match get("where").map(str::trim).filter(|w| !w.is_empty()) {
        Some(text) => {
            Some(ceql::parse(text).map_err(|e| QueryError(format!("where: {e} in {text:?}")))?)
        }
        None => None,
    };
    Ok((clause, get("orderBy")))
}

/// Translates a parsed `where` (and an `orderBy`) for one resource.
pub fn translate(
    element: &Element,
    resource: &Resource,
    clause: Option<&Expr>,
    order_by: Option<&str>,
) -> Result<Translated, QueryError> {
    translate_for(element, resource, clause, order_by, false)
}

/// [`translate`] for a change feed (`feed`): its request takes the updated field's bounds
/// only (`query.lower`, `query.upper`), so every other part is evaluated by Tributary — a part
/// the list request would have sent must not be dropped because the feed does not send it.
pub(crate) fn translate_for(
    element: &Element,
    resource: &Resource,
    clause: Option<&Expr>,
    order_by: Option<&str>,
    feed: bool,
) -> Result<Translated, QueryError> {
    let spec = &element.api.query;
    if let Some(clause) = clause {
        check_fields(spec, resource, clause)?;
    }
    let mut out = Translated::default();
    let parts: Vec<&Expr> = match clause {
        None => Vec::new(),
        Some(Expr::And(parts)) => parts.iter().collect(),
        Some(other) => vec![other],
    };
    let mut sent = Vec::new();
    for part in parts {
        let classified = classify(spec, resource, part)?
            .filter(|item| !feed || matches!(item, Sent::Bound { .. }));
        match classified {
            Some(item) => {
                if let Sent::Bound { upper, value, .. } = &item {
                    let ms = match value {
                        Literal::String(text) => parse_instant(text),
                        _ => None,
                    };
                    if *upper {
                        out.vars.upper_ms = ms;
                    } else {
                        out.lower_bounded = true;
                        out.vars.lower_ms = ms;
                    }
                }
                sent.push((part, item));
            }
            None => {
                check_local(spec, resource, part)?;
                out.local.push(part.clone());
            }
        }
    }
    let context = dialect::Context {
        element,
        spec,
        resource,
    };
    context.render(&sent, &mut out)?;
    if let Some(order) = order_by {
        context.order(order, &mut out)?;
    }
    Ok(out)
}

/// Refuses a clause naming a field the resource's records do not have, where the definition
/// lists them (`record_fields`): such a clause never matches locally, and a provider refuses it
/// at every call. The declared filters, the updated field's aliases, the id and the date fields
/// are always known; a dotted path is judged by its first segment.
fn check_fields(spec: &QuerySpec, resource: &Resource, clause: &Expr) -> Result<(), QueryError> {
    if resource.record_fields.is_empty() {
        return Ok(());
    }
    let known = |name: &str| {
        let top = name.split('.').next().unwrap_or(name);
        resource.record_fields.iter().any(|f| f == top || f == name)
            || resource.filters.contains_key(name)
            || is_alias(spec, name)
            || resource.id_field == name
            || resource.updated_field.as_deref() == Some(name)
            || resource.created_field.as_deref() == Some(name)
    };
    match clause {
        Expr::And(parts) | Expr::Or(parts) => parts
            .iter()
            .try_for_each(|part| check_fields(spec, resource, part)),
        Expr::Compare { field, .. }
        | Expr::Like { field, .. }
        | Expr::In { field, .. }
        | Expr::IsNull { field, .. } => {
            if known(&field.name) {
                Ok(())
            } else {
                Err(QueryError(format!(
                    "{} has no field {:?}; its fields are {}",
                    resource.name,
                    field.name,
                    resource.record_fields.join(", ")
                )))
            }
        }
    }
}

fn is_alias(spec: &QuerySpec, name: &str) -> bool {
    spec.lower_alias.as_deref() == Some(name) || spec.upper_alias.as_deref() == Some(name)
}

/// Where one top-level part goes: `Some` to the provider, `None` to local evaluation (an
/// error when it looks like a provider part the provider cannot take).
fn classify(
    spec: &QuerySpec,
    resource: &Resource,
    part: &Expr,
) -> Result<Option<Sent>, QueryError> {
    let field = match part {
        Expr::Compare { field, .. }
        | Expr::Like { field, .. }
        | Expr::In { field, .. }
        | Expr::IsNull { field, .. } => field,
        Expr::And(_) | Expr::Or(_) => return Ok(None),
    };
    let name = field.name.as_str();
    if let Expr::Compare { op, value, .. } = part {
        let updated = resource.updated_field.as_deref() == Some(name);
        let bound = if is_alias(spec, name) {
            if *op != CompareOp::Eq {
                return Err(QueryError(format!(
                    "the clause {}: {name} takes = only",
                    describe(part)
                )));
            }
            let upper = spec.upper_alias.as_deref() == Some(name);
            Some((upper, if upper { CompareOp::Le } else { CompareOp::Ge }))
        } else if updated {
            match op {
                CompareOp::Ge | CompareOp::Le => Some((*op == CompareOp::Le, *op)),
                CompareOp::Gt | CompareOp::Lt => {
                    if spec.dialect == Dialect::Params || !spec.operators.contains_key(op_text(*op))
                    {
                        return Err(QueryError(format!(
                            "the clause {} cannot be served: {} filters {name} with inclusive bounds only; use >= or <=",
                            describe(part),
                            resource.name
                        )));
                    }
                    Some((*op == CompareOp::Lt, *op))
                }
                CompareOp::Eq | CompareOp::Ne => None,
            }
        } else {
            None
        };
        if let Some((upper, op)) = bound {
            return Ok(Some(Sent::Bound {
                upper,
                op,
                value: value.clone(),
            }));
        }
    }
    let Some(provider) = resource.filters.get(name) else {
        return Ok(None);
    };
    let takes = match spec.dialect {
        Dialect::Params => matches!(
            part,
            Expr::Compare {
                op: CompareOp::Eq,
                ..
            }
        ),
        Dialect::Where | Dialect::Search => spec.operators.contains_key(part_operator(part)),
    };
    Ok(takes.then(|| Sent::Filter {
        provider: provider.clone(),
        part: part.clone(),
    }))
}

/// The CEQL operator of a part, as `operators` keys name it.
fn part_operator(part: &Expr) -> &'static str {
    match part {
        Expr::Compare { op, .. } => op_text(*op),
        Expr::Like { .. } => "LIKE",
        Expr::In { .. } => "IN",
        Expr::IsNull { negated: false, .. } => "IS NULL",
        Expr::IsNull { negated: true, .. } => "IS NOT NULL",
        Expr::And(_) | Expr::Or(_) => "",
    }
}

fn op_text(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Lt => "<",
        CompareOp::Gt => ">",
        CompareOp::Le => "<=",
        CompareOp::Ge => ">=",
    }
}

/// Refuses parts whose local evaluation could be silently wrong.
fn check_local(spec: &QuerySpec, resource: &Resource, part: &Expr) -> Result<(), QueryError> {
    match part {
        Expr::And(parts) | Expr::Or(parts) => parts
            .iter()
            .try_for_each(|p| check_local(spec, resource, p)),
        Expr::Compare { field, op, value } => {
            if is_alias(spec, &field.name) {
                let aliases: Vec<&str> = [&spec.lower_alias, &spec.upper_alias]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                return Err(QueryError(format!(
                    "the clause {} cannot be served: {} go to the provider and only at the top \
                     level, joined by AND",
                    describe(part),
                    aliases.join(" and ")
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

fn literal_text(value: &Literal) -> String {
    match value {
        Literal::String(text) => text.clone(),
        Literal::Number(number) => number.to_string(),
        Literal::Bool(flag) => flag.to_string(),
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
            format!("{} {} {}", field_text(field), op_text(*op), quoted(value))
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
mod tests;
