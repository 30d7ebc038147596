//! `spawn_app()`: the simulator and `serve` on free ports, a fresh SQLite database in a temp
//! directory, and a client that knows the first organization's secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tributary_domain::{Clock, ManualClock, SystemClock};
use tributary_server::delivery::Deliverer;
use tributary_server::settings::Bootstrap;
use tributary_server::{Application, Settings};
use tributary_simulator::{Config, RunningSimulator, Simulator};

pub const ORG_SECRET: &str = "test-organization-secret-0001";
pub const USER_SECRET: &str = "test-user-secret-00000000001";
pub const CALLBACK: &str = "https://app.example/oauth/callback";

/// A directory of its own under the system's temp directory, removed (with everything in it)
/// when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh `PREFIX-PID-N-NANOS` directory.
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a server still closing its database must not turn a pass into a panic.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct TestApp {
    /// `http://127.0.0.1:PORT/elements/api-v2`.
    pub api: String,
    /// The server's shared state (workers can be stepped with it).
    pub state: tributary_server::AppState,
    settings: Settings,
    pub sim: RunningSimulator,
    pub http: reqwest::Client,
    /// The database's directory, removed when the app is dropped.
    pub dir: PathBuf,
    pub auth: String,
    /// The clock the server and the simulator share, when the app was started on one
    /// ([`spawn_app_on_manual_clock`]).
    pub manual_clock: Option<Arc<ManualClock>>,
    shutdown: CancellationToken,
    /// Declared last: removed after the server is told to stop.
    temps: Vec<TempDir>,
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
    let temp = TempDir::new("tributary-api");
    let dir = temp.path().to_owned();
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
        manual_clock: None,
        shutdown,
        temps: vec![temp],
    }
}

