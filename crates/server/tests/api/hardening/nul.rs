//! A NUL character in any text input is a 400 naming the field, on both backends alike.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::backends::{on_postgres, on_sqlite};
use crate::helpers::TestApp;

/// Sends `method path` (with `body` as JSON) and expects a 400 whose message has `needle`.
async fn refused(app: &TestApp, method: Method, path: &str, body: Option<&Value>, needle: &str) {
    let response = app.call(method.clone(), path, body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {text}");
    let message = serde_json::from_str::<Value>(&text).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("NUL"), "{method} {path}: {message}");
    assert!(
        message.contains(needle),
        "{method} {path} names {needle:?}: {message}"
    );
}

#[tokio::test]
async fn a_nul_in_any_text_input_is_a_400_naming_the_field_on_sqlite() {
    on_sqlite(|_| {}, nul_inputs_are_refused).await;
}

#[tokio::test]
async fn a_nul_in_any_text_input_is_a_400_naming_the_field_on_postgres() {
    on_postgres(|_| {}, nul_inputs_are_refused).await;
}

async fn nul_inputs_are_refused(app: TestApp) {
    let created = app.create_seed_instance().await;
    let id = created["id"].as_i64().unwrap();

    let mut body = app.seed_body().await;
    body["name"] = json!("evil\u{0}name");
    refused(&app, Method::POST, "/instances", Some(&body), "`name`").await;
    let mut body = app.seed_body().await;
    body["configuration"]["x.evil\u{0}key"] = json!("v");
    refused(
        &app,
        Method::POST,
        "/instances",
        Some(&body),
        "x.evil\\u0000key",
    )
    .await;
    let mut body = app.seed_body().await;
    body["configuration"]["custom.key"] = json!("evil\u{0}value");
    refused(
        &app,
        Method::POST,
        "/instances",
        Some(&body),
        "configuration.custom.key",
    )
    .await;
    let mut body = app.seed_body().await;
    body["configuration"]["event.notification.callback.url"] =
        json!("https://receiver.example/\u{0}");
    refused(
        &app,
        Method::POST,
        "/instances",
        Some(&body),
        "configuration.event.notification.callback.url",
    )
    .await;
    let mut body = app.seed_body().await;
    body["tags"] = json!(["ok", "evil\u{0}"]);
    refused(&app, Method::POST, "/instances", Some(&body), "`tags[1]`").await;
    refused(
        &app,
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&json!({"name": "evil\u{0}name"})),
        "`name`",
    )
    .await;
    refused(
        &app,
        Method::GET,
        &format!("/instances/{id}/events?objectType=a%00b"),
        None,
        "\"objectType\"",
    )
    .await;
    refused(
        &app,
        Method::GET,
        "/instances/events?eventType=a%00b",
        None,
        "\"eventType\"",
    )
    .await;
    refused(
        &app,
        Method::GET,
        "/instances/events/a%00b",
        None,
        "\"a%00b\"",
    )
    .await;
    refused(
        &app,
        Method::POST,
        &format!("/instances/{id}/events/a%00b/redeliver"),
        None,
        "\"a%00b\"",
    )
    .await;

    // The web UI: a path segment and a form field, before any session is asked for.
    let root = app.api.trim_end_matches("/elements/api-v2").to_owned();
    let response = app
        .http
        .get(format!("{root}/ui/instances/{id}/events/a%00b"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .http
        .post(format!("{root}/sign-in"))
        .form(&[("user", "a\u{0}b"), ("organization", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let message = response.json::<Value>().await.unwrap()["message"].clone();
    assert!(message.as_str().unwrap().contains("\"user\""), "{message}");

    // Nothing was stored, nothing broke: the instance is as it was.
    assert_eq!(app.instance(id).await["name"], created["name"]);
}
