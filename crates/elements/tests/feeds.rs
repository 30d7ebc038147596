//! The built-in HubSpot and QuickBooks definitions (`definitions/hubspotcrm.toml`,
//! `definitions/quickbooks.toml`) and the parts of the format they brought: a change feed, a
//! result cap with re-windowing and its tie field, a settle time and a look-back, budgets per
//! instance and for some requests, a cap on requests in flight, pointers naming the resource,
//! and the delete kinds `archived_list` and `inline`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use tributary_elements::budgets::{BudgetScope, RequestKind};
use tributary_elements::definition::deletes::DeleteKind;
use tributary_elements::registry::parse_definition;
use tributary_elements::{Element, Registry};

fn builtin(key: &str, origin: Option<&str>) -> Arc<Element> {
    let origin = origin.map(str::to_owned);
    Registry::builtin(|k| (k == key).then(|| origin.clone()).flatten())
        .expect("built-in definitions parse")
        .get(key)
        .expect("built in")
}

#[test]
fn one_origin_override_sends_every_hubspot_and_intuit_host_to_it() {
    let hubspot = builtin("hubspotcrm", Some("http://127.0.0.1:9092"));
    assert_eq!(
        hubspot.auth.authorization_url,
        "http://127.0.0.1:9092/oauth/authorize"
    );
    assert_eq!(
        hubspot.auth.token_url,
        "http://127.0.0.1:9092/oauth/v3/token"
    );
    assert_eq!(hubspot.api.base_url, "http://127.0.0.1:9092");
    let quickbooks = builtin("quickbooks", Some("http://127.0.0.1:9093"));
    assert_eq!(
        quickbooks.auth.authorization_url,
        "http://127.0.0.1:9093/connect/oauth2"
    );
    assert_eq!(
        quickbooks.auth.token_url,
        "http://127.0.0.1:9093/oauth2/v1/tokens/bearer"
    );
    assert_eq!(
        quickbooks.api.base_url,
        "{{connection.api_url}}/v3/company/{{connection.realm_id}}"
    );
    let values = |element: &Element, config: &[(&str, &str)]| {
        let config: BTreeMap<String, String> = config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        element
            .instance_values(&BTreeMap::new(), &config)
            .connection
            .get("api_url")
            .cloned()
    };
    assert_eq!(
        values(&quickbooks, &[("quickbooks.api.url", "sandbox")]).as_deref(),
        Some("http://127.0.0.1:9093"),
        "the override sends the API host there whatever the instance chose"
    );
    let real = builtin("quickbooks", None);
    assert_eq!(
        values(&real, &[]).as_deref(),
        Some("https://quickbooks.api.intuit.com")
    );
    assert_eq!(
        values(&real, &[("quickbooks.api.url", "sandbox")]).as_deref(),
        Some("https://sandbox-quickbooks.api.intuit.com")
    );
    let refused = real.config_problems(
        &[(
            "quickbooks.api.url".to_owned(),
            "https://evil.example".to_owned(),
        )]
        .into_iter()
        .collect(),
    );
    assert_eq!(refused.len(), 1, "{refused:?}");
}

#[test]
fn hubspot_searches_with_a_cap_a_tie_field_a_settle_time_and_reads_archives() {
    let element = builtin("hubspotcrm", None);
    assert_eq!(element.hub, "crm");
    let pager = &element.api.list.pager;
    assert_eq!(pager.cap(), Some(10_000));
    assert_eq!(pager.tie_field.as_deref(), Some("id"));
    assert_eq!(element.api.list.settle_ms(), 60_000);
    let contacts = element.resource("contacts").unwrap();
    let companies = element.resource("companies").unwrap();
    assert_eq!(contacts.filters["updatedAt"], "lastmodifieddate");
    assert_eq!(companies.filters["updatedAt"], "hs_lastmodifieddate");
    assert_eq!(
        element.deletes_of(contacts).map(|d| d.kind),
        Some(DeleteKind::ArchivedList)
    );
    let limits = &element.api.rate_limit;
    assert_eq!(limits.scope, BudgetScope::Instance);
    let search = &limits.budgets[0];
    assert_eq!((search.requests, search.per.as_str()), (5, "1s"));
    assert!(search.counts(RequestKind::List) && !search.counts(RequestKind::Deletes));
    let public = element.public_json();
    for resource in public["resources"].as_array().unwrap() {
        assert_eq!(resource["detectsDeletes"], true, "{resource}");
    }
}

