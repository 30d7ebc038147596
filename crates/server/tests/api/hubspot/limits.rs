//! HubSpot's limits: the search's secondly 429 and the ten-secondly 429 (policyName
//! `TEN_SECONDLY_ROLLING`) pause the instance's polling of a resource — no failure, no invalid
//! instance, no provider call while the pause holds — and polling resumes when it ends.

use reqwest::Method;
use serde_json::json;

use super::{Config, HsApp, quiet, spawn_hs};
use crate::providers::poll_of;

/// How many requests the simulator logged for `object`.
async fn calls_for(app: &HsApp, object: &str) -> usize {
    app.requests()
        .await
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.contains(&format!("/objects/{object}")))
        })
        .count()
}

#[tokio::test]
async fn hubspots_429s_pause_the_instances_polling_and_polling_resumes_after_them() {
    // Two searches a second, on a clock that stands still while a poll runs: the first poll
    // reads the provider's clock and companies (two searches; pollers go in name order), and
    // contacts' search is over.
    let app = spawn_hs(Config {
        search_per_second: 2,
        ..quiet()
    })
    .await;
    let user = app.user_token().await;
    let (id, _) = app
        .create(
            &["companies", "contacts"],
            "https://receiver.example/events",
        )
        .await;
    let polled = app.poll(id).await;
    assert!(poll_of(&polled, "companies")["error"].is_null(), "{polled}");
    let error = poll_of(&polled, "contacts")["error"].as_str().unwrap();
    assert!(
        error.starts_with("paused until")
            && error.contains("You have reached your secondly limit."),
        "{polled}"
    );
    let pollers = app.pollers(id).await;
    let contacts = &pollers["contacts"];
    assert!(contacts["pausedUntil"].is_string(), "{contacts}");
    assert_eq!(
        contacts["failures"], 0,
        "a pause is not a failure: {contacts}"
    );
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], true, "{instance}");

    // The ten-secondly limit: its own body, its own wait; no call while it holds.
    app.advance_secs(2);
    app.control(
        Method::POST,
        "/_sim/faults",
        json!({"status": 429, "resource": "contacts"}),
    )
    .await;
    let throttled = app.poll(id).await;
    let error = poll_of(&throttled, "contacts")["error"].as_str().unwrap();
    assert!(
        error.starts_with("paused until") && error.contains("ten_secondly_rolling"),
        "{throttled}"
    );
    assert!(
        poll_of(&throttled, "companies")["error"].is_null(),
        "{throttled}"
    );
    let calls = calls_for(&app, "contacts").await;
    app.advance_secs(5);
    let still = app.poll(id).await;
    assert!(
        poll_of(&still, "contacts")["error"]
            .as_str()
            .unwrap()
            .starts_with("paused until"),
        "{still}"
    );
    assert_eq!(
        calls_for(&app, "contacts").await,
        calls,
        "no call while paused"
    );

    // After the pause, polling resumes and finds what changed meanwhile.
    app.advance_secs(6);
    let made = app
        .insert(&user, "contacts", json!({"email": "resumed@example.com"}))
        .await;
    app.settle();
    let resumed = app.poll(id).await;
    for poll in resumed["polls"].as_array().unwrap() {
        assert!(poll["error"].is_null(), "{resumed}");
    }
    assert_eq!(
        app.changes(id).await,
        [("contacts".to_owned(), made, "CREATED".to_owned())]
    );
    for poller in app.pollers(id).await.values() {
        assert!(poller["pausedUntil"].is_null(), "{poller}");
        assert_eq!(poller["failures"], 0, "{poller}");
    }
}
