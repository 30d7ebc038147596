//! The built-in `sfdc` definition's client against the Salesforce simulator over real HTTP:
//! the instance URL of every token response is the base URL (re-read at each refresh), and an
//! org's spent quota pauses that instance only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::{Form, State};
use axum::response::IntoResponse;
use secrecy::SecretString;
use serde_json::{Value, json};
use tributary_domain::SystemClock;
use tributary_elements::client::{CredentialSink, Credentials, InstanceClient, ProviderError};
use tributary_elements::oauth::{self, ClientCredentials};
use tributary_elements::pacer::Pacer;
use tributary_elements::pager::Position;
use tributary_elements::query::Translated;
use tributary_elements::{Element, Registry};
use tributary_simulator::RunningSimulator;
use tributary_simulator::salesforce::{self, Config};

const REDIRECT: &str = "https://client.example/cb";

#[derive(Debug, Default)]
struct Sink {
    saved: Mutex<Vec<Credentials>>,
}

#[async_trait]
impl CredentialSink for Sink {
    async fn save(&self, credentials: &Credentials) -> Result<(), String> {
        self.saved.lock().unwrap().push(credentials.clone());
        Ok(())
    }
    async fn invalidate(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
}

async fn simulator() -> RunningSimulator {
    let config = Config {
        seed: 0,
        ..Config::default()
    };
    salesforce::start(
        config,
        Arc::new(SystemClock),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn sfdc(login: &str) -> Arc<Element> {
    Registry::builtin(|key| (key == "sfdc").then(|| login.to_owned()))
        .unwrap()
        .get("sfdc")
        .unwrap()
}

fn app() -> ClientCredentials {
    ClientCredentials {
        client_id: "tributary-demo".into(),
        client_secret: SecretString::from("tributary-demo-secret"),
    }
}

/// A client of `element` with the tokens a code of `login`'s consent page gives.
async fn client(
    element: &Arc<Element>,
    consent_origin: &str,
    pacer: Arc<Pacer>,
    sink: Arc<Sink>,
) -> InstanceClient {
    let http =
        tributary_elements::http::provider_client(std::time::Duration::from_secs(5)).unwrap();
    let code = salesforce::consent_code(&http, consent_origin, "tributary-demo", REDIRECT, None)
        .await
        .unwrap();
    let (data, config) = (serde_json::Map::new(), BTreeMap::new());
    let redirect = oauth::Redirect {
        uri: REDIRECT,
        provider_data: &data,
        config: &config,
    };
    let tokens = oauth::exchange_code(&http, element, &app(), &code, &redirect)
        .await
        .unwrap();
    InstanceClient::new(
        element.clone(),
        http,
        app(),
        Credentials {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at_ms: None,
            connection: tokens.connection,
        },
        pacer,
        Arc::new(SystemClock),
        sink,
    )
}

/// A login host in front of the org's simulator: it passes token requests on, but its code
/// exchange names `stale` as the instance URL (a host the org has left); refreshes name the
/// org's own.
async fn login_host(org: String, stale: String) -> String {
    async fn token(
        State((org, stale)): State<(String, String)>,
        Form(form): Form<Vec<(String, String)>>,
    ) -> axum::response::Response {
        let answer: Value = reqwest::Client::new()
            .post(format!("{org}/services/oauth2/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut answer = answer;
        if form
            .iter()
            .any(|(k, v)| k == "grant_type" && v == "authorization_code")
        {
            answer["instance_url"] = json!(stale);
        }
        axum::Json(answer).into_response()
    }
    let router = axum::Router::new()
        .route("/services/oauth2/token", axum::routing::post(token))
        .with_state((org, stale));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test]
async fn the_instance_url_of_a_refresh_replaces_the_one_the_code_gave() {
    let (org, elsewhere) = (simulator().await, simulator().await);
    let login = login_host(org.url(), elsewhere.url()).await;
    let element = sfdc(&login);
    let sink = Arc::new(Sink::default());
    let client = client(
        &element,
        &org.url(),
        Arc::new(Pacer::new(1_000_000)),
        sink.clone(),
    )
    .await;
    let contacts = element.resource("contacts").unwrap();
    // The stale host does not know the token (INVALID_SESSION_ID): refresh, and the refresh's
    // instance URL is where the next request goes.
    let page = client
        .list(contacts, &Translated::default(), &Position::Start, 200)
        .await
        .unwrap();
    assert!(page.records.is_empty());
    let saved = sink.saved.lock().unwrap().clone();
    assert_eq!(saved.len(), 1, "one refresh, stored before use");
    assert_eq!(saved[0].connection["instance_url"], org.url());
    let log: Vec<Value> = reqwest::get(format!("{}/_sim/requests", org.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        log.iter().any(
            |r| r["path"].as_str().unwrap_or_default().ends_with("/query") && r["status"] == 200
        ),
        "the query reached the org's own host"
    );
}

#[tokio::test]
async fn a_spent_quota_pauses_its_instance_and_not_the_app() {
    let sim = simulator().await;
    let element = sfdc(&sim.url());
    let pacer = Arc::new(Pacer::new(1_000_000));
    let spent = client(&element, &sim.url(), pacer.clone(), Arc::default()).await;
    let contacts = element.resource("contacts").unwrap();
    let query = Translated::default();
    spent
        .list(contacts, &query, &Position::Start, 200)
        .await
        .unwrap();
    reqwest::Client::new()
        .post(format!("{}/_sim/limits", sim.url()))
        .json(&json!({"daily_quota": 1}))
        .send()
        .await
        .unwrap();
    let refused = spent
        .list(contacts, &query, &Position::Start, 200)
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        ProviderError::Failed {
            status: 403,
            message: "TotalRequests Limit exceeded.".into()
        }
    );
    let until = spent.paused_until_ms().expect("paused");
    let now = tributary_domain::Clock::now_ms(&SystemClock);
    assert!(
        (14 * 60_000..=15 * 60_000).contains(&(until - now)),
        "{}",
        until - now
    );
    // The app's other instances are not held: a second org of the same app still answers.
    reqwest::Client::new()
        .post(format!("{}/_sim/limits", sim.url()))
        .json(&json!({"daily_quota": 100000, "reset": true}))
        .send()
        .await
        .unwrap();
    let other = client(&element, &sim.url(), pacer, Arc::default()).await;
    other
        .list(contacts, &query, &Position::Start, 200)
        .await
        .unwrap();
    // While its pause holds, the spent instance calls nobody, though the quota is back.
    assert!(
        spent
            .list(contacts, &query, &Position::Start, 200)
            .await
            .is_err()
    );
}
