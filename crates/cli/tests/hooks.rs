//! Webhook sources against real `serve` processes (issue 20): a delivery the provider sends
//! while `serve` is down is retried by it and stored once after the restart; `serve` killed
//! with `kill -9` while it processes a stored delivery loses and repeats nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use common::{Running, eventually, listening, temp_dir};

const ORGANIZATION: &str = "hooks-test-organization-secret";
const USER: &str = "hooks-test-user-secret-0000001";
const REDIRECT: &str = "https://app.example/oauth";

/// A Keap simulator whose hook delays are Keap's × `scale`.
async fn start_sim(scale: f64) -> tributary_simulator::RunningSimulator {
    common::start_sim(tributary_simulator::Config {
        seed: 0,
        hook_time_scale: scale,
        ..tributary_simulator::Config::default()
    })
    .await
}

/// A free port: the public URL names it, so every `serve` of a test binds it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve` on `port` with the public URL there, no scheduled polls (what arrives, arrives by
/// hook), leases of 5 s.
fn serve(database_url: &str, port: u16, origin: &str) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    command
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url])
        .env_remove("TRIBUTARY_MASTER_KEY")
        .env("TRIBUTARY_INFUSIONSOFTREST_ORIGIN", origin)
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", ORGANIZATION)
        .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", USER)
        .env("TRIBUTARY_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("TRIBUTARY_POLL_CONCURRENCY", "0")
        .env("TRIBUTARY_POLL_LEASE", "5s");
    listening(&mut command)
}

struct Keap {
    origin: String,
    http: reqwest::Client,
}

impl Keap {
    async fn control(&self, path: &str, body: Value) {
        common::sim_control(&self.http, &self.origin, path, body).await;
    }

