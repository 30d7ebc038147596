//! Configuration Cloud Elements accepts: no `event.poller.configuration` (the element's own
//! resources and dates), resource entries without `idField` or `datesConfiguration`, and the
//! legacy `event.poller.urls`; and `webhooks`, refused while the server has no public URL.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{app, body_to, create, get, poll, records};

/// The resources an instance's pollers poll.
async fn polled(app: &crate::helpers::TestApp, id: i64) -> Vec<String> {
    get(app, &format!("/instances/{id}/pollers"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["resource"].as_str().unwrap().to_owned())
        .collect()
}

/// The events of one poll of `resource` in a poll-now summary.
fn events_of(summary: &Value, resource: &str) -> i64 {
    summary["polls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["resource"] == resource)
        .unwrap_or_else(|| panic!("{resource} polled: {summary}"))["events"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn without_a_poller_configuration_the_element_s_own_resources_are_polled() {
    let app = app().await;
    let mut body = body_to(&app, "https://receiver.example/e").await;
    body["configuration"]
        .as_object_mut()
        .unwrap()
        .remove("event.poller.configuration");
    let id = create(&app, &body).await["id"].as_i64().unwrap();
    assert_eq!(
        polled(&app, id).await,
        [
            "appointments",
            "contacts",
            "notes",
            "opportunities",
            "orders",
            "tasks",
            "transactions"
        ],
        "every resource whose change dates the element knows"
    );
    records(&app, "tasks", 2).await;
    let summary = poll(&app, id).await;
    assert!(
        summary["polls"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["error"].is_null()),
        "{summary}"
    );
    assert_eq!(events_of(&summary, "tasks"), 2);
}

#[tokio::test]
async fn a_resource_entry_without_id_field_or_dates_takes_the_element_s() {
    let app = app().await;
    let mut body = body_to(&app, "https://receiver.example/e").await;
    body["configuration"]["event.poller.configuration"] = json!({
        "appointments": {"url": "/hubs/crm/appointments"},
        "orders": {"url": "/hubs/crm/orders", "idField": "id"},
    });
    let id = create(&app, &body).await["id"].as_i64().unwrap();
    assert_eq!(polled(&app, id).await, ["appointments", "orders"]);
    records(&app, "appointments", 1).await;
    records(&app, "orders", 2).await;
    let summary = poll(&app, id).await;
    assert_eq!(events_of(&summary, "appointments"), 1, "{summary}");
    assert_eq!(events_of(&summary, "orders"), 2, "{summary}");
    let events = get(&app, &format!("/instances/{id}/events")).await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["eventType"] == "CREATED" && e.get("dateError").is_none()),
        "the element's dates read them: {events}"
    );
}

#[tokio::test]
async fn legacy_poller_urls_are_read_as_the_equivalent_configuration() {
    let app = app().await;
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
    let lines = format!(
        "appointments|/hubs/crm/appointments||modification_date|{format}|GMT|creation_date|\
         {format}|GMT\ncontacts"
    );
    let mut body = body_to(&app, "https://receiver.example/e").await;
    let config = body["configuration"].as_object_mut().unwrap();
    config.remove("event.poller.configuration");
    config.insert("event.poller.urls".into(), json!(lines));
    let created = create(&app, &body).await;
    assert_eq!(
        created["configuration"]["event.poller.urls"],
        lines.as_str()
    );
    let id = created["id"].as_i64().unwrap();
    assert_eq!(polled(&app, id).await, ["appointments", "contacts"]);
    records(&app, "appointments", 2).await;
    assert_eq!(events_of(&poll(&app, id).await, "appointments"), 2);

    // Cloud Elements' provisioning form (resource names), and a line that cannot be read.
    let mut names = body_to(&app, "https://receiver.example/e").await;
    let config = names["configuration"].as_object_mut().unwrap();
    config.remove("event.poller.configuration");
    config.insert("event.poller.urls".into(), json!("tasks|orders"));
    let id = create(&app, &names).await["id"].as_i64().unwrap();
    assert_eq!(polled(&app, id).await, ["orders", "tasks"]);
    let mut bad = names.clone();
    bad["providerData"]["code"] = json!(app.code().await);
    bad["configuration"]["event.poller.urls"] = json!("tasks\nwidgets|/hubs/crm/widgets");
    let refused = app
        .expect(
            Method::POST,
            "/instances",
            Some(&bad),
            StatusCode::BAD_REQUEST,
        )
        .await;
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("configuration.event.poller.urls.widgets: unknown resource"),
        "{message}"
    );
}

#[tokio::test]
async fn webhooks_without_a_public_url_are_refused_naming_the_key_and_the_setting() {
    let app = app().await;
    for vendor in ["webhooks", "webhook"] {
        let mut body = body_to(&app, "https://receiver.example/e").await;
        body["configuration"]["event.vendor.type"] = json!(vendor);
        let refused = app
            .expect(
                Method::POST,
                "/instances",
                Some(&body),
                StatusCode::BAD_REQUEST,
            )
            .await;
        let message = refused["message"].as_str().unwrap();
        assert!(
            message.contains("configuration.event.vendor.type")
                && message.contains("TRIBUTARY_PUBLIC_URL"),
            "{vendor}: {message}"
        );
    }
    assert!(app.instances().await.is_empty(), "nothing stored");
    let created = create(&app, &body_to(&app, "https://receiver.example/e").await).await;
    let id = created["id"].as_i64().unwrap();
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&json!({"configuration": {"event.vendor.type": "webhooks"}})),
        StatusCode::BAD_REQUEST,
    )
    .await;
}
