//! Request templates: `{{variable}}` and `{{variable|formatter}}` in the URLs, paths, query
//! parameters, headers and JSON bodies of an element definition.
//!
//! Values come only from a closed set ([`Var`]): the page being read, the resource, the record
//! id, the instance's connection variables and plain configuration values, and the translated
//! `where` clause. Nothing reads the filesystem or the environment. Every template is parsed
//! when its definition is loaded, so a misspelt variable stops the start, not a poll.
//!
//! How a value is inserted depends on where the template is:
//! - **text** (query parameter values, headers, URLs): the value as text — a number as digits, a
//!   list joined by commas, JSON as compact JSON, a date through its formatter;
//! - **path**: the same, percent-encoded as one path segment, so a record id or a tenant value
//!   can never add a segment (`resource.path`, written by the definition itself, is inserted as
//!   is);
//! - **JSON bodies**: a string that is exactly one `{{…}}` is replaced by the typed value
//!   (numbers stay numbers, a list becomes an array, the search dialect's filters are inserted
//!   as JSON); a string with other text around the expression is a string.
//!
//! A parameter, header or JSON member whose whole template has no value (the cursor before the
//! first page, a bound the query does not have) is left out. An absent value inside longer text
//! is an error that names the variable.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use tributary_domain::dates::{DateFormatter, Formatted};

/// Every variable a template may name (`connection.NAME` and `config.KEY` stand for families).
pub const VARIABLES: &[&str] = &[
    "page.size",
    "page.offset",
    "page.start",
    "page.number",
    "page.cursor",
    "resource.path",
    "resource.object",
    "resource.fields",
    "resource.name",
    "id",
    "connection.NAME",
    "config.KEY",
    "query.where",
    "query.order",
    "query.filters",
    "query.filter_groups",
    "query.sorts",
    "query.lower",
    "query.upper",
];

/// A template variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    PageSize,
    /// Records before this page (0 on the first).
    PageOffset,
    /// The 1-based position of the page's first record.
    PageStart,
    /// The 1-based page number.
    PageNumber,
    /// The cursor the previous page gave; absent on the first page.
    PageCursor,
    ResourcePath,
    ResourceObject,
    ResourceFields,
    ResourceName,
    Id,
    Connection(String),
    Config(String),
    QueryWhere,
    QueryOrder,
    QueryFilters,
    QueryFilterGroups,
    QuerySorts,
    /// The lower bound on the updated field, a date.
    QueryLower,
    /// The upper bound on the updated field, a date.
    QueryUpper,
}

/// Which part of a definition a variable belongs to, for checking where it may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Page,
    Resource,
    Id,
    Connection,
    Config,
    Query,
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        Some(match name {
            "page.size" => Var::PageSize,
            "page.offset" => Var::PageOffset,
            "page.start" => Var::PageStart,
            "page.number" => Var::PageNumber,
            "page.cursor" => Var::PageCursor,
            "resource.path" => Var::ResourcePath,
            "resource.object" => Var::ResourceObject,
            "resource.fields" => Var::ResourceFields,
            "resource.name" => Var::ResourceName,
            "id" => Var::Id,
            "query.where" => Var::QueryWhere,
            "query.order" => Var::QueryOrder,
            "query.filters" => Var::QueryFilters,
            "query.filter_groups" => Var::QueryFilterGroups,
            "query.sorts" => Var::QuerySorts,
            "query.lower" => Var::QueryLower,
            "query.upper" => Var::QueryUpper,
            _ => {
                if let Some(name) = name.strip_prefix("connection.")
                    && !name.is_empty()
                {
                    return Some(Var::Connection(name.to_owned()));
                }
                if let Some(key) = name.strip_prefix("config.")
                    && !key.is_empty()
                {
                    return Some(Var::Config(key.to_owned()));
                }
                return None;
            }
        })
    }

    pub fn family(&self) -> Family {
        match self {
            Var::PageSize
            | Var::PageOffset
            | Var::PageStart
            | Var::PageNumber
            | Var::PageCursor => Family::Page,
            Var::ResourcePath | Var::ResourceObject | Var::ResourceFields | Var::ResourceName => {
                Family::Resource
            }
            Var::Id => Family::Id,
            Var::Connection(_) => Family::Connection,
            Var::Config(_) => Family::Config,
            Var::QueryWhere
            | Var::QueryOrder
            | Var::QueryFilters
            | Var::QueryFilterGroups
            | Var::QuerySorts
            | Var::QueryLower
            | Var::QueryUpper => Family::Query,
        }
    }

    /// Whether the value is a date, which needs a formatter.
    pub fn is_date(&self) -> bool {
        matches!(self, Var::QueryLower | Var::QueryUpper)
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Var::PageSize => "page.size",
            Var::PageOffset => "page.offset",
            Var::PageStart => "page.start",
            Var::PageNumber => "page.number",
            Var::PageCursor => "page.cursor",
            Var::ResourcePath => "resource.path",
            Var::ResourceObject => "resource.object",
            Var::ResourceFields => "resource.fields",
            Var::ResourceName => "resource.name",
            Var::Id => "id",
            Var::Connection(name) => return write!(f, "connection.{name}"),
            Var::Config(key) => return write!(f, "config.{key}"),
            Var::QueryWhere => "query.where",
            Var::QueryOrder => "query.order",
            Var::QueryFilters => "query.filters",
            Var::QueryFilterGroups => "query.filter_groups",
            Var::QuerySorts => "query.sorts",
            Var::QueryLower => "query.lower",
            Var::QueryUpper => "query.upper",
        };
        f.write_str(name)
    }
}

