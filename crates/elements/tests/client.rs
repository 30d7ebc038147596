//! The instance client against the simulator over real HTTP: paging, refresh, faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tributary_domain::SystemClock;
use tributary_elements::client::{CredentialSink, Credentials, InstanceClient, ProviderError};
use tributary_elements::connection::InstanceValues;
use tributary_elements::oauth::{self, ClientCredentials};
use tributary_elements::pacer::Pacer;
use tributary_elements::pager::Position;
use tributary_elements::query::Translated;
use tributary_elements::{Element, Registry};
use tributary_simulator::{Config, RunningSimulator, Simulator};

const REDIRECT: &str = "https://client.example/cb";

/// A redirect with nothing beside the code and no configuration (Keap needs neither).
fn redirect(uri: &str) -> oauth::Redirect<'_> {
    static EMPTY: std::sync::LazyLock<(
        serde_json::Map<String, serde_json::Value>,
        std::collections::BTreeMap<String, String>,
    )> = std::sync::LazyLock::new(Default::default);
    oauth::Redirect {
        uri,
        provider_data: &EMPTY.0,
        config: &EMPTY.1,
    }
}

/// Remembers what the client asked it to store.
#[derive(Debug, Default)]
struct RecordingSink {
    saved: Mutex<Vec<Credentials>>,
    invalid: Mutex<Option<String>>,
}

#[async_trait]
impl CredentialSink for RecordingSink {
    async fn save(&self, credentials: &Credentials) -> Result<(), String> {
        self.saved.lock().unwrap().push(credentials.clone());
        Ok(())
    }
    async fn invalidate(&self, reason: &str) -> Result<(), String> {
        *self.invalid.lock().unwrap() = Some(reason.to_owned());
        Ok(())
    }
}

struct Fixture {
    sim: RunningSimulator,
    element: Arc<Element>,
    client: Arc<InstanceClient>,
    sink: Arc<RecordingSink>,
    control: reqwest::Client,
    http: reqwest::Client,
    /// The refresh token of the first exchange (the client holds the same).
    refresh_token: SecretString,
}

fn app() -> ClientCredentials {
    ClientCredentials {
        client_id: "tributary-demo".into(),
        client_secret: SecretString::from("tributary-demo-secret"),
    }
}

async fn fixture_with(timeout: Duration) -> Fixture {
    let config = Config {
        seed: 0,
        throttle_per_minute: 1_000_000,
        tenant_throttle_per_minute: 1_000_000,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    };
    let sim = Simulator::new(config, Arc::new(SystemClock));
    let sim = RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let origin = sim.url();
    let element = Registry::builtin(|_| Some(origin.clone()))
        .unwrap()
        .get("infusionsoftrest")
        .unwrap();
    let http = tributary_elements::http::provider_client(timeout).unwrap();
    let control = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = control
        .post(
            element
                .authorize_url("tributary-demo", REDIRECT, "s", None)
                .unwrap(),
        )
        .form(&[("allow", "true")])
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = oauth::exchange_code(&http, &element, &app(), &code, &redirect(REDIRECT))
        .await
        .unwrap();
    let sink = Arc::new(RecordingSink::default());
    let refresh_token = tokens.refresh_token.clone().unwrap();
    let client = Arc::new(InstanceClient::new(
        element.clone(),
        http.clone(),
        app(),
        Credentials {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at_ms: None,
            connection: Default::default(),
        },
        Arc::new(Pacer::new(1_000_000)),
        Arc::new(SystemClock),
        sink.clone(),
    ));
    Fixture {
        sim,
        element,
        client,
        sink,
        control,
        http,
        refresh_token,
    }
}

async fn fixture() -> Fixture {
    fixture_with(Duration::from_secs(10)).await
}

