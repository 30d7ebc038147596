//! `tributary simulate --element`'s generic simulator against the element client over real
//! HTTP: a definition's every pager kind pages exactly, its bounds and filters select, its
//! rate-limit headers and error bodies are as it says — and each built-in definition is played
//! or refused naming why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};
use tributary_domain::SystemClock;
use tributary_elements::Element;
use tributary_elements::client::{CredentialSink, Credentials, InstanceClient};
use tributary_elements::oauth::{self, ClientCredentials};
use tributary_elements::pacer::Pacer;
use tributary_elements::pager::Position;
use tributary_elements::query::Translated;
use tributary_elements::registry::{builtin_definition, parse_definition};
use tributary_simulator::RunningSimulator;
use tributary_simulator::generic::{self, Options, TokenValue};
use tributary_tools::element_sim::spec_of;

const REDIRECT: &str = "https://client.example/cb";

#[derive(Debug)]
struct NoSink;

#[async_trait]
impl CredentialSink for NoSink {
    async fn save(&self, _credentials: &Credentials) -> Result<(), String> {
        Ok(())
    }
    async fn invalidate(&self, _reason: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Keap's definition, renamed, with its list request and pager replaced by `list`.
fn keap_with(list: &str) -> String {
    let text = builtin_definition("infusionsoftrest").unwrap();
    let start = text.find("[api.list]").unwrap();
    let end = text.find("[api.get]").unwrap();
    format!("{}{list}\n\n{}", &text[..start], &text[end..]).replacen(
        "key = \"infusionsoftrest\"",
        "key = \"mykeap\"",
        1,
    )
}

/// The definition served by the generic simulator, and an element client of one tenant.
struct Fixture {
    sim: RunningSimulator,
    element: Arc<Element>,
    client: InstanceClient,
    token: String,
}

async fn fixture(text: &str) -> Fixture {
    fixture_of(
        text,
        &[
            "https://accounts.infusionsoft.com",
            "https://api.infusionsoft.com",
        ],
        "/app/oauth/authorize",
    )
    .await
}

/// The definition `text` served by the generic simulator, with `origins` replaced by the
/// simulator's (as `TRIBUTARY_<KEY>_ORIGIN` does), and a client of a tenant that consented at
/// `authorize`.
async fn fixture_of(text: &str, origins: &[&str], authorize: &str) -> Fixture {
    let element = parse_definition("mine.toml", text).unwrap();
    let spec = spec_of(&element).unwrap();
    let options = Options {
        seed: 0,
        ..Options::default()
    };
    let sim = generic::start(
        spec,
        &options,
        Arc::new(SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    // The same definition with its origins the simulator's, as TRIBUTARY_MYKEAP_ORIGIN does.
    let local = origins.iter().fold(text.to_owned(), |text, origin| {
        text.replace(origin, &sim.url())
    });
    let element = Arc::new(parse_definition("mine.toml", &local).unwrap());
    let control = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut redirect =
        generic::consent_redirect(&control, &sim.url(), authorize, "tributary-demo", REDIRECT)
            .await
            .unwrap();
    let code = redirect.remove("code").unwrap();
    let app = ClientCredentials {
        client_id: "tributary-demo".into(),
        client_secret: SecretString::from("tributary-demo-secret"),
    };
    let http = tributary_elements::http::provider_client(Duration::from_secs(10)).unwrap();
    // What the redirect carries beside the code (a `realmId`) goes with it, as the API's
    // `providerData` does.
    let provider_data: serde_json::Map<String, Value> = redirect
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let config = std::collections::BTreeMap::new();
    let tokens = oauth::exchange_code(
        &http,
        &element,
        &app,
        &code,
        &oauth::Redirect {
            uri: REDIRECT,
            provider_data: &provider_data,
            config: &config,
        },
    )
    .await
    .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&tokens.access_token).to_owned();
    let client = InstanceClient::new(
        element.clone(),
        http,
        app,
        Credentials {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at_ms: None,
            connection: tokens.connection,
        },
        Arc::new(Pacer::new(1_000_000)),
        Arc::new(SystemClock),
        Arc::new(NoSink),
    );
    Fixture {
        sim,
        element,
        client,
        token,
    }
}

impl Fixture {
    async fn create(&self, resource: &str, count: usize) {
        let response = reqwest::Client::new()
            .post(format!("{}/_sim/records", self.sim.url()))
            .json(&json!({"resource": resource, "count": count}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Reads a whole resource through the element client; the ids and the number of pages.
    async fn read_all(&self, resource: &str, page_size: u32) -> (Vec<i64>, usize) {
        self.read_where(resource, page_size, &Translated::default())
            .await
    }

    /// Reads a whole resource through the element client with a translated `where`.
    async fn read_where(
        &self,
        resource: &str,
        page_size: u32,
        query: &Translated,
    ) -> (Vec<i64>, usize) {
        let resource = self.element.resource(resource).unwrap();
        let id_field = resource.id_field.clone();
        let (mut ids, mut pages, mut at) = (Vec::new(), 0, Position::Start);
        loop {
            let page = self
                .client
                .list(resource, query, &at, page_size)
                .await
                .unwrap();
            pages += 1;
            ids.extend(page.records.iter().map(|r| r[&id_field].as_i64().unwrap()));
            match page.next {
                Some(next) => at = next,
                None => return (ids, pages),
            }
            assert!(pages < 1_000, "paging does not end");
        }
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(format!("{}{path_and_query}", self.sim.url()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn every_pager_kind_pages_exactly_through_the_element_client() {
    let pagers = [
        (
            "offset",
            "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\", offset = \"{{page.offset}}\" }\n[api.list.pager]\nkind = \"offset\"\ntotal = \"/count\"",
            5,
        ),
        (
            "page_number",
            "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\", page = \"{{page.number}}\" }\n[api.list.pager]\nkind = \"page_number\"",
            5,
        ),
        (
            "cursor",
            "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\", after = \"{{page.cursor}}\" }\n[api.list.pager]\nkind = \"cursor\"\ncursor = \"/paging/next\"",
            5,
        ),
        (
            "next_url",
            "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\" }\n[api.list.pager]\nkind = \"next_url\"\nnext = \"/next\"\ndone = \"/last\"",
            5,
        ),
        (
            "link_header",
            "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\" }\n[api.list.pager]\nkind = \"link_header\"",
            5,
        ),
        (
            "none",
            "[api.list]\npath = \"{{resource.path}}\"\n[api.list.pager]\nkind = \"none\"",
            1,
        ),
    ];
    for (kind, list, pages) in pagers {
        let f = fixture(&keap_with(list)).await;
        f.create("contacts", 23).await;
        let (ids, used) = f.read_all("contacts", 5).await;
        assert_eq!(ids, (1..=23).collect::<Vec<_>>(), "{kind}");
        assert_eq!(used, pages, "{kind}: pages read");
        let (ids, used) = f.read_all("tasks", 5).await;
        assert_eq!(
            (ids.len(), used),
            (0, 1),
            "{kind}: an empty list is one page"
        );
    }
}

#[tokio::test]
async fn bounds_filters_dates_limits_and_errors_are_the_definitions() {
    let text = keap_with(
        "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\", offset = \"{{page.offset}}\" }\n[api.list.pager]\nkind = \"offset\"\ntotal = \"/count\"",
    );
    let f = fixture(&text).await;
    f.create("contacts", 6).await;
    let state: Value = reqwest::get(format!("{}/_sim/state", f.sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = state["tenants"][0]["resources"]["contacts"]["records"]
        .as_array()
        .unwrap()
        .clone();
    // Dates in the definition's Java pattern, in the export and in the API's answer alike.
    let shown = records[0]["last_updated"].as_str().unwrap().to_owned();
    assert!(
        shown.len() == "2026-01-01T00:00:00.000+0000".len() && shown.ends_with("+0000"),
        "{shown}"
    );

    let response = f.get("/crm/rest/v1/contacts?limit=2").await;
    assert_eq!(response.status(), 200);
    let remaining = response.headers()["x-keap-product-throttle-available"]
        .to_str()
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert!(remaining < 1_500, "{remaining}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["count"], 6);
    assert_eq!(body["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(body["contacts"][0]["last_updated"], shown.as_str());

    // The updated date's bounds, inclusive, in the format the records show.
    let after_all = "2999-01-01T00:00:00.000+0000";
    let body: Value = f
        .get(&format!(
            "/crm/rest/v1/contacts?since={}",
            urlencode(after_all)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["count"], 0, "{body}");
    let body: Value = f
        .get(&format!(
            "/crm/rest/v1/contacts?since={}",
            urlencode(&shown)
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(body["count"].as_u64().unwrap() >= 1, "{body}");
    let body: Value = f
        .get(&format!(
            "/crm/rest/v1/contacts?until={}",
            urlencode("2000-01-01T00:00:00.000+0000")
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["count"], 0, "{body}");

    // A declared filter compares the field: every record found has the asked value.
    let name = records[0]["id"].as_i64().unwrap();
    let one: Value = f
        .get(&format!("/crm/rest/v1/contacts/{name}"))
        .await
        .json()
        .await
        .unwrap();
    let given = one["given_name"].as_str().unwrap().to_owned();
    let body: Value = f
        .get(&format!(
            "/crm/rest/v1/contacts?given_name={}",
            urlencode(&given)
        ))
        .await
        .json()
        .await
        .unwrap();
    let found = body["contacts"].as_array().unwrap();
    assert!(!found.is_empty() && found.iter().all(|c| c["given_name"] == given.as_str()));

    // Errors carry the message where the definition reads it.
    let missing = f.get("/crm/rest/v1/contacts/999999").await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("999999"),
        "{body}"
    );
    let refused = reqwest::Client::new()
        .get(format!("{}/crm/rest/v1/contacts", f.sim.url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[test]
fn each_built_in_definition_is_played_or_refused_naming_the_feature() {
    let played =
        |key: &str| spec_of(&parse_definition(key, builtin_definition(key).unwrap()).unwrap());
    let keap = played("infusionsoftrest").unwrap();
    assert_eq!(keap.authorize_path, "/app/oauth/authorize");
    assert_eq!(keap.token_path, "/token");
    assert_eq!(keap.resources.len(), 9);
    assert_eq!(keap.resources[0].list_path, "/crm/rest/v1/contacts");
    assert_eq!(
        keap.resources[0].get_path,
        Some(("/crm/rest/v1/contacts/".to_owned(), String::new()))
    );
    let salesforce = played("sfdc").unwrap();
    assert_eq!(salesforce.resources.len(), 5);
    assert_eq!(
        salesforce.token_extras,
        vec![("/instance_url".to_owned(), TokenValue::Origin)]
    );
    assert!(
        salesforce
            .resources
            .iter()
            .all(|r| r.language.is_some() && r.delete_log.is_some())
    );
    assert!(
        played("hubspotcrm")
            .unwrap()
            .resources
            .iter()
            .all(|r| r.search.is_some() && r.archive.is_some())
    );
    assert!(
        played("quickbooks")
            .unwrap()
            .resources
            .iter()
            .all(|r| r.changes.is_some())
    );
    // What cannot be played is refused, every such feature named, so a user sees them at once.
    let text = builtin_definition("infusionsoftrest")
        .unwrap()
        .replacen(
            "[api.list]",
            "[connection.account]\nsource = \"token_response\"\npointer = \"/account\"\n\n[api.list]",
            1,
        )
        .replacen(
            "[api.get]\npath = \"{{resource.path}}/{{id}}\"",
            "[api.get]\npath = \"/{{connection.account}}{{resource.path}}/{{id}}\"",
            1,
        );
    let refused = spec_of(&parse_definition("x", &text).unwrap()).unwrap_err();
    let named: Vec<&str> = refused.0.iter().map(|u| u.field.as_str()).collect();
    assert_eq!(named, ["connection.account"], "{refused}");
}

/// A definition whose 401 rule tests the body (a Salesforce-like `INVALID_SESSION_ID` in an
/// array of errors): the simulator's 401 carries it, so an expired token is refreshed and the
/// request goes through.
#[tokio::test]
async fn error_bodies_satisfy_the_classifier_rules_that_test_them() {
    let text = keap_with(
        "[api.list]\npath = \"{{resource.path}}\"\nquery = { limit = \"{{page.size}}\", offset = \"{{page.offset}}\" }\n[api.list.pager]\nkind = \"offset\"\ntotal = \"/count\"",
    )
    .replacen(
        "messages = [\"/message\", \"/fault/faultstring\", \"/error_description\"]",
        "messages = [\"/0/message\"]",
        1,
    )
    .replacen(
        "status = 401\naction = \"refresh\"",
        "status = 401\npointer = \"/0/errorCode\"\nequals = \"INVALID_SESSION_ID\"\naction = \"refresh\"",
        1,
    )
    .replacen(
        "requests_per_minute = 1500",
        "requests_per_minute = 1500\nconcurrent = 2",
        1,
    );
    let spec = spec_of(&parse_definition("mykeap.toml", &text).unwrap()).unwrap();
    assert_eq!(spec.limits.concurrent, Some(2));
    let f = fixture(&text).await;
    f.create("contacts", 3).await;

    let refused = reqwest::Client::new()
        .get(format!("{}/crm/rest/v1/contacts", f.sim.url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        body,
        json!([{"message": "Invalid access token", "errorCode": "INVALID_SESSION_ID"}])
    );

    let expired = reqwest::Client::new()
        .post(format!("{}/_sim/tokens/expire", f.sim.url()))
        .send()
        .await
        .unwrap();
    assert!(expired.status().is_success());
    let (ids, _) = f.read_all("contacts", 10).await;
    assert_eq!(ids, vec![1, 2, 3], "refreshed, then read");
}

/// Salesforce's exported definition, renamed, is played whole: the login host the operator
/// points at the simulator, the API host from the token response (`instance_url`), SOQL in a
/// query parameter read back into its conditions, `nextRecordsUrl` paging, the delete log.
#[tokio::test]
async fn salesforces_export_is_played_soql_where_token_response_host_and_delete_log() {
    let text =
        builtin_definition("sfdc")
            .unwrap()
            .replacen("key = \"sfdc\"", "key = \"mysfdc\"", 1);
    let f = fixture_of(
        &text,
        &["https://login.salesforce.com"],
        "/services/oauth2/authorize",
    )
    .await;
    f.create("accounts", 12).await;
    f.create("contacts", 2).await;
    let (ids, pages) = f.read_all("accounts", 5).await;
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
    let (contacts, _) = f.read_all("contacts", 5).await;
    assert_eq!(contacts, vec![1, 2], "one query path, told apart by FROM");
    assert_eq!(
        pages, 1,
        "the page size travels in a header the simulator does not read"
    );

    let one: Value = f
        .get("/services/data/v66.0/sobjects/Account/3")
        .await
        .json()
        .await
        .unwrap();
    let name = one["Name"].as_str().unwrap().to_owned();
    let accounts = f.element.resource("accounts").unwrap();
    let query = |clause: &str| {
        tributary_elements::query::hub_query(
            &f.element,
            accounts,
            &[("where".to_owned(), clause.to_owned())],
        )
        .unwrap()
    };
    let (named, _) = f
        .read_where("accounts", 5, &query(&format!("Name = '{name}'")))
        .await;
    assert!(named.contains(&3), "{named:?}");
    let (later, _) = f
        .read_where(
            "accounts",
            5,
            &query("SystemModstamp >= '2999-01-01T00:00:00Z'"),
        )
        .await;
    assert!(later.is_empty(), "{later:?}");
    let (quoted, _) = f
        .read_where("accounts", 5, &query("Name = 'O''Brien \\ AND sons'"))
        .await;
    assert!(
        quoted.is_empty(),
        "a quote and the joiner inside a literal stay in it"
    );

    let burst: Value = reqwest::Client::new()
        .post(format!("{}/_sim/activity/burst", f.sim.url()))
        .json(&json!({"changes": 1, "deletes": 2, "resources": ["accounts"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(burst["deletes"], 2);
    let log: Value = f
        .get("/services/data/v66.0/sobjects/Account/deleted/?start=2000-01-01T00:00:00%2B00:00&end=2999-01-01T00:00:00%2B00:00")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["deletedRecords"].as_array().unwrap().len(), 2, "{log}");
    assert!(log["latestDateCovered"].is_string(), "{log}");
}

/// HubSpot's exported definition, renamed, is played: the search dialect's JSON body read back
/// (filter groups on the provider's property names, the sort, `limit` and the `after` cursor),
/// and archives listed as `?archived=true`.
#[tokio::test]
async fn hubspots_export_is_played_search_body_cursor_and_archives() {
    let text = builtin_definition("hubspotcrm").unwrap().replacen(
        "key = \"hubspotcrm\"",
        "key = \"myhubspot\"",
        1,
    );
    let f = fixture_of(
        &text,
        &["https://app.hubspot.com", "https://api.hubapi.com"],
        "/oauth/authorize",
    )
    .await;
    f.create("contacts", 12).await;
    let (ids, pages) = f.read_all("contacts", 5).await;
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
    assert_eq!(pages, 3, "5 + 5 + 2, by the after cursor");

    let contacts = f.element.resource("contacts").unwrap();
    let query = |clause: &str, order: Option<&str>| {
        let mut params = vec![("where".to_owned(), clause.to_owned())];
        if let Some(order) = order {
            params.push(("orderBy".to_owned(), order.to_owned()));
        }
        tributary_elements::query::hub_query(&f.element, contacts, &params).unwrap()
    };
    let (later, _) = f
        .read_where(
            "contacts",
            5,
            &query("updatedAt >= '2999-01-01T00:00:00Z'", None),
        )
        .await;
    assert!(later.is_empty(), "{later:?}");
    let (after_four, _) = f
        .read_where("contacts", 5, &query("id > 4", Some("id desc")))
        .await;
    assert_eq!(after_four, (5..=12).rev().collect::<Vec<_>>());

    let burst: Value = reqwest::Client::new()
        .post(format!("{}/_sim/activity/burst", f.sim.url()))
        .json(&json!({"changes": 1, "deletes": 2, "resources": ["contacts"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(burst["deletes"], 2);
    let first: Value = f
        .get("/crm/v3/objects/contacts?archived=true&limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["results"].as_array().unwrap().len(), 1, "{first}");
    assert!(first["results"][0]["archivedAt"].is_string(), "{first}");
    let after = first["paging"]["next"]["after"].as_str().unwrap();
    let second: Value = f
        .get(&format!(
            "/crm/v3/objects/contacts?archived=true&limit=1&after={after}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["results"].as_array().unwrap().len(), 1, "{second}");
    assert!(second["paging"].is_null(), "the last page: {second}");
}

/// QuickBooks' exported definition, renamed, is played: the company id from the consent redirect
/// (`realmId`) in every path, the query language with `STARTPOSITION`/`MAXRESULTS` paging, and
/// the change feed (CDC) with a stub for each delete.
#[tokio::test]
async fn quickbooks_export_is_played_realm_in_paths_query_paging_and_change_feed_stubs() {
    let text = builtin_definition("quickbooks").unwrap().replacen(
        "key = \"quickbooks\"",
        "key = \"myqbo\"",
        1,
    );
    let f = fixture_of(
        &text,
        &[
            "https://appcenter.intuit.com",
            "https://oauth.platform.intuit.com",
            "https://quickbooks.api.intuit.com",
        ],
        "/connect/oauth2",
    )
    .await;
    f.create("invoices", 12).await;
    let (ids, pages) = f.read_all("invoices", 5).await;
    assert_eq!(ids, (1..=12).collect::<Vec<_>>());
    assert_eq!(pages, 3, "STARTPOSITION 1, 6, 11");
    let (customers, _) = f.read_all("customers", 5).await;
    assert!(
        customers.is_empty(),
        "one query path, told apart by its entity"
    );

    let burst: Value = reqwest::Client::new()
        .post(format!("{}/_sim/activity/burst", f.sim.url()))
        .json(&json!({"changes": 3, "deletes": 2, "resources": ["invoices"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(burst["deletes"], 2);
    let feed: Value = f
        .get("/v3/company/tenant1/cdc?entities=Invoice&changedSince=2000-01-01T00:00:00%2B00:00&minorversion=75")
        .await
        .json()
        .await
        .unwrap();
    let records = feed["CDCResponse"][0]["QueryResponse"][0]["Invoice"]
        .as_array()
        .unwrap();
    let stubs: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "Deleted")
        .collect();
    assert_eq!(stubs.len(), 2, "{feed}");
    assert!(
        stubs[0]["MetaData"]["LastUpdatedTime"].is_string(),
        "{feed}"
    );
    let elsewhere = f
        .get("/v3/company/tenant2/query?query=select%20*%20from%20Invoice%20STARTPOSITION%201%20MAXRESULTS%205")
        .await;
    assert_eq!(
        elsewhere.status(),
        404,
        "another company's path is not this tenant's"
    );

    // A fault aimed at the resource meets its requests under the company's path.
    let fault = reqwest::Client::new()
        .post(format!("{}/_sim/faults", f.sim.url()))
        .json(&json!({"status": 500, "resource": "invoices"}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success(), "{}", fault.status());
    let faulted = f.get("/v3/company/tenant1/invoice/1?minorversion=75").await;
    assert_eq!(faulted.status(), 500);
}
