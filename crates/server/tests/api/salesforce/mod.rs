//! The `sfdc` element — Salesforce as a definition file — against the Salesforce simulator over
//! real HTTP: connecting through the consent page, polling creates, updates and deletes, the
//! quota's pause, lost delete history, ties and short pages, refreshes, and the hub's SOQL.
//!
//! Tributary and the simulator share one manual clock, so a test moves time (a delete window
//! of whole minutes, a session timeout, a pause) instead of waiting for it.

mod deletes;
mod hub;
mod limits;
mod polling;
mod ui;

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::ManualClock;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::RunningSimulator;
use tributary_simulator::salesforce::{self, Config};

use crate::helpers::{CALLBACK, ORG_SECRET, TempDir, USER_SECRET};

/// The simulator's API root.
pub const V: &str = "/services/data/v66.0";
/// Salesforce's record dates: `2013-05-20T20:49:32.000+0000`.
pub const SF_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";

/// Tributary and a Salesforce simulator on one manual clock.
pub struct SfApp {
    pub api: String,
    pub state: tributary_server::AppState,
    pub sim: RunningSimulator,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub auth: String,
    shutdown: CancellationToken,
    /// Declared last: removed after the server is told to stop.
    _dir: TempDir,
}

impl Drop for SfApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The simulator with `config`, and Tributary sending `sfdc`'s login and API calls to it.
pub async fn spawn_sf(config: Config) -> SfApp {
    // A whole minute plus 5 s: delete windows are whole minutes, and tests count them.
    let now = tributary_domain::Clock::now_ms(&tributary_domain::SystemClock);
    let clock = Arc::new(ManualClock::new(now - now.rem_euclid(60_000) + 5_000));
    let sim = salesforce::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = TempDir::new("tributary-sfdc");
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("tributary.db").display()),
        origins: BTreeMap::from([("sfdc".to_owned(), sim.url())]),
        allow_private_callbacks: true,
        bootstrap: Some(Bootstrap {
            organization_secret: ORG_SECRET.to_owned().into(),
            user_secret: USER_SECRET.to_owned().into(),
        }),
        ..Settings::default()
    };
    settings.poll_concurrency = 0;
    settings.delivery_concurrency = 0;
    settings.retry_schedule = tributary_domain::delivery::RetrySchedule::parse("30ms").unwrap();
    let app = Application::build(settings, clock.clone()).await.unwrap();
    let api = format!("http://127.0.0.1:{}/elements/api-v2", app.port());
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    SfApp {
        api,
        state,
        sim,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        auth: format!("User {USER_SECRET}, Organization {ORG_SECRET}"),
        shutdown,
        _dir: dir,
    }
}

/// No seed records, pages of exactly the batch size.
pub fn quiet() -> Config {
    Config {
        seed: 0,
        short_pages: false,
        ..Config::default()
    }
}

/// Salesforce's datesConfiguration, as a Cloud Elements user writes it.
pub fn poller(resource: &str) -> Value {
    json!({
        "url": format!("/hubs/crm/{resource}"),
        "idField": "Id",
        "datesConfiguration": {
            "updatedDateField": "SystemModstamp",
            "updatedDateFormat": SF_FORMAT,
            "updatedDateTimezone": "GMT",
            "createdDateField": "CreatedDate",
            "createdDateFormat": SF_FORMAT,
            "createdDateTimezone": "GMT"
        }
    })
}

/// The Cloud Elements-style create body (the seed's shape) for `sfdc`.
pub fn create_body(code: &str, pollers: Value, callback: &str) -> Value {
    json!({
        "element": {"key": "sfdc"},
        "providerData": {"code": code},
        "name": "Salesforce org",
        "tags": ["Docs"],
        "configuration": {
            "oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret",
            "oauth.callback.url": CALLBACK,
            "event.notification.enabled": true,
            "event.vendor.type": "polling",
            "event.notification.callback.url": callback,
            "event.notification.signature.key": "MySecretEventSignatureKey",
            "event.poller.refresh_interval": "15",
            "event.poller.configuration": pollers
        }
    })
}

