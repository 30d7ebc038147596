//! The error classifier's actions over real HTTP: a variant of Keap's definition with one rule
//! per action, against the simulator's scripted faults.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::SecretString;
use serde_json::{Value, json};
use tributary_domain::SystemClock;
use tributary_elements::client::{CredentialSink, Credentials, InstanceClient, ProviderError};
use tributary_elements::oauth::{self, ClientCredentials};
use tributary_elements::pacer::Pacer;
use tributary_elements::pager::Position;
use tributary_elements::query::Translated;
use tributary_elements::{Element, Registry};
use tributary_simulator::{Config, RunningSimulator, Simulator};

const REDIRECT: &str = "https://client.example/cb";

/// One rule per action, after Keap's own 401 and 429 rules.
const RULES: &str = r#"
[[api.errors.rules]]
status = 500
action = "retry"
attempts = 2
wait = "10ms"

[[api.errors.rules]]
status = 502
action = "reject"

[[api.errors.rules]]
status = 503
action = "pause"
wait = "1s"

[[api.errors.rules]]
status = 404
pointer = "/message"
equals = "Unable to find this Contact"
action = "fail"

[[api.errors.rules]]
status = 403
action = "invalid"

[api.query]"#;

#[derive(Debug, Default)]
struct Sink {
    invalid: Mutex<Option<String>>,
}

#[async_trait]
impl CredentialSink for Sink {
    async fn save(&self, _: &Credentials) -> Result<(), String> {
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
    client: InstanceClient,
    pacer: Arc<Pacer>,
    sink: Arc<Sink>,
    http: reqwest::Client,
}

async fn fixture() -> Fixture {
    let config = Config {
        seed: 0,
        throttle_per_minute: 1_000_000,
        tenant_throttle_per_minute: 1_000_000,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    };
    let sim = RunningSimulator::start(
        Simulator::new(config, Arc::new(SystemClock)),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let keap = include_str!("../definitions/infusionsoftrest.toml");
    let variant = keap
        .replace("key = \"infusionsoftrest\"", "key = \"classified\"")
        .replace("\n[api.query]", RULES);
    let folder = std::env::temp_dir().join(format!(
        "tributary-classifier-{}-{}",
        std::process::id(),
        sim.url().rsplit(':').next().unwrap()
    ));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("classified.toml"), variant).unwrap();
    let element = Registry::load(Some(&folder))
        .unwrap()
        .with_origins(&BTreeMap::from([("classified".to_owned(), sim.url())]))
        .unwrap()
        .get("classified")
        .unwrap();
    std::fs::remove_dir_all(&folder).unwrap();

    let http =
        tributary_elements::http::provider_client(std::time::Duration::from_secs(5)).unwrap();
    let app = ClientCredentials {
        client_id: "tributary-demo".into(),
        client_secret: SecretString::from("tributary-demo-secret"),
    };
    let code = tributary_simulator::consent_code(&http, &sim.url(), "tributary-demo", REDIRECT)
        .await
        .unwrap();
    let (data, config) = (serde_json::Map::new(), BTreeMap::new());
    let redirect = oauth::Redirect {
        uri: REDIRECT,
        provider_data: &data,
        config: &config,
    };
    let tokens = oauth::exchange_code(&http, &element, &app, &code, &redirect)
        .await
        .unwrap();
    let pacer = Arc::new(Pacer::new(1_000_000));
    let sink = Arc::new(Sink::default());
    let client = InstanceClient::new(
        element.clone(),
        http.clone(),
        app,
        Credentials {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at_ms: None,
            connection: BTreeMap::new(),
        },
        pacer.clone(),
        Arc::new(SystemClock),
        sink.clone(),
    );
    Fixture {
        sim,
        element,
        client,
        pacer,
        sink,
        http,
    }
}

impl Fixture {
    async fn fault(&self, fault: Value) {
        let response = self
            .http
            .post(format!("{}/_sim/faults", self.sim.url()))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }

    /// The statuses of the requests to the contacts list, oldest first.
    async fn statuses(&self) -> Vec<u64> {
        let requests: Vec<Value> = self
            .http
            .get(format!("{}/_sim/requests", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        requests
            .iter()
            .filter(|r| r["path"] == "/crm/rest/v1/contacts")
            .map(|r| r["status"].as_u64().unwrap())
            .collect()
    }

    async fn list(&self) -> Result<usize, ProviderError> {
        let contacts = self.element.resource("contacts").unwrap();
        let page = self
            .client
            .list(contacts, &Translated::default(), &Position::Start, 10)
            .await?;
        Ok(page.records.len())
    }
}

#[tokio::test]
async fn a_retry_rule_sends_again_until_its_attempts_are_spent() {
    let f = fixture().await;
    f.fault(json!({"status": 500, "count": 1})).await;
    assert_eq!(f.list().await, Ok(0));
    assert_eq!(f.statuses().await, [500, 200]);
    f.fault(json!({"status": 500, "count": 5})).await;
    let error = f.list().await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Failed { status: 500, message } if message.contains("Simulated fault")),
        "{error:?}"
    );
    assert_eq!(
        f.statuses().await,
        [500, 200, 500, 500],
        "two requests in all"
    );
}

#[tokio::test]
async fn reject_fail_and_a_body_test_decide_with_the_providers_words() {
    let f = fixture().await;
    f.fault(json!({"status": 502, "count": 1})).await;
    assert_eq!(
        f.list().await,
        Err(ProviderError::Rejected {
            status: 502,
            message: "Simulated fault: Bad Gateway".into()
        })
    );
    let contacts = f.element.resource("contacts").unwrap();
    assert_eq!(
        f.client.get(contacts, "99999").await,
        Err(ProviderError::Failed {
            status: 404,
            message: "Unable to find this Contact".into()
        }),
        "the body matched: a failure, not the default refusal"
    );
    f.fault(json!({"status": 404, "count": 1})).await;
    assert!(
        matches!(
            f.list().await,
            Err(ProviderError::Rejected { status: 404, .. })
        ),
        "another 404 body: no rule, the default refusal"
    );
}

#[tokio::test]
async fn a_pause_rule_fails_the_request_and_holds_the_app() {
    let f = fixture().await;
    f.fault(json!({"status": 503, "count": 1})).await;
    assert!(matches!(
        f.list().await,
        Err(ProviderError::Failed { status: 503, .. })
    ));
    assert_eq!(f.statuses().await, [503], "no retry");
    let (waits_before, _, _) = f.pacer.stats();
    assert_eq!(f.list().await, Ok(0));
    let (waits_after, _, _) = f.pacer.stats();
    assert_eq!(
        waits_after,
        waits_before + 1,
        "the next request waited out the pause"
    );
}

#[tokio::test]
async fn an_invalid_rule_kills_the_client_and_tells_the_sink() {
    let f = fixture().await;
    f.fault(json!({"status": 403, "count": 1})).await;
    let error = f.list().await.unwrap_err();
    let ProviderError::Invalid(reason) = &error else {
        panic!("expected an invalid authorization, got {error:?}");
    };
    assert!(reason.contains("Simulated fault: Forbidden"), "{reason}");
    assert_eq!(
        f.sink.invalid.lock().unwrap().as_deref(),
        Some(reason.as_str())
    );
    assert!(matches!(f.list().await, Err(ProviderError::Invalid(_))));
    assert_eq!(
        f.statuses().await,
        [403],
        "no provider call for a dead grant"
    );
}
