//! The built-in Salesforce definition (`definitions/sfdc.toml`) and the parts of the format it
//! brought: configuration variables with a default, choices and allowed URLs (its login host),
//! an origin override that replaces them, delete detection, and the rules' `then` and `scope`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use tributary_elements::registry::parse_definition;
use tributary_elements::{Element, Registry};

fn sfdc(origin: Option<&str>) -> Arc<Element> {
    let origin = origin.map(str::to_owned);
    Registry::builtin(|key| (key == "sfdc").then(|| origin.clone()).flatten())
        .expect("built-in definitions parse")
        .get("sfdc")
        .expect("sfdc is built in")
}

fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn sfdc_has_the_five_crm_resources_with_deletes_and_salesforce_dates() {
    let element = sfdc(None);
    assert_eq!(
        (element.key.as_str(), element.hub.as_str()),
        ("sfdc", "crm")
    );
    let public = element.public_json();
    let names: Vec<&str> = public["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["accounts", "contacts", "leads", "opportunities", "cases"]
    );
    for resource in public["resources"].as_array().unwrap() {
        assert_eq!(resource["detectsDeletes"], true, "{resource}");
        assert_eq!(
            resource["defaultPollerConfiguration"]["datesConfiguration"]["updatedDateFormat"],
            "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        );
        assert_eq!(resource["updatedDateField"], "SystemModstamp");
    }
}

#[test]
fn the_login_host_is_production_unless_configured_sandbox_or_a_my_domain() {
    let element = sfdc(None);
    let url = |pairs: &[(&str, &str)]| {
        element
            .authorize_url_with(
                "app",
                "https://client.example/cb",
                "s",
                None,
                &config(pairs),
            )
            .unwrap()
    };
    assert!(
        url(&[])
            .starts_with("https://login.salesforce.com/services/oauth2/authorize?client_id=app"),
        "{}",
        url(&[])
    );
    assert!(url(&[("sfdc.login.url", "sandbox")]).starts_with("https://test.salesforce.com/"));
    assert!(
        url(&[("sfdc.login.url", "https://acme.my.salesforce.com/")])
            .starts_with("https://acme.my.salesforce.com/services/oauth2/authorize?")
    );
    assert!(url(&[]).contains("scope=api+refresh_token"));
    let values = element.instance_values(
        &BTreeMap::from([(
            "instance_url".to_owned(),
            "https://na1.salesforce.com".to_owned(),
        )]),
        &config(&[(
            "sfdc.login.url",
            "https://acme--dev.sandbox.my.salesforce.com",
        )]),
    );
    assert_eq!(
        values.connection["login_url"],
        "https://acme--dev.sandbox.my.salesforce.com"
    );
    assert_eq!(
        values.connection["instance_url"],
        "https://na1.salesforce.com"
    );
}

#[test]
fn a_login_host_outside_the_choices_and_patterns_is_refused_naming_the_key() {
    let element = sfdc(None);
    for bad in [
        "https://evil.example",
        "http://acme.my.salesforce.com",
        "https://acme.my.salesforce.com.evil.example",
        "https://acme.my.salesforce.com/path",
        "staging",
    ] {
        let problems = element.config_problems(&config(&[("sfdc.login.url", bad)]));
        assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
        assert!(
            problems[0].starts_with("configuration.sfdc.login.url must be")
                && problems[0]
                    .contains("production or sandbox or a URL such as https://*.my.salesforce.com"),
            "{}",
            problems[0]
        );
        let values = element.instance_values(&BTreeMap::new(), &config(&[("sfdc.login.url", bad)]));
        assert!(!values.connection.contains_key("login_url"), "{bad}");
        assert_eq!(
            element.missing_connection(&values, true),
            problems,
            "the exchange refuses it before spending a code"
        );
    }
    assert!(element.config_problems(&config(&[])).is_empty());
}

#[test]
fn the_origin_override_replaces_the_login_host_whatever_is_configured() {
    let element = sfdc(Some("http://127.0.0.1:9091"));
    for pairs in [
        &[][..],
        &[("sfdc.login.url", "sandbox")][..],
        &[("sfdc.login.url", "https://acme.my.salesforce.com")][..],
    ] {
        let url = element
            .authorize_url_with("app", "https://c.example/cb", "s", None, &config(pairs))
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9091/services/oauth2/authorize?"),
            "{url}"
        );
    }
    assert_eq!(element.consent_origins(), ["http://127.0.0.1:9091"]);
    assert_eq!(
        element
            .config_problems(&config(&[("sfdc.login.url", "https://evil.example")]))
            .len(),
        1,
        "a refused value stays refused"
    );
    let unmoved = sfdc(None);
    assert_eq!(
        unmoved.consent_origins(),
        [
            "https://*.my.salesforce.com",
            "https://login.salesforce.com",
            "https://test.salesforce.com"
        ]
    );
}

