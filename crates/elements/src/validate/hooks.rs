//! Checking `[hooks]`: request paths are templates with the right variables (`{{id}}`, the
//! subscription's key, where one subscription is meant), pointers are pointers, the handshake
//! header is a header name, the action words differ, and some resource subscribes.

use std::collections::BTreeSet;

use super::{Problems, check_template, pointer};
use crate::definition::Element;
use crate::definition::hooks::{HookMethod, HookRequest};
use crate::template::{Family, Template, Var};

pub(super) fn check(element: &Element, p: &mut Problems) {
    let Some(hooks) = &element.hooks else {
        return;
    };
    let plain = [Family::Connection, Family::Config];
    let keyed = [Family::Id, Family::Connection, Family::Config];
    request(element, p, "hooks.list", &hooks.list, &plain, false);
    if hooks.list.method != HookMethod::Get {
        p.add(
            "hooks.list.method",
            "the list of subscriptions is read with GET",
        );
    }
    request(
        element,
        p,
        "hooks.subscribe",
        &hooks.subscribe,
        &plain,
        false,
    );
    if !matches!(hooks.subscribe.method, HookMethod::Post | HookMethod::Put) {
        p.add(
            "hooks.subscribe.method",
            "a subscription is created with POST or PUT",
        );
    }
    if let Some(verify) = &hooks.verify {
        request(element, p, "hooks.verify", verify, &keyed, true);
    }
    request(element, p, "hooks.delete", &hooks.delete, &keyed, true);
    for (field, name) in [
        ("hooks.body.event", &hooks.body.event),
        ("hooks.body.url", &hooks.body.url),
    ] {
        if name.trim().is_empty() {
            p.add(field, "must name the body field (such as \"eventKey\")");
        }
    }
    for (field, value) in [
        ("hooks.fields.key", &hooks.fields.key),
        ("hooks.fields.event", &hooks.fields.event),
        ("hooks.fields.url", &hooks.fields.url),
        ("hooks.fields.status", &hooks.fields.status),
        ("hooks.payload.event", &hooks.payload.event),
        ("hooks.payload.ids", &hooks.payload.ids),
        ("hooks.payload.id", &hooks.payload.id),
    ] {
        pointer(p, field, Some(value));
    }
    if hooks.verified.is_empty() {
        p.add(
            "hooks.verified",
            "must list the status words of a delivering subscription (such as \"Verified\")",
        );
    }
    let header = &hooks.handshake.echo_header;
    if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
        p.add(
            "hooks.handshake.echo_header",
            format!("{header:?} is not a header name"),
        );
    }
    let words = [
        &hooks.actions.created,
        &hooks.actions.updated,
        &hooks.actions.deleted,
    ];
    let distinct: BTreeSet<&String> = words.iter().copied().collect();
    if distinct.len() != 3 || words.iter().any(|w| w.trim().is_empty()) {
        p.add(
            "hooks.actions",
            "created, updated and deleted need three different, non-empty words",
        );
    }
    if hooks.max_ids == Some(0) {
        p.add("hooks.max_ids", "must be at least 1");
    }
    if !element.resources.iter().any(|r| r.hook_object.is_some()) {
        p.add(
            "hooks",
            "no resource declares hook_object, so no resource could be subscribed to",
        );
    }
}

fn request(
    element: &Element,
    p: &mut Problems,
    at: &str,
    request: &HookRequest,
    families: &[Family],
    needs_id: bool,
) {
    check_template(element, p, &format!("{at}.path"), &request.path, families);
    let has_id = Template::parse(&request.path).is_ok_and(|t| t.exprs().any(|e| e.var == Var::Id));
    if needs_id && !has_id {
        p.add(
            &format!("{at}.path"),
            "must name the subscription with {{id}} (its key at the provider)",
        );
    }
}