/// One `{{…}}`: a variable and its formatter, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    pub var: Var,
    pub formatter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Expr(Expr),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// A template that does not parse, or a value that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

impl Template {
    /// Parses `text`; an unknown variable or an unclosed `{{` is an error naming it.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| TemplateError(format!("{text:?}: a {{{{ is not closed by }}}}")))?;
            let inner = after[..close].trim();
            let (name, formatter) = match inner.split_once('|') {
                Some((name, formatter)) => (name.trim(), Some(formatter.trim().to_owned())),
                None => (inner, None),
            };
            let var = Var::parse(name).ok_or_else(|| {
                TemplateError(format!(
                    "{text:?}: unknown template variable {name:?}; the variables are {}",
                    VARIABLES.join(", ")
                ))
            })?;
            if formatter.as_deref() == Some("") {
                return Err(TemplateError(format!(
                    "{text:?}: an empty formatter after | in {{{{{inner}}}}}"
                )));
            }
            parts.push(Part::Expr(Expr { var, formatter }));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The expressions of the template.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// The one expression, when the template is nothing else.
    fn whole(&self) -> Option<&Expr> {
        match self.parts.as_slice() {
            [Part::Expr(e)] => Some(e),
            _ => None,
        }
    }

    /// Renders as text; `None` when the whole template is one absent value.
    pub fn render(
        &self,
        scope: &Scope<'_>,
        context: Context,
    ) -> Result<Option<String>, TemplateError> {
        if let Some(expr) = self.whole() {
            return match scope.value(expr)? {
                None => Ok(None),
                Some(value) => Ok(Some(encode(expr, value.into_text(), context))),
            };
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Expr(expr) => {
                    let value = scope
                        .value(expr)?
                        .ok_or_else(|| TemplateError(format!("{} has no value here", expr.var)))?;
                    out.push_str(&encode(expr, value.into_text(), context));
                }
            }
        }
        Ok(Some(out))
    }
}

/// Where rendered text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Query values, headers and URLs: the text as it is (the HTTP client encodes queries).
    Text,
    /// A URL path: each value percent-encoded as one segment (`resource.path` excepted).
    Path,
}

fn encode(expr: &Expr, text: String, context: Context) -> String {
    if context == Context::Text || expr.var == Var::ResourcePath {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A typed template value.
#[derive(Debug, Clone, PartialEq)]
pub enum TValue {
    Text(String),
    Number(i64),
    List(Vec<String>),
    Json(Value),
}

impl TValue {
    fn into_text(self) -> String {
        match self {
            TValue::Text(text) => text,
            TValue::Number(n) => n.to_string(),
            TValue::List(items) => items.join(","),
            TValue::Json(value) => value.to_string(),
        }
    }

    fn into_json(self) -> Value {
        match self {
            TValue::Text(text) => Value::String(text),
            TValue::Number(n) => Value::from(n),
            TValue::List(items) => Value::from(items),
            TValue::Json(value) => value,
        }
    }
}

/// The page being read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageVars {
    pub size: u32,
    pub offset: u64,
    pub number: u64,
    pub cursor: Option<String>,
}

/// What the translated `where` clause gives templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryVars {
    pub where_text: String,
    pub order_text: String,
    pub filters: Vec<Value>,
    pub sorts: Vec<Value>,
    pub lower_ms: Option<i64>,
    pub upper_ms: Option<i64>,
}

/// A resource as templates see it.
#[derive(Debug, Clone, Copy)]
pub struct ResourceVars<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub object: Option<&'a str>,
    pub fields: &'a [String],
}

/// Everything a template may read while one request is built.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub page: Option<&'a PageVars>,
    pub resource: Option<ResourceVars<'a>>,
    pub id: Option<&'a str>,
    pub connection: &'a BTreeMap<String, String>,
    pub config: &'a BTreeMap<String, String>,
    pub query: Option<&'a QueryVars>,
    pub formats: &'a BTreeMap<String, DateFormatter>,
}