const MINIMAL: &str = r#"
key = "second"
id = 9
name = "Second"
hub = "crm"
description = "d"

[auth]
type = "oauth2"
authorization_url = "https://login.example/authorize"
token_url = "https://login.example/token"
scope = "all"
code_client_auth = "body"
refresh_client_auth = "body"

[api]
base_url = "https://api.example/api"
max_page_size = 100

[api.rate_limit]
requests_per_minute = 60

[api.query]
dialect = "params"

[api.list]
path = "/items"
records = "/items"
query = { offset = "{{page.offset}}" }

[api.list.pager]
kind = "offset"

[api.get]
path = "/items/{{id}}"

[events]
polling = true
webhooks = false

[[resources]]
name = "items"
path = "/items"
id_field = "id"
created_field = "created"
updated_field = "updated"
date_format = "yyyy-MM-dd"
"#;

fn problems(extra: &str) -> String {
    match parse_definition("t.toml", &format!("{MINIMAL}\n{extra}")) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn absence_takes_only_its_own_fields_and_incomplete_delete_requests_are_refused_by_name() {
    // absence (a reconciliation sweep of the resource's own list) needs nothing more.
    assert_eq!(problems("[api.deletes]\nkind = \"absence\"\n"), "");
    assert_eq!(
        problems(
            "[api.deletes]\nkind = \"absence\"\npage_size = 500\nquery = { fields = \"id\" }\n"
        ),
        ""
    );
    let error = problems(
        "[api.deletes]\nkind = \"absence\"\npath = \"/gone\"\nquery = { f = \"{{page.size}}\" }\n",
    );
    assert!(
        error.contains("api.deletes.path: does not belong to absence delete detection"),
        "{error}"
    );
    assert!(
        error.contains("api.deletes.query.f: an absence sweep's query parameters are literal"),
        "{error}"
    );
    let error = problems("[api.deletes]\nkind = \"separate_request\"\npath = \"/gone\"\n");
    for needed in [
        "must send its window's start, {{query.lower|formatter}}",
        "needs `records`",
        "needs `id`",
        "needs `date`",
        "needs `date_format`",
    ] {
        assert!(error.contains(needed), "{needed}: {error}");
    }
    let error = problems(
        "[api.deletes]\nkind = \"separate_request\"\npath = \"/gone\"\n\
         query = { since = \"{{query.lower|iso_utc}}\", q = \"{{query.where}}\" }\n\
         records = \"deleted\"\nid = \"/id\"\ndate = \"/at\"\ndate_format = \"yyyy-MM-dd\"\n\
         lookback = \"15d\"\n",
    );
    assert!(
        error.contains("{{query.where}} has no value in a delete request"),
        "{error}"
    );
    assert!(error.contains("api.deletes.records"), "{error}");
    assert!(error.contains("api.deletes.lookback"), "{error}");
    let fine = problems(
        "[api.deletes]\nkind = \"separate_request\"\npath = \"/gone\"\n\
         query = { since = \"{{query.lower|iso_utc}}\" }\n\
         records = \"/deleted\"\nid = \"/id\"\ndate = \"/at\"\ndate_format = \"yyyy-MM-dd\"\n",
    );
    assert_eq!(fine, "");
}

#[test]
fn then_follows_a_refresh_scope_a_pause_and_config_fields_a_config_variable() {
    let error = problems(
        "[[api.errors.rules]]\nstatus = 500\naction = \"fail\"\nthen = \"invalid\"\n\
         [[api.errors.rules]]\nstatus = 401\naction = \"refresh\"\nthen = \"refresh\"\n\
         [[api.errors.rules]]\nstatus = 429\naction = \"retry\"\nattempts = 2\nscope = \"instance\"\n",
    );
    assert!(error.contains("`then` follows a refresh"), "{error}");
    assert!(error.contains("cannot refresh again"), "{error}");
    assert!(error.contains("`scope` applies to pause"), "{error}");
    let error = problems(
        "[connection.host]\nsource = \"fixed\"\nvalue = \"x\"\ndefault = \"y\"\n\
         [connection.login]\nsource = \"config\"\nkey = \"login\"\norigin = true\n\
         default = \"https://login.example/path\"\nallow = [\"ftp://*.example\"]\n",
    );
    assert!(
        error.contains("`default` belongs to config variables"),
        "{error}"
    );
    assert!(
        error.contains("connection.login.default: \"https://login.example/path\" is not an origin"),
        "{error}"
    );
    assert!(
        error.contains("\"ftp://*.example\" is not a pattern"),
        "{error}"
    );
}
