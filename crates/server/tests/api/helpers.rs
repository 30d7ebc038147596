//! `spawn_app()`: the simulator and `serve` on free ports, a fresh SQLite database in a temp
//! directory, and a client that knows the first organization's secrets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::SystemClock;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::{Config, RunningSimulator, Simulator};

pub const ORG_SECRET: &str = "test-organization-secret-0001";
pub const USER_SECRET: &str = "test-user-secret-00000000001";
pub const CALLBACK: &str = "https://app.example/oauth/callback";

pub struct TestApp {
    /// `http://127.0.0.1:PORT/elements/api-v2`.
    pub api: String,
    /// The server's shared state (workers can be stepped with it).
    pub state: tributary_server::AppState,
    settings: Settings,
    pub sim: RunningSimulator,
    pub http: reqwest::Client,
    pub dir: PathBuf,
    pub auth: String,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default(), |_| {}).await
}

/// A simulator without throttles, and a server that paces at 1,000,000 requests a minute: for
/// tests that make thousands of calls.
pub async fn spawn_unthrottled() -> TestApp {
    let config = Config {
        seed: 0,
        throttle_per_minute: 1_000_000,
        tenant_throttle_per_minute: 1_000_000,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    };
    spawn_app_with(config, |s| s.provider_requests_per_minute = Some(1_000_000)).await
}

pub async fn spawn_app_with(config: Config, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(config, Arc::new(SystemClock), tweak).await
}

/// Like [`spawn_app_with`], the simulator reading time from `clock` (a manual clock freezes
/// the provider's time, so changes tie to the millisecond).
pub async fn spawn_app_with_clock(
    config: Config,
    clock: Arc<dyn tributary_domain::Clock>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_with_clocks(config, clock, Arc::new(SystemClock), tweak).await
}

/// The simulator on `sim_clock` and the server on `server_clock`.
pub async fn spawn_app_with_clocks(
    config: Config,
    sim_clock: Arc<dyn tributary_domain::Clock>,
    server_clock: Arc<dyn tributary_domain::Clock>,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let sim = Simulator::new(config, sim_clock);
    let sim = RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "tributary-api-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.join("tributary.db").display()),
        origins: BTreeMap::from([("infusionsoftrest".to_owned(), sim.url())]),
        bootstrap: Some(Bootstrap {
            organization_secret: ORG_SECRET.to_owned().into(),
            user_secret: USER_SECRET.to_owned().into(),
        }),
        ..Settings::default()
    };
    // Tests poll on request; scheduler tests step the scheduler themselves.
    settings.poll_concurrency = 0;
    settings.delivery_concurrency = 0;
    tweak(&mut settings);
    let (api, shutdown, state) = start(settings.clone(), server_clock.clone()).await;
    TestApp {
        api,
        state,
        settings,
        sim,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        dir,
        auth: format!("User {USER_SECRET}, Organization {ORG_SECRET}"),
        shutdown,
    }
}

async fn start(
    settings: Settings,
    clock: Arc<dyn tributary_domain::Clock>,
) -> (String, CancellationToken, tributary_server::AppState) {
    let app = Application::build(settings, clock).await.unwrap();
    let api = format!("http://127.0.0.1:{}/elements/api-v2", app.port());
    let state = app.state().clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    (api, shutdown, state)
}

impl TestApp {
    /// Stops the server and starts a new one on the same database (a restart).
    pub async fn restart(&mut self) {
        self.shutdown.cancel();
        let (api, shutdown, state) = start(self.settings.clone(), self.state.clock.clone()).await;
        self.api = api;
        self.shutdown = shutdown;
        self.state = state;
    }

    /// A fresh authorization code of the simulator's default app.
    pub async fn code(&self) -> String {
        let response = self
            .http
            .post(format!("{}/app/oauth/authorize", self.sim.url()))
            .query(&[
                ("client_id", "tributary-demo"),
                ("redirect_uri", CALLBACK),
                ("state", "x"),
            ])
            .form(&[("allow", "true")])
            .send()
            .await
            .unwrap();
        let location =
            reqwest::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        self.call_as(&self.auth, method, path, body).await
    }

    pub async fn call_as(
        &self,
        auth: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.api))
            .header("Authorization", auth);
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

    /// An access token of the simulator's default app, to change records as a CRM user would.
    pub async fn sim_token(&self) -> String {
        let code = self.code().await;
        let response: Value = self
            .http
            .post(format!("{}/token", self.sim.url()))
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

    /// The seed's body with a fresh code.
    pub async fn seed_body(&self) -> Value {
        seed_body(&self.code().await)
    }

    /// Creates the seed instance; returns the response body.
    pub async fn create_seed_instance(&self) -> Value {
        let body = self.seed_body().await;
        self.expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await
    }

    /// Every instance of the caller (an empty list when there are none).
    pub async fn instances(&self) -> Vec<Value> {
        let value = self
            .expect(Method::GET, "/instances", None, StatusCode::OK)
            .await;
        value.as_array().unwrap().clone()
    }

    /// One scrape of `/metrics`.
    pub async fn metrics(&self) -> Metrics {
        let text = self
            .http
            .get(format!(
                "{}/metrics",
                self.api.trim_end_matches("/elements/api-v2")
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Metrics(text)
    }
}

/// The Prometheus text of one `/metrics` scrape.
#[derive(Debug)]
pub struct Metrics(pub String);

impl Metrics {
    /// The value of the first series called `name`, with or without labels.
    pub fn value(&self, name: &str) -> f64 {
        self.0
            .lines()
            .find_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                (series == name || series.starts_with(&format!("{name}{{"))).then_some(value)
            })
            .unwrap_or_else(|| panic!("{name} is in the metrics: {}", self.0))
            .parse()
            .unwrap()
    }
}

pub fn seed_poller() -> Value {
    json!({"appointments": {
        "url": "/hubs/crm/appointments",
        "idField": "id",
        "datesConfiguration": {
            "updatedDateField": "modification_date",
            "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
            "updatedDateTimezone": "GMT",
            "createdDateField": "creation_date",
            "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",
            "createdDateTimezone": "GMT"
        }
    }})
}

/// The Cloud Elements example body (`shared/research/cloud-elements.md` §3.3) for the
/// simulator's default app.
pub fn seed_body(code: &str) -> Value {
    json!({
        "element": {"key": "infusionsoftrest"},
        "providerData": {"code": code},
        "configuration": {
            "oauth.api.key": "tributary-demo",
            "oauth.api.secret": "tributary-demo-secret",
            "oauth.callback.url": CALLBACK,
            "event.notification.enabled": true,
            "event.vendor.type": "polling",
            "event.notification.callback.url": "https://receiver.example/events",
            "event.notification.signature.key": "MySecretEventSignatureKey",
            "event.poller.refresh_interval": "15",
            "event.poller.configuration": seed_poller()
        },
        "tags": ["Docs"],
        "name": "API Instance"
    })
}
