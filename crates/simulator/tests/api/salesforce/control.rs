//! The same `/_sim` control API as Infusionsoft's: bursts with deletes, the state export,
//! faults, the clock, the request log.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{error_code, quiet, spawn_sf};
use crate::helpers::T0;

#[tokio::test]
async fn a_burst_with_deletes_shows_in_the_state_export_with_the_deletion_dates() {
    let sim = spawn_sf(quiet()).await;
    sim.control(
        Method::POST,
        "/records",
        Some(json!({"resource": "Contact", "count": 20})),
    )
    .await;
    sim.clock.advance_ms(2_300);
    let burst = sim
        .control(
            Method::POST,
            "/activity/burst",
            Some(json!({"changes": 10, "deletes": 5, "resources": ["Contact"]})),
        )
        .await;
    assert_eq!(burst.status(), StatusCode::OK);
    assert_eq!(
        burst.json::<Value>().await.unwrap(),
        json!({"changes": 10, "deletes": 5})
    );

    let state = sim.state().await;
    let contacts = &state["tenants"][0]["resources"]["Contact"];
    let deleted = contacts["deleted"].as_array().unwrap();
    assert_eq!(deleted.len(), 5);
    for deletion in deleted {
        assert_eq!(deletion["deleted_ms"], T0 + 2_300);
        assert_eq!(deletion["deletedDate"], "2026-11-28T10:00:02.000+0000");
        assert!(deletion["Id"].as_str().unwrap().starts_with("003"));
    }
    let live = contacts["records"].as_array().unwrap();
    assert_eq!(
        (live.len() + deleted.len()) as u64,
        contacts["creates"].as_u64().unwrap(),
        "every created record is live or deleted"
    );
    assert!(
        live.iter()
            .all(|r| r["SystemModstamp"].as_str().unwrap().ends_with(".000+0000"))
    );

    let only_deletes = sim
        .control(
            Method::POST,
            "/activity/burst",
            Some(json!({"changes": 0, "deletes": 1000})),
        )
        .await;
    let body: Value = only_deletes.json().await.unwrap();
    assert_eq!(body["changes"], 0);
    assert_eq!(body["deletes"], live.len(), "as many as there were records");
    for bad in [
        json!({"changes": 0}),
        json!({"changes": 1, "deletes": 1_000_000}),
    ] {
        let response = sim
            .control(Method::POST, "/activity/burst", Some(bad.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn faults_clock_and_request_log_work_as_for_infusionsoft() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    let added = sim
        .control(
            Method::POST,
            "/faults",
            Some(json!({"status": 503, "resource": "query"})),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let faulted = sim.get(&token, "/query?q=SELECT+Id+FROM+Case").await;
    assert_eq!(faulted.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        error_code(&faulted.json().await.unwrap()),
        "SERVER_UNAVAILABLE"
    );
    assert_eq!(
        sim.get(&token, "/query?q=SELECT+Id+FROM+Case")
            .await
            .status(),
        StatusCode::OK
    );
    let unknown = sim
        .control(
            Method::POST,
            "/faults",
            Some(json!({"status": 500, "resource": "contacts"})),
        )
        .await;
    assert_eq!(
        unknown.status(),
        StatusCode::BAD_REQUEST,
        "Keap's names are not Salesforce's"
    );

    sim.control(
        Method::POST,
        "/clock",
        Some(json!({"offset_seconds": -600})),
    )
    .await;
    let id = sim
        .create(&token, "Account", json!({"Name": "Skewed"}))
        .await;
    let record: Value = sim
        .get(&token, &format!("/sobjects/Account/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(record["SystemModstamp"], "2026-11-28T09:50:00.000+0000");

    let log: Vec<Value> = sim
        .control(Method::GET, "/requests", None)
        .await
        .json()
        .await
        .unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        last["path"],
        "/services/data/v66.0/sobjects/Account/".to_owned() + &id
    );
    assert_eq!(last["client_id"], "tributary-demo");
    assert!(last["tenant"].as_str().unwrap().starts_with("00D"));
    assert_eq!(log[0]["path"], "/services/oauth2/token");
}