    async fn hooks(&self) -> Value {
        self.http
            .get(format!("{}/_sim/hooks/faults", self.origin))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn auth() -> String {
    format!("User {USER}, Organization {ORGANIZATION}")
}

/// A webhooks instance of contacts; its id, once its three subscriptions are verified.
async fn instance(http: &reqwest::Client, api: &str, origin: &str) -> i64 {
    let http_no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let code =
        tributary_simulator::consent_code(&http_no_redirect, origin, "tributary-demo", REDIRECT)
            .await
            .unwrap();
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
    let body = json!({"element": {"key": "infusionsoftrest"}, "providerData": {"code": code},
        "name": "hooked", "configuration": {"oauth.api.key": "tributary-demo",
        "oauth.api.secret": "tributary-demo-secret", "oauth.callback.url": REDIRECT,
        "event.notification.enabled": true, "event.vendor.type": "webhooks",
        "event.notification.callback.url": "https://r.example/",
        "event.poller.configuration": {"contacts": {"url": "/hubs/crm/contacts", "idField": "id",
            "datesConfiguration": {"updatedDateField": "last_updated",
                "updatedDateFormat": format, "createdDateField": "date_created",
                "createdDateFormat": format}}}}});
    let created: Value = http
        .post(format!("{api}/instances"))
        .header("Authorization", auth())
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let subscriptions = subscriptions(http, api, id).await;
    assert!(
        subscriptions.len() == 3 && subscriptions.iter().all(|s| s["status"] == "Verified"),
        "{subscriptions:?}"
    );
    id
}

async fn subscriptions(http: &reqwest::Client, api: &str, id: i64) -> Vec<Value> {
    http.get(format!("{api}/instances/{id}/subscriptions"))
        .header("Authorization", auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn events(http: &reqwest::Client, api: &str, id: i64) -> Vec<(String, String)> {
    let list: Vec<Value> = http
        .get(format!("{api}/instances/{id}/events?pageSize=1000"))
        .header("Authorization", auth())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|e| {
            (
                e["objectId"].as_str().unwrap().to_owned(),
                e["eventType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Creates `count` contacts at the simulator; their ids, sorted as text.
async fn contacts(keap: &Keap, count: usize) -> Vec<String> {
    let before = keap
        .http
        .get(format!("{}/_sim/state", keap.origin))
        .send()
        .await
        .unwrap();
    let before: Value = before.json().await.unwrap();
    let known = ids_of(&before);
    keap.control(
        "/_sim/records",
        json!({"resource": "contacts", "count": count}),
    )
    .await;
    let after: Value = keap
        .http
        .get(format!("{}/_sim/state", keap.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut new: Vec<String> = ids_of(&after)
        .into_iter()
        .filter(|id| !known.contains(id))
        .collect();
    new.sort();
    new
}

/// Every contact id in `GET /_sim/state`.
fn ids_of(state: &Value) -> Vec<String> {
    state["tenants"][0]["resources"]["contacts"]["records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .filter_map(|r| r["id"].as_i64())
                .map(|id| id.to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_delivery_sent_while_serve_is_down_is_retried_by_the_provider_and_stored_once() {
    // Keap's retries (30–60 s, 5 min, 30 min) × 0.01: the third attempt 3 s after the second,
    // the fourth 18 s later — time for a restart.
    let sim = start_sim(0.01).await;
    let keap = Keap {
        origin: sim.url(),
        http: reqwest::Client::new(),
    };
    let dir = temp_dir("hooks-down");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let port = free_port();
    let (first, api) = serve(&url, port, &keap.origin);
    let id = instance(&keap.http, &api, &keap.origin).await;
    drop(first); // SIGKILL: nobody answers at the hook URL now

    let created = contacts(&keap, 2).await;
    assert_eq!(created.len(), 2);
    eventually(
        Duration::from_secs(30),
        "the provider tried to deliver and failed",
        async || keap.hooks().await["attempts"].as_u64().unwrap_or(0) >= 1,
    )
    .await;

    let (_second, api) = serve(&url, port, &keap.origin);
    eventually(
        Duration::from_secs(60),
        "the retried delivery's events",
        async || events(&keap.http, &api, id).await.len() >= 2,
    )
    .await;
    let stored = events(&keap.http, &api, id).await;
    let expected: Vec<(String, String)> = created
        .iter()
        .map(|c| (c.clone(), "CREATED".to_owned()))
        .collect();
    assert_eq!(stored, expected, "each contact once");
    let subs = subscriptions(&keap.http, &api, id).await;
    let add = subs
        .iter()
        .find(|s| s["eventKey"] == "contact.add")
        .unwrap();
    assert_eq!(add["deliveries"], 1, "one delivery stored: {add}");
    let at_keap = keap.hooks().await;
    assert!(
        at_keap["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["status"] == "Verified"),
        "the retry succeeded, nothing made Inactive: {at_keap}"
    );
}

#[tokio::test]
async fn serve_killed_while_processing_a_stored_delivery_loses_and_repeats_nothing() {
    let sim = start_sim(0.001).await;
    let keap = Keap {
        origin: sim.url(),
        http: reqwest::Client::new(),
    };
    let dir = temp_dir("hooks-kill");
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let port = free_port();
    let (first, api) = serve(&url, port, &keap.origin);
    let id = instance(&keap.http, &api, &keap.origin).await;

    // The records' fetch hangs: the delivery is stored (and answered) while its processing
    // waits for the provider.
    keap.control(
        "/_sim/faults",
        json!({"latency_ms": 30_000, "resource": "contacts", "count": 100}),
    )
    .await;
    let created = contacts(&keap, 3).await;
    eventually(Duration::from_secs(30), "the delivery stored", async || {
        subscriptions(&keap.http, &api, id)
            .await
            .iter()
            .any(|s| s["eventKey"] == "contact.add" && s["deliveries"] == 1)
    })
    .await;
    let store = tributary_store::open(&url, 0).await.unwrap();
    assert_eq!(
        store.inbound_waiting(id).await.unwrap(),
        1,
        "stored, not processed"
    );
    // The kill's moment, part of the scenario: the worker, nudged by the store, is fetching.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(first); // SIGKILL mid-processing
    keap.http
        .delete(format!("{}/_sim/faults", keap.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(
        store.inbound_waiting(id).await.unwrap(),
        1,
        "the killed pass committed nothing"
    );

    let (_second, api) = serve(&url, port, &keap.origin);
    // The dead process's lease (5 s) ends; the new one processes the delivery.
    eventually(
        Duration::from_secs(60),
        "the delivery processed after the restart",
        async || store.inbound_waiting(id).await.unwrap() == 0,
    )
    .await;
    let stored = events(&keap.http, &api, id).await;
    let expected: Vec<(String, String)> = created
        .iter()
        .map(|c| (c.clone(), "CREATED".to_owned()))
        .collect();
    assert_eq!(stored, expected, "every contact once, none twice");
}
