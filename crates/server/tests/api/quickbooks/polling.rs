//! Polling QuickBooks through its change feed: creates, updates, deactivations and deletes
//! arrive once each with the right types, in Cloud Elements' envelope; a Fault inside an HTTP
//! 200 fails a poll and keeps its cursor; an expired hour's lowercase 401 is refreshed with
//! Basic auth and the rotated refresh token kept.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{invoice, quiet, spawn_qb};
use crate::helpers::receiver;
use crate::providers::poll_of;

#[tokio::test]
async fn creates_updates_deactivations_and_deletes_at_quickbooks_arrive_once_each_with_their_types()
{
    let app = spawn_qb(quiet()).await;
    let (callback, inbox) = receiver().await;
    let user = app.user().await;
    let kept = app
        .write(
            &user,
            "customer",
            json!({"DisplayName": "Amy's Bird Sanctuary"}),
        )
        .await;
    let leaving = app
        .write(&user, "customer", json!({"DisplayName": "Leaving Ltd"}))
        .await;
    let doomed = app
        .write(
            &user,
            "invoice",
            invoice(kept["Id"].as_str().unwrap(), 50.0),
        )
        .await;
    let (id, _) = app.create(&["customers", "invoices"], &callback).await;
    app.poll_finding_nothing(id, "what existed before is not news")
        .await;

    app.advance_secs(2);
    let created = app
        .write(&user, "customer", json!({"DisplayName": "Newman & Co"}))
        .await;
    app.write(
        &user,
        "customer",
        json!({"Id": kept["Id"], "SyncToken": kept["SyncToken"], "sparse": true, "Notes": "VIP"}),
    )
    .await;
    app.write(
        &user,
        "customer",
        json!({"Id": leaving["Id"], "SyncToken": leaving["SyncToken"], "sparse": true, "Active": false}),
    )
    .await;
    let fresh = app
        .write(
            &user,
            "invoice",
            invoice(kept["Id"].as_str().unwrap(), 75.0),
        )
        .await;
    app.delete(&user, "invoice", &doomed).await;
    app.advance_secs(1);
    let polled = app.poll(id).await;
    for poll in polled["polls"].as_array().unwrap() {
        assert!(poll["error"].is_null(), "{polled}");
    }
    let invoices = poll_of(&polled, "invoices");
    assert_eq!(invoices["deletes"]["deleted"], 1, "{polled}");

    let id_of = |record: &Value| record["Id"].as_str().unwrap().to_owned();
    let mut expected = vec![
        (
            "customers".to_owned(),
            id_of(&created),
            "CREATED".to_owned(),
        ),
        ("customers".to_owned(), id_of(&kept), "UPDATED".to_owned()),
        (
            "customers".to_owned(),
            id_of(&leaving),
            "UPDATED".to_owned(),
        ),
        ("invoices".to_owned(), id_of(&fresh), "CREATED".to_owned()),
        ("invoices".to_owned(), id_of(&doomed), "DELETED".to_owned()),
    ];
    expected.sort();
    assert_eq!(app.changes(id).await, expected);
    // The deactivation is an update saying so: list entities are never deleted.
    let events = app.events(id).await;
    let deactivated = events
        .iter()
        .find(|e| e["objectId"] == leaving["Id"])
        .unwrap();
    assert_eq!(deactivated["raw"]["Active"], false, "{deactivated}");

    // Again: nothing new (the overlap re-reads the same changes and stubs).
    app.advance_secs(30);
    app.poll_finding_nothing(id, "nothing new").await;
    assert_eq!(app.changes(id).await.len(), 5);

    app.deliver().await;
    let bodies: Vec<Value> = inbox.bodies();
    let delivered: usize = bodies
        .iter()
        .map(|b| {
            let events = b["message"]["events"].as_array().unwrap();
            for event in events {
                assert_eq!(event["elementKey"], "quickbooks");
                assert_eq!(event["hubKey"], "finance");
            }
            events.len()
        })
        .sum();
    assert_eq!(delivered, 5, "{bodies:?}");
    let stub = bodies
        .iter()
        .flat_map(|b| {
            b["message"]["raw"]["invoices"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|r| r["status"] == "Deleted")
        .unwrap();
    assert_eq!(stub["Id"], doomed["Id"], "the stub as QuickBooks sent it");
}

#[tokio::test]
async fn a_fault_inside_a_200_fails_the_poll_and_the_next_poll_reads_the_same_window() {
    let app = spawn_qb(quiet()).await;
    let user = app.user().await;
    let (id, _) = app
        .create(&["customers"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    let made = app
        .write(&user, "customer", json!({"DisplayName": "Fault Line"}))
        .await;
    app.advance_secs(1);
    app.control(
        Method::POST,
        "/_sim/faults",
        json!({"kind": "error_in_200", "resource": "cdc"}),
    )
    .await;
    let failed = app.poll(id).await;
    let error = failed["polls"][0]["error"].as_str().unwrap();
    assert!(error.contains("the provider failed (200)"), "{failed}");
    assert!(app.events(id).await.is_empty());
    assert_eq!(app.pollers(id).await["customers"]["failures"], 1);

    app.advance_secs(120);
    let polled = app.poll(id).await;
    assert!(polled["polls"][0]["error"].is_null(), "{polled}");
    assert_eq!(
        app.changes(id).await,
        [(
            "customers".to_owned(),
            made["Id"].as_str().unwrap().to_owned(),
            "CREATED".to_owned()
        )]
    );
}

#[tokio::test]
async fn an_expired_hour_is_refreshed_with_basic_auth_and_the_rotated_refresh_token_kept() {
    let app = spawn_qb(quiet()).await;
    let (id, _) = app
        .create(&["vendors"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    // Past the hour: the next call meets a lowercase 401 or the expiry first; either way one
    // refresh, and the refresh token it rotated is the one used the time after.
    for _ in 0..3 {
        app.advance_secs(3_700);
        let polled = app.poll(id).await;
        assert!(polled["polls"][0]["error"].is_null(), "{polled}");
    }
    let refreshes: Vec<Value> = app
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == "/oauth2/v1/tokens/bearer")
        .collect();
    // The code exchange, then one refresh an hour (a refresh with a dead token would be 400).
    assert!(refreshes.len() >= 4, "{refreshes:?}");
    assert!(
        refreshes.iter().all(|r| r["status"] == 200),
        "{refreshes:?}"
    );
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], true);
}

#[tokio::test]
async fn the_hub_reads_quickbooks_through_its_query_language_with_escaped_literals() {
    let app = spawn_qb(quiet()).await;
    let user = app.user().await;
    for name in ["Amy's Bird Sanctuary", "Bill's Windsurf Shop", "Cool Cars"] {
        app.write(&user, "customer", json!({"DisplayName": name}))
            .await;
        app.advance_secs(1);
    }
    let (_, token) = app
        .create(&["customers"], "https://receiver.example/events")
        .await;
    let hub = |query: &str| {
        app.http
            .get(format!("{}/hubs/finance/customers?{query}", app.api))
            .header(
                "Authorization",
                format!("User {}, Element {token}", crate::helpers::USER_SECRET),
            )
            .send()
    };
    let found = hub("where=DisplayName%20%3D%20%27Bill%27%27s%20Windsurf%20Shop%27")
        .await
        .unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    let records: Value = found.json().await.unwrap();
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    assert_eq!(records[0]["DisplayName"], "Bill's Windsurf Shop");
    let sent = app
        .requests()
        .await
        .into_iter()
        .rev()
        .find(|r| r["path"].as_str().unwrap_or_default().ends_with("/query"))
        .unwrap();
    let query = sent["query"].as_str().unwrap();
    assert!(query.contains("minorversion=75"), "{query}");

    let first = hub("pageSize=2&orderBy=MetaData.CreateTime").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let page: Value = first.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2, "{page}");
    let second: Value = hub("pageSize=2&page=2&orderBy=MetaData.CreateTime")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second[0]["DisplayName"], "Cool Cars", "{second}");
    // A backslash before a quote stays inside the literal (both are escaped): QuickBooks reads
    // one value, `Bill\'s`, and finds nothing — not a broken query.
    let sly = hub("where=DisplayName%20%3D%20%27Bill%5C%27%27s%27")
        .await
        .unwrap();
    assert_eq!(sly.status(), StatusCode::OK);
    let none: Value = sly.json().await.unwrap();
    assert_eq!(none, json!([]));
}
