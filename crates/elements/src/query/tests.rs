use serde_json::json;

use super::*;
use crate::Registry;
use crate::registry::parse_definition;

fn keap() -> std::sync::Arc<Element> {
    Registry::builtin(|_| None)
        .unwrap()
        .get("infusionsoftrest")
        .unwrap()
}

fn run_on(element: &Element, resource: &str, clause: &str) -> Result<Translated, QueryError> {
    let expr = ceql::parse(clause).unwrap();
    translate(
        element,
        element.resource(resource).unwrap(),
        Some(&expr),
        None,
    )
}

fn run(clause: &str) -> Result<Translated, QueryError> {
    run_on(&keap(), "contacts", clause)
}

/// A resource with SystemModstamp as its updated field, for the where and search dialects.
fn element(query: &str) -> Element {
    let text = crate::validate::tests::MINIMAL
        .replace("[api.query]\ndialect = \"params\"\n", query)
        .replace(
            "id_field = \"id\"",
            "id_field = \"Id\"\nupdated_field = \"SystemModstamp\"\ncreated_field = \"CreatedDate\"\n\
             filters = { Name = \"Name\", Amount = \"Amount\", CreatedDate = \"CreatedDate\", Stage = \"StageName\" }\n\
             order_by = [\"Name\", \"SystemModstamp\"]\norder_direction = true",
        );
    parse_definition("test.toml", &text).unwrap()
}

const SOQL: &str = r#"[api.query]
dialect = "where"
date_format = "iso_utc"
string_quote = "'"
string_escapes = { "'" = "\\'", "\\" = "\\\\" }
operators = { "=" = "=", "!=" = "!=", "<" = "<", "<=" = "<=", ">" = ">", ">=" = ">=", "IN" = "IN", "LIKE" = "LIKE", "IS NULL" = "= null" }
descending = "DESC"
"#;

const QBO: &str = r#"[api.query]
dialect = "where"
date_format = "qbo"
string_quote = "'"
string_escapes = { "'" = "\\'", "\\" = "\\\\" }
quote_dates = true
operators = { "=" = "=", "<" = "<", "<=" = "<=", ">" = ">", ">=" = ">=", "IN" = "IN", "LIKE" = "LIKE" }
order_prefix = " ORDERBY "
descending = "DESC"

[date_formats.qbo]
pattern = "yyyy-MM-dd'T'HH:mm:ssXXX"
zone = "America/Los_Angeles"
"#;

const SEARCH: &str = r#"[api.query]
dialect = "search"
date_format = "epoch_millis_string"
operators = { "=" = "EQ", "!=" = "NEQ", "<" = "LT", "<=" = "LTE", ">" = "GT", ">=" = "GTE", "IN" = "IN", "IS NULL" = "NOT_HAS_PROPERTY" }
filter_keys = { field = "propertyName", operator = "operator", value = "value", values = "values" }
sort_keys = { field = "propertyName", direction = "direction" }
string_values = true
ascending = "ASCENDING"
descending = "DESCENDING"
"#;

#[test]
fn since_until_and_declared_filters_reach_the_provider() {
    let t = run("since='2026-11-01T00:00:00.000Z' AND email = 'a@b.example'").unwrap();
    assert_eq!(
        t.params,
        [
            ("since".into(), "2026-11-01T00:00:00.000Z".into()),
            ("email".into(), "a@b.example".into())
        ]
    );
    assert!(t.local.is_empty());
    assert!(t.lower_bounded);
    assert_eq!(t.vars.lower_ms, Some(1_793_491_200_000));
    let t =
        run("last_updated >= '2026-11-01T00:00:00Z' AND last_updated <= '2026-11-02T00:00:00Z'")
            .unwrap();
    assert_eq!(
        t.params,
        [
            ("since".into(), "2026-11-01T00:00:00Z".into()),
            ("until".into(), "2026-11-02T00:00:00Z".into())
        ]
    );
}

#[test]
fn other_safe_parts_are_evaluated_locally_and_said_so() {
    let t = run("email_status = 'Confirmed' AND given_name IN ('A', 'B') AND owner_id IS NULL")
        .unwrap();
    assert!(t.params.is_empty());
    assert_eq!(t.local.len(), 3);
    assert_eq!(
        t.local_text().unwrap(),
        "email_status = 'Confirmed' AND given_name IN ('A', 'B') AND owner_id IS NULL"
    );
    assert!(t.keeps(&json!({"email_status": "Confirmed", "given_name": "A", "owner_id": null})));
    assert!(!t.keeps(&json!({"email_status": "Confirmed", "given_name": "C"})));
    let t = run("ScoreValue > 10 OR email_opted_in = true").unwrap();
    assert_eq!(t.local.len(), 1, "an OR of safe parts is evaluated whole");
}

