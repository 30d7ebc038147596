//! Checks of what polls read besides the list's pages: a change feed (`api.changes`, a
//! resource's `changes`), a result cap and how a poll gets past it (`pager.max_results`,
//! `on_cap`, `tie_field`), a settle time and a look-back, the extra budgets and concurrency of
//! `api.rate_limit`, and the two delete kinds read with the records or beside them
//! (`archived_list`, `inline`).

use tributary_domain::dates::DatePattern;

use super::{Problems, check_template, pointer, resource_pointer};
use crate::definition::deletes::{DeleteKind, DeletesSpec};
use crate::definition::{Element, ListRequest, Resource};
use crate::pager::{ON_CAP_REWINDOW, PagerKind, PagerSpec};
use crate::query::Dialect;
use crate::template::{Family, Template, Var};

/// `settle` and `lookback` (the latter only on a change feed).
pub(super) fn timing(p: &mut Problems, at: &str, request: &ListRequest, changes: bool) {
    for (name, value) in [("settle", &request.settle), ("lookback", &request.lookback)] {
        if let Some(text) = value {
            match crate::signals::parse_duration(text) {
                Ok(d) if !d.is_zero() => {}
                Ok(_) => p.add(&format!("{at}.{name}"), "must be longer than zero"),
                Err(e) => p.add(&format!("{at}.{name}"), e),
            }
        }
    }
    if request.lookback.is_some() && !changes {
        p.add(
            &format!("{at}.lookback"),
            "a look-back belongs to a change feed (api.changes); a list reaches every record",
        );
    }
}

/// A change feed: a list request that must send its window's start, and say where the
/// records are.
pub(super) fn changes(element: &Element, p: &mut Problems, at: &str, request: &ListRequest) {
    super::api::list(element, p, at, request);
    timing(p, at, request, true);
    if request.records.is_none() {
        p.add(
            at,
            "a change feed needs `records`, a JSON pointer such as \"/changes/{{resource.object}}\"",
        );
    }
    let mut texts: Vec<&str> = vec![&request.path];
    texts.extend(request.query.values().map(String::as_str));
    texts.extend(request.headers.values().map(String::as_str));
    if let Some(body) = &request.body {
        texts.extend(crate::template::json_strings(body));
    }
    let sends_start = texts
        .iter()
        .filter_map(|t| Template::parse(t).ok())
        .any(|t| t.exprs().any(|e| e.var == Var::QueryLower));
    if !sends_start {
        p.add(
            at,
            "a change feed must send its window's start, {{query.lower|formatter}}",
        );
    }
}

/// The resources whose polls read `request`.
fn users<'a>(element: &'a Element, request: &ListRequest, changes: bool) -> Vec<&'a Resource> {
    element
        .resources
        .iter()
        .filter(|r| {
            let used = if changes {
                element.changes_request(r)
            } else {
                Some(element.list_request(r))
            };
            used.is_some_and(|u| std::ptr::eq(u, request))
        })
        .collect()
}

