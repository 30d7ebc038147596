//! The pieces of a definition `spec_of` translates one at a time: which value the simulator
//! gives a token-response variable, a query language's text as fixed parts and slots, where a
//! search body carries its parts, an archived list, a change feed, a delete log, the error
//! bodies' marks, and the scope the templates are rendered in.

use std::collections::BTreeMap;

use serde_json::Value;
use tributary_domain::dates::DateFormatter;
use tributary_elements::Element;
use tributary_elements::definition::deletes::{DeleteKind, DeletesSpec};
use tributary_elements::definition::{ListRequest, Method, resource_pointer};
use tributary_elements::signals::{Action, StatusItem};
use tributary_elements::template::{Context, ResourceVars, Scope, Template, Var};
use tributary_simulator::generic::{
    ArchiveList, ChangeFeed, DeleteLog, ErrorMark, Search, TextPart, TokenValue,
};

use super::{Unplayable, refuse};

/// How the simulator fills connection variable `name` from its token response: its own origin
/// where the variable starts `api.base_url` or `auth.token_url` (a per-tenant API host), the
/// tenant's name where it appears in no URL, path or query; `None` where it sits inside a path
/// or query (a per-tenant segment the simulator does not serve).
pub(super) fn token_value(element: &Element, name: &str) -> Option<TokenValue> {
    let needle = format!("{{{{connection.{name}}}}}");
    let starts = [&element.api.base_url, &element.auth.token_url]
        .iter()
        .any(|url| url.starts_with(&needle));
    let mut texts: Vec<&str> = vec![
        &element.api.base_url,
        &element.auth.token_url,
        &element.auth.authorization_url,
        &element.api.list.path,
        &element.api.get.path,
    ];
    texts.extend(element.api.list.query.values().map(String::as_str));
    for resource in &element.resources {
        for list in [&resource.list, &resource.changes].into_iter().flatten() {
            texts.push(&list.path);
            texts.extend(list.query.values().map(String::as_str));
        }
        if let Some(get) = &resource.get {
            texts.push(&get.path);
        }
    }
    let elsewhere = texts.iter().any(|text| {
        text.replacen(&needle, "", 1).contains(&needle)
            || (text.contains(&needle) && !text.starts_with(&needle))
    });
    match (starts, elsewhere) {
        (_, true) => None,
        (true, false) => Some(TokenValue::Origin),
        (false, false) => Some(TokenValue::Tenant),
    }
}

/// A query language's text (`SELECT {{resource.fields}} FROM {{resource.object}}{{query.where}}
/// …`) as fixed text and slots: resource and connection values written in, the where and order
/// texts and page values as slots.
pub(super) fn language_parts(
    field: &str,
    text: &str,
    scope: &Scope<'_>,
) -> Result<Vec<TextPart>, Unplayable> {
    let bad = |reason: String| refuse(field, reason);
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        literal.push_str(&rest[..open]);
        let close = rest[open..]
            .find("}}")
            .map(|at| open + at + 2)
            .ok_or_else(|| bad("an unclosed {{".into()))?;
        let template = Template::parse(&rest[open..close]).map_err(|e| bad(e.to_string()))?;
        let expr = template
            .exprs()
            .next()
            .ok_or_else(|| bad("an empty {{}}".into()))?;
        let slot = match expr.var {
            Var::QueryWhere => TextPart::Where,
            Var::QueryOrder => TextPart::Order,
            Var::PageSize => TextPart::PageSize,
            Var::PageOffset => TextPart::PageOffset,
            Var::PageStart => TextPart::PageStart,
            Var::PageNumber => TextPart::PageNumber,
            Var::PageCursor | Var::QueryLower | Var::QueryUpper | Var::Id => {
                return Err(bad(format!(
                    "{} inside the query text is not played",
                    &rest[open..close]
                )));
            }
            _ => {
                let value = template
                    .render(scope, Context::Text)
                    .map_err(|e| bad(e.to_string()))?;
                literal.push_str(&value.unwrap_or_default());
                rest = &rest[close..];
                continue;
            }
        };
        if !literal.is_empty() {
            parts.push(TextPart::Text(std::mem::take(&mut literal)));
        }
        parts.push(slot);
        rest = &rest[close..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(TextPart::Text(literal));
    }
    Ok(parts)
}

