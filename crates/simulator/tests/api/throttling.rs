//! Throttles and quotas: the `x-keap-*` headers on every response, 429s with the real body.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tributary_simulator::{ClientApp, Config};

use crate::helpers::spawn_sim;

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn every_response_carries_the_keap_headers_and_the_budget_counts_down() {
    let sim = spawn_sim(Config {
        seed: 0,
        throttle_per_minute: 3,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    for used in 1..=3 {
        let response = sim.get(&token, "/contacts").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-keap-product-throttle-limit"), "3");
        assert_eq!(
            header(&response, "x-keap-product-throttle-time-unit"),
            "minute"
        );
        assert_eq!(header(&response, "x-keap-product-throttle-interval"), "1");
        assert_eq!(
            header(&response, "x-keap-product-throttle-used"),
            used.to_string()
        );
        assert_eq!(
            header(&response, "x-keap-product-throttle-available"),
            (3 - used).to_string()
        );
        assert_eq!(header(&response, "x-keap-product-quota-limit"), "150000");
        assert_eq!(header(&response, "x-keap-product-quota-time-unit"), "day");
        assert_eq!(
            header(&response, "x-keap-product-quota-used"),
            used.to_string()
        );
        // The quota resets at the next 00:00 UTC after 2026-11-28T10:00Z.
        assert_eq!(
            header(&response, "x-keap-product-quota-expiry-time"),
            "1795910400000"
        );
        assert_eq!(
            header(&response, "x-keap-tenant-id"),
            "ab123.infusionsoft.com"
        );
        assert_eq!(header(&response, "x-keap-tenant-throttle-limit"), "10000");
        assert_eq!(
            header(&response, "x-keap-tenant-throttle-available"),
            (10_000 - used).to_string()
        );
    }
}

#[tokio::test]
async fn over_budget_requests_get_429_with_the_real_body_until_the_minute_rolls() {
    let sim = spawn_sim(Config {
        seed: 0,
        throttle_per_minute: 2,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    sim.get(&token, "/contacts").await;
    sim.clock.advance_ms(10_000);
    sim.get(&token, "/contacts").await;
    let throttled = sim.get(&token, "/contacts").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&throttled, "x-keap-product-throttle-available"), "0");
    assert!(
        throttled.headers().get("retry-after").is_none(),
        "the real API sends no Retry-After"
    );
    assert_eq!(
        throttled.json::<Value>().await.unwrap(),
        json!({"code": "429", "message": "Quota Exceeded", "status": "Request Throttled", "details": null})
    );
    // A rolling window: the first request leaves it 60 s after it was made.
    sim.clock.advance_ms(49_999);
    assert_eq!(
        sim.get(&token, "/contacts").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    sim.clock.advance_ms(1);
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn retry_after_is_sent_when_switched_on() {
    let sim = spawn_sim(Config {
        seed: 0,
        throttle_per_minute: 1,
        retry_after: true,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    sim.get(&token, "/contacts").await;
    sim.clock.advance_ms(15_500);
    let throttled = sim.get(&token, "/contacts").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&throttled, "retry-after"), "45");
}

#[tokio::test]
async fn each_app_has_its_own_budget_and_the_tenant_budget_is_shared() {
    let sim = spawn_sim(Config {
        seed: 0,
        throttle_per_minute: 2,
        tenant_throttle_per_minute: 3,
        clients: vec![
            ClientApp::default_app(),
            ClientApp::parse("other:other-secret").unwrap(),
        ],
        ..Config::default()
    })
    .await;
    let first = sim.access_token().await;
    let code = sim.authorize("other", None).await;
    let response = sim
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "other"),
            ("client_secret", "other-secret"),
            ("code", &code),
            ("redirect_uri", crate::helpers::REDIRECT),
        ])
        .await;
    let second = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sim.get(&first, "/contacts").await.status(), StatusCode::OK);
    assert_eq!(sim.get(&first, "/contacts").await.status(), StatusCode::OK);
    assert_eq!(
        sim.get(&first, "/contacts").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The other app still has budget of its own, but the tenant's 3/min are then spent.
    let other = sim.get(&second, "/contacts").await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(header(&other, "x-keap-product-throttle-used"), "1");
    assert_eq!(header(&other, "x-keap-tenant-throttle-available"), "0");
    assert_eq!(
        sim.get(&second, "/contacts").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn requests_with_a_bad_token_do_not_spend_the_budget() {
    let sim = spawn_sim(Config {
        seed: 0,
        throttle_per_minute: 1,
        ..Config::default()
    })
    .await;
    let token = sim.access_token().await;
    for _ in 0..3 {
        assert_eq!(
            sim.get("bogus", "/contacts").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
}
