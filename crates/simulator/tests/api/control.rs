//! The control API: the clock offset, the activity generator, the state export, the request log.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{T0, eventually, spawn_empty, spawn_sim};

#[tokio::test]
async fn a_clock_offset_stamps_new_records_with_the_providers_skewed_time() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    let set = sim
        .control(
            Method::POST,
            "/clock",
            Some(json!({"offset_seconds": -600})),
        )
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let clock: Value = set.json().await.unwrap();
    assert_eq!(clock["offset_seconds"], -600);
    assert_eq!(clock["now_ms"], T0 - 600_000);

    let contact = sim
        .create_contact(&token, "Skewed", "skew@example.com")
        .await;
    assert_eq!(contact["last_updated"], "2026-11-28T09:50:00.000+0000");
    let state = sim.state().await;
    assert_eq!(
        state["tenants"][0]["resources"]["contacts"]["records"][0]["updated_ms"],
        T0 - 600_000
    );

    // The provider's Date header follows its clock, as Keap's does.
    let response = sim.get(&token, "/contacts").await;
    assert_eq!(response.headers()["date"], "Sat, 28 Nov 2026 09:50:00 GMT");

    // Ahead works too, and token expiry keeps following the base clock.
    sim.control(
        Method::POST,
        "/clock",
        Some(json!({"offset_seconds": 3600})),
    )
    .await;
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
    let shown: Value = sim
        .control(Method::GET, "/clock", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["now"], "2026-11-28T11:00:00.000Z");
}

