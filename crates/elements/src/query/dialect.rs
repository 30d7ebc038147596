//! The three dialects' renderings of the parts that go to the provider, and of `orderBy`.
//!
//! - **params**: each part is a query parameter (`email=…`, the bound parameters);
//! - **where**: `field op literal` joined by the joiner behind the prefix
//!   (`" WHERE SystemModstamp >= 2026-01-01T00:00:00Z AND Name = 'x'"`), given to templates as
//!   `query.where` and the order as `query.order`. String literals are quoted and every
//!   character the definition lists is escaped, the quote among them (validation makes sure),
//!   so a CEQL value is always one literal. Field names are the definition's, never the
//!   client's: a field the definition does not declare is evaluated locally instead;
//! - **search**: one JSON object per part (`{"propertyName": …, "operator": "GTE", "value":
//!   "1767225600000"}`), given as `query.filters` (and `query.filter_groups`), the order as
//!   `query.sorts`.

use serde_json::{Map, Value};
use tributary_domain::ceql::{Expr, Literal};
use tributary_domain::dates::{Formatted, parse_instant};

use super::{
    Dialect, QueryError, QuerySpec, Sent, Translated, describe, literal_text, op_text,
    part_operator,
};
use crate::definition::{Element, Resource};
use crate::template::formatter;

pub(super) struct Context<'a> {
    pub element: &'a Element,
    pub spec: &'a QuerySpec,
    pub resource: &'a Resource,
}