/// The server and the simulator on one manual clock, standing at the current second: a test
/// moves time with [`TestApp::advance_ms`] instead of sleeping (the simulator's `last_updated`
/// is rounded to the second, so "a later second" is `advance_ms(1_000)`).
pub async fn spawn_app_on_manual_clock(
    config: Config,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let now = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(now - now.rem_euclid(1_000)));
    let mut app = spawn_app_with_clocks(config, clock.clone(), clock.clone(), tweak).await;
    app.manual_clock = Some(clock);
    app
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
    /// Moves the shared manual clock forward by `ms` (the app must run on one).
    pub fn advance_ms(&self, ms: i64) {
        self.manual_clock
            .as_ref()
            .expect("the app runs on a manual clock (spawn_app_on_manual_clock)")
            .advance_ms(ms);
    }

    /// Keeps `dir` until the app is dropped (a folder the server reads, such as its elements).
    pub fn hold(&mut self, dir: TempDir) {
        self.temps.push(dir);
    }

    /// Steps the deliverer until it has sent everything due, moving the manual clock past each
    /// retry's wait in between (`retries` rounds), so that a short retry schedule plays out
    /// without sleeping. On the system clock, use [`deliver_until`].
    pub async fn deliver(&self, retries: usize, retry_wait_ms: i64) {
        let deliverer = Deliverer::new(self.state.clone(), 16).unwrap();
        for round in 0..=retries {
            if round > 0 {
                self.advance_ms(retry_wait_ms);
            }
            let mut passes = 0;
            while deliverer.run_once().await != (0, 0) {
                passes += 1;
                assert!(passes < 1_000, "the deliverer never runs out of work");
            }
        }
    }

    /// The simulator's request log.
    pub async fn sim_requests(&self) -> Vec<Value> {
        sim_requests(&self.http, &self.sim.url()).await
    }

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
        api_call(&self.http, &self.api, auth, method, path, body).await
    }

    /// "Poll now" for an instance (`{"sweep": true}` when `sweep`), expecting 200; returns the
    /// answer, one entry per resource in `polls`.
    pub async fn poll_now(&self, id: i64, sweep: bool) -> Value {
        let body = sweep.then(|| serde_json::json!({"sweep": true}));
        self.expect(
            Method::POST,
            &format!("/instances/{id}/events/poll"),
            body.as_ref(),
            StatusCode::OK,
        )
        .await
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

/// `method path` on the API at `api` (`…/elements/api-v2`) with the credentials `auth` and
/// the JSON `body`.
pub async fn api_call(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = http
        .request(method, format!("{api}{path}"))
        .header("Authorization", auth);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

/// [`api_call`], expecting `status`; returns the JSON body (null when there is none).
pub async fn api_expect(
    http: &reqwest::Client,
    api: &str,
    auth: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    status: StatusCode,
) -> Value {
    let response = api_call(http, api, auth, method.clone(), path, body).await;
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The request log of the simulator at `origin`.
pub async fn sim_requests(http: &reqwest::Client, origin: &str) -> Vec<Value> {
    http.get(format!("{origin}/_sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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

/// Waits until `condition` holds, checking every 20 ms; panics naming `what` if it still does
/// not after `deadline`. The one way tests wait for work they do not step themselves.
pub async fn eventually(deadline: Duration, what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !condition().await {
        assert!(Instant::now() < until, "not within {deadline:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Steps the deliverer until `inbox` holds `count` requests (or ten seconds pass), then checks
/// that it holds exactly that many.
pub async fn deliver_until(app: &TestApp, inbox: &Inbox, count: usize) {
    let deliverer = Deliverer::new(app.state.clone(), 16).unwrap();
    eventually(
        Duration::from_secs(10),
        &format!("{count} notifications received"),
        async || {
            deliverer.run_once().await;
            inbox.len() >= count
        },
    )
    .await;
    assert_eq!(inbox.len(), count, "notifications received");
}

/// A request a receiver got: its headers and raw body.
pub type Received = (HeaderMap, Vec<u8>);

/// What a webhook receiver got, and how it answers.
#[derive(Clone)]
pub struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answered with 503 "down for maintenance" first, this many times.
    fail_first: Arc<Mutex<usize>>,
    /// The answer after those.
    status: Arc<Mutex<axum::http::StatusCode>>,
}

impl Inbox {
    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// How many requests came.
    pub fn len(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each request's body, parsed.
    pub fn bodies(&self) -> Vec<Value> {
        self.received()
            .iter()
            .map(|(_, raw)| serde_json::from_slice(raw).unwrap())
            .collect()
    }

    /// From now on, answer 503 to the next `count` requests.
    pub fn fail_next(&self, count: usize) {
        *self.fail_first.lock().unwrap() = count;
    }

    /// From now on (after any failures asked for), answer `status`.
    pub fn answer(&self, status: axum::http::StatusCode) {
        *self.status.lock().unwrap() = status;
    }
}

/// A webhook receiver on port 0 (`http://127.0.0.1:PORT/events`) answering 200; its URL and
/// what it gets.
pub async fn receiver() -> (String, Inbox) {
    receiver_answering(axum::http::StatusCode::OK).await
}

/// A receiver answering 503 to its first `count` requests, then 200.
pub async fn receiver_failing_first(count: usize) -> (String, Inbox) {
    let (url, inbox) = receiver().await;
    inbox.fail_next(count);
    (url, inbox)
}

/// A receiver answering `status` to every request.
pub async fn receiver_answering(status: axum::http::StatusCode) -> (String, Inbox) {
    let inbox = Inbox {
        received: Arc::default(),
        fail_first: Arc::default(),
        status: Arc::new(Mutex::new(status)),
    };
    let sink = inbox.clone();
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.received.lock().unwrap().push((headers, body.to_vec()));
                let mut fail = sink.fail_first.lock().unwrap();
                if *fail > 0 {
                    *fail -= 1;
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "down for maintenance",
                    );
                }
                (*sink.status.lock().unwrap(), "")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

/// The contacts poller the simulator's contacts fit (`+0000` dates; `last_updated` is rounded
/// to the second): `{"contacts": {…}}`, for `event.poller.configuration`.
pub fn contacts_poller() -> Value {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    json!({"contacts": {"url": "/hubs/crm/contacts", "idField": "id",
        "datesConfiguration": {"updatedDateField": "last_updated", "updatedDateFormat": format,
            "updatedDateTimezone": "GMT", "createdDateField": "date_created",
            "createdDateFormat": format, "createdDateTimezone": "GMT"}}})
}

/// [`contacts_poller`] reading `page_size` records a page.
pub fn contacts_poller_paged(page_size: u32) -> Value {
    let mut poller = contacts_poller();
    poller["contacts"]["pageSize"] = json!(page_size);
    poller
}

/// The tasks poller (literal-`Z` dates, as the element's default has it).
pub fn tasks_poller() -> Value {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
    json!({"tasks": {"url": "/hubs/crm/tasks", "idField": "id",
        "datesConfiguration": {"updatedDateField": "modification_date",
            "updatedDateFormat": format, "createdDateField": "creation_date",
            "createdDateFormat": format}}})
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

/// The value a response sets for the cookie `name`.
pub fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        .unwrap_or_else(|| panic!("{name} is set"))
}

/// The hidden CSRF field of a page.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Fills in the web UI's sign-in form at `origin` with these secrets (and the form's CSRF
/// token and cookie); returns the answer, unchecked.
pub async fn submit_sign_in(
    http: &reqwest::Client,
    origin: &str,
    user: &str,
    organization: &str,
) -> reqwest::Response {
    let form = http.get(format!("{origin}/sign-in")).send().await.unwrap();
    let csrf_cookie = cookie(&form, "tributary_csrf");
    let csrf = csrf_field(&form.text().await.unwrap());
    http.post(format!("{origin}/sign-in"))
        .header(
            reqwest::header::COOKIE,
            format!("tributary_csrf={csrf_cookie}"),
        )
        .form(&[
            ("user", user),
            ("organization", organization),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap()
}