/// What the definition's templates may read here: the resource, an id, fixed connection values
/// and configuration defaults; never a page or a query.
pub(super) fn scope_of<'a>(
    resource: Option<ResourceVars<'a>>,
    id: Option<&'a str>,
    connection: &'a BTreeMap<String, String>,
    config: &'a BTreeMap<String, String>,
    element: &'a Element,
) -> Scope<'a> {
    Scope {
        page: None,
        resource,
        id,
        connection,
        config,
        query: None,
        formats: element.formats(),
    }
}

/// Where a search body (the definition's `body` template) carries each part: the JSON pointer
/// of every string that is exactly one `{{query.*}}` or `{{page.*}}`.
pub(super) fn search_of(
    element: &Element,
    resource: &tributary_elements::Resource,
    body: &Value,
) -> Search {
    fn walk(value: &Value, pointer: String, out: &mut Vec<(String, Var)>) {
        match value {
            Value::String(text) => {
                if let Ok(template) = Template::parse(text)
                    && let [expr] = template.exprs().collect::<Vec<_>>()[..]
                    && text.trim().starts_with("{{")
                    && text.trim().ends_with("}}")
                {
                    out.push((pointer, expr.var.clone()));
                }
            }
            Value::Object(map) => {
                for (key, value) in map {
                    let token = key.replace('~', "~0").replace('/', "~1");
                    walk(value, format!("{pointer}/{token}"), out);
                }
            }
            Value::Array(items) => {
                for (index, value) in items.iter().enumerate() {
                    walk(value, format!("{pointer}/{index}"), out);
                }
            }
            _ => {}
        }
    }
    let mut slots = Vec::new();
    walk(body, String::new(), &mut slots);
    let at = |var: Var| {
        slots
            .iter()
            .find(|(_, v)| *v == var)
            .map(|(pointer, _)| pointer.clone())
    };
    let spec = &element.api.query;
    let keys = spec.filter_keys.as_ref();
    Search {
        filter_groups: at(Var::QueryFilterGroups),
        filters: at(Var::QueryFilters),
        sorts: at(Var::QuerySorts),
        page_size: at(Var::PageSize),
        cursor: at(Var::PageCursor),
        offset: at(Var::PageOffset),
        field_key: keys.map_or("field".into(), |k| k.field.clone()),
        operator_key: keys.map_or("operator".into(), |k| k.operator.clone()),
        value_key: keys.map_or("value".into(), |k| k.value.clone()),
        sort_field_key: spec.sort_keys.as_ref().map(|k| k.field.clone()),
        sort_direction_key: spec.sort_keys.as_ref().map(|k| k.direction.clone()),
        descending: spec.descending.clone(),
        operators: spec
            .operators
            .iter()
            .map(|(ceql, word)| (word.clone(), ceql.clone()))
            .collect(),
        date_format: spec.date_format.as_deref().and_then(|name| {
            element
                .formats()
                .get(name)
                .cloned()
                .or_else(|| DateFormatter::built_in(name).ok())
        }),
        fields: resource
            .filters
            .iter()
            .filter(|(name, provider)| name != provider)
            .map(|(name, provider)| (provider.clone(), name.clone()))
            .collect(),
    }
}

