//! Checks of how the API is called: the query dialect's fields, and each list and get
//! request (templates, records pointer, pager fields, the variable the pager moves by).

use std::collections::BTreeSet;

use super::{Problems, check_template, pointer};
use crate::definition::{Element, GetRequest, ListRequest};
use crate::pager::PagerKind;
use crate::query::{Dialect, OPERATORS};
use crate::template::{self, Family, Template, Var};

pub(super) fn query(element: &Element, p: &mut Problems) {
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

pub(super) fn list(element: &Element, p: &mut Problems, at: &str, list: &ListRequest) {
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
    super::resource_pointer(p, &format!("{at}.records"), list.records.as_ref());
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
}

pub(super) fn get(element: &Element, p: &mut Problems, at: &str, get: &GetRequest) {
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
    super::resource_pointer(p, &format!("{at}.record"), get.record.as_ref());
    let has_id = Template::parse(&get.path).is_ok_and(|t| t.exprs().any(|e| e.var == Var::Id))
        || get.query.values().any(|v| v.contains("{{id}}"));
    if !has_id {
        p.add(
            &format!("{at}.path"),
            "a get request must send {{id}} (in its path or query)",
        );
    }
}
