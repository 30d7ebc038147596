//! OAuth and token expiry (`providers.md` §3.2, §3.8).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{HsSim, quiet, spawn_hs};
use crate::helpers::REDIRECT;

async fn refresh(sim: &HsSim, path: &str, refresh_token: &str) -> reqwest::Response {
    sim.token(
        path,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "tributary-demo"),
            ("client_secret", "tributary-demo-secret"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

#[tokio::test]
async fn the_consent_page_is_a_page_and_allow_redirects_with_the_code_and_the_state() {
    let sim = spawn_hs(quiet()).await;
    let page = sim
        .http
        .get(format!("{}/oauth/authorize", sim.url))
        .query(&[
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("scope", "oauth crm.objects.contacts.read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("HubSpot"));

    let allowed = sim
        .http
        .post(format!("{}/oauth/authorize", sim.url))
        .query(&[
            ("client_id", "tributary-demo"),
            ("redirect_uri", REDIRECT),
            ("scope", "oauth crm.objects.contacts.read"),
            ("state", "xyz"),
        ])
        .form(&[("allow", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::FOUND);
    let location = reqwest::Url::parse(allowed.headers()["location"].to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert!(params.contains_key("code"));
    assert_eq!(params["state"], "xyz");
}

#[tokio::test]
async fn both_token_endpoints_answer_in_snake_case_with_a_refresh_token_every_time() {
    let sim = spawn_hs(quiet()).await;
    let first = sim.tokens().await;
    assert_eq!(first["expires_in"], 1800, "30 minutes");
    assert_eq!(first["token_type"], "bearer");
    assert_eq!(first["token_use"], "access_token");
    assert_eq!(first["hub_id"], 48_120_001);
    assert!(first["scopes"].as_array().unwrap().len() >= 2);
    let refresh_token = first["refresh_token"].as_str().unwrap();

    for path in ["/oauth/v3/token", "/oauth/v1/token"] {
        let response = refresh(&sim, path, refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["refresh_token"], refresh_token,
            "a refresh answer carries the refresh token too"
        );
        assert_ne!(body["access_token"], first["access_token"]);
        assert_eq!(body["expires_in"], 1800);
    }
}

#[tokio::test]
async fn token_errors_carry_the_rfc_fields_and_hubspots_legacy_status() {
    let sim = spawn_hs(quiet()).await;
    let response = refresh(&sim, "/oauth/v3/token", "no-such-token").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["status"], "BAD_REFRESH_TOKEN");
    assert!(body["correlationId"].is_string());
}

#[tokio::test]
async fn an_access_token_expires_after_30_minutes_with_expired_authentication() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    let path = "/crm/v3/objects/contacts";
    sim.clock.advance_ms(1_800_000 - 1);
    assert_eq!(
        sim.call(Method::GET, &token, path, None).await.status(),
        StatusCode::OK
    );
    sim.clock.advance_ms(75_001);
    let expired = sim.call(Method::GET, &token, path, None).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], "EXPIRED_AUTHENTICATION");
    assert_eq!(
        body["message"],
        "The OAuth token used to make this call expired 75 second(s) ago."
    );
    assert_eq!(
        body["context"]["expire time"][0],
        "2026-11-28T10:30:00.000Z"
    );

    let missing = sim
        .http
        .get(format!("{}{path}", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["category"], "INVALID_AUTHENTICATION");
}
