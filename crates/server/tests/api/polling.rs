//! Polls against the simulator over real HTTP: every change, exactly once.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_domain::{Clock, ManualClock, SystemClock};
use tributary_simulator::Config;

use crate::helpers::{
    self, TestApp, seed_body, seed_poller, spawn_app_on_manual_clock, spawn_app_with,
    spawn_app_with_clock,
};

fn empty_sim() -> Config {
    Config {
        seed: 0,
        ..Config::default()
    }
}

impl TestApp {
    /// Creates an instance polling `poller` (a poller configuration object); returns its id.
    async fn polling_instance(&self, poller: Value) -> i64 {
        let mut body = seed_body(&self.code().await);
        body["configuration"]["event.poller.configuration"] = poller;
        let created = self
            .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await;
        created["id"].as_i64().unwrap()
    }

    async fn poll(&self, id: i64) -> Value {
        self.expect(
            Method::POST,
            &format!("/instances/{id}/events/poll"),
            None,
            StatusCode::OK,
        )
        .await
    }

    async fn events_of(&self, id: i64) -> Vec<Value> {
        let value = self
            .expect(
                Method::GET,
                &format!("/instances/{id}/events?pageSize=1000"),
                None,
                StatusCode::OK,
            )
            .await;
        value.as_array().unwrap().clone()
    }

    async fn provider(&self, method: Method, token: &str, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}/crm/rest/v1{path}", self.sim.url()))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    async fn sim_control(&self, path: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}/_sim{path}", self.sim.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
}

/// A contacts poller, reading `page_size` records a page when given.
fn contacts_poller(page_size: Option<u32>) -> Value {
    page_size.map_or_else(helpers::contacts_poller, helpers::contacts_poller_paged)
}

fn ids_and_types(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["objectId"].as_str().unwrap().to_owned(),
                e["eventType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_seed_appointments_configuration_yields_created_then_updated_with_the_right_dates() {
    let app = spawn_app_on_manual_clock(empty_sim(), |_| {}).await;
    let id = app.polling_instance(seed_poller()).await;
    let first = app.poll(id).await;
    assert_eq!(
        first["polls"][0]["events"], 0,
        "nothing changed yet: {first}"
    );
    assert_eq!(
        first["polls"][0]["addedSince"], true,
        "the where-less URL got a since"
    );
    assert_eq!(first["polls"][0]["pages"], 1);

    let token = app.sim_token().await;
    let created = app
        .provider(
            Method::POST,
            &token,
            "/appointments",
            json!({"title": "Demo",
            "start_date": "2026-12-01T09:00:00.000Z", "end_date": "2026-12-01T10:00:00.000Z"}),
        )
        .await;
    let appointment = created["id"].as_i64().unwrap();
    app.poll(id).await;
    let events = app.events_of(id).await;
    assert_eq!(
        ids_and_types(&events),
        [(appointment.to_string(), "CREATED".to_owned())]
    );
    let creation = created["creation_date"].as_str().unwrap();
    assert_eq!(
        events[0]["date"],
        format!("{}Z", &creation[..19]),
        "date is the created date, to the second"
    );
    assert_eq!(events[0]["objectType"], "appointments");
    assert_eq!(events[0]["raw"]["title"], "Demo");

    app.advance_ms(20); // an edit some milliseconds after the creation
    let edited = app
        .provider(
            Method::PATCH,
            &token,
            &format!("/appointments/{appointment}"),
            json!({"location": "Office"}),
        )
        .await;
    let summary = app.poll(id).await;
    assert_eq!(summary["polls"][0]["events"], 1, "{summary}");
    let events = app.events_of(id).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["eventType"], "UPDATED");
    let modification = edited["modification_date"].as_str().unwrap();
    assert_eq!(events[1]["date"], format!("{}Z", &modification[..19]));
    assert_eq!(
        app.poll(id).await["polls"][0]["events"],
        0,
        "a repeated poll adds nothing"
    );

    let pollers = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(pollers[0]["resource"], "appointments");
    assert_eq!(pollers[0]["eventsEmitted"], 2);
    assert_eq!(pollers[0]["failures"], 0);
    // After one look at the provider's clock (the first request), every poll was one request
    // with a since: four polls, five requests.
    let requests: Vec<Value> = app.sim_requests().await;
    let reads: Vec<&Value> = requests
        .iter()
        .filter(|r| r["path"] == "/crm/rest/v1/appointments" && r["method"] == "GET")
        .collect();
    assert_eq!(reads.len(), 5);
    assert!(
        reads[1..]
            .iter()
            .all(|r| r["query"].as_str().unwrap().contains("since="))
    );
}

