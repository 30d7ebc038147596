//! A record edited while a poll is between pages is emitted by the next poll, not lost: page 2
//! is slowed at the simulator (a latency fault after one request) and, while it waits, held
//! (`/_sim/hold`) until the test has edited a record page 1 already returned; the poll then
//! goes on to commit what it read. Nothing is timed: the test awaits the fault being taken and
//! the request being held, so the edit lands between the pages on any machine.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{contacts_instance, events_of, eventually, manual_clock, poll, provider, quiet, sim};
use crate::helpers::spawn_app_with_clock;

#[tokio::test]
async fn a_record_edited_while_the_poll_waits_between_pages_is_emitted_by_the_next_poll() {
    let clock = manual_clock();
    let app = spawn_app_with_clock(quiet(), clock.clone(), |_| {}).await;
    let id = contacts_instance(&app, "https://receiver.example/events", Some(2)).await;
    poll(&app, id).await;
    clock.advance_ms(2_000);
    sim(
        &app,
        Method::POST,
        "/records",
        Some(json!({"resource": "contacts", "count": 6})),
    )
    .await;
    let token = app.sim_token().await;

    // Page 1 goes through; page 2 waits a second at the simulator's gateway.
    sim(
        &app,
        Method::POST,
        "/faults",
        Some(
            json!({"kind": "latency", "latency_ms": 1_000, "resource": "contacts",
            "after": 1, "count": 1}),
        ),
    )
    .await;
    let request = app
        .http
        .post(format!("{}/instances/{id}/events/poll", app.api))
        .header("Authorization", &app.auth);
    let polling = tokio::spawn(async move { request.send().await.unwrap() });
    // The fault is taken when page 2's request arrives: from then on the poll waits.
    let held = &app;
    eventually("page 2 to reach the latency fault", || async move {
        sim(held, Method::GET, "/faults", None).await == json!([])
    })
    .await;
    // Then it (or, on a machine slower than the fault, the page after it) is held until
    // released: the edit below is between two pages of the poll, whatever the timing.
    sim(&app, Method::POST, "/hold", Some(json!({"count": 1}))).await;
    eventually("a page to be held", || async move {
        sim(held, Method::GET, "/hold", None).await["held"] == 1
    })
    .await;
    clock.advance_ms(1_000);
    // Contact 1 was on page 1: the poll read it before this edit.
    provider(
        &app,
        Method::PATCH,
        &token,
        "/contacts/1",
        json!({"job_title": "CFO"}),
    )
    .await;
    assert!(
        !polling.is_finished(),
        "the edit was stored while the poll waited for a page"
    );
    sim(&app, Method::DELETE, "/hold", None).await;
    let first = polling.await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert!(
        first["polls"][0]["pages"].as_u64().unwrap() >= 3,
        "a poll of several pages: {first}"
    );

    clock.advance_ms(1_000);
    let second = poll(&app, id).await;
    assert_eq!(
        (&first["polls"][0]["events"], &second["polls"][0]["events"]),
        (&json!(6), &json!(1)),
        "six created, then the edit by the next poll\nfirst {first}\nsecond {second}"
    );
    let events = events_of(&app, id).await;
    let of = |object: &str| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|e| e["objectId"] == object)
            .map(|e| {
                (
                    e["eventType"].as_str().unwrap().to_owned(),
                    e["date"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let edited = of("1");
    assert_eq!(
        edited.len(),
        2,
        "contact 1 created, then its edit: {edited:?}\nfirst poll {first}\nsecond poll {second}"
    );
    assert_eq!(edited[1].0, "UPDATED", "{edited:?}");
    for contact in 2..=6 {
        assert_eq!(
            of(&contact.to_string()).len(),
            1,
            "contact {contact} once: {events:?}"
        );
    }
    assert_eq!(
        poll(&app, id).await["polls"][0]["events"],
        0,
        "nothing twice"
    );
}
