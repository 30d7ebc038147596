//! The `quickbooks` element — QuickBooks Online as a definition file — against the QuickBooks
//! simulator over real HTTP: connecting with the realm from the consent redirect (the API's
//! providerData and the web UI's callback), creates, updates, deactivations and deletes from
//! the change feed arriving once each, 2,500 changes in one CDC window past its 1,000-object
//! cap, the 30-day look-back, Faults (inside a 200 too), the 429 that pauses an instance, and
//! the hub's query language.

mod feed;
mod limits;
mod polling;
mod ui;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::ManualClock;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::RunningSimulator;
use tributary_simulator::quickbooks::{self, Config};

use crate::helpers::{CALLBACK, ORG_SECRET, TempDir, USER_SECRET};

/// QuickBooks' metadata dates: `2015-12-23T12:55:50-08:00`.
pub const QB_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ssXXX";

/// Tributary and a QuickBooks simulator on one manual clock.
pub struct QbApp {
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

impl Drop for QbApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The simulator with `config`, and Tributary sending `quickbooks`'s consent, token and API
/// calls to it (one origin for Intuit's three hosts).
pub async fn spawn_qb(config: Config) -> QbApp {
    let now = tributary_domain::Clock::now_ms(&tributary_domain::SystemClock);
    let clock = Arc::new(ManualClock::new(now - now.rem_euclid(1_000)));
    let sim = quickbooks::start(config, clock.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = TempDir::new("tributary-quickbooks");
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.path().join("tributary.db").display()),
        origins: BTreeMap::from([("quickbooks".to_owned(), sim.url())]),
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
    QbApp {
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

/// No seed records, and a per-minute limit a test's frozen clock never refills (tests of the
/// limits set their own).
pub fn quiet() -> Config {
    Config {
        seed: 0,
        requests_per_minute: 1_000_000,
        ..Config::default()
    }
}

/// QuickBooks' datesConfiguration, as a Cloud Elements user writes it.
pub fn poller(resource: &str) -> Value {
    json!({
        "url": format!("/hubs/finance/{resource}"),
        "idField": "Id",
        "datesConfiguration": {
            "updatedDateField": "MetaData.LastUpdatedTime",
            "updatedDateFormat": QB_FORMAT,
            "updatedDateTimezone": "GMT",
            "createdDateField": "MetaData.CreateTime",
            "createdDateFormat": QB_FORMAT,
            "createdDateTimezone": "GMT"
        }
    })
}

/// The Cloud Elements-style create body for `quickbooks`, with the realm of the redirect.
pub fn create_body(code: &str, realm: &str, pollers: Value, callback: &str) -> Value {
    json!({
        "element": {"key": "quickbooks"},
        "providerData": {"code": code, "realmId": realm},
        "name": "QuickBooks company",
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

/// A user of one company, to change records as QuickBooks' own UI would.
pub struct User {
    pub realm: String,
    pub token: String,
}

impl QbApp {
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

    /// A code and the realm id from the simulator's consent redirect.
    pub async fn consent(&self) -> quickbooks::Consent {
        quickbooks::consent(
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
        let consent = self.consent().await;
        let body = create_body(&consent.code, &consent.realm_id, pollers, callback);
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

    /// A user of the first company, signed in with the default app.
    pub async fn user(&self) -> User {
        let consent = self.consent().await;
        let basic = base64::engine::general_purpose::STANDARD
            .encode("tributary-demo:tributary-demo-secret");
        let response: Value = self
            .http
            .post(format!("{}/oauth2/v1/tokens/bearer", self.sim.url()))
            .header("authorization", format!("Basic {basic}"))
            .header("accept", "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", consent.code.as_str()),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        User {
            realm: consent.realm_id,
            token: response["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A call under the user's company; returns the status and JSON body.
    pub async fn qb(
        &self,
        user: &User,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(
                method,
                format!("{}/v3/company/{}{path}", self.sim.url(), user.realm),
            )
            .bearer_auth(&user.token)
            .header("accept", "application/json")
            .query(query)
            .query(&[("minorversion", "75")]);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates (or, with `Id` and `SyncToken`, updates) a record of `entity`; returns it.
    pub async fn write(&self, user: &User, entity: &str, body: Value) -> Value {
        let (status, answer) = self
            .qb(user, Method::POST, &format!("/{entity}"), &[], Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let name = answer
            .as_object()
            .unwrap()
            .keys()
            .find(|key| *key != "time")
            .unwrap()
            .clone();
        answer[&name].clone()
    }

    /// Deletes a transaction (an invoice, a payment).
    pub async fn delete(&self, user: &User, entity: &str, record: &Value) {
        let (status, answer) = self
            .qb(
                user,
                Method::POST,
                &format!("/{entity}"),
                &[("operation", "delete")],
                Some(json!({"Id": record["Id"], "SyncToken": record["SyncToken"]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
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
}

/// An invoice of `customer` for `amount`.
pub fn invoice(customer: &str, amount: f64) -> Value {
    json!({
        "CustomerRef": {"value": customer},
        "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}}}],
    })
}