impl SfApp {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .header("Authorization", &self.auth);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// Calls and expects `status`; returns the JSON body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        status: StatusCode,
    ) -> Value {
        let response = self.call(method.clone(), path, body).await;
        let got = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A code from the simulator's consent page, as the user's "Allow" gives it.
    pub async fn code(&self) -> String {
        salesforce::consent_code(
            &self.http,
            &self.sim.url(),
            "tributary-demo",
            CALLBACK,
            None,
        )
        .await
        .unwrap()
    }

    /// Creates an instance polling `resources`; returns (id, instance token).
    pub async fn create(&self, resources: &[&str], callback: &str) -> (i64, String) {
        let pollers: serde_json::Map<String, Value> = resources
            .iter()
            .map(|r| ((*r).to_owned(), poller(r)))
            .collect();
        self.create_with(Value::Object(pollers), callback).await
    }

    /// Creates an instance with this poller configuration; returns (id, instance token). The
    /// clock moves 62 seconds first, so records made before are not news to the first poll:
    /// older than its window (the enable time, less a second for the `Date` header's
    /// resolution, less the minute of overlap).
    pub async fn create_with(&self, pollers: Value, callback: &str) -> (i64, String) {
        self.advance_secs(62);
        let body = create_body(&self.code().await, pollers, callback);
        let created = self
            .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await;
        (
            created["id"].as_i64().unwrap(),
            created["token"].as_str().unwrap().to_owned(),
        )
    }

    /// `POST /instances/{id}/events/poll`.
    pub async fn poll(&self, id: i64) -> Value {
        self.expect(
            Method::POST,
            &format!("/instances/{id}/events/poll"),
            None,
            StatusCode::OK,
        )
        .await
    }

    /// The instance's stored events, oldest first.
    pub async fn events(&self, id: i64) -> Vec<Value> {
        let list = self
            .expect(
                Method::GET,
                &format!("/instances/{id}/events?pageSize=1000"),
                None,
                StatusCode::OK,
            )
            .await;
        list.as_array().unwrap().clone()
    }

    /// The events' (objectType, objectId, eventType), sorted.
    pub async fn changes(&self, id: i64) -> Vec<(String, String, String)> {
        let mut changes: Vec<(String, String, String)> = self
            .events(id)
            .await
            .iter()
            .map(|e| {
                (
                    e["objectType"].as_str().unwrap().to_owned(),
                    e["objectId"].as_str().unwrap().to_owned(),
                    e["eventType"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        changes.sort();
        changes
    }

    /// The instance's pollers, by resource.
    pub async fn pollers(&self, id: i64) -> BTreeMap<String, Value> {
        let list = self
            .expect(
                Method::GET,
                &format!("/instances/{id}/pollers"),
                None,
                StatusCode::OK,
            )
            .await;
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| (p["resource"].as_str().unwrap().to_owned(), p.clone()))
            .collect()
    }

    /// An access token of the simulator's default app, to change records as a user would.
    pub async fn user_token(&self) -> String {
        let code = self.code().await;
        let response: Value = self
            .http
            .post(format!("{}/services/oauth2/token", self.sim.url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"].as_str().unwrap().to_owned()
    }

    /// A call to the simulator's REST API as a user; returns the status and JSON body.
    pub async fn sf(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{V}{path}", self.sim.url()))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a record as a user; returns its id.
    pub async fn insert(&self, token: &str, object: &str, fields: Value) -> String {
        let (status, body) = self
            .sf(
                token,
                Method::POST,
                &format!("/sobjects/{object}"),
                Some(fields),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// A control call to the simulator (`/_sim/…`), expecting success.
    pub async fn control(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.sim.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The simulator's request log since `seq` (API calls and token calls).
    pub async fn requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_sim/requests", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Moves both clocks.
    pub fn advance_secs(&self, seconds: i64) {
        self.clock.advance_ms(seconds * 1000);
    }
}

// The one webhook receiver, under the name the provider tests import from here.
pub use crate::helpers::receiver;

/// Steps the deliverer until a pass finds nothing to do.
pub async fn deliver(app: &SfApp) {
    let deliverer = tributary_server::delivery::Deliverer::new(app.state.clone(), 16).unwrap();
    for _ in 0..20 {
        let (queued, sent) = deliverer.run_once().await;
        if queued == 0 && sent == 0 {
            break;
        }
    }
}
