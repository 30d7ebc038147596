//! Polling HubSpot: creates, updates and archives arrive once each with the right types, in
//! Cloud Elements' envelope; 12,000 records sharing one modified time are read once each past
//! the search's 10,000-result cap; a change the search index has not caught up with is read by
//! a later poll, never skipped.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{HsApp, quiet, spawn_hs, spawn_hs_with};
use crate::helpers::receiver;
use crate::providers::poll_of;

/// The search requests the simulator logged.
async fn searches(app: &HsApp) -> Vec<Value> {
    app.requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/search")))
        .collect()
}

#[tokio::test]
async fn creates_updates_and_archives_at_hubspot_arrive_once_each_with_their_types() {
    let app = spawn_hs(quiet()).await;
    let (callback, inbox) = receiver().await;
    let user = app.user_token().await;
    let kept = app
        .insert(&user, "contacts", json!({"email": "before@example.com"}))
        .await;
    let doomed = app
        .insert(&user, "companies", json!({"name": "Doomed Ltd"}))
        .await;
    let (id, _) = app.create(&["contacts", "companies"], &callback).await;
    app.poll_finding_nothing(id, "what existed before is not news")
        .await;

    app.advance_secs(2);
    let created = app
        .insert(
            &user,
            "contacts",
            json!({"email": "new@example.com", "firstname": "Newman"}),
        )
        .await;
    app.update(&user, "contacts", &kept, json!({"jobtitle": "CEO"}))
        .await;
    app.archive(&user, "companies", &doomed).await;
    app.settle();
    let polled = app.poll(id).await;
    let companies = poll_of(&polled, "companies").clone();
    assert_eq!(companies["deletes"]["deleted"], 1, "{polled}");
    assert!(companies["deletes"]["error"].is_null(), "{polled}");

    let changes = app.changes(id).await;
    assert_eq!(
        changes,
        [
            ("companies".to_owned(), doomed.clone(), "DELETED".to_owned()),
            ("contacts".to_owned(), kept.clone(), "UPDATED".to_owned()),
            ("contacts".to_owned(), created.clone(), "CREATED".to_owned()),
        ]
    );
    // Again: nothing new, the archived list included.
    app.advance_secs(30);
    app.poll_finding_nothing(id, "nothing new").await;
    assert_eq!(app.changes(id).await.len(), 3);

    app.deliver().await;
    let bodies: Vec<Value> = inbox.bodies();
    let delivered: Vec<(String, String)> = bodies
        .iter()
        .flat_map(|b| b["message"]["events"].as_array().unwrap().clone())
        .map(|e| {
            assert_eq!(e["elementKey"], "hubspotcrm");
            assert_eq!(e["hubKey"], "crm");
            (
                e["objectId"].as_str().unwrap().to_owned(),
                e["eventType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(delivered.len(), 3, "{bodies:?}");
    let archived = bodies
        .iter()
        .find(|b| b["message"]["raw"]["objectType"] == "companies")
        .unwrap();
    let record = &archived["message"]["raw"]["companies"][0];
    assert_eq!(record["id"], doomed.as_str());
    assert_eq!(record["archived"], true, "the archive as HubSpot lists it");
}

#[tokio::test]
async fn twelve_thousand_contacts_sharing_one_modified_time_arrive_once_each_past_the_search_cap() {
    // The simulator's limits are lifted, and so are Tributary's own budgets (five searches a
    // second would make this test wait half a minute).
    let app = spawn_hs_with(quiet(), |settings| {
        settings.provider_requests_per_minute = Some(1_000_000);
    })
    .await;
    let (id, _) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    // A month-end batch update: 12,000 records, one modified time; then five more.
    app.add_records("contacts", 12_000).await;
    app.advance_secs(1);
    app.add_records("contacts", 5).await;
    app.settle();
    let before = searches(&app).await.len();
    let polled = app.poll(id).await;
    let poll = &polled["polls"][0];
    assert!(poll["error"].is_null(), "{poll}");
    assert_eq!(poll["events"], 12_005, "{poll}");
    assert!(poll["rewindows"].as_u64().unwrap() >= 2, "{poll}");

    let events = app.events(id).await;
    assert_eq!(events.len(), 12_005);
    let mut ids: Vec<&str> = events
        .iter()
        .map(|e| e["objectId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12_005, "each record once");
    assert!(events.iter().all(|e| e["eventType"] == "CREATED"));

    // No search went past the cap: every one the simulator answered was a 200.
    let log = searches(&app).await;
    assert!(
        log[before..].iter().all(|r| r["status"] == 200),
        "{:?}",
        log[before..]
            .iter()
            .filter(|r| r["status"] != 200)
            .collect::<Vec<_>>()
    );
    // A second poll finds nothing new.
    app.advance_secs(5);
    let again = app.poll(id).await;
    assert_eq!(again["polls"][0]["events"], 0, "{again}");
    assert_eq!(app.events(id).await.len(), 12_005);
}

#[tokio::test]
async fn a_change_the_search_index_has_not_caught_up_with_is_read_by_a_later_poll() {
    let app = spawn_hs(super::Config {
        index_lag_secs: 30,
        ..quiet()
    })
    .await;
    let user = app.user_token().await;
    let (id, _) = app
        .create(&["deals"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    let deal = app
        .insert(
            &user,
            "deals",
            json!({"dealname": "Big one", "amount": 1000}),
        )
        .await;
    // Searchable after 30 s, but polls read only up to a minute ago: not yet, though a search
    // would find it now.
    app.advance_secs(40);
    let early = app.poll(id).await;
    assert_eq!(early["polls"][0]["events"], 0, "{early}");
    app.advance_secs(25);
    let later = app.poll(id).await;
    assert_eq!(later["polls"][0]["events"], 1, "{later}");
    assert_eq!(
        app.changes(id).await,
        [("deals".to_owned(), deal, "CREATED".to_owned())]
    );
}

#[tokio::test]
async fn the_hub_searches_hubspot_with_its_filters_and_pages_with_its_cursor() {
    let app = spawn_hs(quiet()).await;
    let user = app.user_token().await;
    for name in ["Ann", "Bob", "Cid"] {
        app.insert(
            &user,
            "contacts",
            json!({"firstname": name, "email": format!("{name}@example.com")}),
        )
        .await;
        app.advance_secs(1);
    }
    let (_, token) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    let hub = |query: &str| {
        app.http
            .get(format!("{}/hubs/crm/contacts?{query}", app.api))
            .header(
                "Authorization",
                format!("User {}, Element {token}", crate::helpers::USER_SECRET),
            )
            .send()
    };
    let found = hub("where=firstname%20%3D%20%27Bob%27").await.unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    let records: Value = found.json().await.unwrap();
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    assert_eq!(records[0]["properties"]["firstname"], "Bob");

    let first = hub("pageSize=2&orderBy=createdAt").await.unwrap();
    let next = first
        .headers()
        .get("elements-next-page-token")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let page: Value = first.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 2);
    let second: Value = hub(&format!("pageSize=2&orderBy=createdAt&nextPage={next}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second[0]["properties"]["firstname"], "Cid", "{second}");
}

#[tokio::test]
async fn a_half_hour_token_is_refreshed_before_it_expires_and_the_instance_stays_valid() {
    let app = spawn_hs(quiet()).await;
    let (id, _) = app
        .create(&["tickets"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    // Past the half hour: refreshed from `expires_in`, not after a refused call.
    for _ in 0..2 {
        app.advance_secs(31 * 60);
        let polled = app.poll(id).await;
        assert!(polled["polls"][0]["error"].is_null(), "{polled}");
    }
    let log = app.requests().await;
    let refreshes = log
        .iter()
        .filter(|r| r["path"] == "/oauth/v3/token")
        .count();
    assert!(
        refreshes >= 3,
        "the code exchange and a refresh per half hour: {log:?}"
    );
    assert!(
        log.iter().all(|r| r["status"] != 401),
        "no call was refused for an expired token"
    );
    let user = app.user_token().await;
    let made = app
        .insert(&user, "tickets", json!({"subject": "Still here"}))
        .await;
    app.settle();
    app.poll(id).await;
    assert_eq!(
        app.changes(id).await,
        [("tickets".to_owned(), made, "CREATED".to_owned())]
    );
}
