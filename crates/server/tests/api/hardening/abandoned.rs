//! A "poll now" whose client goes away does not hold the resource for the poll lease: the
//! poll finishes (or fails) and releases it, and the next poll runs.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{eventually, spawn_app};

#[tokio::test]
async fn a_poll_now_whose_client_leaves_finishes_and_releases_its_lease() {
    let app = spawn_app().await;
    let id = app.create_seed_instance().await["id"].as_i64().unwrap();
    // The provider's next answer takes two seconds; the client gives up after a quarter.
    app.http
        .post(format!("{}/_sim/faults", app.sim.url()))
        .json(&json!({"kind": "latency", "latency_ms": 2000, "count": 1}))
        .send()
        .await
        .unwrap();
    let gone = app
        .http
        .post(format!("{}/instances/{id}/events/poll", app.api))
        .header("Authorization", &app.auth)
        .timeout(Duration::from_millis(250))
        .send()
        .await;
    assert!(gone.is_err(), "the client gave up: {gone:?}");

    // The abandoned poll ends with the slow answer; then a poll now polls (before the fix the
    // lease stayed held for its five minutes, and every poll now said "being polled already").
    eventually(
        Duration::from_secs(20),
        "the abandoned poll releases its lease: a poll now polls",
        async || {
            let answer = app
                .expect(
                    Method::POST,
                    &format!("/instances/{id}/events/poll"),
                    None,
                    StatusCode::OK,
                )
                .await;
            answer["polls"][0]["error"].is_null()
        },
    )
    .await;
    // And it was not lost: its own poll committed, so the cursor moved past the enable time.
    let pollers: Value = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(pollers[0]["lastPollDate"].is_string(), "{pollers}");
}