#[tokio::test]
async fn bad_clock_requests_get_a_400() {
    let sim = spawn_empty().await;
    for body in [
        json!({}),
        json!({"offset_seconds": "soon"}),
        json!({"offset_seconds": 1e12 as i64}),
        json!({"offset_seconds": 1, "offset_ms": 1}),
    ] {
        let response = sim
            .control(Method::POST, "/clock", Some(body.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn the_activity_generator_creates_and_updates_records_until_stopped() {
    let sim = spawn_empty().await;
    let started = sim
        .control(
            Method::POST,
            "/activity",
            Some(json!({"rate": 200, "resources": ["contacts", "tasks"]})),
        )
        .await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let changes = |state: &Value| -> u64 {
        ["contacts", "tasks"]
            .iter()
            .map(|r| {
                let table = &state["tenants"][0]["resources"][r];
                table["creates"].as_u64().unwrap() + table["updates"].as_u64().unwrap()
            })
            .sum()
    };
    let state = eventually(10, || async {
        let state = sim.state().await;
        (changes(&state) >= 100).then_some(state)
    })
    .await;
    let resources = &state["tenants"][0]["resources"];
    assert!(
        resources["contacts"]["updates"].as_u64().unwrap() > 0,
        "edits as well as creates"
    );
    assert_eq!(
        resources["notes"]["creates"], 0,
        "only the named resources change"
    );
    let status: Value = sim
        .control(Method::GET, "/activity", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["running"], true);
    assert_eq!(status["rate"], 200.0);

    assert_eq!(
        sim.control(Method::DELETE, "/activity", None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let status: Value = sim
        .control(Method::GET, "/activity", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["running"], false);
    let after_stop = changes(&sim.state().await);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        changes(&sim.state().await),
        after_stop,
        "no change after the stop"
    );
}

#[tokio::test]
async fn a_burst_makes_exactly_the_asked_changes_with_ties_in_the_same_second() {
    let sim = spawn_empty().await;
    let made: Value = sim
        .control(
            Method::POST,
            "/activity/burst",
            Some(json!({"changes": 60, "resources": ["contacts", "orders"]})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(made["changes"], 60);
    let state = sim.state().await;
    let resources = &state["tenants"][0]["resources"];
    let total: u64 = ["contacts", "orders"]
        .iter()
        .map(|r| {
            resources[r]["creates"].as_u64().unwrap() + resources[r]["updates"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(total, 60);
    let stamps: Vec<i64> = resources["contacts"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["updated_ms"].as_i64().unwrap())
        .collect();
    assert!(
        stamps.len() >= 2 && stamps.iter().all(|s| *s == T0),
        "one burst, one timestamp: {stamps:?}"
    );
}

#[tokio::test]
async fn bad_activity_requests_get_a_400() {
    let sim = spawn_empty().await;
    for body in [
        json!({"rate": 0}),
        json!({"rate": -1}),
        json!({"rate": 1e9}),
        json!({}),
        json!({"rate": 1, "resources": ["widgets"]}),
        json!({"rate": 1, "resources": []}),
    ] {
        let response = sim
            .control(Method::POST, "/activity", Some(body.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    for body in [json!({"changes": 0}), json!({"changes": 1_000_000})] {
        let response = sim
            .control(Method::POST, "/activity/burst", Some(body.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[tokio::test]
async fn the_state_export_lists_every_record_with_its_dates_and_every_deletion() {
    let sim = spawn_sim(tributary_simulator::Config {
        seed: 9,
        ..Default::default()
    })
    .await;
    let token = sim.access_token().await;
    sim.clock.advance_ms(1_400);
    let created = sim.create_contact(&token, "New", "new@example.com").await;
    let edited = sim
        .http
        .patch(format!(
            "{}/crm/rest/v1/contacts/{}",
            sim.url, created["id"]
        ))
        .bearer_auth(&token)
        .json(&json!({"given_name": "Newer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let delete = sim
        .http
        .delete(format!("{}/crm/rest/v1/contacts/1", sim.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);

    let state = sim.state().await;
    assert_eq!(state["tenants"][0]["name"], "ab123.infusionsoft.com");
    let resources = state["tenants"][0]["resources"].as_object().unwrap();
    assert_eq!(resources.len(), 9);
    let total: usize = resources
        .values()
        .map(|r| r["records"].as_array().unwrap().len())
        .sum();
    assert_eq!(total, 9 + 1 - 1);
    let contacts = &resources["contacts"];
    assert_eq!(
        contacts["deleted"],
        json!([{"id": 1, "deleted_ms": T0 + 1_400}])
    );
    let newest = contacts["records"].as_array().unwrap().last().unwrap();
    assert_eq!(newest["updated_ms"], T0 + 1_400);
    assert_eq!(newest["last_updated"], "2026-11-28T10:00:01.000+0000");
    assert_eq!(newest["date_created"], "2026-11-28T10:00:01.000+0000");
    assert_eq!(newest["versions"], 2, "created, then edited once");
    assert_eq!(contacts["records"][0]["versions"], 1, "seeded");
    assert_eq!(contacts["creates"], 1);
    let task = &resources["tasks"]["records"][0];
    assert!(task["modification_date"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn the_request_log_records_method_path_query_and_token() {
    let sim = spawn_empty().await;
    let token = sim.access_token().await;
    sim.get(&token, "/contacts?limit=5&since=2026-01-01T00:00:00Z")
        .await;
    let log = sim.requests().await;
    assert_eq!(log.len(), 2, "the token exchange and the list: {log:?}");
    assert_eq!(log[0]["path"], "/token");
    let list = &log[1];
    assert_eq!(list["method"], "GET");
    assert_eq!(list["path"], "/crm/rest/v1/contacts");
    assert_eq!(list["query"], "limit=5&since=2026-01-01T00:00:00Z");
    assert_eq!(list["token"], token.as_str());
    assert_eq!(list["client_id"], "tributary-demo");
    assert_eq!(list["tenant"], "ab123.infusionsoft.com");
    assert_eq!(list["status"], 200);
    assert_eq!(list["time"], "2026-11-28T10:00:00.000Z");

    let since = list["seq"].as_u64().unwrap();
    sim.get(&token, "/tasks").await;
    let newer: Vec<Value> = sim
        .control(Method::GET, &format!("/requests?since_seq={since}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0]["path"], "/crm/rest/v1/tasks");
    sim.control(Method::DELETE, "/requests", None).await;
    assert!(sim.requests().await.is_empty());
}

#[tokio::test]
async fn records_can_be_created_in_exact_numbers() {
    let sim = spawn_empty().await;
    let made: Value = sim
        .control(
            Method::POST,
            "/records",
            Some(json!({"resource": "orders", "count": 25})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(made, json!({"created": 25, "first_id": 1, "last_id": 25}));
    let state = sim.state().await;
    assert_eq!(
        state["tenants"][0]["resources"]["orders"]["records"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
    for body in [
        json!({"resource": "widgets", "count": 1}),
        json!({"resource": "orders", "count": 0}),
        json!({"resource": "orders", "count": 1, "tenant": "zz"}),
    ] {
        let response = sim
            .control(Method::POST, "/records", Some(body.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}
