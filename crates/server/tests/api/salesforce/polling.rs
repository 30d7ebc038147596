//! Polling Salesforce: creates, updates and deletes arrive once each with the right types, in
//! Cloud Elements' envelope; ties at one second and short pages lose nothing; sessions are
//! refreshed, a rotated refresh token kept, and a session refused after its refresh ends the
//! instance's authorization.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{quiet, spawn_sf};
use crate::helpers::receiver;

fn count(changes: &[(String, String, String)], kind: &str) -> usize {
    changes.iter().filter(|c| c.2 == kind).count()
}

#[tokio::test]
async fn creates_updates_and_deletes_at_salesforce_arrive_once_each_with_their_types() {
    let app = spawn_sf(quiet()).await;
    let (callback, inbox) = receiver().await;
    let user = app.user_token().await;
    let kept = app
        .insert(&user, "Contact", json!({"LastName": "Before"}))
        .await;
    let doomed = app
        .insert(&user, "Account", json!({"Name": "Doomed Ltd"}))
        .await;
    let (id, _) = app.create(&["contacts", "accounts"], &callback).await;
    app.poll_finding_nothing(id, "what existed before is not news")
        .await;

    app.advance_secs(2);
    let created = app
        .insert(
            &user,
            "Contact",
            json!({"LastName": "Newman", "Email": "n@example.com"}),
        )
        .await;
    let (status, _) = app
        .sf(
            &user,
            Method::PATCH,
            &format!("/sobjects/Contact/{kept}"),
            Some(json!({"Title": "CEO"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .sf(
            &user,
            Method::DELETE,
            &format!("/sobjects/Account/{doomed}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The delete log is read in whole minutes: the deletion's minute must have passed.
    app.advance_secs(120);
    let polled = app.poll(id).await;
    let accounts = &polled["polls"][0];
    assert_eq!(accounts["resource"], "accounts");
    assert_eq!(accounts["deletes"]["deleted"], 1, "{polled}");
    assert!(accounts["deletes"]["error"].is_null(), "{polled}");

    let changes = app.changes(id).await;
    assert_eq!(
        changes,
        [
            ("accounts".to_owned(), doomed.clone(), "DELETED".to_owned()),
            ("contacts".to_owned(), kept.clone(), "UPDATED".to_owned()),
            ("contacts".to_owned(), created.clone(), "CREATED".to_owned()),
        ]
    );
    // Again: nothing new, the delete window included.
    app.advance_secs(120);
    app.poll_finding_nothing(id, "nothing new").await;
    assert_eq!(app.changes(id).await.len(), 3);

    // The DELETED event goes out in Cloud Elements' envelope, the provider's entry as its raw.
    app.deliver().await;
    let bodies: Vec<Value> = inbox.bodies();
    let deleted = bodies
        .iter()
        .find(|b| b["message"]["events"][0]["eventType"] == "DELETED")
        .expect("a notification of the deletion");
    let message = &deleted["message"];
    assert_eq!(message["elementKey"], "sfdc");
    assert_eq!(message["events"][0]["objectType"], "accounts");
    assert_eq!(message["events"][0]["objectId"], doomed.as_str());
    assert_eq!(message["events"][0]["hubKey"], "crm");
    assert_eq!(message["raw"]["objectType"], "accounts");
    assert_eq!(message["raw"]["accounts"][0]["id"], doomed.as_str());
    assert!(
        message["raw"]["accounts"][0]["deletedDate"]
            .as_str()
            .unwrap()
            .ends_with(".000+0000")
    );
    assert!(deleted["topic"].as_str().unwrap().ends_with("-sfdc-events"));
    assert_eq!(bodies.len(), 2, "one notification per resource and poll");
}

#[tokio::test]
async fn ties_at_one_second_and_short_pages_lose_and_repeat_nothing() {
    // Short pages on: Salesforce may return fewer records than the batch size.
    let app = spawn_sf(tributary_simulator::salesforce::Config {
        seed: 0,
        short_pages: true,
        ..tributary_simulator::salesforce::Config::default()
    })
    .await;
    let mut leads = super::poller("leads");
    leads["pageSize"] = json!(200);
    let (id, _) = app
        .create_with(json!({"leads": leads}), "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    // 450 leads in one second (the clock stands still): every one ties with the others.
    app.add_records("Lead", 450).await;
    let polled = app.poll(id).await;
    let leads = &polled["polls"][0];
    assert_eq!(leads["events"], 450, "{polled}");
    assert!(
        leads["pages"].as_u64().unwrap() >= 3,
        "pages of at most 200 (and some shorter): {polled}"
    );
    // More in the same second, after the poll: read again through the overlap, the first
    // 450 recognized, only the new ones emitted.
    app.add_records("Lead", 7).await;
    let tie = app.poll(id).await;
    assert_eq!(tie["polls"][0]["events"], 7, "{tie}");
    assert!(tie["polls"][0]["skipped"].as_u64().unwrap() >= 450, "{tie}");
    app.advance_secs(1);
    let quiet = app.poll(id).await;
    assert_eq!(quiet["polls"][0]["events"], 0, "{quiet}");
    let changes = app.changes(id).await;
    let mut ids: Vec<&String> = changes.iter().map(|c| &c.1).collect();
    ids.dedup();
    assert_eq!((changes.len(), ids.len()), (457, 457));
    assert_eq!(count(&changes, "CREATED"), 457);
}

#[tokio::test]
async fn an_expired_session_is_refreshed_and_a_rotated_refresh_token_is_kept() {
    let app = spawn_sf(tributary_simulator::salesforce::Config {
        rotate_refresh_tokens: true,
        session_timeout_secs: 300,
        ..quiet()
    })
    .await;
    let (id, _) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    for round in 1..=3 {
        // Longer than the session timeout: every poll meets INVALID_SESSION_ID first.
        app.advance_secs(600);
        let polled = app.poll(id).await;
        assert!(
            polled["polls"][0]["error"].is_null(),
            "round {round}: {polled}"
        );
    }
    let refreshes = app
        .requests()
        .await
        .iter()
        .filter(|r| {
            r["path"] == "/services/oauth2/token" && r["status"] == 200 && r["method"] == "POST"
        })
        .count();
    // The code exchange, and one refresh per round: each refresh used the token the previous
    // one rotated in (the old one dies at rotation).
    assert_eq!(refreshes, 4);
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], true, "{instance}");
}

#[tokio::test]
async fn a_session_refused_again_after_its_refresh_ends_the_authorization() {
    let app = spawn_sf(quiet()).await;
    let (id, _) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    // INVALID_SESSION_ID twice: before the refresh, and with the refreshed token.
    app.control(
        Method::POST,
        "/_sim/faults",
        json!({"status": 401, "count": 2, "resource": "query"}),
    )
    .await;
    app.advance_secs(1);
    let polled = app.poll(id).await;
    let error = polled["polls"][0]["error"].as_str().unwrap();
    assert!(error.contains("no longer valid"), "{polled}");
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], false, "{instance}");
    assert!(
        instance["invalidReason"]
            .as_str()
            .unwrap()
            .contains("authorize the instance again"),
        "{instance}"
    );
    let refreshes = app
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/services/oauth2/token")
        .count();
    assert_eq!(refreshes, 2, "the code exchange and one refresh, no more");
}