#[test]
fn unsafe_or_unservable_parts_are_refused_naming_the_clause() {
    for (clause, needle) in [
        (
            "last_updated > '2026-11-01T00:00:00Z'",
            "inclusive bounds only",
        ),
        (
            "date_created >= '2026-11-01'",
            "comparing its text here could be wrong",
        ),
        ("since > '2026-11-01'", "since takes = only"),
        ("since = 'a' AND since = 'b'", "sets since a second time"),
        (
            "email = 'x' OR since = '2026-01-01'",
            "only at the top level",
        ),
    ] {
        let error = run(clause).unwrap_err().to_string();
        assert!(error.contains(needle), "{clause}: {error}");
    }
    let error = run_on(&keap(), "companies", "since = '2026-01-01'").unwrap_err();
    assert!(
        error.to_string().contains("companies has no since filter"),
        "{error}"
    );
}

#[test]
fn order_by_maps_to_the_providers_order_where_it_has_one() {
    let element = keap();
    let contacts = element.resource("contacts").unwrap();
    let t = translate(&element, contacts, None, Some("last_updated desc")).unwrap();
    assert_eq!(
        t.params,
        [
            ("order".into(), "last_updated".into()),
            ("order_direction".into(), "DESCENDING".into())
        ]
    );
    let error = translate(&element, contacts, None, Some("shoe_size")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("can be ordered by id, date_created"),
        "{error}"
    );
}

#[test]
fn the_hub_and_the_poller_read_where_and_order_by_alike() {
    let element = keap();
    let tasks = element.resource("tasks").unwrap();
    let params = |w: &str| vec![("where".to_owned(), w.to_owned())];
    let error = hub_query(&element, tasks, &params("title = 'unclosed")).unwrap_err();
    assert!(
        error.0.starts_with("where: ") && error.0.contains("at position"),
        "{error}"
    );
    let error = hub_query(&element, tasks, &params("title >= 'B'")).unwrap_err();
    assert!(error.0.starts_with("where: the clause"), "{error}");

    // A poll adds the change filter when nothing bounds the updated field yet …
    let (t, added) =
        poll_query(&element, tasks, &[], "modification_date", 1_795_860_000_123).unwrap();
    assert!(added);
    assert_eq!(
        t.params,
        [("since".to_owned(), "2026-11-28T10:00:00.123Z".to_owned())]
    );
    let (t, added) = poll_query(
        &element,
        tasks,
        &params("contact_id = 7"),
        "modification_date",
        1_795_860_000_123,
    )
    .unwrap();
    assert!(added);
    assert_eq!(t.params.len(), 2);
    // … and not when the URL bounds it, the poller reads another field, or the provider cannot.
    let (t, added) = poll_query(
        &element,
        tasks,
        &params("since = '2026-01-01T00:00:00Z'"),
        "modification_date",
        1,
    )
    .unwrap();
    assert!(!added);
    assert_eq!(t.params[0].1, "2026-01-01T00:00:00Z");
    assert!(
        !poll_query(&element, tasks, &[], "creation_date", 1)
            .unwrap()
            .1
    );
    let notes = element.resource("notes").unwrap();
    assert!(
        !poll_query(&element, notes, &[], "last_updated", 1)
            .unwrap()
            .1
    );
}

#[test]
fn the_where_dialect_writes_soql_conditions_with_unquoted_dates() {
    let element = element(SOQL);
    let t = run_on(
        &element,
        "deals",
        "SystemModstamp >= '2026-01-01T00:00:00.000Z' AND Name = 'Acme' AND Amount > 10 \
         AND Stage IN ('Won', 'Lost') AND CreatedDate < '2026-02-01' AND Name LIKE 'Ac%' \
         AND Color = 'red'",
    )
    .unwrap();
    assert_eq!(
        t.vars.where_text,
        " WHERE SystemModstamp >= 2026-01-01T00:00:00Z AND Name = 'Acme' AND Amount > 10 \
         AND StageName IN ('Won', 'Lost') AND CreatedDate < 2026-02-01T00:00:00Z AND Name LIKE 'Ac%'"
    );
    assert_eq!(
        t.local_text().unwrap(),
        "Color = 'red'",
        "an undeclared field stays here"
    );
    assert!(t.params.is_empty());
    assert!(t.lower_bounded);
    let t = run_on(&element, "deals", "SystemModstamp > '2026-01-01T00:00:00Z'").unwrap();
    assert_eq!(
        t.vars.where_text, " WHERE SystemModstamp > 2026-01-01T00:00:00Z",
        "exclusive bounds are fine here"
    );
    let t = run_on(&element, "deals", "Name IS NULL").unwrap();
    assert_eq!(t.vars.where_text, " WHERE Name = null");
    let t = translate(
        &element,
        element.resource("deals").unwrap(),
        None,
        Some("Name desc"),
    )
    .unwrap();
    assert_eq!(
        (t.vars.where_text.as_str(), t.vars.order_text.as_str()),
        ("", " ORDER BY Name DESC")
    );
    let error = run_on(&element, "deals", "SystemModstamp >= 'last week'").unwrap_err();
    assert!(error.0.contains("\"last week\" is not a date"), "{error}");
}