#[tokio::test]
async fn ten_contacts_updated_in_the_same_second_across_two_polls_arrive_exactly_once() {
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let app = spawn_app_with_clock(empty_sim(), clock.clone(), |_| {}).await;
    let id = app.polling_instance(contacts_poller(None)).await;
    app.poll(id).await;
    let token = app.sim_token().await;
    clock.advance_ms(2_000);
    // Five now; the poll; five more in the very same millisecond of provider time.
    for i in 0..5 {
        app.provider(
            Method::POST,
            &token,
            "/contacts",
            json!({"email_addresses": [{"email": format!("a{i}@x.example"), "field": "EMAIL1"}]}),
        )
        .await;
    }
    assert_eq!(app.poll(id).await["polls"][0]["events"], 5);
    for i in 5..10 {
        app.provider(
            Method::POST,
            &token,
            "/contacts",
            json!({"email_addresses": [{"email": format!("a{i}@x.example"), "field": "EMAIL1"}]}),
        )
        .await;
    }
    assert_eq!(app.poll(id).await["polls"][0]["events"], 5);
    assert_eq!(app.poll(id).await["polls"][0]["events"], 0);
    let events = app.events_of(id).await;
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["objectId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort_by_key(|id| id.parse::<i64>().unwrap());
    assert_eq!(ids, (1..=10).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["eventType"] == "CREATED"));
}

#[tokio::test]
async fn a_provider_clock_ten_minutes_behind_or_ahead_loses_nothing() {
    for offset in [-600, 600] {
        let app = spawn_app_on_manual_clock(empty_sim(), |_| {}).await;
        app.sim_control("/clock", json!({"offset_seconds": offset}))
            .await;
        let id = app.polling_instance(contacts_poller(None)).await;
        app.poll(id).await;
        let token = app.sim_token().await;
        for i in 0..3 {
            app.provider(Method::POST, &token, "/contacts", json!({"email_addresses": [{"email": format!("s{i}@x.example"), "field": "EMAIL1"}]})).await;
        }
        app.poll(id).await;
        app.provider(
            Method::PATCH,
            &token,
            "/contacts/2",
            json!({"job_title": "CFO"}),
        )
        .await;
        // last_updated is rounded to the second: make the edit land in a later one.
        app.advance_ms(1_000);
        app.provider(
            Method::PATCH,
            &token,
            "/contacts/3",
            json!({"job_title": "CTO"}),
        )
        .await;
        app.poll(id).await;
        let got = ids_and_types(&app.events_of(id).await);
        let created: Vec<&(String, String)> = got.iter().filter(|(_, t)| t == "CREATED").collect();
        assert_eq!(created.len(), 3, "offset {offset}: {got:?}");
        assert!(
            got.iter().any(|(o, t)| o == "3" && t == "UPDATED"),
            "offset {offset}: {got:?}"
        );
    }
}

