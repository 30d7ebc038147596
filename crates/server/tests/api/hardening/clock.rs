//! A provider clock that steps back behind the cursor loses no change and repeats none.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::Config;

use crate::helpers::{TestApp, seed_body, seed_poller, spawn_app_with};

async fn sim(app: &TestApp, path: &str, body: Value) {
    let response = app
        .http
        .post(format!("{}/_sim{path}", app.sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
}

async fn poll(app: &TestApp, id: i64) -> Value {
    let answer = app
        .expect(
            Method::POST,
            &format!("/instances/{id}/events/poll"),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(answer["polls"][0]["error"].is_null(), "{answer}");
    answer
}

/// Every appointment at the provider, through its own API.
async fn appointments(app: &TestApp) -> Vec<Value> {
    let token = app.sim_token().await;
    let page: Value = app
        .http
        .get(format!(
            "{}/crm/rest/v1/appointments?limit=1000",
            app.sim.url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["appointments"].as_array().unwrap().clone()
}

#[tokio::test]
async fn changes_after_the_provider_clock_steps_back_are_all_emitted_once() {
    for step in [-90, -600] {
        let app = spawn_app_with(
            Config {
                seed: 0,
                ..Config::default()
            },
            |_| {},
        )
        .await;
        let mut body = seed_body(&app.code().await);
        body["configuration"]["event.poller.configuration"] = seed_poller();
        let id = app
            .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await["id"]
            .as_i64()
            .unwrap();
        poll(&app, id).await;
        sim(
            &app,
            "/records",
            json!({"resource": "appointments", "count": 5}),
        )
        .await;
        poll(&app, id).await;

        // The provider's clock steps back; then records are created and edited.
        sim(&app, "/clock", json!({"offset_seconds": step})).await;
        sim(
            &app,
            "/activity/burst",
            json!({"changes": 23, "resources": ["appointments"]}),
        )
        .await;
        poll(&app, id).await;
        // More changes between two polls on the stepped clock, and a poll that finds them.
        sim(
            &app,
            "/activity/burst",
            json!({"changes": 7, "resources": ["appointments"]}),
        )
        .await;
        poll(&app, id).await;
        poll(&app, id).await;

        let events = app
            .expect(
                Method::GET,
                &format!("/instances/{id}/events?pageSize=1000"),
                None,
                StatusCode::OK,
            )
            .await;
        let events = events.as_array().unwrap();
        let mut changes = HashSet::new();
        for event in events {
            let change = (
                event["objectId"].as_str().unwrap().to_owned(),
                event["raw"]["modification_date"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
            assert!(
                changes.insert(change.clone()),
                "step {step}: {change:?} twice"
            );
        }
        for record in appointments(&app).await {
            let latest = (
                record["id"].to_string(),
                record["modification_date"].as_str().unwrap().to_owned(),
            );
            assert!(
                changes.contains(&latest),
                "step {step}: the latest state of {latest:?} was never emitted ({} events)",
                events.len()
            );
        }
    }
}
