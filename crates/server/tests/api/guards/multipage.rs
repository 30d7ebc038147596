//! A record edited while a poll is between pages is emitted by the next poll, not lost: the
//! simulator holds page 2 (a latency fault after one request), the test edits a record page 1
//! already returned, and the poll goes on to commit what it read. Nothing in between is timed:
//! the test awaits the held request, and checks that the poll was still running when the edit
//! was stored.

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

    // Page 1 goes through; page 2 waits 3 s at the simulator before it is read.
    sim(
        &app,
        Method::POST,
        "/faults",
        Some(
            json!({"kind": "latency", "latency_ms": 3_000, "resource": "contacts",
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
    eventually("page 2 to be held", || async move {
        sim(held, Method::GET, "/faults", None).await == json!([])
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
        "the edit was stored while the poll waited for page 2"
    );
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
