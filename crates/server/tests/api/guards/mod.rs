//! Guards for promises nothing else held to account (issue 17, "Add"): tenancy across every
//! route, an edit between a poll's pages, the receiver's behaviours, a golden envelope.
//!
//! The small helpers here are these tests' own (the shared harness is `crate::helpers`).

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_domain::{Clock, ManualClock};
use tributary_simulator::Config;

use crate::helpers::{TestApp, seed_body};

mod golden;
mod multipage;
mod receivers;
mod tenancy;

/// A simulator without seed records.
pub fn quiet() -> Config {
    Config {
        seed: 0,
        ..Config::default()
    }
}

/// A manual clock at the current whole second (provider dates are rounded to the second).
pub fn manual_clock() -> Arc<ManualClock> {
    let now = tributary_domain::SystemClock.now_ms();
    Arc::new(ManualClock::new(now - now.rem_euclid(1_000)))
}

/// A contacts poller (`last_updated`, the `+0000` date style), with a page size if given.
pub fn contacts_poller(page_size: Option<u32>) -> Value {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    let mut poller = json!({"contacts": {"url": "/hubs/crm/contacts", "idField": "id",
        "datesConfiguration": {"updatedDateField": "last_updated", "updatedDateFormat": format,
            "updatedDateTimezone": "GMT", "createdDateField": "date_created",
            "createdDateFormat": format, "createdDateTimezone": "GMT"}}});
    if let Some(size) = page_size {
        poller["contacts"]["pageSize"] = json!(size);
    }
    poller
}

/// Creates an instance polling contacts and delivering to `callback`; returns its id.
pub async fn contacts_instance(app: &TestApp, callback: &str, page_size: Option<u32>) -> i64 {
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = json!(callback);
    body["configuration"]["event.poller.configuration"] = contacts_poller(page_size);
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    created["id"].as_i64().unwrap()
}

/// `POST /instances/{id}/events/poll`, expecting a 200; returns the summary.
pub async fn poll(app: &TestApp, id: i64) -> Value {
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await
}

/// An instance's events, oldest first.
pub async fn events_of(app: &TestApp, id: i64) -> Vec<Value> {
    app.expect(
        Method::GET,
        &format!("/instances/{id}/events?pageSize=1000"),
        None,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

/// A call to the simulator's control API (`/_sim…`), expecting success; returns its JSON.
pub async fn sim(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut request = app
        .http
        .request(method, format!("{}/_sim{path}", app.sim.url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "/_sim{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A call to the provider's API as a CRM user, expecting success; returns its JSON.
pub async fn provider(
    app: &TestApp,
    method: Method,
    token: &str,
    path: &str,
    body: Value,
) -> Value {
    let response = app
        .http
        .request(method, format!("{}/crm/rest/v1{path}", app.sim.url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Awaits `condition` (checked every 20 ms) for at most 20 s; panics naming `what` otherwise.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited 20 s for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The server's origin (`http://127.0.0.1:PORT`).
pub fn origin(app: &TestApp) -> String {
    app.api.trim_end_matches("/elements/api-v2").to_owned()
}

/// What a test receiver answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status with these headers.
    Status(u16, Vec<(&'static str, String)>),
    /// Never answers (holds the request until the test ends).
    Hang,
}

/// A request a test receiver got: its headers and exact body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

/// A webhook receiver on a free loopback port.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/events`.
    pub url: String,
    pub got: Arc<std::sync::Mutex<Vec<Received>>>,
    /// What it answers now (a test may change it between sends).
    pub reply: Arc<std::sync::Mutex<Reply>>,
}

impl Receiver {
    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

/// A receiver answering `reply` to every POST.
pub async fn receiver(reply: Reply) -> Receiver {
    let receiver = Receiver {
        url: String::new(),
        got: Arc::default(),
        reply: Arc::new(std::sync::Mutex::new(reply)),
    };
    let state = receiver.clone();
    let router = axum::Router::new().fallback(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                state.got.lock().unwrap().push(Received {
                    headers,
                    body: body.to_vec(),
                });
                let reply = state.reply.lock().unwrap().clone();
                match reply {
                    Reply::Status(status, headers) => {
                        let mut response = axum::response::Response::new(axum::body::Body::from(
                            "answered by the test receiver",
                        ));
                        *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
                        for (name, value) in headers {
                            response.headers_mut().insert(name, value.parse().unwrap());
                        }
                        response
                    }
                    Reply::Hang => std::future::pending().await,
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Receiver { url, ..receiver }
}

/// A listener that counts the connections it accepts (and closes them): something a request
/// must never reach.
pub async fn counting_listener(
    address: &str,
) -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .unwrap_or_else(|e| panic!("listening on {address} (IPv6 loopback for [::1]): {e}"));
    let local = listener.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    (local, count)
}

/// One new contact at the provider, `clock` moved on first so it is newer than any cursor; the
/// poll that finds it (one event). Returns the event's id.
pub async fn one_change(app: &TestApp, clock: &ManualClock, id: i64) -> String {
    clock.advance_ms(2_000);
    sim(
        app,
        Method::POST,
        "/records",
        Some(json!({"resource": "contacts", "count": 1})),
    )
    .await;
    let summary = poll(app, id).await;
    assert_eq!(summary["polls"][0]["events"], 1, "{summary}");
    let events = events_of(app, id).await;
    events.last().unwrap()["eventId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The delivery attempts of an event's notification.
pub async fn attempts(app: &TestApp, id: i64, event_id: &str) -> Vec<Value> {
    app.expect(
        Method::GET,
        &format!("/instances/{id}/events/{event_id}"),
        None,
        StatusCode::OK,
    )
    .await["attempts"]
        .as_array()
        .unwrap()
        .clone()
}