#[test]
fn quickbooks_reads_a_change_feed_with_inline_deletes_for_its_transactions_only() {
    let element = builtin("quickbooks", None);
    assert_eq!(element.hub, "finance");
    let invoices = element.resource("invoices").unwrap();
    let customers = element.resource("customers").unwrap();
    assert_eq!(
        element.changes_pointer(invoices).as_deref(),
        Some("/CDCResponse/0/QueryResponse/0/Invoice")
    );
    assert_eq!(
        element.records_pointer(customers),
        "/QueryResponse/Customer"
    );
    let feed = element.changes_request(invoices).unwrap();
    assert_eq!(feed.pager.cap(), Some(1_000));
    assert_eq!(feed.lookback_ms(), Some(30 * 86_400_000));
    let deletes = element.deletes_of(invoices).unwrap();
    assert!(deletes.is_stub(&json!({"status": "Deleted", "Id": "979"})));
    assert!(!deletes.is_stub(&json!({"Id": "979", "TotalAmt": 5})));
    assert!(
        element.deletes_of(customers).is_none(),
        "deactivation is an update"
    );
    assert_eq!(element.api.rate_limit.concurrent, Some(10));
    // The company comes with the redirect: the consent URL needs nothing of it.
    let url = element
        .authorize_url("app", "https://app.example/cb", "s", None)
        .unwrap();
    assert!(url.starts_with("https://appcenter.intuit.com/connect/oauth2?client_id=app"));
    let missing = element.missing_connection(
        &element.instance_values(&BTreeMap::new(), &BTreeMap::new()),
        true,
    );
    assert_eq!(
        missing,
        [
            "QuickBooks Online needs its connection value realm_id, from providerData.realmId \
          (the OAuth redirect's realmId parameter)"
        ]
    );
}

/// A search-dialect definition with one resource, `extra` appended.
fn search_definition(extra: &str) -> String {
    format!(
        r#"
key = "capped"
id = 9
name = "Capped"
hub = "crm"
description = "A capped search."

[auth]
type = "oauth2"
authorization_url = "https://login.example/authorize"
token_url = "https://login.example/token"
scope = "read"
code_client_auth = "body"
refresh_client_auth = "body"

[api]
base_url = "https://api.example"
max_page_size = 100

[api.rate_limit]
requests_per_minute = 600

[api.query]
dialect = "search"
date_format = "epoch_millis"
operators = {{ ">=" = "GTE", "<=" = "LTE" }}
filter_keys = {{ field = "f", operator = "o", value = "v" }}
sort_keys = {{ field = "f", direction = "d" }}

[api.list]
method = "POST"
path = "/search"
records = "/results"
body = {{ filters = "{{{{query.filters}}}}", sorts = "{{{{query.sorts}}}}", after = "{{{{page.cursor}}}}" }}

[api.list.pager]
kind = "cursor"
cursor = "/next"

[api.get]
path = "/things/{{{{id}}}}"

[events]
polling = true
webhooks = false

[[resources]]
name = "things"
path = "/things"
id_field = "id"
created_field = "created"
updated_field = "updated"
date_format = "milliseconds"
{extra}
"#
    )
}

