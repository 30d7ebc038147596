//! The change feed's limits: 2,500 changes inside one CDC window arrive once each past its
//! silent 1,000-object cap; deletes an answer cut at the cap may have dropped are reported as
//! lost, never passed over; a window older than the feed's 30 days is read through the query
//! language, and the poll says so.

use serde_json::json;

use super::{invoice, quiet, spawn_qb};

#[tokio::test]
async fn twenty_five_hundred_changes_in_one_cdc_window_arrive_once_each_past_its_cap() {
    let app = spawn_qb(quiet()).await;
    let (id, _) = app
        .create(&["customers"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    for _ in 0..10 {
        app.add_records("Customer", 250).await;
        app.advance_secs(1);
    }
    let polled = app.poll(id).await;
    let poll = &polled["polls"][0];
    assert!(poll["error"].is_null(), "{poll}");
    assert_eq!(poll["events"], 2_500, "{poll}");
    assert!(poll["rewindows"].as_u64().unwrap() >= 2, "{poll}");

    let events = app.events(id).await;
    let mut ids: Vec<&str> = events
        .iter()
        .map(|e| e["objectId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2_500, "each change once");
    assert!(events.iter().all(|e| e["eventType"] == "CREATED"));
    // Every feed request asked from a later start; none was refused.
    let feed: Vec<serde_json::Value> = app
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/cdc"))
        .collect();
    assert!(feed.iter().all(|r| r["status"] == 200), "{feed:?}");

    app.advance_secs(5);
    let again = app.poll(id).await;
    assert_eq!(again["polls"][0]["events"], 0, "{again}");
}

#[tokio::test]
async fn a_delete_an_answer_cut_at_its_cap_may_have_dropped_is_reported_lost_and_later_ones_arrive()
{
    let app = spawn_qb(quiet()).await;
    let user = app.user().await;
    let customer = app
        .write(&user, "customer", json!({"DisplayName": "Busy Books"}))
        .await;
    let customer = customer["Id"].as_str().unwrap().to_owned();
    let (id, _) = app
        .create(&["invoices"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    let early = app.write(&user, "invoice", invoice(&customer, 10.0)).await;
    app.advance_secs(1);
    app.delete(&user, "invoice", &early).await;
    let early_deleted =
        tributary_domain::poll::event_date(tributary_domain::Clock::now_ms(app.clock.as_ref()));
    // 1,200 invoices after the delete: the feed lists the stub after all of them, past its cap.
    for _ in 0..4 {
        app.advance_secs(1);
        app.add_records("Invoice", 300).await;
    }
    app.advance_secs(1);
    let late = app.write(&user, "invoice", invoice(&customer, 20.0)).await;
    app.advance_secs(1);
    app.delete(&user, "invoice", &late).await;
    app.advance_secs(1);
    let polled = app.poll(id).await;
    let poll = &polled["polls"][0];
    assert!(poll["error"].is_null(), "{poll}");
    assert!(poll["deletes"]["lost"].is_string(), "{poll}");

    let events = app.events(id).await;
    let of = |kind: &str| {
        events
            .iter()
            .filter(|e| e["eventType"] == kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("CREATED").len(), 1_200, "the changes, once each");
    let deleted = of("DELETED");
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(
        deleted[0]["objectId"], late["Id"],
        "the stub the feed still showed"
    );
    let lost = of("DELETES_LOST");
    assert_eq!(lost.len(), 1, "{lost:?}");
    let message = lost[0]["raw"]["message"].as_str().unwrap();
    assert!(message.contains("cap of 1000 objects"), "{message}");
    // The cut delete lies inside the span reported.
    let span = (
        lost[0]["raw"]["lostFrom"].as_str().unwrap().to_owned(),
        lost[0]["raw"]["lostUntil"].as_str().unwrap().to_owned(),
    );
    assert!(
        span.0 <= early_deleted && early_deleted < span.1,
        "{span:?} {early_deleted}"
    );
    let pollers = app.pollers(id).await;
    assert_eq!(
        pollers["invoices"]["deletesLost"]["count"], 1,
        "{pollers:?}"
    );
}

#[tokio::test]
async fn a_window_older_than_the_feeds_thirty_days_is_read_through_the_query_and_said_so() {
    let app = spawn_qb(quiet()).await;
    let user = app.user().await;
    let (id, _) = app
        .create(
            &["customers", "invoices"],
            "https://receiver.example/events",
        )
        .await;
    app.poll(id).await;
    app.advance_secs(5);
    let old = app
        .write(&user, "customer", json!({"DisplayName": "Long Ago"}))
        .await;
    // Thirty-one days without a poll (the refresh token lives about a hundred).
    app.advance_secs(31 * 86_400);
    let user = app.user().await;
    let recent = app
        .write(&user, "customer", json!({"DisplayName": "Just Now"}))
        .await;
    app.advance_secs(1);
    let polled = app.poll(id).await;
    for poll in polled["polls"].as_array().unwrap() {
        assert!(poll["error"].is_null(), "{polled}");
        let note = poll["notes"][0].as_str().unwrap_or_default();
        assert!(note.contains("reaches back 720 h"), "{polled}");
    }
    let changes = app.changes(id).await;
    let customers: Vec<&(String, String, String)> =
        changes.iter().filter(|c| c.0 == "customers").collect();
    assert_eq!(customers.len(), 2, "{changes:?}");
    for record in [&old, &recent] {
        assert!(
            customers
                .iter()
                .any(|c| c.1 == record["Id"].as_str().unwrap() && c.2 == "CREATED"),
            "{changes:?}"
        );
    }
    // Invoices' deletes older than the feed reaches cannot be seen: said once.
    let lost: Vec<&(String, String, String)> =
        changes.iter().filter(|c| c.2 == "DELETES_LOST").collect();
    assert_eq!(lost.len(), 1, "{changes:?}");
    assert_eq!(lost[0].0, "invoices");
    // No feed request reached past its 30 days.
    let feed: Vec<serde_json::Value> = app
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().ends_with("/cdc"))
        .collect();
    assert!(feed.iter().all(|r| r["status"] == 200), "{feed:?}");
}
