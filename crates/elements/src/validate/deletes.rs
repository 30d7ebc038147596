//! Checks of delete detection (`api.deletes`, a resource's `deletes`): the kind is one
//! Tributary reads, the request's templates and the window it sends, the answer's pointers,
//! the date format, the durations.

use tributary_domain::dates::DatePattern;

use super::{Problems, check_template, pointer};
use crate::definition::Element;
use crate::definition::deletes::{DeleteKind, DeletesSpec};
use crate::template::{Family, Template, Var};

pub(super) fn check(element: &Element, p: &mut Problems) {
    if let Some(spec) = &element.api.deletes {
        one(element, p, "api.deletes", spec);
    }
    for (i, resource) in element.resources.iter().enumerate() {
        if let Some(spec) = &resource.deletes {
            one(
                element,
                p,
                &format!("resources[{i}] ({}).deletes", resource.name),
                spec,
            );
        }
        // A sweep by absence compares ids only: it needs no change date.
        let dated = element
            .deletes_of(resource)
            .is_some_and(|spec| spec.kind != DeleteKind::Absence);
        if dated && resource.updated_field.is_none() {
            p.add(
                &format!("resources[{i}] ({})", resource.name),
                "delete detection needs the resource's change dates: declare updated_field",
            );
        }
    }
}

fn one(element: &Element, p: &mut Problems, at: &str, spec: &DeletesSpec) {
    if super::feeds::deletes(element, p, at, spec) {
        return;
    }
    debug_assert_eq!(spec.kind, DeleteKind::SeparateRequest);
    let families = [
        Family::Resource,
        Family::Connection,
        Family::Config,
        Family::Query,
    ];
    let mut texts: Vec<(String, &str)> = Vec::new();
    match &spec.path {
        Some(path) => texts.push((format!("{at}.path"), path)),
        None => p.add(
            at,
            "a separate_request needs `path`, the request of the deletions",
        ),
    }
    for (name, value) in &spec.query {
        texts.push((format!("{at}.query.{name}"), value));
    }
    for (name, value) in &spec.headers {
        texts.push((format!("{at}.headers.{name}"), value));
    }
    let mut sends_start = false;
    for (field, text) in &texts {
        check_template(element, p, field, text, &families);
        for expr in Template::parse(text).iter().flat_map(Template::exprs) {
            match expr.var {
                Var::QueryLower => sends_start = true,
                Var::QueryUpper => {}
                ref var if var.family() == Family::Query => p.add(
                    field,
                    format!(
                        "{{{{{var}}}}} has no value in a delete request; its window is \
                         query.lower and query.upper"
                    ),
                ),
                _ => {}
            }
        }
    }
    if !sends_start {
        p.add(
            at,
            "a separate_request must send its window's start, {{query.lower|formatter}}",
        );
    }
    for (name, value, required) in [
        ("records", &spec.records, true),
        ("id", &spec.id, true),
        ("date", &spec.date, true),
        ("covered", &spec.covered, false),
        ("earliest", &spec.earliest, false),
    ] {
        match value {
            Some(_) => pointer(p, &format!("{at}.{name}"), value.as_ref()),
            None if required => p.add(
                at,
                format!("a separate_request needs `{name}`, a JSON pointer into its answer"),
            ),
            None => {}
        }
    }
    match &spec.date_format {
        None => p.add(
            at,
            "a separate_request needs `date_format`, the Java pattern of its dates",
        ),
        Some(pattern) => {
            if let Err(e) = DatePattern::compile(pattern) {
                p.add(&format!("{at}.date_format"), e);
            }
        }
    }
    for (name, value) in [
        ("lookback", &spec.lookback),
        ("granularity", &spec.granularity),
    ] {
        if let Some(text) = value {
            match crate::signals::parse_duration(text) {
                Ok(d) if !d.is_zero() => {}
                Ok(_) => p.add(&format!("{at}.{name}"), "must be longer than zero"),
                Err(e) => p.add(&format!("{at}.{name}"), e),
            }
        }
    }
}
