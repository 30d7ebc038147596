//! Poller configurations that can never work are refused when they are written — create, PUT
//! and PATCH — with a 400 naming the resource and the problem, by the hub's own parser and the
//! element's fields.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{seed_poller, spawn_app};

fn poller_with_url(url: &str) -> Value {
    let mut poller = seed_poller();
    poller["appointments"]["url"] = json!(url);
    poller
}

#[tokio::test]
async fn poller_urls_that_can_never_work_are_refused_at_create_put_and_patch() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();
    let bad = [
        ("/hubs/crm/../../admin", "must be /hubs/crm/<resource>"),
        (
            "/hubs/crm/appointments/../contacts",
            "must be /hubs/crm/<resource>",
        ),
        ("/hubs/crm/appointments?where=(((((", "where:"),
        (
            "/hubs/crm/appointments?where=id >= 'abc' OR id = 1",
            "where:",
        ),
        (
            "/hubs/crm/appointments?where=nosuchfield = 'x'",
            "appointments has no field \"nosuchfield\"",
        ),
    ];
    for (url, needle) in bad {
        let expect_refused = |answer: Value, how: &str| {
            let message = answer["message"].as_str().unwrap_or_default().to_owned();
            assert!(
                message.contains("event.poller.configuration.appointments.url")
                    && message.contains(needle),
                "{how} {url}: {answer}"
            );
        };
        let mut body = app.seed_body().await;
        body["configuration"]["event.poller.configuration"] = poller_with_url(url);
        let answer = app
            .expect(
                Method::POST,
                "/instances",
                Some(&body),
                StatusCode::BAD_REQUEST,
            )
            .await;
        expect_refused(answer, "create");
        let mut put = created.clone();
        put["configuration"]["event.poller.configuration"] = poller_with_url(url);
        put.as_object_mut().unwrap().remove("token");
        let answer = app
            .expect(
                Method::PUT,
                &format!("/instances/{id}"),
                Some(&put),
                StatusCode::BAD_REQUEST,
            )
            .await;
        expect_refused(answer, "PUT");
        let patch = json!({"configuration": {"event.poller.configuration": poller_with_url(url)}});
        let answer = app
            .expect(
                Method::PATCH,
                &format!("/instances/{id}"),
                Some(&patch),
                StatusCode::BAD_REQUEST,
            )
            .await;
        expect_refused(answer, "PATCH");
    }
    // Fields the records have, filters the provider takes, and the since alias are fine.
    for url in [
        "/hubs/crm/appointments?where=title = 'Demo'",
        "/hubs/crm/appointments?where=contact_id = 22 AND location LIKE 'Zoom%'",
        "/hubs/crm/appointments?where=since = '2026-01-01T00:00:00Z'",
        "/hubs/crm/appointments",
    ] {
        let patch = json!({"configuration": {"event.poller.configuration": poller_with_url(url)}});
        app.expect(
            Method::PATCH,
            &format!("/instances/{id}"),
            Some(&patch),
            StatusCode::OK,
        )
        .await;
    }
}
