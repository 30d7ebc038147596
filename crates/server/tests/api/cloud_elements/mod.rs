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
//!   without `idField` or dates, the legacy `event.poller.urls` — and webhooks refused without a public URL.

mod configuration;
mod events;
mod instances;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::Config;

use crate::helpers::{TestApp, seed_body, spawn_app_with};

/// The sender address the tests' server is given.
pub const SENDER: &str = "events@acme.example";

// The one webhook receiver and its stepping helper, under the names these tests (and others
// that import them from here) use.
pub use crate::helpers::{deliver_until, receiver};
// Kept for test files that name the types from here; nothing in this module does.
#[allow(unused_imports)]
pub use crate::helpers::{Inbox, Received};

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
