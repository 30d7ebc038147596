//! A second provider added as a file, with no code change: its definition is written to a
//! folder here, its API is served by a small axum server in this test, and Tributary connects
//! an account, polls it page by page, delivers signed events and serves the hub through it.
//!
//! The provider differs from Keap wherever the definition format allows: a cursor in the body
//! (`/data/next_cursor`) with records under `/data/items`, the tenant's workspace from the token
//! response in the base URL, epoch-millisecond dates in the records and in the change filter,
//! `x-ratelimit-*` headers, and errors as `{"error": {"detail": …}}`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tributary_server::delivery::Deliverer;
use tributary_simulator::Config;

use crate::helpers::{Inbox, TempDir, TestApp, USER_SECRET, receiver, spawn_app_with};

const DEFINITION: &str = r#"
key = "ledgerly"
id = 77
name = "Ledgerly"
hub = "crm"
description = "A provider defined by a test, as data only."

[auth]
type = "oauth2"
authorization_url = "https://login.ledgerly.example/oauth/authorize"
token_url = "https://login.ledgerly.example/oauth/token"
scope = "deals.read"
code_client_auth = "body"
refresh_client_auth = "body"

# The tenant's workspace comes with the tokens and goes into every API URL; its region comes
# with the OAuth redirect (the client passes it in providerData) and goes into a header.
[connection.workspace]
source = "token_response"
pointer = "/workspace/id"

[connection.region]
source = "redirect"
parameter = "region"

[api]
base_url = "https://api.ledgerly.example/v2/workspaces/{{connection.workspace}}"
max_page_size = 50
headers = { Accept = "application/json", X-Ledgerly-Region = "{{connection.region}}" }

[api.rate_limit]
requests_per_minute = 6000
remaining = ["x-ratelimit-remaining"]
limit = "x-ratelimit-limit"

[api.errors]
messages = ["/error/detail"]

[[api.errors.rules]]
status = 401
action = "refresh"

[[api.errors.rules]]
status = 429
action = "backoff"
attempts = 3

[api.query]
dialect = "params"
date_format = "epoch_millis"
lower_alias = "since"

[api.list]
path = "{{resource.path}}"
records = "/data/items"
query = { page_size = "{{page.size}}", cursor = "{{page.cursor}}" }

[api.list.pager]
kind = "cursor"
cursor = "/data/next_cursor"
total = "/data/total"

[api.get]
path = "{{resource.path}}/{{id}}"
record = "/deal"

[events]
polling = true
webhooks = false

[[resources]]
name = "deals"
path = "/deals"
id_field = "id"
created_field = "created_at"
updated_field = "updated_at"
date_format = "milliseconds"
lower_bound = "modified_after"
filters = { stage = "stage" }
"#;

const CLIENT_ID: &str = "ledgerly-app";
const CLIENT_SECRET: &str = "ledgerly-secret";
const WORKSPACE: &str = "ws-42";
const KEY: &str = "LedgerlySignatureKey";

/// The provider's state: its deals, the tokens it issued, what it was asked.
#[derive(Default)]
struct Ledger {
    deals: Vec<Value>,
    access_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
    issued: usize,
    grants: Vec<String>,
    /// (path, query) of each API request.
    requests: Vec<(String, BTreeMap<String, String>)>,
    /// Answer the next API request with this status.
    fail_next: Option<u16>,
}

type Shared = Arc<Mutex<Ledger>>;

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn token(
    State(ledger): State<Shared>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let mut ledger = ledger.lock().unwrap();
    let field = |k: &str| form.get(k).map(String::as_str);
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(CLIENT_SECRET) {
        return (
            AxumStatus::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let grant = field("grant_type").unwrap_or_default().to_owned();
    let allowed = match grant.as_str() {
        "authorization_code" => field("code") == Some("good-code"),
        "refresh_token" => {
            field("refresh_token").is_some_and(|r| ledger.refresh_tokens.iter().any(|t| t == r))
        }
        _ => false,
    };
    if !allowed {
        return (
            AxumStatus::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": "unknown grant"})),
        )
            .into_response();
    }
    ledger.grants.push(grant);
    ledger.issued += 1;
    let (access, refresh) = (
        format!("at-{}", ledger.issued),
        format!("rt-{}", ledger.issued),
    );
    ledger.access_tokens = vec![access.clone()];
    ledger.refresh_tokens = vec![refresh.clone()];
    axum::Json(
        json!({"access_token": access, "refresh_token": refresh, "expires_in": 3600,
        "token_type": "bearer", "workspace": {"id": WORKSPACE, "name": "Acme"}}),
    )
    .into_response()
}

fn error(status: AxumStatus, detail: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"detail": detail, "code": status.as_u16()}})),
    )
        .into_response()
}

