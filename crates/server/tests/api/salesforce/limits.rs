//! The org's daily quota: `Sforce-Limit-Info` feeds the pacer; a 403 `REQUEST_LIMIT_EXCEEDED`
//! pauses the instance's polling — no failure, no invalid instance, no provider call while it
//! holds — and polling resumes when the pause ends and the quota allows again. Errors reach the
//! API's `providerMessage`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{quiet, spawn_sf};

#[tokio::test]
async fn a_spent_quota_pauses_the_instances_polling_and_polling_resumes_after_it() {
    let app = spawn_sf(quiet()).await;
    let (id, token) = app
        .create(&["contacts", "cases"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    // The org's allocation is now exactly what it used: the next call is refused.
    let limits = app.control(Method::GET, "/_sim/limits", json!(null)).await;
    let used = limits["orgs"][0]["used"].as_u64().unwrap();
    app.control(Method::POST, "/_sim/limits", json!({"daily_quota": used}))
        .await;
    app.advance_secs(1);
    let polled = app.poll(id).await;
    for poll in polled["polls"].as_array().unwrap() {
        let error = poll["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("paused until") && error.contains("TotalRequests Limit exceeded."),
            "{polled}"
        );
    }
    let calls_at_pause = app.requests().await.len();
    let pollers = app.pollers(id).await;
    for poller in pollers.values() {
        assert!(poller["pausedUntil"].is_string(), "{poller}");
        assert_eq!(poller["failures"], 0, "a pause is not a failure: {poller}");
        assert_eq!(poller["nextPollDate"], poller["pausedUntil"]);
    }
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], true, "{instance}");

    // While the pause holds, neither polls nor hub calls reach Salesforce; the hub says why.
    app.advance_secs(60);
    let still = app.poll(id).await;
    assert!(
        still["polls"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("paused until"),
        "{still}"
    );
    let hub = app
        .http
        .get(format!("{}/hubs/crm/contacts", app.api))
        .header(
            "Authorization",
            format!("User {}, Element {token}", crate::helpers::USER_SECRET),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(hub.status(), StatusCode::BAD_GATEWAY);
    let body: Value = hub.json().await.unwrap();
    assert_eq!(
        body["providerMessage"], "TotalRequests Limit exceeded.",
        "{body}"
    );
    assert_eq!(
        app.requests().await.len(),
        calls_at_pause,
        "no call while paused"
    );

    // A day later the rolling window has room again, and the pause (15 minutes) is long over.
    app.control(
        Method::POST,
        "/_sim/limits",
        json!({"daily_quota": 100000, "reset": true}),
    )
    .await;
    app.advance_secs(16 * 60);
    let user = app.user_token().await;
    let created = app.insert(&user, "Case", json!({"Subject": "Help"})).await;
    let resumed = app.poll(id).await;
    for poll in resumed["polls"].as_array().unwrap() {
        assert!(poll["error"].is_null(), "{resumed}");
    }
    assert_eq!(
        app.changes(id).await,
        [("cases".to_owned(), created, "CREATED".to_owned())]
    );
    for poller in app.pollers(id).await.values() {
        assert!(poller["pausedUntil"].is_null(), "{poller}");
    }
}

#[tokio::test]
async fn salesforce_errors_reach_the_hub_as_provider_messages() {
    let app = spawn_sf(quiet()).await;
    let (_, token) = app
        .create(&["contacts"], "https://receiver.example/events")
        .await;
    let hub = |path: String| {
        app.http
            .get(format!("{}/hubs/crm{path}", app.api))
            .header(
                "Authorization",
                format!("User {}, Element {token}", crate::helpers::USER_SECRET),
            )
            .send()
    };
    let missing = hub("/contacts/003000000000000AAA".into()).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["providerMessage"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    app.control(
        Method::POST,
        "/_sim/faults",
        json!({"status": 500, "count": 1, "resource": "query"}),
    )
    .await;
    let failed = hub("/contacts".into()).await.unwrap();
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    let body: Value = failed.json().await.unwrap();
    assert!(
        body["providerMessage"]
            .as_str()
            .unwrap()
            .starts_with("An unexpected error occurred"),
        "{body}"
    );
}