impl Fixture {
    async fn sim_post(&self, path: &str, body: Value) {
        let response = self
            .control
            .post(format!("{}/_sim{path}", self.sim.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    async fn requests(&self) -> Vec<Value> {
        self.control
            .get(format!("{}/_sim/requests", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Reads a whole resource with one page size; returns the ids and the number of pages.
    async fn read_all(&self, resource: &str, page_size: u32) -> (Vec<i64>, usize) {
        let resource = self.element.resource(resource).unwrap();
        let (mut ids, mut pages, mut at) = (Vec::new(), 0, Position::Start);
        loop {
            let page = self
                .client
                .list(resource, &Translated::default(), &at, page_size)
                .await
                .unwrap();
            pages += 1;
            ids.extend(page.records.iter().map(|r| r["id"].as_i64().unwrap()));
            match page.next {
                Some(next) => at = next,
                None => return (ids, pages),
            }
            assert!(pages < 10_000, "paging does not end");
        }
    }
}

#[tokio::test]
async fn every_resource_pages_exactly_across_2500_records_with_page_sizes_1_7_and_1000() {
    let f = fixture().await;
    let names: Vec<String> = f.element.resources.iter().map(|r| r.name.clone()).collect();
    for name in &names {
        f.sim_post("/records", json!({"resource": name, "count": 2500}))
            .await;
    }
    let expected: Vec<i64> = (1..=2500).collect();
    for name in &names {
        for (size, pages) in [(1000, 3), (7, 358), (1, 2500)] {
            let (ids, used) = f.read_all(name, size).await;
            assert!(
                ids == expected,
                "{name} with page size {size}: {} ids from {:?} to {:?}",
                ids.len(),
                ids.first(),
                ids.last()
            );
            assert_eq!(
                used, pages,
                "{name} with page size {size} stops on the short page or at count"
            );
        }
    }
}

/// A poll's page (its records kept as text) is the hub's page: the same records, each the
/// text its `Value` writes — what an event stored before records were kept as text — and
/// the same next position.
#[tokio::test]
async fn a_polls_page_of_records_as_text_is_the_lists_page_written_out() {
    use tributary_elements::client::Feed;
    let f = fixture().await;
    f.sim_post("/records", json!({"resource": "contacts", "count": 25}))
        .await;
    let resource = f.element.resource("contacts").unwrap();
    let mut at = Position::Start;
    let mut read = 0;
    loop {
        let query = Translated::default();
        let list = f.client.list(resource, &query, &at, 10).await.unwrap();
        let page = f
            .client
            .page_records(Feed::List, resource, &query, &at, 10)
            .await
            .unwrap();
        let written: Vec<String> = list.records.iter().map(Value::to_string).collect();
        let kept: Vec<&str> = page.records.iter().map(|r| r.as_str()).collect();
        assert_eq!(kept, written);
        assert_eq!(
            (page.next.clone(), page.total),
            (list.next.clone(), list.total)
        );
        read += kept.len();
        match page.next {
            Some(next) => at = next,
            None => break,
        }
    }
    assert_eq!(read, 25);
}

#[tokio::test]
async fn paging_stops_at_count_even_when_the_last_page_is_full() {
    let f = fixture().await;
    f.sim_post("/records", json!({"resource": "contacts", "count": 14}))
        .await;
    let (ids, pages) = f.read_all("contacts", 7).await;
    assert_eq!(ids.len(), 14);
    assert_eq!(pages, 2, "offset + 7 reached count: no empty third page");
    let (ids, pages) = f.read_all("tasks", 50).await;
    assert_eq!((ids.len(), pages), (0, 1), "an empty list is one request");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_twenty_concurrent_requests() {
    let f = fixture().await;
    f.sim_post("/records", json!({"resource": "contacts", "count": 3}))
        .await;
    f.sim_post("/tokens/expire", json!({})).await;
    let contacts = f.element.resource("contacts").unwrap().clone();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = f.client.clone();
        let contacts = contacts.clone();
        tasks.push(tokio::spawn(async move {
            client
                .list(&contacts, &Translated::default(), &Position::Start, 10)
                .await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().records.len(), 3);
    }
    let refreshes = f
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/token")
        .count();
    assert_eq!(refreshes, 2, "the code exchange and exactly one refresh");
    let saved = f.sink.saved.lock().unwrap().clone();
    assert_eq!(saved.len(), 1, "the rotated token was stored once");
    // The stored refresh token is the live one: it refreshes again.
    let again = oauth::refresh(
        &f.http,
        &f.element,
        &app(),
        saved[0].refresh_token.as_ref().unwrap(),
        &InstanceValues::default(),
    )
    .await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_it_is_used() {
    let f = fixture().await;
    let sink = Arc::new(RecordingSink::default());
    let now = tributary_domain::Clock::now_ms(&SystemClock);
    let client = InstanceClient::new(
        f.element.clone(),
        f.http.clone(),
        app(),
        Credentials {
            access_token: SecretString::from("expiring-soon"),
            refresh_token: Some(f.refresh_token.clone()),
            expires_at_ms: Some(now + 30_000),
            connection: Default::default(),
        },
        Arc::new(Pacer::new(1_000_000)),
        Arc::new(SystemClock),
        sink.clone(),
    );
    let contacts = f.element.resource("contacts").unwrap();
    client
        .list(contacts, &Translated::default(), &Position::Start, 10)
        .await
        .unwrap();
    let requests = f.requests().await;
    let paths: Vec<&str> = requests
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/token", "/token", "/crm/rest/v1/contacts"],
        "refresh first, then the call"
    );
    let used = requests[2]["token"].as_str().unwrap();
    assert_ne!(used, "expiring-soon");
    let saved = sink.saved.lock().unwrap().clone();
    assert_eq!(
        saved[0].access_token.expose_secret(),
        used,
        "the stored token is the one used"
    );
    assert!(saved[0].expires_at_ms.unwrap() > now + 86_000_000);
}

#[tokio::test]
async fn a_revoked_refresh_token_marks_the_client_invalid_and_stops_provider_calls() {
    let f = fixture().await;
    f.sim_post("/tokens/revoke", json!({})).await;
    f.sim_post("/tokens/expire", json!({})).await;
    let contacts = f.element.resource("contacts").unwrap();
    let error = f
        .client
        .list(contacts, &Translated::default(), &Position::Start, 10)
        .await
        .unwrap_err();
    let ProviderError::Invalid(reason) = &error else {
        panic!("expected an invalid authorization, got {error:?}");
    };
    assert!(
        reason.contains("Invalid refresh token") && reason.contains("authorize the instance again"),
        "{reason}"
    );
    assert_eq!(
        f.sink.invalid.lock().unwrap().as_deref(),
        Some(reason.as_str())
    );
    let before = f.requests().await.len();
    let again = f
        .client
        .list(contacts, &Translated::default(), &Position::Start, 10)
        .await
        .unwrap_err();
    assert!(matches!(again, ProviderError::Invalid(_)));
    assert_eq!(
        f.requests().await.len(),
        before,
        "no provider call for a dead grant"
    );
}

#[tokio::test]
async fn provider_faults_become_errors_that_never_carry_html() {
    let f = fixture_with(Duration::from_millis(500)).await;
    f.sim_post("/records", json!({"resource": "contacts", "count": 2}))
        .await;
    let contacts = f.element.resource("contacts").unwrap();
    type Check = fn(&ProviderError) -> bool;
    let cases: [(Value, Check); 5] = [
        (json!({"status": 500}), |e| {
            matches!(e, ProviderError::Failed { status: 500, .. })
        }),
        (
            json!({"kind": "timeout"}),
            |e| matches!(e, ProviderError::Unreachable(m) if m == "timed out"),
        ),
        (json!({"kind": "reset"}), |e| {
            matches!(e, ProviderError::Unreachable(_))
        }),
        (json!({"kind": "malformed"}), |e| {
            matches!(e, ProviderError::Malformed(_))
        }),
        (
            json!({"kind": "html", "status": 502}),
            |e| matches!(e, ProviderError::Failed { status: 502, message } if message.contains("HTML") && !message.contains('<')),
        ),
    ];
    for (fault, check) in cases {
        f.sim_post("/faults", fault.clone()).await;
        let error = f
            .client
            .list(contacts, &Translated::default(), &Position::Start, 10)
            .await
            .unwrap_err();
        assert!(check(&error), "{fault}: {error:?}");
        assert_eq!(
            f.client
                .list(contacts, &Translated::default(), &Position::Start, 10)
                .await
                .unwrap()
                .records
                .len(),
            2,
            "{fault}: recovers"
        );
    }
    // A 4xx keeps the provider's words; a 404 on a record too.
    let missing = f.client.get(contacts, "99999").await.unwrap_err();
    assert_eq!(
        missing,
        ProviderError::Rejected {
            status: 404,
            message: "Unable to find this Contact".into()
        }
    );
    let found = f.client.get(contacts, "1").await.unwrap();
    assert_eq!(found["id"], 1);
    // An id that would leave the resource's path is refused here; the provider never sees it.
    assert!(matches!(
        f.client.get(contacts, "../etc").await.unwrap_err(),
        ProviderError::Unsent(_)
    ));
}

#[tokio::test]
async fn a_429_is_waited_out_and_the_request_goes_through() {
    let f = fixture().await;
    f.sim_post("/faults", json!({"status": 429, "count": 2}))
        .await;
    let contacts = f.element.resource("contacts").unwrap();
    let page = f
        .client
        .list(contacts, &Translated::default(), &Position::Start, 10)
        .await
        .unwrap();
    assert!(page.records.is_empty());
    let statuses: Vec<u64> = f
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/crm/rest/v1/contacts")
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
}