impl Scope<'_> {
    fn value(&self, expr: &Expr) -> Result<Option<TValue>, TemplateError> {
        let missing = |what: &str| TemplateError(format!("{} is not available {what}", expr.var));
        let page = || self.page.ok_or_else(|| missing("outside a list request"));
        let resource = || self.resource.ok_or_else(|| missing("without a resource"));
        let query = || self.query.ok_or_else(|| missing("outside a list request"));
        let number = |n: u64| TValue::Number(i64::try_from(n).unwrap_or(i64::MAX));
        let value = match &expr.var {
            Var::PageSize => Some(TValue::Number(i64::from(page()?.size))),
            Var::PageOffset => Some(number(page()?.offset)),
            Var::PageStart => Some(number(page()?.offset.saturating_add(1))),
            Var::PageNumber => Some(number(page()?.number)),
            Var::PageCursor => page()?.cursor.clone().map(TValue::Text),
            Var::ResourcePath => Some(TValue::Text(resource()?.path.to_owned())),
            Var::ResourceName => Some(TValue::Text(resource()?.name.to_owned())),
            Var::ResourceObject => resource()?.object.map(|o| TValue::Text(o.to_owned())),
            Var::ResourceFields => Some(TValue::List(resource()?.fields.to_vec())),
            Var::Id => Some(TValue::Text(
                self.id
                    .ok_or_else(|| missing("without a record id"))?
                    .to_owned(),
            )),
            Var::Connection(name) => self.connection.get(name).cloned().map(TValue::Text),
            Var::Config(key) => self.config.get(key).cloned().map(TValue::Text),
            Var::QueryWhere => Some(TValue::Text(query()?.where_text.clone())),
            Var::QueryOrder => Some(TValue::Text(query()?.order_text.clone())),
            Var::QueryFilters => Some(TValue::Json(Value::from(query()?.filters.clone()))),
            Var::QueryFilterGroups => {
                let filters = &query()?.filters;
                let groups = if filters.is_empty() {
                    Vec::new()
                } else {
                    vec![serde_json::json!({ "filters": filters })]
                };
                Some(TValue::Json(Value::from(groups)))
            }
            Var::QuerySorts => Some(TValue::Json(Value::from(query()?.sorts.clone()))),
            Var::QueryLower => query()?
                .lower_ms
                .map(|ms| self.date(expr, ms))
                .transpose()?,
            Var::QueryUpper => query()?
                .upper_ms
                .map(|ms| self.date(expr, ms))
                .transpose()?,
        };
        Ok(value)
    }

    fn date(&self, expr: &Expr, epoch_ms: i64) -> Result<TValue, TemplateError> {
        let name = expr.formatter.as_deref().ok_or_else(|| {
            TemplateError(format!("{} is a date and needs a formatter", expr.var))
        })?;
        let formatter = formatter(self.formats, name).map_err(TemplateError)?;
        Ok(match formatter.format(epoch_ms) {
            Formatted::Number(n) => TValue::Number(n),
            Formatted::Text(text) => TValue::Text(text),
        })
    }
}

/// A formatter by name: the definition's own `[date_formats]` first, then the built-in ones.
pub fn formatter(
    formats: &BTreeMap<String, DateFormatter>,
    name: &str,
) -> Result<DateFormatter, String> {
    if let Some(found) = formats.get(name) {
        return Ok(found.clone());
    }
    DateFormatter::built_in(name).map_err(|_| {
        let mut known: Vec<&str> = DateFormatter::BUILT_IN.to_vec();
        known.extend(formats.keys().map(String::as_str));
        format!(
            "unknown date formatter {name:?}; the formatters are {}",
            known.join(", ")
        )
    })
}

/// Renders a JSON body: every string in it is a template (see the module docs).
pub fn render_json(body: &Value, scope: &Scope<'_>) -> Result<Option<Value>, TemplateError> {
    Ok(match body {
        Value::String(text) => {
            let template = Template::parse(text)?;
            if let Some(expr) = template.whole() {
                scope.value(expr)?.map(TValue::into_json)
            } else {
                template.render(scope, Context::Text)?.map(Value::String)
            }
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(value) = render_json(item, scope)? {
                    out.push(value);
                }
            }
            Some(Value::Array(out))
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, value) in map {
                if let Some(value) = render_json(value, scope)? {
                    out.insert(key.clone(), value);
                }
            }
            Some(Value::Object(out))
        }
        other => Some(other.clone()),
    })
}

/// Every template string inside a JSON body, for validation.
pub fn json_strings(body: &Value) -> Vec<&str> {
    match body {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().flat_map(json_strings).collect(),
        Value::Object(map) => map.values().flat_map(json_strings).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