/// Logs the request; the refusal of a request without a live token, for another workspace
/// or region, or while a failure is scripted.
fn refusal(
    ledger: &mut Ledger,
    headers: &HeaderMap,
    workspace: &str,
    path: String,
    query: BTreeMap<String, String>,
) -> Option<Response> {
    ledger.requests.push((path, query));
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !ledger.access_tokens.iter().any(|t| t == token) {
        return Some(error(
            AxumStatus::UNAUTHORIZED,
            "the access token has expired",
        ));
    }
    if workspace != WORKSPACE || headers.get("x-ledgerly-region").is_none_or(|r| r != "eu") {
        return Some(error(AxumStatus::NOT_FOUND, "no such workspace"));
    }
    let status = ledger.fail_next.take()?;
    Some(error(
        AxumStatus::from_u16(status).unwrap(),
        "down for maintenance",
    ))
}

fn limited(body: Value) -> Response {
    (
        [("x-ratelimit-remaining", "57"), ("x-ratelimit-limit", "60")],
        axum::Json(body),
    )
        .into_response()
}

async fn list(
    State(ledger): State<Shared>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let mut ledger = ledger.lock().unwrap();
    if let Some(refused) = refusal(
        &mut ledger,
        &headers,
        &workspace,
        "/deals".into(),
        query.clone(),
    ) {
        return refused;
    }
    let after: i64 = query
        .get("modified_after")
        .map_or(i64::MIN, |v| v.parse().unwrap());
    let mut matching: Vec<&Value> = ledger
        .deals
        .iter()
        .filter(|d| d["updated_at"].as_i64().unwrap() >= after)
        .filter(|d| query.get("stage").is_none_or(|s| d["stage"] == s.as_str()))
        .collect();
    matching.sort_by_key(|d| {
        (
            d["updated_at"].as_i64(),
            d["id"].as_str().map(str::to_owned),
        )
    });
    let start: usize = query
        .get("cursor")
        .map_or(0, |c| c.trim_start_matches("c").parse().unwrap());
    let size: usize = query["page_size"].parse().unwrap();
    let page: Vec<&Value> = matching.iter().skip(start).take(size).copied().collect();
    let next = (start + size < matching.len()).then(|| format!("c{}", start + size));
    limited(json!({"data": {"items": page, "next_cursor": next, "total": matching.len()}}))
}