/// A list of archived records (`archived_list`): its path, the literal parameters that ask for
/// it, its paging parameters, and where the answer puts each thing.
pub(super) fn archive_of(
    field: &str,
    spec: &DeletesSpec,
    base_path: &str,
    scope: &Scope<'_>,
    resource: &tributary_elements::Resource,
) -> Result<ArchiveList, Unplayable> {
    let bad = |reason: &str| refuse(field, reason);
    if spec.method != Method::Get {
        return Err(bad("an archived list sent as POST is not played"));
    }
    let path = Template::parse(spec.path.as_deref().unwrap_or(""))
        .and_then(|t| t.render(scope, Context::Path))
        .map_err(|e| refuse(field, e.to_string()))?
        .unwrap_or_default();
    let (mut flags, mut size, mut cursor) = (Vec::new(), None, None);
    for (param, text) in &spec.query {
        if !text.contains("{{") {
            flags.push((param.clone(), text.clone()));
            continue;
        }
        if let Ok(template) = Template::parse(text)
            && let Some(expr) = template.exprs().next()
        {
            match expr.var {
                Var::PageSize => size = Some(param.clone()),
                Var::PageCursor => cursor = Some(param.clone()),
                _ => {}
            }
        }
    }
    let pointer = |p: &Option<String>| p.as_deref().map(|p| resource_pointer(p, resource));
    let date_format = spec
        .date_format
        .as_deref()
        .map(|pattern| DateFormatter::pattern(pattern, "UTC"))
        .transpose()
        .map_err(|e| refuse(field, e.to_string()))?
        .unwrap_or(DateFormatter::IsoUtcMillis);
    Ok(ArchiveList {
        path: format!("{base_path}{path}"),
        flags,
        size,
        cursor,
        records: pointer(&spec.records).unwrap_or_default(),
        next_cursor: spec.pager.as_ref().and_then(|p| pointer(&p.cursor)),
        id: pointer(&spec.id).ok_or_else(|| bad("an archived list needs id"))?,
        date: pointer(&spec.date).ok_or_else(|| bad("an archived list needs date"))?,
        date_format,
    })
}

/// The path segment standing for the tenant's name (a company id from the OAuth redirect).
pub(super) const TENANT_SEGMENT: &str = "SIMULATORTENANT0";

/// A change feed: its path, the literal parameters that tell the resources apart, the
/// parameter of its window's start, its records, and the stubs' mark when deletes are inline.
pub(super) fn change_feed(
    field: &str,
    element: &Element,
    resource: &tributary_elements::Resource,
    feed: &ListRequest,
    base_path: &str,
    scope: &Scope<'_>,
) -> Result<ChangeFeed, Unplayable> {
    let render = |text: &str, context| {
        Template::parse(text)
            .and_then(|t| t.render(scope, context))
            .map_err(|e| refuse(field, e.to_string()))
    };
    let path = render(&feed.path, Context::Path)?.unwrap_or_default();
    let (mut flags, mut since) = (Vec::new(), None);
    for (param, text) in &feed.query {
        let template = Template::parse(text).map_err(|e| refuse(field, e.to_string()))?;
        let exprs: Vec<_> = template.exprs().collect();
        if let Some(expr) = exprs.iter().find(|e| e.var == Var::QueryLower) {
            let format = expr.formatter.as_deref().and_then(|name| {
                element
                    .formats()
                    .get(name)
                    .cloned()
                    .or_else(|| DateFormatter::built_in(name).ok())
            });
            since = Some((param.clone(), format));
        } else if exprs.iter().all(|e| {
            !matches!(
                e.var,
                Var::PageSize
                    | Var::PageOffset
                    | Var::PageStart
                    | Var::PageNumber
                    | Var::PageCursor
                    | Var::QueryUpper
            )
        }) && let Some(value) = render(text, Context::Text)?
        {
            flags.push((param.clone(), value));
        }
    }
    let since = since.ok_or_else(|| {
        refuse(
            field,
            "a change feed is played with its window's start in a query parameter",
        )
    })?;
    let stub = element
        .deletes_of(resource)
        .filter(|d| d.kind == DeleteKind::Inline)
        .and_then(|d| Some((d.pointer.clone()?, d.equals.clone()?)));
    Ok(ChangeFeed {
        path: format!("{base_path}{path}"),
        flags,
        since,
        records: element.changes_pointer(resource).unwrap_or_default(),
        stub,
    })
}

