//! Callbacks never go through a proxy named in the environment: a real `serve` started with
//! `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` pointing at a listener that counts connections
//! delivers without touching it, and the address guard judges the callback's own address — a
//! callback on `localhost` is still refused after DNS, not handed to the proxy (which would
//! connect to it). A process of its own, because the environment of this one is not ours to
//! change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tributary_domain::ManualClock;

use common::{Running, eventually, listening, serve_command, temp_dir};

const ORGANIZATION: &str = "proxy-test-organization-secret";
const USER: &str = "proxy-test-user-secret-0000001";
const REDIRECT: &str = "https://app.example/oauth";

/// A listener on 127.0.0.1 that counts the connections it accepts (and closes them).
async fn counting() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, count)
}

/// `serve` with these variables; returns it and its API base URL once it listens.
fn serve(database_url: &str, envs: &[(&str, &str)]) -> (Running, String) {
    let mut command = serve_command(database_url);
    command
        .env_remove("TRIBUTARY_MASTER_KEY")
        .env_remove("TRIBUTARY_ALLOW_PRIVATE_CALLBACKS")
        .stdout(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    listening(&mut command)
}

#[tokio::test]
async fn callbacks_bypass_an_environment_proxy_and_a_loopback_callback_is_still_refused() {
    // The provider's clock is ours: a change two seconds after the first poll is newer than
    // its cursor without waiting for the wall clock.
    let now = tributary_domain::Clock::now_ms(&tributary_domain::SystemClock);
    let clock = Arc::new(ManualClock::new(now - now.rem_euclid(1_000)));
    let config = tributary_simulator::Config {
        seed: 0,
        ..tributary_simulator::Config::default()
    };
    let sim = tributary_simulator::RunningSimulator::start(
        tributary_simulator::Simulator::new(config, clock.clone()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let origin = sim.url();
    let (proxy_port, proxied) = counting().await;
    let (receiver_port, received) = counting().await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let dir = temp_dir("proxy");
    let database = format!("sqlite://{}", dir.join("t.db").display());
    let mut envs = vec![
        ("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", origin.as_str()),
        ("TRIBUTARY_BOOTSTRAP_ORG_SECRET", ORGANIZATION),
        ("TRIBUTARY_BOOTSTRAP_USER_SECRET", USER),
        ("TRIBUTARY_POLL_CONCURRENCY", "0"),
        // The provider (the simulator, on 127.0.0.1) is reached directly; `localhost` is not
        // exempted, so a delivery that used the environment's proxy would go to it.
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "127.0.0.1"),
    ];
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        envs.push((name, proxy.as_str()));
    }
    let (_serve, api) = serve(&database, &envs);
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let auth = format!("User {USER}, Organization {ORGANIZATION}");

    let consent = http
        .post(format!("{origin}/app/oauth/authorize"))
        .query(&[
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("state", "x"),
        ])
        .form(&[("allow", "true")])
        .send()
        .await
        .unwrap();
    let location = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    let callback = format!("http://localhost:{receiver_port}/events");
    let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": code},
        "name": "proxied", "configuration": {"oauth.api.key": "tributary-demo",
        "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": REDIRECT,
        "event.notification.enabled": true, "event.notification.callback.url": callback,
        "event.poller.configuration": {"contacts": {"url": "/hubs/crm/contacts", "idField": "id",
            "datesConfiguration": {"updatedDateField": "last_updated",
            "updatedDateFormat": format, "createdDateField": "date_created",
            "createdDateFormat": format}}}}});
    // A call to the API as the organization's user; its JSON answer.
    let call = async |method: Method, path: &str, body: Option<&Value>| -> Value {
        let mut request = http
            .request(method, format!("{api}{path}"))
            .header("Authorization", &auth);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap().json().await.unwrap()
    };
    let created = call(Method::POST, "/instances", Some(&body)).await;
    let id = created["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{created}"));
    let poll = format!("/instances/{id}/events/poll");
    call(Method::POST, &poll, None).await;
    clock.advance_ms(2_000);
    http.post(format!("{origin}/_sim/records"))
        .json(&json!({"resource": "contacts", "count": 1}))
        .send()
        .await
        .unwrap();
    let summary = call(Method::POST, &poll, None).await;
    assert_eq!(summary["polls"][0]["events"], 1, "{summary}");

    // The serve's delivery worker sends it at once (the poll nudges it): await the attempt.
    let events = call(Method::GET, &format!("/instances/{id}/events"), None).await;
    let event_id = events[0]["eventId"].as_str().unwrap().to_owned();
    let mut attempts = Vec::new();
    eventually(
        Duration::from_secs(30),
        "an attempt to deliver the event",
        async || {
            let detail = call(
                Method::GET,
                &format!("/instances/{id}/events/{event_id}"),
                None,
            )
            .await;
            attempts = detail["attempts"].as_array().cloned().unwrap_or_default();
            !attempts.is_empty()
        },
    )
    .await;
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the environment's proxy saw nothing"
    );
    let error = attempts[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("callback host localhost resolves only to private addresses"),
        "the guard judged the callback's own address: {attempts:?}"
    );
    assert_eq!(received.load(Ordering::SeqCst), 0, "nor did the callback");
}
