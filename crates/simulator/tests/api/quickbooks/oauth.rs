//! OAuth: the realm on the redirect, Basic client auth, rotation, the lowercase 401
//! (`providers.md` §4.2, §4.8).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::quickbooks::{self, Config, realm_id};

use super::{QbSim, fault, quiet, spawn_qb};
use crate::helpers::REDIRECT;

async fn refresh(sim: &QbSim, refresh_token: &str) -> reqwest::Response {
    sim.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ])
    .await
}

#[tokio::test]
async fn the_consent_redirect_carries_the_realm_id_of_the_chosen_company() {
    let sim = spawn_qb(Config {
        tenants: 2,
        ..quiet()
    })
    .await;
    let second = realm_id(1);
    let consent = quickbooks::consent(
        &sim.http,
        &sim.url,
        "tributary-demo",
        REDIRECT,
        Some(&second),
    )
    .await
    .expect("a consent");
    assert_eq!(consent.realm_id, second);
    let first = quickbooks::consent(&sim.http, &sim.url, "tributary-demo", REDIRECT, None)
        .await
        .expect("a consent");
    assert_eq!(first.realm_id, realm_id(0));
    assert_ne!(first.realm_id, second, "each company its own realm");
}

#[tokio::test]
async fn tokens_need_basic_auth_last_an_hour_and_every_refresh_rotates_the_refresh_token() {
    let sim = spawn_qb(quiet()).await;
    let consent = quickbooks::consent(&sim.http, &sim.url, "tributary-demo", REDIRECT, None)
        .await
        .expect("a consent");
    let response = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &consent.code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["x_refresh_token_expires_in"], 8_726_400);
    let first = tokens["refresh_token"].as_str().unwrap();

    let rotated: Value = refresh(&sim, first).await.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(second, first, "a new refresh token");
    let reused = refresh(&sim, first).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reused.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant"})
    );
    assert_eq!(refresh(&sim, second).await.status(), StatusCode::OK);

    let wrong_secret = sim
        .http
        .post(format!("{}/oauth2/v1/tokens/bearer", sim.url))
        .basic_auth("tributary-demo", Some("guess"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_token_gets_the_lowercase_fault_body() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    sim.clock.advance_ms(3_600_000);
    let response = sim
        .api(
            &company,
            Method::GET,
            "/query",
            &[("query", "select * from Customer")],
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert!(
        body.get("Fault").is_none(),
        "lowercase, unlike every other Fault"
    );
    let error = &body["fault"]["error"][0];
    assert_eq!(body["fault"]["type"], "AUTHENTICATION");
    assert_eq!(error["code"], "3200");
    assert_eq!(
        error["message"],
        "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    );
    assert_eq!(error["detail"], "Token expired");
}

#[tokio::test]
async fn a_token_of_one_company_does_not_open_another() {
    let sim = spawn_qb(Config {
        tenants: 2,
        ..quiet()
    })
    .await;
    let mut company = sim.sign_in(None).await;
    company.realm = realm_id(1);
    let response = sim
        .api(
            &company,
            Method::GET,
            "/query",
            &[("query", "select * from Customer")],
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(fault(&body).1, "3100");
}