async fn one(
    State(ledger): State<Shared>,
    Path((workspace, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut ledger = ledger.lock().unwrap();
    if let Some(refused) = refusal(
        &mut ledger,
        &headers,
        &workspace,
        format!("/deals/{id}"),
        BTreeMap::new(),
    ) {
        return refused;
    }
    match ledger.deals.iter().find(|d| d["id"] == id.as_str()) {
        Some(deal) => limited(json!({"deal": deal})),
        None => error(AxumStatus::NOT_FOUND, "no such deal"),
    }
}

/// Serves the provider on port 0; returns its origin.
async fn provider(ledger: Shared) -> String {
    let router = axum::Router::new()
        .route("/oauth/token", post(token))
        .route("/v2/workspaces/{workspace}/deals", get(list))
        .route("/v2/workspaces/{workspace}/deals/{id}", get(one))
        .with_state(ledger);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    origin
}

fn deal(id: &str, stage: &str, created: i64, updated: i64) -> Value {
    json!({"id": id, "name": format!("Deal {id}"), "stage": stage, "created_at": created, "updated_at": updated})
}

/// Tributary with the definition in its elements folder and the provider's origin set.
async fn app_with_ledgerly(origin: &str) -> TestApp {
    let folder = TempDir::new("tributary-elements");
    std::fs::write(folder.path().join("ledgerly.toml"), DEFINITION).unwrap();
    let (origin, elements) = (origin.to_owned(), folder.path().to_owned());
    let mut app = spawn_app_with(
        Config {
            seed: 0,
            ..Config::default()
        },
        move |s| {
            s.elements_dir = Some(elements);
            s.origins.insert("ledgerly".to_owned(), origin);
            s.allow_private_callbacks = true;
            s.retry_schedule = tributary_domain::delivery::RetrySchedule::parse("30ms").unwrap();
        },
    )
    .await;
    app.hold(folder);
    app
}

fn create_body(code: &str, callback: &str) -> Value {
    json!({
        "element": {"key": "ledgerly"},
        "providerData": {"code": code, "region": "eu"},
        "name": "Ledgerly account",
        "configuration": {
            "oauth.api.key": CLIENT_ID,
            "oauth.api.secret": CLIENT_SECRET,
            "oauth.callback.url": "https://app.example/oauth/callback",
            "event.notification.enabled": true,
            "event.notification.callback.url": callback,
            "event.notification.signature.key": KEY,
            "event.poller.configuration": {"deals": {
                "url": "/hubs/crm/deals", "idField": "id", "pageSize": 2,
                "datesConfiguration": {"updatedDateField": "updated_at", "updatedDateFormat": "milliseconds",
                    "createdDateField": "created_at", "createdDateFormat": "milliseconds"}}}
        }
    })
}

async fn poll(app: &TestApp, id: i64) -> Value {
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await
}

/// Steps the deliverer until a pass finds nothing to do.
async fn deliver(app: &TestApp) {
    let deliverer = Deliverer::new(app.state.clone(), 16).unwrap();
    for _ in 0..20 {
        let (queued, sent) = deliverer.run_once().await;
        if queued == 0 && sent == 0 {
            break;
        }
    }
}

/// Every event the receiver got, as (objectId, eventType), each notification's signature
/// checked against its raw bytes.
fn received_events(inbox: &Inbox) -> Vec<(String, String)> {
    let mut events = Vec::new();
    for (headers, raw) in &inbox.received() {
        let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
        mac.update(raw);
        let expected = format!(
            "sha256={}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(headers["elements-webhook-signature"], expected.as_str());
        let body: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(body["message"]["elementKey"], "ledgerly");
        assert!(
            body["topic"]
                .as_str()
                .unwrap()
                .ends_with("-ledgerly-events")
        );
        for event in body["message"]["events"].as_array().unwrap() {
            assert_eq!(event["objectType"], "deals");
            events.push((
                event["objectId"].as_str().unwrap().to_owned(),
                event["eventType"].as_str().unwrap().to_owned(),
            ));
        }
    }
    events.sort();
    events
}

#[tokio::test]
async fn a_provider_defined_in_a_file_is_polled_page_by_page_and_its_events_arrive_signed() {
    let ledger = Shared::default();
    let origin = provider(ledger.clone()).await;
    let app = app_with_ledgerly(&origin).await;
    let (callback, inbox) = receiver().await;

    // A wrong code is the provider's refusal, in its words; nothing is stored.
    let refused = app
        .call(
            Method::POST,
            "/instances",
            Some(&create_body("bad-code", &callback)),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["providerMessage"],
        "unknown grant"
    );
    let created = app
        .expect(
            Method::POST,
            "/instances",
            Some(&create_body("good-code", &callback)),
            StatusCode::OK,
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["element"]["key"], "ledgerly");
    let first = poll(&app, id).await;
    assert_eq!(first["polls"][0]["events"], 0, "{first}");
    assert_eq!(first["polls"][0]["addedSince"], true, "{first}");

    // Five new deals: three pages of two at most, each page asked with the change filter.
    let t0 = now_ms();
    ledger.lock().unwrap().deals = (1..=5)
        .map(|i| deal(&format!("d{i}"), "open", t0, t0 + i))
        .collect();
    ledger.lock().unwrap().requests.clear();
    let second = poll(&app, id).await;
    assert_eq!(second["polls"][0]["events"], 5, "{second}");
    assert_eq!(second["polls"][0]["pages"], 3, "{second}");
    let requests = ledger.lock().unwrap().requests.clone();
    let cursors: Vec<Option<&str>> = requests
        .iter()
        .map(|(_, q)| q.get("cursor").map(String::as_str))
        .collect();
    assert_eq!(cursors, [None, Some("c2"), Some("c4")]);
    for (path, query) in &requests {
        assert_eq!(path, "/deals");
        assert_eq!(query["page_size"], "2");
        let after: i64 = query["modified_after"].parse().expect("epoch milliseconds");
        assert!(
            after <= t0 && after > t0 - 300_000,
            "the window starts before the changes: {after}"
        );
    }

    // One deal changes a minute later: one UPDATED event.
    ledger.lock().unwrap().deals[1]["updated_at"] = json!(t0 + 60_000);
    assert_eq!(poll(&app, id).await["polls"][0]["events"], 1);
    assert_eq!(
        poll(&app, id).await["polls"][0]["events"],
        0,
        "nothing twice"
    );

    deliver(&app).await;
    let mut expected: Vec<(String, String)> = (1..=5)
        .map(|i| (format!("d{i}"), "CREATED".to_owned()))
        .collect();
    expected.push(("d2".into(), "UPDATED".into()));
    expected.sort();
    assert_eq!(received_events(&inbox), expected);

    // An expired access token is refreshed by the element's 401 rule, and the poll goes on.
    ledger.lock().unwrap().access_tokens.clear();
    assert!(poll(&app, id).await["polls"][0]["error"].is_null());
    assert_eq!(
        ledger.lock().unwrap().grants,
        ["authorization_code", "refresh_token"]
    );
}

#[tokio::test]
async fn the_hub_pages_through_the_second_provider_with_next_page_tokens() {
    let ledger = Shared::default();
    let origin = provider(ledger.clone()).await;
    let app = app_with_ledgerly(&origin).await;
    let (callback, _) = receiver().await;
    let created = app
        .expect(
            Method::POST,
            "/instances",
            Some(&create_body("good-code", &callback)),
            StatusCode::OK,
        )
        .await;
    let auth = format!(
        "User {USER_SECRET}, Element {}",
        created["token"].as_str().unwrap()
    );
    let t0 = now_ms();
    ledger.lock().unwrap().deals = (1..=7)
        .map(|i| {
            deal(
                &format!("d{i}"),
                if i % 2 == 0 { "won" } else { "open" },
                t0,
                t0 + i,
            )
        })
        .collect();
    let hub = |query: String| {
        let request = app
            .http
            .get(format!("{}/hubs/crm/deals?{query}", app.api))
            .header("Authorization", &auth);
        async move { request.send().await.unwrap() }
    };

    let (mut ids, mut token, mut calls) = (Vec::new(), None::<String>, 0);
    loop {
        let mut query = "pageSize=3".to_owned();
        if let Some(token) = &token {
            query.push_str(&format!("&nextPage={token}"));
        }
        let response = hub(query).await;
        assert_eq!(response.status(), StatusCode::OK);
        calls += 1;
        assert_eq!(response.headers()["elements-total-count"], "7");
        token = response
            .headers()
            .get("elements-next-page-token")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Vec<Value> = response.json().await.unwrap();
        ids.extend(page.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
        if token.is_none() {
            break;
        }
    }
    assert_eq!(ids, (1..=7).map(|i| format!("d{i}")).collect::<Vec<_>>());
    assert_eq!(calls, 3, "pages of 3, 3 and 1");

    // A declared filter and the since alias reach the provider as its own parameters.
    let query = serde_urlencoded::to_string([(
        "where",
        "stage = 'won' AND since = '2026-01-01T00:00:00Z'",
    )])
    .unwrap();
    let won: Vec<Value> = hub(query).await.json().await.unwrap();
    assert_eq!(won.len(), 3);
    let (_, last) = ledger.lock().unwrap().requests.last().unwrap().clone();
    assert_eq!(
        (last["stage"].as_str(), last["modified_after"].as_str()),
        ("won", "1767225600000")
    );
    // A page token this server gave out is followed; one made up by the caller — naming a URL
    // anywhere, under the provider's base URL or not — is refused (issue 16: tokens are
    // tagged, so the caller cannot steer the instance's bearer token).
    let first = hub("pageSize=2".into()).await;
    let given = first.headers()["elements-next-page-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let followed = hub(format!("pageSize=2&nextPage={given}")).await;
    assert_eq!(followed.status(), StatusCode::OK);
    let page: Vec<Value> = followed.json().await.unwrap();
    assert_eq!(page.len(), 2, "d3 and d4");
    let token = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    for outside in [
        format!("u:/v2/workspaces/{WORKSPACE}/deals?page_size=2&cursor=c3"),
        "u:https://elsewhere.example/v2/workspaces/ws-42/deals".to_owned(),
        "u:/v2/workspaces/ws-43/deals".to_owned(),
    ] {
        let refused = hub(format!("nextPage={}", token(&outside))).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{outside}");
    }
    // A cursor pager cannot jump to page 2.
    let jump = hub("page=2".into()).await;
    assert_eq!(jump.status(), StatusCode::BAD_REQUEST);

    // One record, from under the definition's record pointer; the provider's 404 in its words.
    let one = hub_one(&app, &auth, "d3").await;
    assert_eq!(one.status(), StatusCode::OK);
    assert_eq!(one.json::<Value>().await.unwrap()["name"], "Deal d3");
    let missing = hub_one(&app, &auth, "d99").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["providerMessage"],
        "no such deal"
    );

    // A provider failure is a 502 with the provider's own words from its error envelope.
    ledger.lock().unwrap().fail_next = Some(503);
    let failed = hub("pageSize=3".into()).await;
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        failed.json::<Value>().await.unwrap()["providerMessage"],
        "down for maintenance"
    );
}

async fn hub_one(app: &TestApp, auth: &str, id: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/hubs/crm/deals/{id}", app.api))
        .header("Authorization", auth)
        .send()
        .await
        .unwrap()
}

/// A definition of the folder that does not validate, or repeats a key, is refused by name
/// (logged at start); the folder's other definitions load, and `GET /elements` marks each
/// element built-in or not.
#[tokio::test]
async fn a_broken_definition_is_refused_and_the_others_load_marked_local() {
    let folder = TempDir::new("tributary-bad-elements");
    std::fs::write(
        folder.path().join("broken.toml"),
        DEFINITION
            .replace("key = \"ledgerly\"", "key = \"broken\"")
            .replace("cursor = \"/data/next_cursor\"\n", ""),
    )
    .unwrap();
    std::fs::write(folder.path().join("ledgerly.toml"), DEFINITION).unwrap();
    std::fs::write(
        folder.path().join("sfdc.toml"),
        DEFINITION.replace("key = \"ledgerly\"", "key = \"sfdc\""),
    )
    .unwrap();
    // A user's definition must not point Tributary into the private network.
    std::fs::write(
        folder.path().join("tunnel.toml"),
        DEFINITION
            .replace("key = \"ledgerly\"", "key = \"tunnel\"")
            .replace("https://api.ledgerly.example", "http://10.0.0.7:8080"),
    )
    .unwrap();
    let settings = |allow: bool, tunnel_origin: Option<&str>| tributary_server::Settings {
        elements_dir: Some(folder.path().to_owned()),
        allow_private_origins: allow,
        origins: tunnel_origin
            .map(|o| BTreeMap::from([("tunnel".to_owned(), o.to_owned())]))
            .unwrap_or_default(),
        ..tributary_server::Settings::default()
    };
    let guarded = tributary_server::services::elements::load(&settings(false, None)).unwrap();
    let last = guarded.refused().last().unwrap().to_string();
    assert!(
        last.contains("tunnel.toml")
            && last.contains("api.base_url: 10.0.0.7 is a private address")
            && last.contains("TRIBUTARY_ALLOW_PRIVATE_ORIGINS")
            && last.contains("TRIBUTARY_TUNNEL_ORIGIN"),
        "{last}"
    );
    assert!(guarded.get("tunnel").is_none());
    for (allow, origin) in [(true, None), (false, Some("http://127.0.0.1:9"))] {
        let loaded = tributary_server::services::elements::load(&settings(allow, origin)).unwrap();
        assert!(
            loaded.get("tunnel").is_some(),
            "allowed: {allow}, {origin:?}"
        );
        assert_eq!(loaded.refused().len(), 2);
    }

    let registry = tributary_elements::Registry::load(Some(folder.path())).unwrap();
    let refused: Vec<String> = registry.refused().iter().map(|e| e.to_string()).collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused[0].contains("broken.toml")
            && refused[0].contains("api.list.pager: a cursor pager needs `cursor`"),
        "{refused:?}"
    );
    assert!(
        refused[1].contains("\"sfdc\" is defined twice") && refused[1].contains("sfdc.toml"),
        "{refused:?}"
    );

    let shared = folder.path().to_owned();
    let app = spawn_app_with(Config::default(), move |s| {
        s.elements_dir = Some(shared);
    })
    .await;
    let elements = app
        .expect(Method::GET, "/elements", None, StatusCode::OK)
        .await;
    let built_in: BTreeMap<&str, bool> = elements
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap(), e["builtIn"] == true))
        .collect();
    assert_eq!(
        built_in,
        BTreeMap::from([
            ("hubspotcrm", true),
            ("infusionsoftrest", true),
            ("ledgerly", false),
            ("quickbooks", true),
            ("sfdc", true),
        ]),
        "tunnel.toml is refused for its private origin"
    );
    let one = app
        .expect(Method::GET, "/elements/ledgerly", None, StatusCode::OK)
        .await;
    assert_eq!(one["builtIn"], false);
    app.expect(Method::GET, "/elements/broken", None, StatusCode::NOT_FOUND)
        .await;
}
