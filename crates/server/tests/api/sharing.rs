//! What instances configured alike share in memory (`clients`: one prepared settings for equal
//! events settings, one compiled poller for equal poller configurations), and that an edit
//! still takes effect for the instance edited alone — over the simulator and SQLite.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_server::clients::Prepared;

use crate::helpers::{TestApp, contacts_poller, seed_body, seed_poller, spawn_unthrottled};

async fn create(app: &TestApp, body: &Value) -> i64 {
    app.expect(Method::POST, "/instances", Some(body), StatusCode::OK)
        .await["id"]
        .as_i64()
        .unwrap()
}

async fn prepared(app: &TestApp, id: i64) -> Arc<Prepared> {
    let record = app.state.store.instance_by_id(id).await.unwrap().unwrap();
    app.state.clients.prepared(&record).unwrap()
}

/// The resources a "poll now" of `id` polled, each without an error.
async fn polled(app: &TestApp, id: i64) -> Vec<String> {
    let answer = app.poll_now(id, false).await;
    let polls = answer["polls"].as_array().unwrap();
    polls
        .iter()
        .map(|poll| {
            assert!(poll["error"].is_null(), "{poll}");
            poll["resource"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn instances_configured_alike_share_compiled_pollers_and_an_edit_reaches_only_its_own() {
    let app = spawn_unthrottled().await;
    let a = create(&app, &seed_body(&app.code().await)).await;
    let b = create(&app, &seed_body(&app.code().await)).await;
    // Another callback URL: other settings, the same poller configuration.
    let mut other = seed_body(&app.code().await);
    other["configuration"]["event.notification.callback.url"] = json!("https://other.example/");
    let c = create(&app, &other).await;
    for id in [a, b, c] {
        assert_eq!(polled(&app, id).await, ["appointments"]);
    }

    let (pa, pb, pc) = (
        prepared(&app, a).await,
        prepared(&app, b).await,
        prepared(&app, c).await,
    );
    assert!(Arc::ptr_eq(&pa, &pb), "equal settings are held once");
    assert!(!Arc::ptr_eq(&pa, &pc), "another callback URL is c's own");
    assert_eq!(
        pc.settings.callback_url.as_deref(),
        Some("https://other.example/")
    );
    assert!(
        Arc::ptr_eq(&pa.pollers["appointments"], &pc.pollers["appointments"]),
        "equal poller configurations share one compiled poller"
    );

    // a polls contacts too now; b, configured as a was, polls as before.
    let mut pollers = seed_poller();
    pollers["contacts"] = contacts_poller()["contacts"].clone();
    app.expect(
        Method::PATCH,
        &format!("/instances/{a}"),
        Some(&json!({"configuration": {"event.poller.configuration": pollers}})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(polled(&app, a).await, ["appointments", "contacts"]);
    assert_eq!(polled(&app, b).await, ["appointments"]);
    let (edited, pb) = (prepared(&app, a).await, prepared(&app, b).await);
    assert!(!Arc::ptr_eq(&edited, &pb));
    assert_eq!(
        pb.settings.pollers.keys().collect::<Vec<_>>(),
        ["appointments"]
    );
    assert!(
        Arc::ptr_eq(&edited.pollers["appointments"], &pb.pollers["appointments"]),
        "the unchanged poller is still shared"
    );
}