/// A delete log request (`separate_request`): its path, its window's parameters, and where the
/// answer puts each thing.
pub(super) fn delete_log(
    field: &str,
    spec: &DeletesSpec,
    base_path: &str,
    scope: &Scope<'_>,
    element: &Element,
    resource: &tributary_elements::Resource,
) -> Result<DeleteLog, Unplayable> {
    let bad = |reason: &str| refuse(field, reason);
    if spec.method != Method::Get {
        return Err(bad("a delete log sent as POST is not played"));
    }
    let path = Template::parse(spec.path.as_deref().unwrap_or(""))
        .and_then(|t| t.render(scope, Context::Path))
        .map_err(|e| refuse(field, e.to_string()))?
        .unwrap_or_default();
    let (mut start, mut end) = (None, None);
    for (param, text) in &spec.query {
        let Ok(template) = Template::parse(text) else {
            continue;
        };
        if let Some(expr) = template.exprs().next() {
            let format = expr.formatter.as_deref().and_then(|name| {
                element
                    .formats()
                    .get(name)
                    .cloned()
                    .or_else(|| DateFormatter::built_in(name).ok())
            });
            match expr.var {
                Var::QueryLower => start = Some((param.clone(), format)),
                Var::QueryUpper => end = Some((param.clone(), format)),
                _ => {}
            }
        }
    }
    let pointer = |p: &Option<String>| p.as_deref().map(|p| resource_pointer(p, resource));
    let date_format = spec
        .date_format
        .as_deref()
        .map(|pattern| DateFormatter::pattern(pattern, "UTC"))
        .transpose()
        .map_err(|e| refuse(field, e.to_string()))?
        .unwrap_or(DateFormatter::IsoUtcMillis);
    Ok(DeleteLog {
        path: format!("{base_path}{path}"),
        start,
        end,
        records: pointer(&spec.records).unwrap_or_default(),
        id: pointer(&spec.id).ok_or_else(|| bad("a delete log needs id"))?,
        date: pointer(&spec.date).ok_or_else(|| bad("a delete log needs date"))?,
        date_format,
        covered: pointer(&spec.covered),
        earliest: pointer(&spec.earliest),
    })
}

/// The statuses the simulator answers with errors, each with the classifier action the
/// definition should take on it: the body of each carries what the first rule meant for it tests
/// (a rule with `pointer` and `equals`, or `exists = true`), so that rule matches.
const ERROR_STATUSES: &[(u16, &[Action])] = &[
    (200, &[]),
    (401, &[Action::Refresh, Action::Invalid]),
    (429, &[Action::Backoff, Action::Retry, Action::Pause]),
    (400, &[]),
    (403, &[]),
    (404, &[]),
    (500, &[]),
    (502, &[]),
    (503, &[]),
];

pub(super) fn error_marks(element: &Element) -> Vec<ErrorMark> {
    let mut marks = Vec::new();
    for (status, actions) in ERROR_STATUSES {
        let rule = element.api.errors.rules.iter().find(|rule| {
            rule.status.items().iter().any(|item| match item {
                StatusItem::Code(code) => code == status,
                StatusItem::Class(class) => {
                    class.trim().to_ascii_lowercase() == format!("{}xx", status / 100)
                }
            }) && (actions.is_empty() || actions.contains(&rule.action))
        });
        let Some(rule) = rule else {
            continue;
        };
        let (Some(pointer), value) = (&rule.pointer, &rule.equals) else {
            continue;
        };
        let value = match (value, rule.exists) {
            (Some(value), _) => value.clone(),
            (None, Some(true)) => Value::String("Simulated error".into()),
            _ => continue,
        };
        marks.push(ErrorMark {
            status: *status,
            pointer: pointer.clone(),
            value,
        });
    }
    marks
}
