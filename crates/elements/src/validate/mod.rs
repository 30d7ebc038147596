//! Checking a definition when it is loaded: every template, formatter, pager, dialect,
//! connection variable and classifier rule, so that a mistake stops the start with a message
//! naming the field and what would be valid, instead of failing a poll later.
//!
//! Serde has already refused unknown fields and missing required ones; this checks what types
//! cannot say (which fields a pager kind or a dialect needs, where a variable may appear).

mod api;
mod deletes;
mod feeds;
mod hooks;

use std::collections::BTreeSet;

use tributary_domain::dates::DateFormatter;

use crate::connection::Source;
use crate::definition::Element;
use crate::query::Dialect;
use crate::signals::{Action, read_usage};
use crate::template::{self, Family, Template, Var};

/// Problems found, each naming its field.
pub(super) struct Problems(Vec<(String, String)>);

impl Problems {
    pub(super) fn add(&mut self, field: &str, message: impl std::fmt::Display) {
        self.0.push((field.to_owned(), message.to_string()));
    }
}

/// Checks a parsed definition and compiles its named date formatters into it; each problem is
/// written `field: message`.
pub fn validate(element: &mut Element) -> Result<(), Vec<String>> {
    let problems = problems(element);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems
            .into_iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect())
    }
}

/// What [`validate`] finds, as (field, message) pairs: the field is a path into the definition
/// (`api.list.pager`, `resources[2] (tasks).deletes.kind`), which `crate::check` turns into a
/// line and column.
pub fn problems(element: &mut Element) -> Vec<(String, String)> {
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
    // The one authentication Tributary speaks; a definition must not parse as another.
    if element.auth.kind != "oauth2" {
        p.add(
            "auth.type",
            format!(
                "{:?} is not supported: the one type is \"oauth2\"",
                element.auth.kind
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
    for (i, key) in element.secret_keys.iter().enumerate() {
        if key.trim().is_empty() || key.chars().any(char::is_whitespace) {
            p.add(
                &format!("secret_keys[{i}]"),
                format!("{key:?} must be a configuration key such as \"x.api.token\""),
            );
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
    api::query(element, &mut p);
    api::list(element, &mut p, "api.list", &element.api.list);
    feeds::timing(&mut p, "api.list", &element.api.list, false);
    feeds::cap(element, &mut p, "api.list", &element.api.list, false);
    if let Some(changes) = &element.api.changes {
        feeds::changes(element, &mut p, "api.changes", changes);
        feeds::cap(element, &mut p, "api.changes", changes, true);
    }
    api::get(element, &mut p, "api.get", &element.api.get);
    resources(element, &mut p);
    deletes::check(element, &mut p);
    hooks::check(element, &mut p);
    p.0
}

fn is_pointer(text: &str) -> bool {
    text.is_empty() || text.starts_with('/')
}

pub(super) fn pointer(p: &mut Problems, field: &str, value: Option<&String>) {
    if let Some(value) = value
        && !is_pointer(value)
    {
        p.add(
            field,
            format!("{value:?} is not a JSON pointer; write it as \"/a/b\""),
        );
    }
}

/// A JSON pointer that may name `{{resource.object}}` or `{{resource.name}}` (and nothing
/// else), since one request serves every resource.
pub(super) fn resource_pointer(p: &mut Problems, field: &str, value: Option<&String>) {
    let Some(text) = value else { return };
    pointer(p, field, Some(&text.replace("{{", "").replace("}}", "")));
    match Template::parse(text) {
        Ok(template) => {
            for expr in template.exprs() {
                if !matches!(expr.var, Var::ResourceObject | Var::ResourceName)
                    || expr.formatter.is_some()
                {
                    p.add(
                        field,
                        format!(
                            "{{{{{}}}}} cannot be used in a pointer; only {{{{resource.object}}}} \
                             and {{{{resource.name}}}} can",
                            expr.var
                        ),
                    );
                }
            }
        }
        Err(e) => p.add(field, e),
    }
}

/// Checks one template string: it parses, its variables belong to `allowed` families, its
/// connection variables are declared, its formatters exist and sit on dates, and every date
/// has one.
pub(super) fn check_template(
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
            Source::Config => {
                needs(p, var.key.is_some(), "`key`, an instance configuration key");
                if let Some(key) = var.key.as_deref().filter(|k| element.is_secret(k)) {
                    p.add(
                        &format!("{field}.key"),
                        format!(
                            "{key:?} is a secret (named like one, or in secret_keys): secrets \
                             are never connection values"
                        ),
                    );
                }
            }
        }
        let extra = [
            ("value", var.value.is_some(), Source::Fixed),
            ("pointer", var.pointer.is_some(), Source::TokenResponse),
            ("parameter", var.parameter.is_some(), Source::Redirect),
            ("key", var.key.is_some(), Source::Config),
            ("default", var.default.is_some(), Source::Config),
            ("choices", !var.choices.is_empty(), Source::Config),
            ("allow", !var.allow.is_empty(), Source::Config),
            ("origin", var.origin, Source::Config),
        ];
        if var.origin {
            for (what, value) in var
                .default
                .iter()
                .map(|v| ("default", v))
                .chain(var.choices.values().map(|v| ("choices", v)))
            {
                if crate::connection::origin_of(value).as_deref() != Some(value.as_str()) {
                    p.add(
                        &format!("{field}.{what}"),
                        format!("{value:?} is not an origin such as https://login.example (an origin variable's values are origins)"),
                    );
                }
            }
        }
        for pattern in &var.allow {
            let host = pattern
                .strip_prefix("https://")
                .or_else(|| pattern.strip_prefix("http://"))
                .unwrap_or("");
            let bare = host.strip_prefix("*.").unwrap_or(host);
            if bare.is_empty()
                || !bare
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
            {
                p.add(
                    &format!("{field}.allow"),
                    format!("{pattern:?} is not a pattern such as https://*.my.example.com"),
                );
            }
        }
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
    if limits.requests_per_day == Some(0) {
        p.add("api.rate_limit.requests_per_day", "must be at least 1");
    }
    if limits.concurrent == Some(0) {
        p.add("api.rate_limit.concurrent", "must be at least 1");
    }
    let mut names = BTreeSet::new();
    for (i, budget) in limits.budgets.iter().enumerate() {
        let field = format!("api.rate_limit.budgets[{i}]");
        if budget.name.trim().is_empty() || !names.insert(budget.name.clone()) {
            p.add(
                &format!("{field}.name"),
                "budget names must be non-empty and distinct",
            );
        }
        if budget.requests == 0 {
            p.add(&format!("{field}.requests"), "must be at least 1");
        }
        match crate::signals::parse_duration(&budget.per) {
            Ok(d) if !d.is_zero() => {}
            Ok(_) => p.add(&format!("{field}.per"), "must be longer than zero"),
            Err(e) => p.add(&format!("{field}.per"), e),
        }
        if budget.requests_of.is_empty() {
            p.add(
                &format!("{field}.requests_of"),
                "name the requests it counts: list, get, deletes, changes",
            );
        }
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
            Action::Retry | Action::Backoff if rule.attempts.is_none_or(|a| a == 0) => {
                p.add(
                    &field,
                    format!(
                        "a {} rule needs `attempts` (requests in all, at least 1)",
                        action.name()
                    ),
                );
            }
            Action::Pause if rule.wait.is_none() && element.api.rate_limit.reset.is_none() => {
                p.add(
                    &field,
                    "a pause rule needs `wait`, or a reset header in api.rate_limit",
                );
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
        match (action, rule.then) {
            (Action::Refresh, Some(Action::Refresh)) => p.add(
                &format!("{field}.then"),
                "a refresh rule cannot refresh again; name what follows (invalid, reject, fail …)",
            ),
            (Action::Refresh, _) | (_, None) => {}
            (_, Some(_)) => p.add(
                &format!("{field}.then"),
                format!(
                    "`then` follows a refresh; this rule's action is {}",
                    action.name()
                ),
            ),
        }
        if rule.scope.is_some() && action != Action::Pause {
            p.add(
                &format!("{field}.scope"),
                format!("`scope` applies to pause, not {}", action.name()),
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
            api::list(element, p, &format!("{at}.list"), list_request);
            feeds::timing(p, &format!("{at}.list"), list_request, false);
            feeds::cap(element, p, &format!("{at}.list"), list_request, false);
        }
        if let Some(changes) = &resource.changes {
            feeds::changes(element, p, &format!("{at}.changes"), changes);
            feeds::cap(element, p, &format!("{at}.changes"), changes, true);
        }
        if let Some(get_request) = &resource.get {
            api::get(element, p, &format!("{at}.get"), get_request);
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
pub(crate) mod tests;
