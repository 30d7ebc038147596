//! Deletes at Salesforce: a delete history purged before Tributary read it is reported — an
//! event of its own, the poller's status, `/metrics` — once; `detectDeletes` turns the sweep
//! off.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{poller, quiet, spawn_sf};

#[tokio::test]
async fn a_purged_delete_history_is_reported_once_as_an_event_a_status_and_a_metric() {
    let app = spawn_sf(quiet()).await;
    let user = app.user_token().await;
    let gone = app
        .insert(&user, "Contact", json!({"LastName": "Purged"}))
        .await;
    let (id, _) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(5);
    let (status, _) = app
        .sf(
            &user,
            Method::DELETE,
            &format!("/sobjects/Contact/{gone}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.advance_secs(120);
    // The org empties its delete log before Tributary's sweep reads it.
    app.control(Method::POST, "/_sim/deletes/purge", json!({}))
        .await;
    let polled = app.poll(id).await;
    let sweep = &polled["polls"][0]["deletes"];
    assert!(sweep["lost"].is_string(), "{polled}");
    assert_eq!(sweep["deleted"], 0, "{polled}");

    let events = app.events(id).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventType"], "DELETES_LOST");
    assert_eq!(events[0]["objectType"], "contacts");
    let one = app
        .expect(
            Method::GET,
            &format!(
                "/instances/{id}/events/{}",
                events[0]["eventId"].as_str().unwrap()
            ),
            None,
            StatusCode::OK,
        )
        .await;
    assert!(
        one.to_string()
            .contains("will never be reported as DELETED"),
        "{one}"
    );
    let pollers = app.pollers(id).await;
    let lost = &pollers["contacts"]["deletesLost"];
    assert_eq!(lost["count"], 1, "{pollers:?}");
    assert!(lost["from"].is_string() && lost["until"].is_string());
    let metrics = app
        .http
        .get(format!(
            "{}/metrics",
            app.api.trim_end_matches("/elements/api-v2")
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\ntributary_deletes_lost_total 1\n"),
        "{metrics}"
    );

    // The same purge is not news to the next sweeps.
    for _ in 0..2 {
        app.advance_secs(120);
        let again = app.poll(id).await;
        assert!(again["polls"][0]["deletes"]["lost"].is_null(), "{again}");
    }
    assert_eq!(app.events(id).await.len(), 1);
    assert_eq!(app.pollers(id).await["contacts"]["deletesLost"]["count"], 1);
}

#[tokio::test]
async fn detect_deletes_false_sweeps_nothing_and_a_value_not_a_boolean_is_named() {
    let app = spawn_sf(quiet()).await;
    let user = app.user_token().await;
    let gone = app
        .insert(&user, "Lead", json!({"LastName": "L", "Company": "C"}))
        .await;
    let mut leads = poller("leads");
    leads["detectDeletes"] = json!(false);
    let (id, _) = app
        .create_with(
            json!({"leads": leads.clone()}),
            "https://receiver.example/events",
        )
        .await;
    app.poll(id).await;
    app.sf(
        &user,
        Method::DELETE,
        &format!("/sobjects/Lead/{gone}"),
        None,
    )
    .await;
    app.advance_secs(180);
    let polled = app.poll(id).await;
    assert!(polled["polls"][0]["deletes"].is_null(), "{polled}");
    assert!(app.events(id).await.is_empty());
    assert!(
        !app.requests().await.iter().any(|r| r["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/deleted/")),
        "no delete request was made"
    );

    // A value that is not a boolean is a 400 naming the resource and the field.
    leads["detectDeletes"] = json!("yes");
    let bad = super::create_body(
        &app.code().await,
        json!({"leads": leads}),
        "https://r.example/",
    );
    let refused = app
        .expect(
            Method::POST,
            "/instances",
            Some(&bad),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("event.poller.configuration.leads.detectDeletes: must be true or false"),
        "{refused}"
    );
}

/// The provider's clock steps back five minutes after a sweep moved the delete cursor to its
/// old now: a record deleted next is dated before that cursor. The next sweep reads from the
/// cursor rebased on the provider's clock of today, so the deletion arrives — it is not left
/// before a cursor no window will ever start behind again (issue 18, the soak's Salesforce
/// finding).
#[tokio::test]
async fn a_deletion_after_the_provider_clock_stepped_back_arrives() {
    let app = spawn_sf(quiet()).await;
    let user = app.user_token().await;
    let gone = app
        .insert(&user, "Contact", json!({"LastName": "Stepped"}))
        .await;
    let (id, _) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(120);
    let read = app.poll(id).await;
    assert!(read["polls"][0]["deletes"]["to"].is_string(), "{read}");

    app.control(Method::POST, "/_sim/clock", json!({"offset_seconds": -300}))
        .await;
    app.advance_secs(5);
    let (status, _) = app
        .sf(
            &user,
            Method::DELETE,
            &format!("/sobjects/Contact/{gone}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.advance_secs(120);
    let polled = app.poll(id).await;
    assert!(polled["polls"][0]["error"].is_null(), "{polled}");
    let deleted = |changes: Vec<(String, String, String)>| {
        changes
            .into_iter()
            .filter(|(_, object, kind)| *object == gone && kind == "DELETED")
            .count()
    };
    assert_eq!(deleted(app.changes(id).await), 1, "{polled}");
    // Read once: the sweeps after it, the clock still behind the old cursor, add nothing.
    for _ in 0..2 {
        app.advance_secs(120);
        app.poll(id).await;
    }
    assert_eq!(deleted(app.changes(id).await), 1);
}

/// The Salesforce soak's lost deletion (issue 21): the provider's clock steps back and forth as
/// the soak steps it, a record deleted after each step, and some polls read their updates while
/// their delete request fails. A step back that only a failed sweep saw must still be kept with
/// the delete cursor: when the clock then stepped forward again, no rebase was due any more and
/// a record deleted between the two steps — dated on the clock behind, before the cursor — was
/// never read. Every deletion arrives, once, whatever the steps and failures in between.
#[tokio::test]
async fn deletions_between_steps_of_the_provider_clock_arrive_though_sweeps_failed_between() {
    let app = spawn_sf(quiet()).await;
    let user = app.user_token().await;
    // The provider clock's offset (seconds, as the soak draws them), and whether the poll
    // after it has its delete request fail.
    let rounds: [(i64, bool); 6] = [
        (-90, false),
        (-300, true),
        (90, false),
        (-30, true),
        (-300, true),
        (0, false),
    ];
    let mut records = Vec::new();
    for n in 0..rounds.len() {
        let name = format!("Stepped {n}");
        records.push(
            app.insert(&user, "Contact", json!({"LastName": name}))
                .await,
        );
    }
    let (id, _) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(120);
    let read = app.poll(id).await;
    assert!(read["polls"][0]["deletes"]["to"].is_string(), "{read}");

    for ((offset, fails), gone) in rounds.iter().zip(&records) {
        app.control(
            Method::POST,
            "/_sim/clock",
            json!({"offset_seconds": offset}),
        )
        .await;
        app.advance_secs(5);
        let (status, _) = app
            .sf(
                &user,
                Method::DELETE,
                &format!("/sobjects/Contact/{gone}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        if *fails {
            // The poll's updates are read through `query`; this fails its delete request only.
            app.control(
                Method::POST,
                "/_sim/faults",
                json!({"status": 500, "count": 1, "resource": "Contact"}),
            )
            .await;
        }
        app.advance_secs(120);
        let polled = app.poll(id).await;
        let poll = &polled["polls"][0];
        assert!(poll["error"].is_null(), "the updates are read: {polled}");
        assert_eq!(
            poll["deletes"]["error"].is_string(),
            *fails,
            "offset {offset}: {polled}"
        );
    }
    // A deletion dated on a clock ahead of today's is read once the provider's clock passes
    // its date: six minutes on, every one has arrived.
    for _ in 0..3 {
        app.advance_secs(120);
        let polled = app.poll(id).await;
        assert!(polled["polls"][0]["deletes"]["error"].is_null(), "{polled}");
    }
    let changes = app.changes(id).await;
    for (n, gone) in records.iter().enumerate() {
        let deleted = changes
            .iter()
            .filter(|(_, object, kind)| object == gone && kind == "DELETED")
            .count();
        assert_eq!(
            deleted, 1,
            "the record deleted after step {n} ({:?}): {changes:?}",
            rounds[n]
        );
    }
}
