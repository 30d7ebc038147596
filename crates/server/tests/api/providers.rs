//! What the provider tests (`hubspot`, `salesforce`, `quickbooks`) share: Tributary and a
//! provider's simulator on one manual clock, the API calls every provider test makes, and the
//! web UI's sign-in. Each provider module names its [`Provider`] and adds its own user's calls
//! to its `ProviderApp<…>`.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use reqwest::header::{COOKIE, LOCATION};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::ManualClock;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::RunningSimulator;

use crate::helpers::{
    CALLBACK, ORG_SECRET, TempDir, USER_SECRET, api_expect, cookie, sim_requests, submit_sign_in,
};

/// A manual clock standing at the current time rounded down to a multiple of `round_ms`, plus
/// `plus_ms`.
pub fn manual_clock(round_ms: i64, plus_ms: i64) -> Arc<ManualClock> {
    let now = tributary_domain::Clock::now_ms(&tributary_domain::SystemClock);
    Arc::new(ManualClock::new(now - now.rem_euclid(round_ms) + plus_ms))
}

/// What differs between the provider tests' apps.
pub trait Provider: Sized {
    /// The element's key.
    const ELEMENT: &'static str;
    /// The name of the instances the tests create.
    const NAME: &'static str;
    /// The element's poller configuration of one resource, as a Cloud Elements user writes it.
    fn poller(resource: &str) -> Value;
    /// The `providerData` of a new instance: what a fresh consent gives.
    fn provider_data(app: &ProviderApp<Self>) -> impl Future<Output = Value>;
}

/// Tributary and a provider's simulator on one manual clock.
pub struct ProviderApp<P: Provider> {
    pub api: String,
    pub state: tributary_server::AppState,
    pub sim: RunningSimulator,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub auth: String,
    shutdown: CancellationToken,
    /// Declared last: removed after the server is told to stop.
    _dir: TempDir,
    _provider: PhantomData<P>,
}

impl<P: Provider> Drop for ProviderApp<P> {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl<P: Provider> ProviderApp<P> {
    /// Tributary on `clock`, sending the element's calls (consent, token and API) to `sim`;
    /// `tweak` changes the settings last.
    pub async fn start(
        clock: Arc<ManualClock>,
        sim: RunningSimulator,
        tweak: impl FnOnce(&mut Settings),
    ) -> ProviderApp<P> {
        let element = P::ELEMENT;
        let dir = TempDir::new(&format!("tributary-{element}"));
        let mut settings = Settings {
            bind: "127.0.0.1:0".parse().unwrap(),
            database_url: format!("sqlite://{}", dir.path().join("tributary.db").display()),
            origins: BTreeMap::from([(element.to_owned(), sim.url())]),
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
        ProviderApp {
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
            _provider: PhantomData,
        }
    }

    /// Calls and expects `status`; returns the JSON body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        status: StatusCode,
    ) -> Value {
        api_expect(
            &self.http, &self.api, &self.auth, method, path, body, status,
        )
        .await
    }

    /// Creates an instance polling `resources`; returns (id, instance token).
    pub async fn create(&self, resources: &[&str], callback: &str) -> (i64, String) {
        let pollers = resources
            .iter()
            .map(|r| ((*r).to_owned(), P::poller(r)))
            .collect();
        self.create_with(Value::Object(pollers), callback).await
    }

    /// Creates an instance with this poller configuration; returns (id, instance token). The
    /// clock moves 62 seconds first, so records made before are not news to the first poll:
    /// older than its window (the enable time, less a second for the `Date` header's
    /// resolution, less the minute of overlap).
    pub async fn create_with(&self, pollers: Value, callback: &str) -> (i64, String) {
        self.advance_secs(62);
        let body = create_body::<P>(P::provider_data(self).await, pollers, callback);
        self.create_instance(&body).await
    }

