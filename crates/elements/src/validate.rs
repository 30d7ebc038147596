//! Checking a definition when it is loaded: every template, formatter, pager, dialect,
//! connection variable and classifier rule, so that a mistake stops the start with a message
//! naming the field and what would be valid, instead of failing a poll later.
//!
//! Serde has already refused unknown fields and missing required ones; this checks what types
//! cannot say (which fields a pager kind or a dialect needs, where a variable may appear).

use std::collections::BTreeSet;

use tributary_domain::dates::DateFormatter;

use crate::connection::Source;
use crate::definition::{Element, GetRequest, ListRequest};
use crate::pager::PagerKind;
use crate::query::{Dialect, OPERATORS};
use crate::signals::{Action, read_usage};
use crate::template::{self, Family, Template, Var};

/// Problems found, each naming its field.
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: &str, message: impl std::fmt::Display) {
        self.0.push(format!("{field}: {message}"));
    }
}

/// Checks a parsed definition and compiles its named date formatters into it.
pub fn validate(element: &mut Element) -> Result<(), Vec<String>> {
    let mut p = Problems(Vec::new());
    if element.key.is_empty()
        || !element
            .key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        p.add(
            "key",
            format!(
                "{:?} must be lower-case letters, digits and _ (it names TRIBUTARY_<KEY>_ORIGIN)",
                element.key
            ),
        );
    }
    for (name, spec) in &element.date_formats {
        match DateFormatter::pattern(&spec.pattern, &spec.zone) {
            Ok(formatter) => {
                element.formats.insert(name.clone(), formatter);
            }
            Err(e) => p.add(&format!("date_formats.{name}"), e),
        }
    }
    connection(element, &mut p);
    let urls = [Family::Connection, Family::Config];
    check_template(
        element,
        &mut p,
        "auth.authorization_url",
        &element.auth.authorization_url,
        &urls,
    );
    check_template(
        element,
        &mut p,
        "auth.token_url",
        &element.auth.token_url,
        &urls,
    );
    check_template(
        element,
        &mut p,
        "api.base_url",
        &element.api.base_url,
        &urls,
    );
    for (name, value) in &element.api.headers {
        check_template(
            element,
            &mut p,
            &format!("api.headers.{name}"),
            value,
            &urls,
        );
    }
    if element.api.max_page_size == 0 {
        p.add("api.max_page_size", "must be at least 1");
    }
    rate_limit(element, &mut p);
    errors(element, &mut p);
    query(element, &mut p);
    list(element, &mut p, "api.list", &element.api.list);
    get(element, &mut p, "api.get", &element.api.get);
    resources(element, &mut p);
    if p.0.is_empty() { Ok(()) } else { Err(p.0) }
}

fn is_pointer(text: &str) -> bool {
    text.is_empty() || text.starts_with('/')
}

fn pointer(p: &mut Problems, field: &str, value: Option<&String>) {
    if let Some(value) = value
        && !is_pointer(value)
    {
        p.add(
            field,
            format!("{value:?} is not a JSON pointer; write it as \"/a/b\""),
        );
    }
}

/// Checks one template string: it parses, its variables belong to `allowed` families, its
/// connection variables are declared, its formatters exist and sit on dates, and every date
/// has one.
fn check_template(
    element: &Element,
    p: &mut Problems,
    field: &str,
    text: &str,
    allowed: &[Family],
) {
    let template = match Template::parse(text) {
        Ok(template) => template,
        Err(e) => return p.add(field, e),
    };
    for expr in template.exprs() {
        let family = expr.var.family();
        if !allowed.contains(&family) {
            p.add(
                field,
                format!(
                    "{{{{{}}}}} cannot be used here; here the variables are {}",
                    expr.var,
                    describe_families(allowed)
                ),
            );
            continue;
        }
        if let Var::Connection(name) = &expr.var
            && !element.connection.contains_key(name)
        {
            let declared: Vec<&str> = element.connection.keys().map(String::as_str).collect();
            p.add(
                field,
                format!(
                    "{{{{{}}}}} names no declared connection variable; declared: {}",
                    expr.var,
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                ),
            );
        }
        let dialect = element.api.query.dialect;
        let dialect_only = match expr.var {
            Var::QueryWhere | Var::QueryOrder => Some(Dialect::Where),
            Var::QueryFilters | Var::QueryFilterGroups | Var::QuerySorts => Some(Dialect::Search),
            _ => None,
        };
        if let Some(only) = dialect_only
            && only != dialect
        {
            p.add(
                field,
                format!(
                    "{{{{{}}}}} is given by the {} dialect; this element's is {}",
                    expr.var,
                    only.name(),
                    dialect.name()
                ),
            );
        }
        match (&expr.formatter, expr.var.is_date()) {
            (Some(name), true) => {
                if let Err(e) = template::formatter(&element.formats, name) {
                    p.add(field, e);
                }
            }
            (None, true) => p.add(
                field,
                format!(
                    "{{{{{}}}}} is a date: name a formatter, such as {{{{{}|iso_utc}}}}",
                    expr.var, expr.var
                ),
            ),
            (Some(name), false) => p.add(
                field,
                format!("{{{{{}}}}} is not a date; the formatter {name:?} applies to query.lower and query.upper only", expr.var),
            ),
            (None, false) => {}
        }
    }
}

