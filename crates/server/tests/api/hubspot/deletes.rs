//! Archives at HubSpot: reported once each from the archived list (its pages followed), never
//! again by later sweeps; a sweep interrupted on a page reports nothing and the next reports
//! all; `detectDeletes: false` reads no archived list.

use reqwest::Method;
use serde_json::json;

use super::{poller, quiet, spawn_hs};

#[tokio::test]
async fn archives_over_several_pages_are_reported_once_and_an_interrupted_sweep_reports_none() {
    let app = spawn_hs(quiet()).await;
    let user = app.user_token().await;
    let made = app.add_records("tickets", 150).await;
    let first = made["first_id"].as_i64().unwrap();
    let (id, _) = app
        .create(&["tickets"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    for offset in 0..150 {
        app.archive(&user, "tickets", &(first + offset).to_string())
            .await;
    }
    app.settle();
    // The archived list's second page fails: the sweep reports nothing, the poll stands.
    app.control(
        Method::POST,
        "/_sim/faults",
        json!({"kind": "malformed", "resource": "tickets", "after": 2}),
    )
    .await;
    let interrupted = app.poll(id).await;
    let sweep = &interrupted["polls"][0]["deletes"];
    assert!(sweep["error"].is_string(), "{interrupted}");
    assert_eq!(sweep["deleted"], 0, "{interrupted}");
    assert!(interrupted["polls"][0]["error"].is_null(), "{interrupted}");
    assert!(app.events(id).await.is_empty());

    app.advance_secs(5);
    let swept = app.poll(id).await;
    assert_eq!(swept["polls"][0]["deletes"]["deleted"], 150, "{swept}");
    let changes = app.changes(id).await;
    assert_eq!(changes.len(), 150);
    assert!(changes.iter().all(|(_, _, kind)| kind == "DELETED"));

    // Later sweeps read the list again and find nothing new; a new archive is news.
    app.advance_secs(5);
    let again = app.poll(id).await;
    assert_eq!(again["polls"][0]["deletes"]["deleted"], 0, "{again}");
    let extra = app
        .insert(&user, "tickets", json!({"subject": "Short-lived"}))
        .await;
    app.advance_secs(1);
    app.archive(&user, "tickets", &extra).await;
    app.settle();
    let last = app.poll(id).await;
    assert_eq!(last["polls"][0]["deletes"]["deleted"], 1, "{last}");
    let changes = app.changes(id).await;
    assert_eq!(
        changes.len(),
        151,
        "created and archived between polls: one DELETED"
    );
    assert!(changes.contains(&("tickets".to_owned(), extra, "DELETED".to_owned())));
}

#[tokio::test]
async fn detect_deletes_false_reads_no_archived_list() {
    let app = spawn_hs(quiet()).await;
    let user = app.user_token().await;
    let gone = app
        .insert(&user, "contacts", json!({"email": "gone@example.com"}))
        .await;
    let mut contacts = poller("contacts");
    contacts["detectDeletes"] = json!(false);
    let (id, _) = app
        .create_with(
            json!({"contacts": contacts}),
            "https://receiver.example/events",
        )
        .await;
    app.poll(id).await;
    app.archive(&user, "contacts", &gone).await;
    app.settle();
    let polled = app.poll(id).await;
    assert!(polled["polls"][0]["deletes"].is_null(), "{polled}");
    assert!(app.events(id).await.is_empty());
    assert!(
        !app.requests().await.iter().any(|r| r["query"]
            .as_str()
            .unwrap_or_default()
            .contains("archived=true")),
        "no archived list was read"
    );
}