/// A result cap and how polls get past it, for every resource that reads `request`.
pub(super) fn cap(
    element: &Element,
    p: &mut Problems,
    at: &str,
    request: &ListRequest,
    changes: bool,
) {
    let PagerSpec {
        max_results,
        on_cap,
        tie_field,
        ..
    } = &request.pager;
    let field = format!("{at}.pager");
    match (max_results, on_cap.as_deref()) {
        (None, None) => {
            if tie_field.is_some() {
                p.add(
                    &field,
                    "`tie_field` breaks ties when a poll re-windows at a cap: add max_results \
                     and on_cap = \"rewindow\"",
                );
            }
            return;
        }
        (Some(_), None) | (None, Some(_)) => {
            p.add(
                &field,
                "max_results and on_cap go together: the cap, and what a poll does there \
                 (on_cap = \"rewindow\")",
            );
            return;
        }
        (Some(0), _) => p.add(&format!("{field}.max_results"), "must be at least 1"),
        (Some(_), Some(ON_CAP_REWINDOW)) => {}
        (Some(_), Some(other)) => p.add(
            &format!("{field}.on_cap"),
            format!("{other:?} is not a way past a cap; the one there is \"{ON_CAP_REWINDOW}\""),
        ),
    }
    let spec = &element.api.query;
    let has_op = |op: &str| spec.operators.contains_key(op);
    for resource in users(element, request, changes) {
        let name = &resource.name;
        let Some(updated) = resource.updated_field.as_deref() else {
            p.add(
                &field,
                format!(
                    "{name}: a poll re-windows from the last updated date it read: declare \
                     updated_field"
                ),
            );
            continue;
        };
        if !element.bounds_updated_field(resource) {
            p.add(
                &field,
                format!(
                    "{name}: re-windowing asks from a date on, which needs a bound on {updated} \
                     at the provider (a lower_bound parameter, or the where or search dialect)"
                ),
            );
        }
        if resource.date_format.is_none() {
            p.add(
                &field,
                format!("{name}: re-windowing reads the records' {updated}: declare date_format"),
            );
        }
        if !changes && !resource.order_by.iter().any(|o| o == updated) {
            p.add(
                &field,
                format!("{name}: a capped list is read in {updated} order: list it in order_by"),
            );
        }
        let Some(tie) = tie_field.as_deref() else {
            continue;
        };
        if changes || spec.dialect == Dialect::Params {
            p.add(
                &format!("{field}.tie_field"),
                "ties are read on their own with `=` and `>` at the provider: a list in the \
                 where or search dialect",
            );
            break;
        }
        for (needed, what) in [
            (updated, "the records at one date are asked for with ="),
            (tie, "the rest of them with >"),
        ] {
            if !resource.filters.contains_key(needed) {
                p.add(
                    &field,
                    format!("{name}: declare a filter for {needed} ({what})"),
                );
            }
        }
        if !resource.order_by.iter().any(|o| o == tie) {
            p.add(
                &field,
                format!("{name}: ties are read in {tie} order: list it in order_by"),
            );
        }
        for op in ["=", ">"] {
            if !has_op(op) {
                p.add(
                    &field,
                    format!("ties need the operator {op} in api.query.operators"),
                );
            }
        }
    }
}

/// `archived_list`, `inline` and `absence` delete detection; false for `separate_request`.
pub(super) fn deletes(element: &Element, p: &mut Problems, at: &str, spec: &DeletesSpec) -> bool {
    let own: &[&str] = match spec.kind {
        DeleteKind::ArchivedList => {
            archived_list(element, p, at, spec);
            &[
                "method",
                "path",
                "query",
                "headers",
                "records",
                "id",
                "date",
                "date_format",
                "pager",
                "page_size",
            ]
        }
        DeleteKind::Inline => {
            if spec.pointer.is_none() || spec.equals.is_none() {
                p.add(
                    at,
                    "an inline delete detection needs `pointer` and `equals`: the field that \
                     marks a stub, and its value (pointer = \"/status\", equals = \"Deleted\")",
                );
            }
            pointer(p, &format!("{at}.pointer"), spec.pointer.as_ref());
            &["pointer", "equals", "after_changes"]
        }
        DeleteKind::Absence => {
            // The sweep reads the resource's own list request; `query` adds literal
            // parameters to it (a field selection, where the provider has one).
            for (name, value) in &spec.query {
                if value.contains("{{") {
                    p.add(
                        &format!("{at}.query.{name}"),
                        "an absence sweep's query parameters are literal (no templates)",
                    );
                }
            }
            &["query", "page_size"]
        }
        DeleteKind::SeparateRequest => {
            for (name, present) in [
                ("pager", spec.pager.is_some()),
                ("page_size", spec.page_size.is_some()),
                ("pointer", spec.pointer.is_some()),
                ("equals", spec.equals.is_some()),
                ("after_changes", spec.after_changes),
            ] {
                if present {
                    p.add(
                        &format!("{at}.{name}"),
                        format!(
                            "belongs to archived_list or inline delete detection, not {}",
                            spec.kind.name()
                        ),
                    );
                }
            }
            return false;
        }
    };
    let present = [
        ("method", spec.method != crate::definition::Method::Get),
        ("path", spec.path.is_some()),
        ("query", !spec.query.is_empty()),
        ("headers", !spec.headers.is_empty()),
        ("records", spec.records.is_some()),
        ("id", spec.id.is_some()),
        ("date", spec.date.is_some()),
        ("date_format", spec.date_format.is_some()),
        ("covered", spec.covered.is_some()),
        ("earliest", spec.earliest.is_some()),
        ("lookback", spec.lookback.is_some()),
        ("granularity", spec.granularity.is_some()),
        ("pager", spec.pager.is_some()),
        ("page_size", spec.page_size.is_some()),
        ("pointer", spec.pointer.is_some()),
        ("equals", spec.equals.is_some()),
        ("after_changes", spec.after_changes),
    ];
    for (name, is_there) in present {
        if is_there && !own.contains(&name) {
            p.add(
                &format!("{at}.{name}"),
                format!("does not belong to {} delete detection", spec.kind.name()),
            );
        }
    }
    true
}

