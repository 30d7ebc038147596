//! What a Cloud Elements client does, done against Tributary over real HTTP with the
//! simulator (issue 15): the calls of Cloud Elements' documentation and of its own API test
//! suite (churros: `platform/elements/instances.js`, `platform/events/events.js`,
//! `analytics.js` and their JSON schemas), each answered as Cloud Elements answered it.
//!
//! - `events`: the event log by any id a notification carries, the envelope's outer fields,
//!   the analytics, dates read as Java reads them.
//! - `instances`: the token read back, secrets masked by the wider rule, enabling and
//!   disabling, the token-scoped calls, the `user` object, names stripped of HTML, the echoed
//!   `providerData`, a refused client secret.
//! - `configuration`: configuration Cloud Elements accepts — no poller configuration, entries
//!   without `idField` or dates, the legacy `event.poller.urls` — and webhooks refused.

mod configuration;
mod events;
mod instances;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_server::delivery::Deliverer;
use tributary_simulator::Config;

use crate::helpers::{TestApp, seed_body, spawn_app_with};

/// The sender address the tests' server is given.
pub const SENDER: &str = "events@acme.example";

/// A request a receiver got: its headers and raw body.
pub type Received = (HeaderMap, Vec<u8>);

/// What a receiver got.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Received>>>);

impl Inbox {
    pub fn received(&self) -> Vec<Received> {
        self.0.lock().unwrap().clone()
    }

    /// Each notification's body, parsed.
    pub fn bodies(&self) -> Vec<Value> {
        self.received()
            .iter()
            .map(|(_, raw)| serde_json::from_slice(raw).unwrap())
            .collect()
    }
}

/// A webhook receiver on port 0 answering 200; its URL and what it got.
pub async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let sink = inbox.clone();
    let router = axum::Router::new().route(
        "/events",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.0.lock().unwrap().push((headers, body.to_vec()));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

/// A server delivering to loopback receivers, with its own sender address, over a simulator
/// without seed records.
pub async fn app() -> TestApp {
    spawn_app_with(
        Config {
            seed: 0,
            ..Config::default()
        },
        |s| {
            s.allow_private_callbacks = true;
            s.notification_sender = SENDER.into();
        },
    )
    .await
}

/// The seed body delivering to `callback`.
pub async fn body_to(app: &TestApp, callback: &str) -> Value {
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = json!(callback);
    body
}

/// Creates an instance from `body`; returns the create response.
pub async fn create(app: &TestApp, body: &Value) -> Value {
    app.expect(Method::POST, "/instances", Some(body), StatusCode::OK)
        .await
}

/// Makes `count` new records of `resource` at the provider.
pub async fn records(app: &TestApp, resource: &str, count: usize) {
    let response = app
        .http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": resource, "count": count}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// "Poll now"; the summary.
pub async fn poll(app: &TestApp, id: i64) -> Value {
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await
}

/// Steps the deliverer until the receiver holds `count` notifications (or ten seconds pass).
pub async fn deliver_until(app: &TestApp, inbox: &Inbox, count: usize) {
    let deliverer = Deliverer::new(app.state.clone(), 16).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while inbox.received().len() < count && Instant::now() < deadline {
        let (queued, sent) = deliverer.run_once().await;
        if queued == 0 && sent == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(inbox.received().len(), count, "notifications received");
}

/// A GET that must answer 200; its JSON.
pub async fn get(app: &TestApp, path: &str) -> Value {
    app.expect(Method::GET, path, None, StatusCode::OK).await
}

/// The `Authorization` header of the token-scoped calls.
pub fn scoped(token: &str) -> String {
    format!(
        "User {}, Organization {}, Element {token}",
        crate::helpers::USER_SECRET,
        crate::helpers::ORG_SECRET
    )
}

/// Calls as `auth`; the status and the JSON body.
pub async fn call_as(
    app: &TestApp,
    auth: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let response = app.call_as(auth, method, path, body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A web UI page as the first user sees it (signed in through the form).
pub async fn ui_page(app: &TestApp, path: &str) -> String {
    let origin = app.api.trim_end_matches("/elements/api-v2").to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
            .unwrap()
    };
    let form = http.get(format!("{origin}/sign-in")).send().await.unwrap();
    let csrf_cookie = cookie(&form, "tributary_csrf");
    let html = form.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let csrf = html[start..].split('"').next().unwrap().to_owned();
    let signed_in = http
        .post(format!("{origin}/sign-in"))
        .header(
            reqwest::header::COOKIE,
            format!("tributary_csrf={csrf_cookie}"),
        )
        .form(&[
            ("user", crate::helpers::USER_SECRET),
            ("organization", crate::helpers::ORG_SECRET),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let session = cookie(&signed_in, "tributary_session");
    http.get(format!("{origin}{path}"))
        .header(
            reqwest::header::COOKIE,
            format!("tributary_session={session}"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