    /// Creates an instance from this body; returns (id, instance token).
    pub async fn create_instance(&self, body: &Value) -> (i64, String) {
        let created = self
            .expect(Method::POST, "/instances", Some(body), StatusCode::OK)
            .await;
        (
            created["id"].as_i64().unwrap(),
            created["token"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET /instances/{id}`, expecting it to exist.
    pub async fn instance(&self, id: i64) -> Value {
        self.expect(
            Method::GET,
            &format!("/instances/{id}"),
            None,
            StatusCode::OK,
        )
        .await
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

    /// Polls the instance and asserts that every resource's poll found nothing new and failed
    /// nowhere (`why` says why it should not).
    pub async fn poll_finding_nothing(&self, id: i64, why: &str) {
        let summary = self.poll(id).await;
        assert!(
            summary["polls"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["error"].is_null() && p["events"] == 0),
            "{why}: {summary}"
        );
    }

    /// The instance's stored events, oldest first (every page).
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

    /// An access token of the simulator's default app for `code`, from the token endpoint at
    /// `path` (client id and secret in the form).
    pub async fn user_token_at(&self, path: &str, code: &str) -> String {
        let response: Value = self
            .http
            .post(format!("{}{path}", self.sim.url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
                ("code", code),
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

    /// A call to the simulator's API with a user's bearer token; returns the status and JSON
    /// body.
    pub async fn as_user(
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

    /// `count` new records of `resource` at the simulator (`POST /_sim/records`).
    pub async fn add_records(&self, resource: &str, count: u64) -> Value {
        self.control(
            Method::POST,
            "/_sim/records",
            json!({"resource": resource, "count": count}),
        )
        .await
    }

    /// The simulator's request log.
    pub async fn requests(&self) -> Vec<Value> {
        sim_requests(&self.http, &self.sim.url()).await
    }

    /// Moves both clocks.
    pub fn advance_secs(&self, seconds: i64) {
        self.clock.advance_ms(seconds * 1000);
    }

    /// Steps the deliverer until a pass finds nothing to do.
    pub async fn deliver(&self) {
        let deliverer = tributary_server::delivery::Deliverer::new(self.state.clone(), 16).unwrap();
        for _ in 0..20 {
            let (queued, sent) = deliverer.run_once().await;
            if queued == 0 && sent == 0 {
                break;
            }
        }
    }

    /// The server's origin (the API's URL without `/elements/api-v2`), where the UI is.
    pub fn origin(&self) -> String {
        self.api.trim_end_matches("/elements/api-v2").to_owned()
    }

    /// Signs in to the web UI through its form with the first organization's secrets; returns
    /// the session cookie.
    pub async fn sign_in(&self) -> String {
        let signed_in = submit_sign_in(&self.http, &self.origin(), USER_SECRET, ORG_SECRET).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        cookie(&signed_in, "tributary_session")
    }

    /// "Allow" on the simulator's consent page at `consent`; returns where it redirects.
    pub async fn allow(&self, consent: &str) -> String {
        let allowed = self
            .http
            .post(consent)
            .form(&[("allow", "true")])
            .send()
            .await
            .unwrap();
        allowed.headers()[LOCATION].to_str().unwrap().to_owned()
    }

    /// `GET` of a UI page with the session cookie.
    pub async fn page(&self, path: &str, session: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.origin()))
            .header(COOKIE, format!("tributary_session={session}"))
            .send()
            .await
            .unwrap()
    }
}

/// The id of the instance a UI answer redirects to (`/ui/instances/{id}`).
pub fn instance_id_of(response: &reqwest::Response) -> i64 {
    response.headers()[LOCATION]
        .to_str()
        .unwrap()
        .trim_start_matches("/ui/instances/")
        .parse()
        .unwrap()
}

/// The poll of `resource` in a poll summary.
pub fn poll_of<'a>(polled: &'a Value, resource: &str) -> &'a Value {
    polled["polls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["resource"] == resource)
        .unwrap()
}

/// The Cloud Elements-style create body for the provider's element: its `providerData`, the
/// pollers and the callback.
pub fn create_body<P: Provider>(provider_data: Value, pollers: Value, callback: &str) -> Value {
    json!({
        "element": {"key": P::ELEMENT},
        "providerData": provider_data,
        "name": P::NAME,
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

/// A provider's datesConfiguration poller for `resource` under `hub`: its id field, its
/// updated and created date fields and their format (GMT).
pub fn dates_poller(
    hub: &str,
    resource: &str,
    id_field: &str,
    updated: &str,
    created: &str,
    format: &str,
) -> Value {
    json!({
        "url": format!("/hubs/{hub}/{resource}"),
        "idField": id_field,
        "datesConfiguration": {
            "updatedDateField": updated,
            "updatedDateFormat": format,
            "updatedDateTimezone": "GMT",
            "createdDateField": created,
            "createdDateFormat": format,
            "createdDateTimezone": "GMT"
        }
    })
}
