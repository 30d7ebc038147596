//! REST hooks: the `X-Hook-Secret` handshake, batched deliveries, retries and deactivation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::Config;

use crate::helpers::{Behaviour, Receiver, TestSim, eventually, spawn_sim};

const ECHO_OK: Behaviour = Behaviour {
    echo_secret: true,
    delivery_status: 200,
};

/// Hook delays scaled down 10,000×: batches go out 3–6 ms after a change.
async fn fast_hooks() -> (TestSim, String) {
    let sim = spawn_sim(Config {
        seed: 0,
        hook_time_scale: 0.0001,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    (sim, token)
}

async fn subscribe(sim: &TestSim, token: &str, event_key: &str, url: &str) -> Value {
    let response = sim
        .post(
            token,
            "/hooks",
            json!({"eventKey": event_key, "hookUrl": url}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn event_keys_are_a_bare_array() {
    let (sim, token) = fast_hooks().await;
    let keys = sim.get_json(&token, "/hooks/event_keys").await;
    let keys = keys.as_array().unwrap();
    assert!(keys.contains(&json!("contact.add")) && keys.contains(&json!("invoice.delete")));
    assert_eq!(sim.get_json(&token, "/hooks").await, json!([]));
}

#[tokio::test]
async fn a_hook_is_verified_only_when_the_receiver_echoes_the_secret() {
    let (sim, token) = fast_hooks().await;
    let echo = Receiver::start(ECHO_OK).await;
    let silent = Receiver::start(Behaviour {
        echo_secret: false,
        delivery_status: 200,
    })
    .await;

    let hook = subscribe(&sim, &token, "contact.add", &echo.url).await;
    assert_eq!(hook["status"], "Verified");
    assert_eq!(hook["eventKey"], "contact.add");
    assert_eq!(hook["hookUrl"], echo.url.as_str());
    let handshake = &echo.received()[0];
    assert!(handshake.headers.contains_key("x-hook-secret"));

    let unverified = subscribe(&sim, &token, "contact.add", &silent.url).await;
    assert_eq!(unverified["status"], "Unverified");
    let listed = sim.get_json(&token, "/hooks").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // No events for the unverified one.
    sim.create_contact(&token, "A", "a@example.com").await;
    eventually(5, || async {
        (!echo.deliveries().is_empty()).then_some(())
    })
    .await;
    assert!(silent.deliveries().is_empty());
}

#[tokio::test]
async fn delayed_verification_accepts_only_the_secret_that_was_sent() {
    let (sim, token) = fast_hooks().await;
    let silent = Receiver::start(Behaviour {
        echo_secret: false,
        delivery_status: 200,
    })
    .await;
    let hook = subscribe(&sim, &token, "contact.edit", &silent.url).await;
    let key = hook["key"].as_str().unwrap();
    let secret = silent.received()[0].headers["x-hook-secret"]
        .to_str()
        .unwrap()
        .to_owned();

    let url = format!("{}/crm/rest/v1/hooks/{key}/delayedVerify", sim.url);
    let wrong = sim
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("X-Hook-Secret", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let right = sim
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("X-Hook-Secret", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(right.json::<Value>().await.unwrap()["status"], "Verified");
}

#[tokio::test]
async fn changes_arrive_as_batches_of_ids_with_api_urls_and_timestamps() {
    let (sim, token) = fast_hooks().await;
    let receiver = Receiver::start(ECHO_OK).await;
    subscribe(&sim, &token, "contact.add", &receiver.url).await;
    subscribe(&sim, &token, "contact.edit", &receiver.url).await;
    for i in 0..3 {
        sim.create_contact(&token, &format!("N{i}"), &format!("n{i}@example.com"))
            .await;
    }
    sim.patch(&token, "/contacts/2", json!({"job_title": "Boss"}))
        .await;

    let ids_for = |key: &str| -> Vec<i64> {
        receiver
            .deliveries()
            .iter()
            .filter(|d| d["event_key"] == key)
            .flat_map(|d| d["object_keys"].as_array().unwrap().clone())
            .map(|k| k["id"].as_i64().unwrap())
            .collect()
    };
    eventually(5, || async {
        (ids_for("contact.add").len() == 3 && ids_for("contact.edit").len() == 1).then_some(())
    })
    .await;
    let mut added = ids_for("contact.add");
    added.sort_unstable();
    assert_eq!(added, [1, 2, 3]);
    assert_eq!(ids_for("contact.edit"), [2]);
    let delivery = receiver
        .deliveries()
        .into_iter()
        .find(|d| d["event_key"] == "contact.edit")
        .unwrap();
    assert_eq!(delivery["object_type"], "contact");
    let key = &delivery["object_keys"][0];
    assert_eq!(key["apiUrl"], format!("{}/crm/rest/v1/contacts/2", sim.url));
    assert_eq!(key["timestamp"], "2026-11-28T10:00:00.000Z");
}

#[tokio::test]
async fn a_delivery_never_carries_more_than_1000_ids() {
    let (sim, token) = fast_hooks().await;
    let receiver = Receiver::start(ECHO_OK).await;
    subscribe(&sim, &token, "note.add", &receiver.url).await;
    // An empty table makes the first change a create; 2,500 notes from one burst of creates.
    let before = sim.state().await;
    assert_eq!(before["tenants"][0]["resources"]["notes"]["creates"], 0);
    sim.control(
        Method::POST,
        "/activity/burst",
        Some(json!({"changes": 4000, "resources": ["notes"]})),
    )
    .await;
    let creates = sim.state().await["tenants"][0]["resources"]["notes"]["creates"]
        .as_u64()
        .unwrap();
    assert!(creates > 1000, "{creates} creates");
    let deliveries = eventually(10, || async {
        let deliveries = receiver.deliveries();
        let total: u64 = deliveries
            .iter()
            .map(|d| d["object_keys"].as_array().unwrap().len() as u64)
            .sum();
        (total == creates).then_some(deliveries)
    })
    .await;
    assert!(deliveries.len() >= 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d["object_keys"].as_array().unwrap().len() <= 1000)
    );
}

#[tokio::test]
async fn a_410_makes_the_subscription_inactive() {
    let (sim, token) = fast_hooks().await;
    let gone = Receiver::start(Behaviour {
        echo_secret: true,
        delivery_status: 410,
    })
    .await;
    let hook = subscribe(&sim, &token, "contact.add", &gone.url).await;
    let key = hook["key"].as_str().unwrap();
    sim.create_contact(&token, "A", "a@example.com").await;
    eventually(5, || async {
        let hook = sim.get_json(&token, &format!("/hooks/{key}")).await;
        (hook["status"] == "Inactive").then_some(())
    })
    .await;
    assert_eq!(gone.deliveries().len(), 1, "no retry after a 410");
}

#[tokio::test]
async fn four_failed_attempts_make_the_subscription_inactive() {
    let (sim, token) = fast_hooks().await;
    let failing = Receiver::start(Behaviour {
        echo_secret: true,
        delivery_status: 500,
    })
    .await;
    let hook = subscribe(&sim, &token, "contact.add", &failing.url).await;
    let key = hook["key"].as_str().unwrap();
    sim.create_contact(&token, "A", "a@example.com").await;
    eventually(10, || async {
        let hook = sim.get_json(&token, &format!("/hooks/{key}")).await;
        (hook["status"] == "Inactive").then_some(())
    })
    .await;
    let deliveries = failing.deliveries();
    assert_eq!(deliveries.len(), 4, "exactly four attempts");
    assert!(deliveries.iter().all(|d| d["object_keys"][0]["id"] == 1));
}

#[tokio::test]
async fn hooks_can_be_replaced_reverified_and_deleted() {
    let (sim, token) = fast_hooks().await;
    let first = Receiver::start(ECHO_OK).await;
    let second = Receiver::start(ECHO_OK).await;
    let hook = subscribe(&sim, &token, "task.add", &first.url).await;
    let key = hook["key"].as_str().unwrap().to_owned();
    let url = format!("{}/crm/rest/v1/hooks/{key}", sim.url);

    let replaced: Value = sim
        .http
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"eventKey": "task.edit", "hookUrl": second.url}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replaced["eventKey"], "task.edit");
    assert_eq!(replaced["status"], "Verified");
    assert_eq!(second.received().len(), 1, "the new URL got the handshake");

    let verified: Value = sim
        .http
        .post(format!("{url}/verify"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verified["status"], "Verified");
    assert_eq!(second.received().len(), 2);

    let deleted = sim
        .http
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let missing = sim.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_hook_requests_get_a_400_naming_the_field() {
    let (sim, token) = fast_hooks().await;
    for (body, needle) in [
        (
            json!({"hookUrl": "http://x.example/h"}),
            "eventKey is required",
        ),
        (
            json!({"eventKey": "contact.explode", "hookUrl": "http://x.example/h"}),
            "Invalid eventKey",
        ),
        (json!({"eventKey": "contact.add"}), "hookUrl is required"),
        (
            json!({"eventKey": "contact.add", "hookUrl": "ftp://x.example/h"}),
            "Invalid hookUrl",
        ),
    ] {
        let response = sim.post(&token, "/hooks", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let message = response.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(needle), "{message}");
    }
    assert_eq!(sim.get_json(&token, "/hooks").await, json!([]));
}
