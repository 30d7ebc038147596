//! `spawn_sim()` and friends: a simulator on port 0 with a manual clock, an HTTP client that
//! does not follow redirects, and a webhook receiver for REST hooks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;
use tributary_domain::ManualClock;
use tributary_simulator::{Config, RunningSimulator, Simulator};

/// 2026-11-28T10:00:00.000Z: tests start their clock here.
pub const T0: i64 = 1_795_860_000_000;

pub const REDIRECT: &str = "https://client.example/callback";

pub struct TestSim {
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    _running: RunningSimulator,
}

pub async fn spawn_sim(config: Config) -> TestSim {
    let clock = Arc::new(ManualClock::new(T0));
    let sim = Simulator::new(config, clock.clone());
    let running = RunningSimulator::start(sim, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    TestSim {
        url: running.url(),
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _running: running,
    }
}

/// A simulator with no seed data, so tests know every record.
pub async fn spawn_empty() -> TestSim {
    spawn_sim(Config {
        seed: 0,
        ..Config::default()
    })
    .await
}

impl TestSim {
    /// Consents as a script would and returns the authorization code.
    pub async fn authorize(&self, client_id: &str, tenant: Option<&str>) -> String {
        let mut form = vec![("allow", "true")];
        if let Some(tenant) = tenant {
            form.push(("tenant", tenant));
        }
        let response = self
            .http
            .post(format!("{}/app/oauth/authorize", self.url))
            .query(&[
                ("client_id", client_id),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", "full"),
                ("state", "s1"),
            ])
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let url = reqwest::Url::parse(&location).unwrap();
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code in the redirect")
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/token", self.url))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Exchanges a code of the default app; returns the token response body.
    pub async fn exchange(&self, code: &str) -> Value {
        let response = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("client_id", "tributary-demo"),
                ("client_secret", "tributary-demo-secret"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// A fresh access token of the default app on the first tenant.
    pub async fn access_token(&self) -> String {
        let code = self.authorize("tributary-demo", None).await;
        self.exchange(&code).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/crm/rest/v1{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// GETs and parses a 200 JSON body.
    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let response = self.get(token, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/crm/rest/v1{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.http
            .patch(format!("{}/crm/rest/v1{path}", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a contact with an e-mail address; returns the write response.
    pub async fn create_contact(&self, token: &str, given: &str, email: &str) -> Value {
        let response = self
            .post(
                token,
                "/contacts",
                serde_json::json!({"given_name": given, "family_name": "Test",
                                   "email_addresses": [{"email": email, "field": "EMAIL1"}]}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}/_sim{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn state(&self) -> Value {
        self.control(reqwest::Method::GET, "/state", None)
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn requests(&self) -> Vec<Value> {
        self.control(reqwest::Method::GET, "/requests", None)
            .await
            .json()
            .await
            .unwrap()
    }
}

/// Polls `check` until it returns `Some`, or fails after `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {seconds} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a webhook receiver got: headers and body of each POST.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Echo `X-Hook-Secret` on verification requests.
    pub echo_secret: bool,
    /// Status for deliveries (requests without `X-Hook-Secret`).
    pub delivery_status: u16,
}

#[derive(Clone)]
struct ReceiverState {
    behaviour: Behaviour,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState {
            behaviour,
            received: received.clone(),
        };
        let app = Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            received,
            _task: task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Deliveries only (verification requests carry `X-Hook-Secret`).
    pub fn deliveries(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| !r.headers.contains_key("x-hook-secret"))
            .map(|r| r.body)
            .collect()
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.received.lock().unwrap().push(Received {
        headers: headers.clone(),
        body: json,
    });
    match headers.get("x-hook-secret") {
        Some(secret) if state.behaviour.echo_secret => {
            (StatusCode::OK, [("X-Hook-Secret", secret.clone())]).into_response()
        }
        Some(_) => StatusCode::OK.into_response(),
        None => StatusCode::from_u16(state.behaviour.delivery_status)
            .unwrap()
            .into_response(),
    }
}
