//! getUpdated and getDeleted with their windows, and the delete-log purge
//! (`providers.md` §2.4, §2.6).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::salesforce::Config;

use super::{SfSim, error_code, quiet, spawn_sf};

const DAY_MS: i64 = 86_400_000;

/// A simulator whose sessions outlive the days these tests move through.
async fn long_sessions() -> (SfSim, String) {
    let sim = spawn_sf(Config {
        session_timeout_secs: 60 * 86_400,
        ..quiet()
    })
    .await;
    let token = sim.access_token().await;
    (sim, token)
}

async fn window(sim: &SfSim, token: &str, call: &str, start: &str, end: &str) -> reqwest::Response {
    sim.http
        .get(format!(
            "{}/services/data/v66.0/sobjects/Contact/{call}/",
            sim.url
        ))
        .query(&[("start", start), ("end", end)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn updated_lists_the_ids_changed_in_the_window_on_whole_minutes_up_to_30_days_back() {
    let (sim, token) = long_sessions().await;
    let early = sim
        .create(&token, "Contact", json!({"LastName": "Early"}))
        .await;
    sim.clock.advance_ms(90_000); // 10:01:30
    let late = sim
        .create(&token, "Contact", json!({"LastName": "Late"}))
        .await;
    sim.clock.advance_ms(120_000); // 10:03:30

    let response = window(
        &sim,
        &token,
        "updated",
        "2026-11-28T10:00:00+00:00",
        "2026-11-28T10:01:59Z",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ids": [early], "latestDateCovered": "2026-11-28T10:01:00.000+0000"}),
        "seconds are ignored: the window ends at 10:01"
    );
    let all: Value = window(
        &sim,
        &token,
        "updated",
        "2026-11-28T10:00:00Z",
        "2026-11-29T00:00:00Z",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(all["ids"], json!([early, late]));
    assert_eq!(
        all["latestDateCovered"], "2026-11-28T10:03:00.000+0000",
        "never past now"
    );

    sim.clock.advance_ms(30 * DAY_MS);
    let too_old = window(
        &sim,
        &token,
        "updated",
        "2026-11-28T10:00:00Z",
        "2026-12-28T00:00:00Z",
    )
    .await;
    assert_eq!(too_old.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&too_old.json().await.unwrap()),
        "INVALID_REPLICATION_DATE"
    );
}

#[tokio::test]
async fn deleted_lists_deletions_with_their_dates_up_to_15_days_back() {
    let (sim, token) = long_sessions().await;
    let gone = sim
        .create(&token, "Contact", json!({"LastName": "Gone"}))
        .await;
    sim.create(&token, "Contact", json!({"LastName": "Kept"}))
        .await;
    sim.clock.advance_ms(61_250);
    sim.call(
        Method::DELETE,
        &token,
        &format!("/sobjects/Contact/{gone}"),
        None,
    )
    .await;
    sim.clock.advance_ms(60_000);

    let body: Value = window(
        &sim,
        &token,
        "deleted",
        "2026-11-28T10:00:00Z",
        "2026-11-28T11:00:00Z",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        body["deletedRecords"],
        json!([{"id": gone, "deletedDate": "2026-11-28T10:01:01.000+0000"}])
    );
    assert_eq!(body["latestDateCovered"], "2026-11-28T10:02:00.000+0000");
    assert_eq!(
        body["earliestDateAvailable"], "2026-11-13T10:02:02.000+0000",
        "fifteen days back from now"
    );

    sim.clock.advance_ms(15 * DAY_MS);
    let too_old = window(
        &sim,
        &token,
        "deleted",
        "2026-11-28T10:00:00Z",
        "2026-12-13T11:00:00Z",
    )
    .await;
    assert_eq!(too_old.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error_code(&too_old.json().await.unwrap()),
        "INVALID_REPLICATION_DATE"
    );
}

#[tokio::test]
async fn after_a_purge_earliest_date_available_moves_past_a_clients_last_sync() {
    let (sim, token) = long_sessions().await;
    let gone = sim
        .create(&token, "Contact", json!({"LastName": "Gone"}))
        .await;
    sim.clock.advance_ms(60_000);
    sim.call(
        Method::DELETE,
        &token,
        &format!("/sobjects/Contact/{gone}"),
        None,
    )
    .await;
    let last_sync = "2026-11-28T10:00:00Z";
    sim.clock.advance_ms(3_600_000); // 11:01:00

    let purged = sim
        .control(
            Method::POST,
            "/deletes/purge",
            Some(json!({"resource": "Contact"})),
        )
        .await;
    assert_eq!(purged.status(), StatusCode::OK);
    assert_eq!(purged.json::<Value>().await.unwrap()["purged"], 1);

    let body: Value = window(&sim, &token, "deleted", last_sync, "2026-11-28T12:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["deletedRecords"], json!([]), "the delete log lost it");
    assert_eq!(
        body["earliestDateAvailable"],
        "2026-11-28T11:01:00.000+0000"
    );
    assert!(
        body["earliestDateAvailable"].as_str().unwrap() > "2026-11-28T10:00:00.000+0000",
        "later than the last sync: the client must resync"
    );
    let recycle_bin: Value = sim
        .query(
            &token,
            "SELECT Id FROM Contact WHERE IsDeleted = TRUE",
            true,
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        recycle_bin["totalSize"], 0,
        "the Recycle Bin was emptied too"
    );

    let state = sim.state().await;
    let contacts = &state["tenants"][0]["resources"]["Contact"];
    assert_eq!(
        contacts["deleted"][0]["Id"],
        gone.as_str(),
        "the export keeps the truth"
    );
    assert!(contacts["deletes_purged_before_ms"].is_i64());
    for body in [
        json!({"resource": "Widget"}),
        json!({"tenant": "nobody"}),
        json!({"before": "soon"}),
    ] {
        let response = sim
            .control(Method::POST, "/deletes/purge", Some(body.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}
