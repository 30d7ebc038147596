//! The hub refuses what it will not send as its own 400 (the provider never sees it), and
//! page tokens cannot be forged into requests of the caller's choosing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, USER_SECRET, spawn_app};

async fn hub(
    app: &TestApp,
    auth: &str,
    path_and_query: &str,
) -> (StatusCode, Value, Option<String>) {
    let response = app
        .http
        .get(format!("{}/hubs/crm/{path_and_query}", app.api))
        .header("Authorization", auth)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let next = response
        .headers()
        .get("elements-next-page-token")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), next)
}

/// Paths the simulator was asked for since the log was cleared.
async fn provider_paths(app: &TestApp) -> Vec<String> {
    let log: Vec<Value> = app.sim_requests().await;
    log.iter()
        .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_id_tributary_will_not_send_is_its_own_400_and_the_provider_never_sees_it() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let auth = format!(
        "User {USER_SECRET}, Element {}",
        created["token"].as_str().unwrap()
    );
    app.http
        .delete(format!("{}/_sim/requests", app.sim.url()))
        .send()
        .await
        .unwrap();
    let (status, body, _) = hub(&app, &auth, "contacts/..%2F..%2Fsettings").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("Tributary refused"), "{body}");
    assert!(body.get("providerMessage").is_none(), "{body}");
    assert!(provider_paths(&app).await.is_empty());
}

#[tokio::test]
async fn a_forged_or_altered_page_token_is_a_400_and_sends_nothing() {
    let app = spawn_app().await;
    let created = app.create_seed_instance().await;
    let auth = format!(
        "User {USER_SECRET}, Element {}",
        created["token"].as_str().unwrap()
    );
    let (status, _, next) = hub(&app, &auth, "contacts?pageSize=2").await;
    assert_eq!(status, StatusCode::OK);
    let next = next.expect("the seeded contacts fill more than a page");
    app.http
        .delete(format!("{}/_sim/requests", app.sim.url()))
        .send()
        .await
        .unwrap();
    // A next-page URL of the caller's choosing, under the provider's base URL (which the
    // client would have followed with the instance's bearer token), with and without a tag
    // borrowed from a real token; and a real token with its position changed.
    let base = format!("{}/crm/rest/v1", app.sim.url());
    let forged = URL_SAFE_NO_PAD.encode(format!("u:{base}/hooks"));
    let (_, tag) = next.split_once('.').unwrap_or(("", ""));
    let moved = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("o:4"));
    for token in [forged.clone(), format!("{forged}.{tag}"), moved] {
        let (status, body, _) = hub(
            &app,
            &auth,
            &format!("contacts?pageSize=2&nextPage={token}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{token}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("nextPage"),
            "{body}"
        );
    }
    assert!(provider_paths(&app).await.is_empty(), "nothing was sent");
    // The real token still pages.
    let (status, page, _) = hub(&app, &auth, &format!("contacts?pageSize=2&nextPage={next}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page.as_array().unwrap().len(), 2);
}