#[tokio::test]
async fn a_500_on_page_3_of_5_stores_nothing_and_the_next_poll_delivers_every_change_once() {
    let app = spawn_app_on_manual_clock(empty_sim(), |_| {}).await;
    let id = app.polling_instance(contacts_poller(Some(2))).await;
    app.poll(id).await;
    app.advance_ms(1_000); // a later second than the cursor
    app.sim_control("/records", json!({"resource": "contacts", "count": 10}))
        .await;
    app.sim_control(
        "/faults",
        json!({"status": 500, "resource": "contacts", "after": 2}),
    )
    .await;
    let failed = app.poll(id).await;
    assert!(
        failed["polls"][0]["error"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{failed}"
    );
    assert!(
        app.events_of(id).await.is_empty(),
        "nothing of the failed poll is stored"
    );
    let pollers = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(pollers[0]["failures"], 1);
    assert!(pollers[0]["lastError"].as_str().unwrap().contains("500"));
    let retried = app.poll(id).await;
    assert_eq!(retried["polls"][0]["events"], 10, "{retried}");
    assert_eq!(retried["polls"][0]["pages"], 5);
    assert_eq!(app.poll(id).await["polls"][0]["events"], 0);
    assert_eq!(app.events_of(id).await.len(), 10);
}

#[tokio::test]
async fn an_update_after_creation_but_before_the_first_poll_of_the_record_is_created() {
    let app = spawn_app_on_manual_clock(empty_sim(), |_| {}).await;
    let id = app.polling_instance(contacts_poller(None)).await;
    app.poll(id).await;
    let token = app.sim_token().await;
    app.provider(
        Method::POST,
        &token,
        "/contacts",
        json!({"email_addresses": [{"email": "n@x.example", "field": "EMAIL1"}]}),
    )
    .await;
    app.advance_ms(1_000); // the edit in a later second than the creation
    app.provider(
        Method::PATCH,
        &token,
        "/contacts/1",
        json!({"job_title": "Owner"}),
    )
    .await;
    app.poll(id).await;
    assert_eq!(
        ids_and_types(&app.events_of(id).await),
        [("1".to_owned(), "CREATED".to_owned())]
    );
}

#[tokio::test]
async fn a_date_that_does_not_parse_yields_a_flagged_event_not_a_dropped_record() {
    let app = spawn_app_on_manual_clock(empty_sim(), |_| {}).await;
    let mut poller = contacts_poller(None);
    // The wrong pattern for contacts: they write +0000, not a literal Z.
    poller["contacts"]["datesConfiguration"]["updatedDateFormat"] =
        json!("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'");
    let id = app.polling_instance(poller).await;
    app.poll(id).await;
    app.advance_ms(1_000); // a later second than the cursor
    app.sim_control("/records", json!({"resource": "contacts", "count": 2}))
        .await;
    let summary = app.poll(id).await;
    assert_eq!(summary["polls"][0]["dateErrors"], 2, "{summary}");
    let events = app.events_of(id).await;
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event["eventType"], "UPDATED");
        let error = event["dateError"].as_str().unwrap();
        assert!(
            error.contains("last_updated") && error.contains("does not match"),
            "{error}"
        );
    }
    assert_eq!(
        app.poll(id).await["polls"][0]["events"],
        0,
        "flagged once, not at every poll"
    );
}

#[tokio::test]
async fn polling_needs_events_on_and_disabling_removes_the_pollers() {
    let app = spawn_app_with(empty_sim(), |_| {}).await;
    let id = app.polling_instance(seed_poller()).await;
    let pollers = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        pollers.as_array().unwrap().len(),
        1,
        "created with the instance"
    );
    let off = json!({"configuration": {"event.notification.enabled": false}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&off),
        StatusCode::OK,
    )
    .await;
    let pollers = app
        .expect(
            Method::GET,
            &format!("/instances/{id}/pollers"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(pollers, json!([]));
    let refused = app
        .expect(
            Method::POST,
            &format!("/instances/{id}/events/poll"),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("does not poll")
    );
}

/// "Poll now" takes each poller's lease as the scheduler does: a resource whose poll another
/// worker holds (another node's scheduled poll) is not polled a second time at once.
#[tokio::test]
async fn poll_now_skips_a_resource_whose_poll_another_worker_holds() {
    let app = spawn_app_with(empty_sim(), |_| {}).await;
    let id = app.polling_instance(contacts_poller(None)).await;
    let held = app
        .state
        .store
        .claim_poller(id, "contacts", "another-node", app.state.now_ms(), 60_000)
        .await
        .unwrap();
    assert!(held.is_some());
    let gets = || async {
        let log: Vec<Value> = app.sim_requests().await;
        log.iter()
            .filter(|r| r["path"] == "/crm/rest/v1/contacts")
            .count()
    };
    let before = gets().await;
    let summary = app.poll(id).await;
    assert!(
        summary["polls"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("being polled already"),
        "{summary}"
    );
    assert_eq!(gets().await, before, "the provider was not asked");
    app.state
        .store
        .release_poller(id, "contacts", app.state.now_ms())
        .await
        .unwrap();
    let summary = app.poll(id).await;
    assert!(summary["polls"][0]["error"].is_null(), "{summary}");
    assert!(gets().await > before, "with the lease free, it is polled");
}