#[test]
fn a_where_literal_can_never_become_query_text() {
    let element = element(SOQL);
    for (value, written) in [
        ("x' OR Name != 'y", r"'x\' OR Name != \'y'"),
        (r"x\' OR Name != \'y", r"'x\\\' OR Name != \\\'y'"),
        (r"trailing\", r"'trailing\\'"),
    ] {
        let clause = format!("Name = '{}'", value.replace('\'', "''"));
        let t = run_on(&element, "deals", &clause).unwrap();
        assert_eq!(
            t.vars.where_text,
            format!(" WHERE Name = {written}"),
            "{value}"
        );
        // The literal is the only quoted run: reading it back gives the value.
        let literal = t.vars.where_text.trim_start_matches(" WHERE Name = ");
        assert_eq!(unescape(literal), value);
    }
    // A field the definition does not declare never reaches the text.
    let t = run_on(&element, "deals", "`Name = '' OR Id` = 'x'").unwrap();
    assert_eq!(t.vars.where_text, "");
    assert_eq!(t.local.len(), 1);
}

/// Reads a SOQL string literal back, as the provider would.
fn unescape(literal: &str) -> String {
    let inner = &literal[1..literal.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            assert_ne!(c, '\'', "an unescaped quote inside {literal}");
            out.push(c);
        }
    }
    out
}

#[test]
fn the_where_dialect_writes_qbo_dates_quoted_with_the_zones_offset() {
    let element = element(QBO);
    let t = run_on(
        &element,
        "deals",
        "SystemModstamp >= '2026-01-01T00:00:00Z' AND Name = 'O''Brien'",
    )
    .unwrap();
    assert_eq!(
        t.vars.where_text,
        r" WHERE SystemModstamp >= '2025-12-31T16:00:00-08:00' AND Name = 'O\'Brien'"
    );
    let t = run_on(&element, "deals", "Name != 'x'").unwrap();
    assert_eq!(
        (t.vars.where_text.as_str(), t.local.len()),
        ("", 1),
        "QBO has no !=: evaluated here"
    );
    let t = translate(
        &element,
        element.resource("deals").unwrap(),
        None,
        Some("SystemModstamp desc"),
    )
    .unwrap();
    assert_eq!(t.vars.order_text, " ORDERBY SystemModstamp DESC");
}

#[test]
fn the_search_dialect_writes_json_filters_with_epoch_millisecond_strings() {
    let element = element(SEARCH);
    let t = run_on(
        &element,
        "deals",
        "SystemModstamp >= '2024-01-01T00:00:00Z' AND SystemModstamp <= '2024-01-02T00:00:00Z' \
         AND Amount > 10 AND Stage IN ('Won', 'Lost') AND Name IS NULL",
    )
    .unwrap();
    assert_eq!(
        serde_json::Value::from(t.vars.filters.clone()),
        json!([
            {"propertyName": "SystemModstamp", "operator": "GTE", "value": "1704067200000"},
            {"propertyName": "SystemModstamp", "operator": "LTE", "value": "1704153600000"},
            {"propertyName": "Amount", "operator": "GT", "value": "10"},
            {"propertyName": "StageName", "operator": "IN", "values": ["Won", "Lost"]},
            {"propertyName": "Name", "operator": "NOT_HAS_PROPERTY"}
        ])
    );
    assert_eq!(
        (t.vars.lower_ms, t.vars.upper_ms),
        (Some(1_704_067_200_000), Some(1_704_153_600_000))
    );
    let t = translate(
        &element,
        element.resource("deals").unwrap(),
        None,
        Some("SystemModstamp"),
    )
    .unwrap();
    assert_eq!(
        serde_json::Value::from(t.vars.sorts),
        json!([{"propertyName": "SystemModstamp", "direction": "ASCENDING"}])
    );
    let (t, added) = poll_query(
        &element,
        element.resource("deals").unwrap(),
        &[],
        "SystemModstamp",
        1_704_067_200_000,
    )
    .unwrap();
    assert!(added);
    assert_eq!(t.vars.filters[0]["value"], "1704067200000");
}