fn archived_list(element: &Element, p: &mut Problems, at: &str, spec: &DeletesSpec) {
    let families = [
        Family::Page,
        Family::Resource,
        Family::Connection,
        Family::Config,
    ];
    let mut texts: Vec<(String, &str)> = Vec::new();
    match &spec.path {
        Some(path) => texts.push((format!("{at}.path"), path)),
        None => p.add(
            at,
            "an archived_list needs `path`, the request of the archived records",
        ),
    }
    for (name, value) in &spec.query {
        texts.push((format!("{at}.query.{name}"), value));
    }
    for (name, value) in &spec.headers {
        texts.push((format!("{at}.headers.{name}"), value));
    }
    let mut used = Vec::new();
    for (field, text) in &texts {
        check_template(element, p, field, text, &families);
        for expr in Template::parse(text).iter().flat_map(Template::exprs) {
            used.push(expr.var.clone());
        }
    }
    resource_pointer(p, &format!("{at}.records"), spec.records.as_ref());
    for (name, value) in [
        ("records", &spec.records),
        ("id", &spec.id),
        ("date", &spec.date),
    ] {
        match value {
            Some(_) if name != "records" => pointer(p, &format!("{at}.{name}"), value.as_ref()),
            Some(_) => {}
            None => p.add(
                at,
                format!("an archived_list needs `{name}`, a JSON pointer into its answer"),
            ),
        }
    }
    match &spec.date_format {
        None => p.add(
            at,
            "an archived_list needs `date_format`, the Java pattern of its archive dates",
        ),
        Some(pattern) => {
            if let Err(e) = DatePattern::compile(pattern) {
                p.add(&format!("{at}.date_format"), e);
            }
        }
    }
    if spec.page_size == Some(0) {
        p.add(&format!("{at}.page_size"), "must be at least 1");
    }
    let Some(pager) = &spec.pager else {
        p.add(
            at,
            "an archived_list needs `pager`, how its pages go on (kind = \"none\" for one page)",
        );
        return;
    };
    for (name, value) in [
        ("total", &pager.total),
        ("next", &pager.next),
        ("done", &pager.done),
        ("cursor", &pager.cursor),
    ] {
        pointer(p, &format!("{at}.pager.{name}"), value.as_ref());
    }
    if pager.max_results.is_some() || pager.on_cap.is_some() || pager.tie_field.is_some() {
        p.add(
            &format!("{at}.pager"),
            "an archived list is read whole: max_results, on_cap and tie_field do not apply",
        );
    }
    let moves = match pager.kind {
        PagerKind::Offset => Some((
            "{{page.offset}} or {{page.start}}",
            used.contains(&Var::PageOffset) || used.contains(&Var::PageStart),
        )),
        PagerKind::PageNumber => Some(("{{page.number}}", used.contains(&Var::PageNumber))),
        PagerKind::Cursor => Some(("{{page.cursor}}", used.contains(&Var::PageCursor))),
        _ => None,
    };
    if let Some((var, false)) = moves {
        p.add(
            &format!("{at}.pager"),
            format!(
                "a {} pager moves by {var}, which the request never sends",
                pager.kind.name()
            ),
        );
    }
    if pager.kind == PagerKind::Cursor && pager.cursor.is_none() {
        p.add(
            &format!("{at}.pager"),
            "a cursor pager needs `cursor`, a JSON pointer to the next page's cursor",
        );
    }
    if pager.kind == PagerKind::NextUrl && pager.next.is_none() {
        p.add(
            &format!("{at}.pager"),
            "a next_url pager needs `next`, a JSON pointer to the next page's URL",
        );
    }
}