fn problems(text: &str) -> String {
    match parse_definition("t.toml", text) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_cap_says_how_polls_get_past_it_and_what_the_resources_must_declare() {
    let base = search_definition("");
    assert_eq!(problems(&base), "");
    let capped = |pager: &str, resource: &str| {
        search_definition(resource).replace(
            "cursor = \"/next\"",
            &format!("cursor = \"/next\"\n{pager}"),
        )
    };
    let error = problems(&capped("max_results = 100", ""));
    assert!(
        error.contains("max_results and on_cap go together"),
        "{error}"
    );
    let error = problems(&capped("max_results = 100\non_cap = \"skip\"", ""));
    assert!(
        error.contains("\"skip\" is not a way past a cap"),
        "{error}"
    );
    let error = problems(&capped("tie_field = \"id\"", ""));
    assert!(
        error.contains("`tie_field` breaks ties when a poll re-windows"),
        "{error}"
    );
    let error = problems(&capped("max_results = 100\non_cap = \"rewindow\"", ""));
    assert!(
        error.contains("things: a capped list is read in updated order: list it in order_by"),
        "{error}"
    );
    let error = problems(&capped(
        "max_results = 100\non_cap = \"rewindow\"\ntie_field = \"id\"",
        "order_by = [\"updated\"]",
    ));
    for needed in [
        "things: declare a filter for updated",
        "things: declare a filter for id",
        "things: ties are read in id order",
        "ties need the operator = in api.query.operators",
        "ties need the operator > in api.query.operators",
    ] {
        assert!(error.contains(needed), "{needed}: {error}");
    }
    let fine = capped(
        "max_results = 100\non_cap = \"rewindow\"\ntie_field = \"id\"",
        "order_by = [\"updated\", \"id\"]\nfilters = { updated = \"u\", id = \"i\" }",
    )
    .replace(
        "operators = { \">=\" = \"GTE\", \"<=\" = \"LTE\" }",
        "operators = { \">=\" = \"GTE\", \"<=\" = \"LTE\", \"=\" = \"EQ\", \">\" = \"GT\" }",
    );
    assert_eq!(problems(&fine), "");
}

#[test]
fn a_change_feed_sends_its_start_and_says_where_its_records_are() {
    let error = problems(&search_definition(
        "[resources.changes]\npath = \"/changes\"\nlookback = \"5d\"\n\
         [resources.changes.pager]\nkind = \"none\"\n",
    ));
    for needed in [
        "a change feed needs `records`",
        "a change feed must send its window's start, {{query.lower|formatter}}",
        "resources[0] (things).changes.lookback",
    ] {
        assert!(error.contains(needed), "{needed}: {error}");
    }
    let error = problems(&search_definition(
        "[resources.changes]\npath = \"/changes\"\nrecords = \"/{{id}}\"\n\
         query = { since = \"{{query.lower|iso_utc}}\" }\n[resources.changes.pager]\nkind = \"none\"\n",
    ));
    assert!(
        error.contains("{{id}} cannot be used in a pointer"),
        "{error}"
    );
    let error = problems(
        &search_definition("").replace("[api.list.pager]", "settle = \"soon\"\n[api.list.pager]"),
    );
    assert!(error.contains("api.list.settle"), "{error}");
    let error = problems(
        &search_definition("").replace("[api.list.pager]", "lookback = \"1h\"\n[api.list.pager]"),
    );
    assert!(
        error.contains("a look-back belongs to a change feed"),
        "{error}"
    );
    let fine = problems(&search_definition(
        "[resources.changes]\npath = \"/changes\"\nrecords = \"/{{resource.name}}\"\n\
         query = { since = \"{{query.lower|iso_utc}}\" }\nlookback = \"720h\"\n\
         [resources.changes.pager]\nkind = \"none\"\n",
    ));
    assert_eq!(fine, "");
}

#[test]
fn archived_lists_and_inline_stubs_say_everything_they_need_and_nothing_else() {
    let error = problems(&search_definition("deletes = { kind = \"archived_list\" }"));
    for needed in [
        "an archived_list needs `path`",
        "an archived_list needs `records`",
        "an archived_list needs `id`",
        "an archived_list needs `date`",
        "an archived_list needs `date_format`",
        "an archived_list needs `pager`",
    ] {
        assert!(error.contains(needed), "{needed}: {error}");
    }
    let error = problems(&search_definition(
        "deletes = { kind = \"archived_list\", path = \"/gone\", records = \"/r\", id = \"/id\", \
         date = \"/at\", date_format = \"yyyy\", pager = { kind = \"cursor\", cursor = \"/n\" }, \
         covered = \"/c\" }",
    ));
    assert!(
        error.contains("a cursor pager moves by {{page.cursor}}"),
        "{error}"
    );
    assert!(
        error.contains("deletes.covered: does not belong to archived_list"),
        "{error}"
    );
    let error = problems(&search_definition(
        "deletes = { kind = \"inline\", pointer = \"status\" }",
    ));
    assert!(error.contains("needs `pointer` and `equals`"), "{error}");
    assert!(
        error.contains("\"status\" is not a JSON pointer"),
        "{error}"
    );
    let error = problems(&search_definition(
        "deletes = { kind = \"separate_request\", path = \"/d\", query = { s = \"{{query.lower|iso_utc}}\" }, \
         records = \"/r\", id = \"/id\", date = \"/at\", date_format = \"yyyy\", after_changes = true }",
    ));
    assert!(
        error.contains("after_changes: belongs to archived_list or inline"),
        "{error}"
    );
    let fine = problems(&search_definition(
        "deletes = { kind = \"inline\", pointer = \"/status\", equals = \"Deleted\", after_changes = true }",
    ));
    assert_eq!(fine, "");
}

#[test]
fn budgets_name_their_requests_and_a_positive_window() {
    let text = search_definition("").replace(
        "requests_per_minute = 600",
        "requests_per_minute = 600\nconcurrent = 0\n\
         [[api.rate_limit.budgets]]\nname = \"search\"\nrequests = 0\nper = \"0s\"\nrequests_of = []\n\
         [[api.rate_limit.budgets]]\nname = \"search\"\nrequests = 5\nper = \"1s\"\nrequests_of = [\"list\"]",
    );
    let error = problems(&text);
    for needed in [
        "api.rate_limit.concurrent: must be at least 1",
        "api.rate_limit.budgets[0].requests: must be at least 1",
        "api.rate_limit.budgets[0].per: must be longer than zero",
        "api.rate_limit.budgets[0].requests_of: name the requests it counts",
        "api.rate_limit.budgets[1].name: budget names must be non-empty and distinct",
    ] {
        assert!(error.contains(needed), "{needed}: {error}");
    }
}
