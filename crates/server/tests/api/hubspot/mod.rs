//! The `hubspotcrm` element — HubSpot as a definition file — against the HubSpot simulator over
//! real HTTP: connecting through the consent page, creates, updates and archives arriving once
//! each, 12,000 records sharing one modified time read past the search's 10,000-result cap,
//! the index lag, the 429s that pause an instance, and the hub's search.
//!
//! Tributary and the simulator share one manual clock, so a test moves time (past the settle
//! time, past a pause) instead of waiting for it.

mod deletes;
mod limits;
mod polling;

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::ManualClock;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::RunningSimulator;
use tributary_simulator::hubspot::{self, Config};

use crate::helpers::{CALLBACK, ORG_SECRET, TempDir, USER_SECRET};

/// HubSpot's record dates: `2019-12-07T16:50:06.678Z`.
pub const HS_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSX";

/// Tributary and a HubSpot simulator on one manual clock.
pub struct HsApp {
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

impl Drop for HsApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The simulator with `config`, and Tributary sending `hubspotcrm`'s consent, token and API
/// calls to it (one origin for HubSpot's three hosts).
pub async fn spawn_hs(config: Config) -> HsApp {
    spawn_hs_with(config, |_| {}).await
}

pub async fn spawn_hs_with(config: Config, tweak: impl FnOnce(&mut Settings)) -> HsApp {
    let now = tributary_domain::Clock::now_ms(&tributary_domain::SystemClock);
    let clock = Arc::new(ManualClock::new(now - now.rem_euclid(1_000)));
    let sim = hubspot::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = TempDir::new("tributary-hubspot");
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("tributary.db").display()),
        origins: BTreeMap::from([("hubspotcrm".to_owned(), sim.url())]),
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
    tweak(&mut settings);
    let app = Application::build(settings, clock.clone()).await.unwrap();
    let api = format!("http://127.0.0.1:{}/elements/api-v2", app.port());
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    HsApp {
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

/// No seed records, no index lag, and limits that a test's frozen clock never refills
/// (tests of the limits set their own).
pub fn quiet() -> Config {
    Config {
        seed: 0,
        index_lag_secs: 0,
        ten_secondly_limit: 1_000_000,
        search_per_second: 1_000_000,
        ..Config::default()
    }
}

/// HubSpot's datesConfiguration, as a Cloud Elements user writes it.
pub fn poller(resource: &str) -> Value {
    json!({
        "url": format!("/hubs/crm/{resource}"),
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "updatedAt",
            "updatedDateFormat": HS_FORMAT,
            "updatedDateTimezone": "GMT",
            "createdDateField": "createdAt",
            "createdDateFormat": HS_FORMAT,
            "createdDateTimezone": "GMT"
        }
    })
}

/// The Cloud Elements-style create body for `hubspotcrm`.
pub fn create_body(code: &str, pollers: Value, callback: &str) -> Value {
    json!({
        "element": {"key": "hubspotcrm"},
        "providerData": {"code": code},
        "name": "HubSpot account",
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

impl HsApp {
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
        hubspot::consent_code(
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
    /// clock moves past a poll's window first, so records made before are not news.
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
        let mut all: Vec<Value> = Vec::new();
        loop {
            let after = all.last().map_or(0, |e| e["sequence"].as_i64().unwrap());
            let list = self
                .expect(
                    Method::GET,
                    &format!("/instances/{id}/events?pageSize=1000&after={after}"),
                    None,
                    StatusCode::OK,
                )
                .await;
            let got = list.as_array().unwrap().clone();
            let full = got.len() == 1000;
            all.extend(got);
            if !full {
                return all;
            }
        }
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
            .post(format!("{}/oauth/v3/token", self.sim.url()))
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

    /// A call to the simulator's API as a user; returns the status and JSON body.
    pub async fn hs(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.sim.url()))
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
    pub async fn insert(&self, token: &str, object: &str, properties: Value) -> String {
        let (status, body) = self
            .hs(
                token,
                Method::POST,
                &format!("/crm/v3/objects/{object}"),
                Some(json!({ "properties": properties })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Updates a record as a user.
    pub async fn update(&self, token: &str, object: &str, id: &str, properties: Value) {
        let (status, body) = self
            .hs(
                token,
                Method::PATCH,
                &format!("/crm/v3/objects/{object}/{id}"),
                Some(json!({ "properties": properties })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Archives (deletes) a record as a user.
    pub async fn archive(&self, token: &str, object: &str, id: &str) {
        let (status, body) = self
            .hs(
                token,
                Method::DELETE,
                &format!("/crm/v3/objects/{object}/{id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
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

    /// The simulator's request log.
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

    /// Moves both clocks past the element's settle time (a minute), so changes made until
    /// now are read by the next poll.
    pub fn settle(&self) {
        self.advance_secs(61);
    }
}