fn describe_families(families: &[Family]) -> String {
    families
        .iter()
        .map(|f| match f {
            Family::Page => "page.*",
            Family::Resource => "resource.*",
            Family::Id => "id",
            Family::Connection => "connection.NAME",
            Family::Config => "config.KEY",
            Family::Query => "query.*",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn connection(element: &Element, p: &mut Problems) {
    for (name, var) in &element.connection {
        let field = format!("connection.{name}");
        let needs = |p: &mut Problems, present: bool, what: &str| {
            if !present {
                p.add(
                    &field,
                    format!("a {} variable needs {what}", source_name(var.source)),
                );
            }
        };
        match var.source {
            Source::Fixed => needs(p, var.value.is_some(), "`value`"),
            Source::TokenResponse => {
                needs(
                    p,
                    var.pointer.is_some(),
                    "`pointer`, a JSON pointer such as \"/instance_url\"",
                );
                pointer(p, &format!("{field}.pointer"), var.pointer.as_ref());
            }
            Source::Redirect => needs(
                p,
                var.parameter.is_some(),
                "`parameter`, the redirect's query parameter such as \"realmId\"",
            ),
            Source::Config => needs(p, var.key.is_some(), "`key`, an instance configuration key"),
        }
        let extra = [
            ("value", var.value.is_some(), Source::Fixed),
            ("pointer", var.pointer.is_some(), Source::TokenResponse),
            ("parameter", var.parameter.is_some(), Source::Redirect),
            ("key", var.key.is_some(), Source::Config),
        ];
        for (key, present, owner) in extra {
            if present && owner != var.source {
                p.add(
                    &field,
                    format!(
                        "`{key}` belongs to {} variables; this one is {}",
                        source_name(owner),
                        source_name(var.source)
                    ),
                );
            }
        }
    }
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Fixed => "fixed",
        Source::TokenResponse => "token_response",
        Source::Redirect => "redirect",
        Source::Config => "config",
    }
}

fn rate_limit(element: &Element, p: &mut Problems) {
    let limits = &element.api.rate_limit;
    if limits.requests_per_minute == 0 {
        p.add("api.rate_limit.requests_per_minute", "must be at least 1");
    }
    for (i, usage) in limits.usage.iter().enumerate() {
        let field = format!("api.rate_limit.usage[{i}].pattern");
        let names: Vec<String> = usage
            .pattern
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
            .collect();
        let known = ["used", "limit", "remaining"];
        if names.is_empty() || names.iter().any(|n| !known.contains(&n.as_str())) {
            p.add(
                &field,
                format!(
                    "{:?} must hold {{used}}, {{limit}} or {{remaining}} and no other {{…}}",
                    usage.pattern
                ),
            );
        } else if !names.iter().any(|n| n == "remaining")
            && !(names.iter().any(|n| n == "used")
                && (names.iter().any(|n| n == "limit") || limits.limit.is_some()))
        {
            p.add(
                &field,
                "needs {remaining}, or {used} with {limit} (or a limit header)",
            );
        }
        // The pattern reads its own example (digits where the names are).
        let example = usage
            .pattern
            .replace("{used}", "1")
            .replace("{limit}", "2")
            .replace("{remaining}", "3");
        if read_usage(&usage.pattern, &example).is_none() {
            p.add(
                &field,
                format!(
                    "{:?} cannot be read; two names must have text between them",
                    usage.pattern
                ),
            );
        }
    }
}

fn errors(element: &Element, p: &mut Problems) {
    let spec = &element.api.errors;
    for (i, message) in spec.messages.iter().enumerate() {
        pointer(p, &format!("api.errors.messages[{i}]"), Some(message));
    }
    for (i, rule) in spec.rules.iter().enumerate() {
        let field = format!("api.errors.rules[{i}]");
        if rule.status.items().is_empty() || rule.status.items().iter().any(|s| !s.is_valid()) {
            p.add(
                &format!("{field}.status"),
                "give codes from 100 to 599 or classes \"1xx\" to \"5xx\"",
            );
        }
        pointer(p, &format!("{field}.pointer"), rule.pointer.as_ref());
        if rule.pointer.is_none() && (rule.equals.is_some() || rule.exists.is_some()) {
            p.add(
                &field,
                "`equals` and `exists` test the value at `pointer`; add a pointer",
            );
        }
        if let Some(wait) = &rule.wait
            && let Err(e) = crate::signals::parse_duration(wait)
        {
            p.add(&format!("{field}.wait"), e);
        }
        let action = rule.action;
        match action {
            Action::Retry | Action::Backoff => {
                if rule.attempts.is_none_or(|a| a == 0) {
                    p.add(
                        &field,
                        format!(
                            "a {} rule needs `attempts` (requests in all, at least 1)",
                            action.name()
                        ),
                    );
                }
            }
            Action::Pause => {
                if rule.wait.is_none() && element.api.rate_limit.reset.is_none() {
                    p.add(
                        &field,
                        "a pause rule needs `wait`, or a reset header in api.rate_limit",
                    );
                }
            }
            _ => {}
        }
        if rule.attempts.is_some() && !matches!(action, Action::Retry | Action::Backoff) {
            p.add(
                &field,
                format!(
                    "`attempts` applies to retry and backoff, not {}",
                    action.name()
                ),
            );
        }
        if rule.wait.is_some() && !matches!(action, Action::Retry | Action::Pause) {
            p.add(
                &field,
                format!("`wait` applies to retry and pause, not {}", action.name()),
            );
        }
    }
}

fn query(element: &Element, p: &mut Problems) {
    let spec = &element.api.query;
    let dialect = spec.dialect;
    let field = |name: &str| format!("api.query.{name}");
    // Which dialects read each optional field.
    let owners: [(&str, bool, &[Dialect]); 14] = [
        (
            "order_parameter",
            spec.order_parameter.is_some(),
            &[Dialect::Params],
        ),
        (
            "direction_parameter",
            spec.direction_parameter.is_some(),
            &[Dialect::Params],
        ),
        (
            "ascending",
            spec.ascending.is_some(),
            &[Dialect::Where, Dialect::Search],
        ),
        (
            "descending",
            spec.descending.is_some(),
            &[Dialect::Params, Dialect::Where, Dialect::Search],
        ),
        (
            "string_quote",
            spec.string_quote.is_some(),
            &[Dialect::Where],
        ),
        (
            "string_escapes",
            !spec.string_escapes.is_empty(),
            &[Dialect::Where],
        ),
        ("quote_dates", spec.quote_dates, &[Dialect::Where]),
        (
            "where_prefix",
            spec.where_prefix.is_some(),
            &[Dialect::Where],
        ),
        ("joiner", spec.joiner.is_some(), &[Dialect::Where]),
        (
            "order_prefix",
            spec.order_prefix.is_some(),
            &[Dialect::Where],
        ),
        (
            "operators",
            !spec.operators.is_empty(),
            &[Dialect::Where, Dialect::Search],
        ),
        (
            "filter_keys",
            spec.filter_keys.is_some(),
            &[Dialect::Search],
        ),
        ("sort_keys", spec.sort_keys.is_some(), &[Dialect::Search]),
        ("string_values", spec.string_values, &[Dialect::Search]),
    ];
    for (name, present, dialects) in owners {
        if present && !dialects.contains(&dialect) {
            let names: Vec<&str> = dialects.iter().map(|d| d.name()).collect();
            p.add(
                &field(name),
                format!(
                    "belongs to the {} dialect; this element's is {}",
                    names.join(" and "),
                    dialect.name()
                ),
            );
        }
    }
    if let Some(name) = &spec.date_format
        && let Err(e) = template::formatter(&element.formats, name)
    {
        p.add(&field("date_format"), e);
    }
    if dialect != Dialect::Params && spec.date_format.is_none() {
        p.add(
            &field("date_format"),
            format!(
                "the {} dialect needs it: how dates are written, such as \"iso_utc\"",
                dialect.name()
            ),
        );
    }
    for op in spec.operators.keys() {
        if !OPERATORS.contains(&op.as_str()) {
            p.add(
                &field("operators"),
                format!(
                    "{op:?} is not a CEQL operator; they are {}",
                    OPERATORS.join(", ")
                ),
            );
        }
    }
    let orders = element.resources.iter().any(|r| !r.order_by.is_empty());
    match dialect {
        Dialect::Params => {
            if orders && spec.order_parameter.is_none() {
                p.add(
                    &field("order_parameter"),
                    "resources declare order_by: name the parameter that takes the field",
                );
            }
            if spec.direction_parameter.is_some() != spec.descending.is_some() {
                p.add(
                    &field("direction_parameter"),
                    "give it together with `descending`, the value asking for descending order",
                );
            }
        }
        Dialect::Where => {
            match spec.string_quote.as_deref() {
                None => p.add(&field("string_quote"), "the where dialect needs it: the character around string literals, such as \"'\""),
                Some(quote) if quote.chars().count() != 1 => p.add(&field("string_quote"), "must be one character"),
                Some(quote) => {
                    if !spec.string_escapes.contains_key(quote) {
                        p.add(&field("string_escapes"), format!("must escape the quote {quote:?}, or a value could end the literal"));
                    }
                }
            }
            for (from, to) in &spec.string_escapes {
                if from.chars().count() != 1 {
                    p.add(
                        &field("string_escapes"),
                        format!("{from:?}: each key is one character"),
                    );
                }
                // An escape's lead character must itself be escaped (`\` before `\'`), or a
                // value ending in it would turn the closing quote into an escaped one.
                if let Some(lead) = to.chars().next()
                    && spec.string_quote.as_deref() != Some(&*lead.to_string())
                    && !spec.string_escapes.contains_key(&lead.to_string())
                {
                    p.add(
                        &field("string_escapes"),
                        format!("{to:?} starts with {lead:?}, which must be escaped too"),
                    );
                }
            }
            if spec.operators.is_empty() {
                p.add(
                    &field("operators"),
                    "the where dialect needs them, such as { \"=\" = \"=\", \">=\" = \">=\" }",
                );
            }
        }
        Dialect::Search => {
            if spec.filter_keys.is_none() {
                p.add(
                    &field("filter_keys"),
                    "the search dialect needs them: { field, operator, value }",
                );
            }
            if orders && spec.sort_keys.is_none() {
                p.add(
                    &field("sort_keys"),
                    "resources declare order_by: name the keys of a sort object",
                );
            }
            if spec.operators.is_empty() {
                p.add(
                    &field("operators"),
                    "the search dialect needs them, such as { \">=\" = \"GTE\" }",
                );
            }
        }
    }
}

fn list_families() -> [Family; 5] {
    [
        Family::Page,
        Family::Resource,
        Family::Connection,
        Family::Config,
        Family::Query,
    ]
}

fn list(element: &Element, p: &mut Problems, at: &str, list: &ListRequest) {
    let families = list_families();
    check_template(element, p, &format!("{at}.path"), &list.path, &families);
    let mut texts: Vec<&str> = vec![&list.path];
    for (name, value) in &list.query {
        check_template(element, p, &format!("{at}.query.{name}"), value, &families);
        texts.push(value);
    }
    for (name, value) in &list.headers {
        check_template(
            element,
            p,
            &format!("{at}.headers.{name}"),
            value,
            &families,
        );
        texts.push(value);
    }
    if let Some(body) = &list.body {
        for text in template::json_strings(body) {
            check_template(element, p, &format!("{at}.body"), text, &families);
            texts.push(text);
        }
    }
    pointer(p, &format!("{at}.records"), list.records.as_ref());
    let used: BTreeSet<String> = texts
        .iter()
        .filter_map(|t| Template::parse(t).ok())
        .flat_map(|t| t.exprs().map(|e| e.var.to_string()).collect::<Vec<_>>())
        .collect();
    let pager = &list.pager;
    let field = format!("{at}.pager");
    let kind = pager.kind;
    let needs = |p: &mut Problems, value: Option<&String>, what: &str| {
        if value.is_none() {
            p.add(&field, format!("a {} pager needs {what}", kind.name()));
        }
    };
    match kind {
        PagerKind::NextUrl => needs(
            p,
            pager.next.as_ref(),
            "`next`, a JSON pointer to the next page's URL such as \"/nextRecordsUrl\"",
        ),
        PagerKind::Cursor => needs(
            p,
            pager.cursor.as_ref(),
            "`cursor`, a JSON pointer to the next page's cursor such as \"/paging/next/after\"",
        ),
        _ => {}
    }
    let extra = [
        ("next", pager.next.is_some(), PagerKind::NextUrl),
        ("done", pager.done.is_some(), PagerKind::NextUrl),
        ("cursor", pager.cursor.is_some(), PagerKind::Cursor),
    ];
    for (name, present, owner) in extra {
        if present && owner != kind {
            p.add(
                &field,
                format!(
                    "`{name}` belongs to {} pagers; this one is {}",
                    owner.name(),
                    kind.name()
                ),
            );
        }
    }
    for (name, value) in [
        ("total", &pager.total),
        ("next", &pager.next),
        ("done", &pager.done),
        ("cursor", &pager.cursor),
    ] {
        pointer(p, &format!("{field}.{name}"), value.as_ref());
    }
    let moves = match kind {
        PagerKind::Offset => Some((
            "{{page.offset}} or {{page.start}}",
            used.contains("page.offset") || used.contains("page.start"),
        )),
        PagerKind::PageNumber => Some(("{{page.number}}", used.contains("page.number"))),
        PagerKind::Cursor => Some(("{{page.cursor}}", used.contains("page.cursor"))),
        _ => None,
    };
    if let Some((var, present)) = moves
        && !present
    {
        p.add(
            &field,
            format!(
                "a {} pager moves by {var}, which the request never sends",
                kind.name()
            ),
        );
    }
    if pager.max_results.is_some() || pager.on_cap.is_some() {
        p.add(&field, "max_results and on_cap (a result cap with re-windowing) are reserved and not implemented yet; remove them");
    }
}

fn get(element: &Element, p: &mut Problems, at: &str, get: &GetRequest) {
    let families = [
        Family::Resource,
        Family::Id,
        Family::Connection,
        Family::Config,
    ];
    check_template(element, p, &format!("{at}.path"), &get.path, &families);
    for (name, value) in &get.query {
        check_template(element, p, &format!("{at}.query.{name}"), value, &families);
    }
    for (name, value) in &get.headers {
        check_template(
            element,
            p,
            &format!("{at}.headers.{name}"),
            value,
            &families,
        );
    }
    pointer(p, &format!("{at}.record"), get.record.as_ref());
    let has_id = Template::parse(&get.path).is_ok_and(|t| t.exprs().any(|e| e.var == Var::Id))
        || get.query.values().any(|v| v.contains("{{id}}"));
    if !has_id {
        p.add(
            &format!("{at}.path"),
            "a get request must send {{id}} (in its path or query)",
        );
    }
}

fn resources(element: &Element, p: &mut Problems) {
    let mut names = BTreeSet::new();
    if element.resources.is_empty() {
        p.add("resources", "an element needs at least one resource");
    }
    for (i, resource) in element.resources.iter().enumerate() {
        let at = format!("resources[{i}] ({})", resource.name);
        if resource.name.is_empty() || !names.insert(resource.name.clone()) {
            p.add(&at, "resource names must be non-empty and distinct");
        }
        pointer(p, &format!("{at}.records"), resource.records.as_ref());
        if let Some(list_request) = &resource.list {
            list(element, p, &format!("{at}.list"), list_request);
        }
        if let Some(get_request) = &resource.get {
            get(element, p, &format!("{at}.get"), get_request);
        }
        let list_request = element.list_request(resource);
        if resource.records.is_none() && list_request.records.is_none() {
            p.add(&at, "say where its records sit: `records`, a JSON pointer such as \"/contacts\" (here or in api.list)");
        }
        let params = element.api.query.dialect == Dialect::Params;
        for (name, value) in [
            ("lower_bound", &resource.lower_bound),
            ("upper_bound", &resource.upper_bound),
        ] {
            if value.is_some() && !params {
                p.add(&format!("{at}.{name}"), "bound parameters belong to the params dialect; the other dialects bound the updated field themselves");
            }
            if value.is_some() && resource.updated_field.is_none() {
                p.add(
                    &format!("{at}.{name}"),
                    "bounds the updated field: declare `updated_field`",
                );
            }
        }
        if resource.order_direction && element.api.query.descending.is_none() {
            p.add(
                &format!("{at}.order_direction"),
                "needs api.query.descending, the provider's word for descending order",
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::registry::parse_definition;

    /// A small valid definition (a cursor pager, records under `/data/items`).
    pub const MINIMAL: &str = r#"
key = "second"
id = 2
name = "Second"
hub = "crm"
description = "A test provider."

[auth]
type = "oauth2"
authorization_url = "https://login.example/authorize"
token_url = "https://login.example/token"
scope = "read"
code_client_auth = "body"
refresh_client_auth = "body"

[api]
base_url = "https://api.example/api"
max_page_size = 100

[api.rate_limit]
requests_per_minute = 600

[api.query]
dialect = "params"

[api.list]
path = "{{resource.path}}"
records = "/data/items"
query = { limit = "{{page.size}}", after = "{{page.cursor}}" }

[api.list.pager]
kind = "cursor"
cursor = "/data/next"

[api.get]
path = "{{resource.path}}/{{id}}"

[events]
polling = true
webhooks = false

[[resources]]
name = "deals"
path = "/deals"
id_field = "id"
"#;

    fn problems(edit: impl Fn(String) -> String) -> String {
        match parse_definition("edited.toml", &edit(MINIMAL.to_owned())) {
            Ok(_) => panic!("the edited definition was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_minimal_definition_is_valid() {
        parse_definition("minimal.toml", MINIMAL).unwrap();
    }

    #[test]
    fn unknown_variables_and_misplaced_ones_are_named_with_the_valid_ones() {
        let error = problems(|t| {
            t.replace(
                "{{resource.path}}/{{id}}",
                "{{resource.path}}/{{record.id}}",
            )
        });
        assert!(
            error.starts_with("element definition edited.toml: "),
            "{error}"
        );
        assert!(
            error.contains("api.get.path")
                && error.contains("\"record.id\"")
                && error.contains("page.cursor"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "base_url = \"https://api.example/api\"",
                "base_url = \"https://api.example/{{page.size}}\"",
            )
        });
        assert!(
            error.contains("api.base_url: {{page.size}} cannot be used here")
                && error.contains("connection.NAME, config.KEY"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "base_url = \"https://api.example/api\"",
                "base_url = \"{{connection.instance_url}}\"",
            )
        });
        assert!(
            error.contains("names no declared connection variable; declared: none"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "after = \"{{page.cursor}}\"",
                "after = \"{{page.cursor}}\", w = \"{{query.where}}\"",
            )
        });
        assert!(
            error.contains(
                "{{query.where}} is given by the where dialect; this element's is params"
            ),
            "{error}"
        );
    }

    #[test]
    fn formatters_must_exist_and_sit_on_dates() {
        let with = |value: &str| {
            problems(|t| {
                t.replace(
                    "after = \"{{page.cursor}}\"",
                    &format!("after = \"{{{{page.cursor}}}}\", since = \"{value}\""),
                )
            })
        };
        assert!(with("{{query.lower}}").contains("is a date: name a formatter"));
        let error = with("{{query.lower|soql}}");
        assert!(
            error.contains("unknown date formatter \"soql\"") && error.contains("iso_utc_millis"),
            "{error}"
        );
        assert!(with("{{page.size|iso_utc}}").contains("is not a date"));
        let error = problems(|t| {
            format!("{t}\n[date_formats.local]\npattern = \"yyyy-qq\"\nzone = \"UTC\"\n")
        });
        assert!(
            error.contains("date_formats.local") && error.contains("unknown pattern letter"),
            "{error}"
        );
    }

    #[test]
    fn pager_fields_must_fit_its_kind() {
        let error = problems(|t| t.replace("cursor = \"/data/next\"", ""));
        assert!(
            error.contains("api.list.pager: a cursor pager needs `cursor`"),
            "{error}"
        );
        let error = problems(|t| t.replace("kind = \"cursor\"", "kind = \"next_url\""));
        assert!(
            error.contains("a next_url pager needs `next`")
                && error.contains("`cursor` belongs to cursor pagers"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "kind = \"cursor\"\ncursor = \"/data/next\"",
                "kind = \"offset\"",
            )
        });
        assert!(
            error.contains("an offset pager moves by") || error.contains("a offset pager moves by"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "cursor = \"/data/next\"",
                "cursor = \"/data/next\"\nmax_results = 10000\non_cap = \"rewindow\"",
            )
        });
        assert!(error.contains("reserved and not implemented"), "{error}");
        let error = problems(|t| t.replace("kind = \"cursor\"", "kind = \"sideways\""));
        assert!(
            error.contains("sideways") && error.contains("next_url"),
            "{error}"
        );
        let error =
            problems(|t| t.replace("records = \"/data/items\"", "records = \"data.items\""));
        assert!(
            error.contains("api.list.records") && error.contains("not a JSON pointer"),
            "{error}"
        );
    }

    #[test]
    fn each_dialect_says_what_it_needs() {
        let error = problems(|t| t.replace("dialect = \"params\"", "dialect = \"where\""));
        assert!(
            error.contains("api.query.date_format: the where dialect needs it")
                && error.contains("api.query.string_quote: the where dialect needs it")
                && error.contains("api.query.operators: the where dialect needs them"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "dialect = \"params\"",
                "dialect = \"where\"\ndate_format = \"iso_utc\"\nstring_quote = \"'\"\nstring_escapes = { \"'\" = \"\\\\'\" }\noperators = { \"=\" = \"=\" }",
            )
        });
        assert!(
            error.contains("\"\\\\'\" starts with '\\\\', which must be escaped too"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace("dialect = \"params\"", "dialect = \"search\"\ndate_format = \"epoch_millis_string\"\noperators = { \">=\" = \"GTE\", \"~\" = \"X\" }")
        });
        assert!(
            error.contains("api.query.filter_keys: the search dialect needs them")
                && error.contains("\"~\" is not a CEQL operator"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "dialect = \"params\"",
                "dialect = \"params\"\nstring_quote = \"'\"",
            )
        });
        assert!(
            error.contains(
                "api.query.string_quote: belongs to the where dialect; this element's is params"
            ),
            "{error}"
        );
    }

    #[test]
    fn connection_variables_and_classifier_rules_are_checked() {
        let error = problems(|t| {
            format!("{t}\n[connection.realm]\nsource = \"redirect\"\npointer = \"/x\"\n")
        });
        assert!(
            error.contains("connection.realm: a redirect variable needs `parameter`")
                && error.contains("`pointer` belongs to token_response"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace("[api.list]", "[[api.errors.rules]]\nstatus = 429\naction = \"backoff\"\n\n[[api.errors.rules]]\nstatus = \"6xx\"\naction = \"pause\"\n\n[api.list]")
        });
        assert!(
            error.contains("api.errors.rules[0]: a backoff rule needs `attempts`")
                && error.contains("api.errors.rules[1].status")
                && error.contains("a pause rule needs `wait`"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace("[api.list]", "[[api.errors.rules]]\nstatus = 500\naction = \"retry\"\nattempts = 2\nwait = \"soon\"\n\n[api.list]")
        });
        assert!(error.contains("api.errors.rules[0].wait"), "{error}");
        let error = problems(|t| {
            t.replace(
                "[api.list]",
                "[api.rate_limit.reset]\nheader = \"x\"\nunit = \"fortnights\"\n\n[api.list]",
            )
        });
        assert!(error.contains("fortnights"), "{error}");
    }

    #[test]
    fn keys_resources_and_get_requests_are_checked() {
        let error = problems(|t| t.replace("key = \"second\"", "key = \"Second-One\""));
        assert!(
            error.contains("key: \"Second-One\" must be lower-case"),
            "{error}"
        );
        let error = problems(|t| {
            t.replace(
                "path = \"{{resource.path}}/{{id}}\"",
                "path = \"{{resource.path}}\"",
            )
        });
        assert!(
            error.contains("api.get.path: a get request must send {{id}}"),
            "{error}"
        );
        let error = problems(|t| t.replace("records = \"/data/items\"\n", ""));
        assert!(
            error.contains("resources[0] (deals): say where its records sit"),
            "{error}"
        );
        let error = problems(|t| format!("{t}lower_bound = \"since\"\n"));
        assert!(
            error.contains("lower_bound: bounds the updated field: declare `updated_field`"),
            "{error}"
        );
        let error = problems(|t| format!("{t}color = \"blue\"\n"));
        assert!(error.contains("unknown field `color`"), "{error}");
    }
}