/// Writes `text` as a string literal: quoted, each listed character replaced.
pub fn escape_string(spec: &QuerySpec, text: &str) -> String {
    let quote = spec.string_quote.as_deref().unwrap_or("'");
    let mut out = String::with_capacity(text.len() + 2);
    out.push_str(quote);
    for c in text.chars() {
        let mut buffer = [0u8; 4];
        match spec.string_escapes.get(&*c.encode_utf8(&mut buffer)) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    out.push_str(quote);
    out
}

/// A value of the where or search dialect.
enum Rendered {
    Number(String),
    Text(String),
    /// A date the formatter wrote as text.
    DateText(String),
}

impl Context<'_> {
    fn updated_provider_field(&self) -> String {
        let updated = self.resource.updated_field.clone().unwrap_or_default();
        self.resource
            .filters
            .get(&updated)
            .cloned()
            .unwrap_or(updated)
    }

    fn is_date_field(&self, provider: &str) -> bool {
        [&self.resource.updated_field, &self.resource.created_field]
            .into_iter()
            .flatten()
            .any(|f| f == provider || self.resource.filters.get(f).is_some_and(|p| p == provider))
    }

    /// A date literal in the definition's date format.
    fn date(&self, part: &Expr, value: &Literal) -> Result<Formatted, QueryError> {
        let text = match value {
            Literal::String(text) => text,
            _ => {
                return Err(QueryError(format!(
                    "the clause {}: a date is written as text, such as '2026-01-01T00:00:00Z'",
                    describe(part)
                )));
            }
        };
        let ms = parse_instant(text).ok_or_else(|| {
            QueryError(format!(
                "the clause {}: {text:?} is not a date such as '2026-01-01T00:00:00Z'",
                describe(part)
            ))
        })?;
        let name = self.spec.date_format.as_deref().unwrap_or("iso_utc_millis");
        let formatter = formatter(self.element.formats(), name).map_err(QueryError)?;
        Ok(formatter.format(ms))
    }

    fn value(&self, part: &Expr, value: &Literal, date: bool) -> Result<Rendered, QueryError> {
        if date {
            return Ok(match self.date(part, value)? {
                Formatted::Number(n) => Rendered::Number(n.to_string()),
                Formatted::Text(text) => Rendered::DateText(text),
            });
        }
        Ok(match value {
            Literal::String(text) => Rendered::Text(text.clone()),
            other => Rendered::Number(literal_text(other)),
        })
    }

    fn operator(&self, part: &Expr, ceql: &str) -> Result<String, QueryError> {
        self.spec.operators.get(ceql).cloned().ok_or_else(|| {
            QueryError(format!(
                "the clause {} cannot be served: {} has no {ceql} at the provider",
                describe(part),
                self.resource.name
            ))
        })
    }

    pub fn render(&self, sent: &[(&Expr, Sent)], out: &mut Translated) -> Result<(), QueryError> {
        match self.spec.dialect {
            Dialect::Params => self.params(sent, out),
            Dialect::Where => {
                let mut conditions = Vec::new();
                for (part, item) in sent {
                    conditions.push(self.condition(part, item)?);
                }
                if !conditions.is_empty() {
                    out.vars.where_text = format!(
                        "{}{}",
                        self.spec.where_prefix.as_deref().unwrap_or(" WHERE "),
                        conditions.join(self.spec.joiner.as_deref().unwrap_or(" AND "))
                    );
                }
                Ok(())
            }
            Dialect::Search => {
                for (part, item) in sent {
                    out.vars.filters.push(self.filter(part, item)?);
                }
                Ok(())
            }
        }
    }

    fn params(&self, sent: &[(&Expr, Sent)], out: &mut Translated) -> Result<(), QueryError> {
        for (part, item) in sent {
            let (name, value) = match item {
                Sent::Bound { upper, value, .. } => {
                    let (param, alias, which) = if *upper {
                        (
                            &self.resource.upper_bound,
                            &self.spec.upper_alias,
                            "upper bound",
                        )
                    } else {
                        (
                            &self.resource.lower_bound,
                            &self.spec.lower_alias,
                            "lower bound",
                        )
                    };
                    let param = param.clone().ok_or_else(|| {
                        QueryError(format!(
                            "the clause {} cannot be served: {} has no {} filter at the provider",
                            describe(part),
                            self.resource.name,
                            alias.as_deref().unwrap_or(which)
                        ))
                    })?;
                    let text = match self.spec.date_format {
                        None => literal_text(value),
                        Some(_) => self.date(part, value)?.into_text(),
                    };
                    (param, text)
                }
                Sent::Filter { provider, part } => match part {
                    Expr::Compare { value, .. } => (provider.clone(), literal_text(value)),
                    _ => unreachable_part(part)?,
                },
            };
            if out.params.iter().any(|(n, _)| *n == name) {
                return Err(QueryError(format!(
                    "the clause {} sets {name} a second time",
                    describe(part)
                )));
            }
            out.params.push((name, value));
        }
        Ok(())
    }

    fn literal(&self, rendered: Rendered) -> String {
        match rendered {
            Rendered::Number(n) => n,
            Rendered::Text(text) => escape_string(self.spec, &text),
            Rendered::DateText(text) if self.spec.quote_dates => escape_string(self.spec, &text),
            Rendered::DateText(text) => text,
        }
    }

    fn condition(&self, part: &Expr, item: &Sent) -> Result<String, QueryError> {
        match item {
            Sent::Bound { op, value, .. } => {
                let field = self.updated_provider_field();
                let op = self.operator(part, op_text(*op))?;
                let value = self.value(part, value, true)?;
                Ok(format!("{field} {op} {}", self.literal(value)))
            }
            Sent::Filter { provider, part } => {
                let op = self.operator(part, part_operator(part))?;
                let date = self.is_date_field(provider);
                Ok(match part {
                    Expr::Compare { value, .. } => {
                        let value = self.value(part, value, date)?;
                        format!("{provider} {op} {}", self.literal(value))
                    }
                    Expr::In { values, .. } => {
                        let mut items = Vec::with_capacity(values.len());
                        for value in values {
                            items.push(self.literal(self.value(part, value, date)?));
                        }
                        format!("{provider} {op} ({})", items.join(", "))
                    }
                    Expr::Like { pattern, .. } => {
                        format!("{provider} {op} {}", escape_string(self.spec, pattern))
                    }
                    Expr::IsNull { .. } => format!("{provider} {op}"),
                    Expr::And(_) | Expr::Or(_) => unreachable_part(part)?,
                })
            }
        }
    }

    fn json(&self, rendered: Rendered) -> Value {
        match rendered {
            Rendered::Text(text) | Rendered::DateText(text) => Value::String(text),
            Rendered::Number(n) if self.spec.string_values => Value::String(n),
            Rendered::Number(n) => serde_json::from_str(&n).unwrap_or(Value::String(n)),
        }
    }

    fn filter(&self, part: &Expr, item: &Sent) -> Result<Value, QueryError> {
        let Some(keys) = &self.spec.filter_keys else {
            return Err(QueryError("the search dialect needs filter_keys".into()));
        };
        let mut object = Map::new();
        match item {
            Sent::Bound { op, value, .. } => {
                object.insert(
                    keys.field.clone(),
                    Value::String(self.updated_provider_field()),
                );
                object.insert(
                    keys.operator.clone(),
                    Value::String(self.operator(part, op_text(*op))?),
                );
                object.insert(
                    keys.value.clone(),
                    self.json(self.value(part, value, true)?),
                );
            }
            Sent::Filter { provider, part } => {
                let date = self.is_date_field(provider);
                object.insert(keys.field.clone(), Value::String(provider.clone()));
                object.insert(
                    keys.operator.clone(),
                    Value::String(self.operator(part, part_operator(part))?),
                );
                match part {
                    Expr::Compare { value, .. } => {
                        object.insert(
                            keys.value.clone(),
                            self.json(self.value(part, value, date)?),
                        );
                    }
                    Expr::In { values, .. } => {
                        let mut items = Vec::with_capacity(values.len());
                        for value in values {
                            items.push(self.json(self.value(part, value, date)?));
                        }
                        let key = keys.values.clone().unwrap_or_else(|| keys.value.clone());
                        object.insert(key, Value::Array(items));
                    }
                    Expr::Like { pattern, .. } => {
                        object.insert(keys.value.clone(), Value::String(pattern.clone()));
                    }
                    Expr::IsNull { .. } => {}
                    Expr::And(_) | Expr::Or(_) => unreachable_part(part)?,
                }
            }
        }
        Ok(Value::Object(object))
    }

    /// `orderBy`: `field` or `field asc|desc`, for a field the resource orders by.
    pub fn order(&self, order: &str, out: &mut Translated) -> Result<(), QueryError> {
        let resource = self.resource;
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
        let descending = match direction.as_deref() {
            None | Some("asc") => false,
            Some("desc") if resource.order_direction && self.spec.descending.is_some() => true,
            Some(other) => {
                return Err(QueryError(format!(
                    "orderBy {order:?}: direction {other:?} is not supported for {}",
                    resource.name
                )));
            }
        };
        let provider = resource.filters.get(field).map_or(field, String::as_str);
        let word = if descending {
            self.spec.descending.clone()
        } else {
            self.spec.ascending.clone()
        };
        match self.spec.dialect {
            Dialect::Params => {
                let (Some(param), direction_param) =
                    (&self.spec.order_parameter, &self.spec.direction_parameter)
                else {
                    return Err(QueryError(format!(
                        "orderBy {order:?}: {} has no ordering at the provider",
                        resource.name
                    )));
                };
                out.params.push((param.clone(), provider.to_owned()));
                if let (true, Some(direction), Some(word)) = (descending, direction_param, word) {
                    out.params.push((direction.clone(), word));
                }
            }
            Dialect::Where => {
                out.vars.order_text = format!(
                    "{}{provider}{}",
                    self.spec.order_prefix.as_deref().unwrap_or(" ORDER BY "),
                    word.map(|w| format!(" {w}")).unwrap_or_default()
                );
            }
            Dialect::Search => {
                let Some(keys) = &self.spec.sort_keys else {
                    return Err(QueryError("the search dialect needs sort_keys".into()));
                };
                let mut sort = Map::new();
                sort.insert(keys.field.clone(), Value::String(provider.to_owned()));
                if let Some(word) = word {
                    sort.insert(keys.direction.clone(), Value::String(word));
                }
                out.vars.sorts.push(Value::Object(sort));
            }
        }
        Ok(())
    }
}

/// A part [`super::classify`] never sends to this dialect (kept an error rather than a panic).
fn unreachable_part<T>(part: &Expr) -> Result<T, QueryError> {
    Err(QueryError(format!(
        "the clause {} cannot be sent to the provider",
        describe(part)
    )))
}
