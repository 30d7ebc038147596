//! The ten-secondly limit, the search limit and their headers (`providers.md` §3.7).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{quiet, spawn_hs};

const LIST: &str = "/crm/v3/objects/contacts";

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn calls_carry_the_rate_limit_headers_except_search_and_oauth_calls_have_no_daily_pair() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    let first = sim.call(Method::GET, &token, LIST, None).await;
    assert_eq!(
        header(&first, "x-hubspot-ratelimit-max").as_deref(),
        Some("100")
    );
    assert_eq!(
        header(&first, "x-hubspot-ratelimit-remaining").as_deref(),
        Some("99")
    );
    assert_eq!(
        header(&first, "x-hubspot-ratelimit-interval-milliseconds").as_deref(),
        Some("10000")
    );
    assert!(header(&first, "x-hubspot-ratelimit-daily").is_none());
    assert!(header(&first, "x-hubspot-ratelimit-daily-remaining").is_none());

    let search = sim.search(&token, "contacts", json!({})).await;
    assert_eq!(search.status(), StatusCode::OK);
    assert!(
        search
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("x-hubspot-ratelimit")),
        "no rate-limit headers on search"
    );
    let second = sim.call(Method::GET, &token, LIST, None).await;
    assert_eq!(
        header(&second, "x-hubspot-ratelimit-remaining").as_deref(),
        Some("98"),
        "search does not count against the ten-secondly limit"
    );
}

#[tokio::test]
async fn the_ten_secondly_limit_answers_429_with_its_policy_name_until_the_window_rolls() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    for _ in 0..100 {
        let response = sim.call(Method::GET, &token, LIST, None).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = sim.call(Method::GET, &token, LIST, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&refused, "x-hubspot-ratelimit-remaining").as_deref(),
        Some("0")
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(
        sim.search(&token, "contacts", json!({})).await.status(),
        StatusCode::OK,
        "search is exempt"
    );
    sim.clock.advance_ms(10_000);
    assert_eq!(
        sim.call(Method::GET, &token, LIST, None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_search_limit_answers_429_with_the_secondly_message_after_five_a_second() {
    let sim = spawn_hs(quiet()).await;
    let token = sim.access_token().await;
    for _ in 0..5 {
        let response = sim.search(&token, "deals", json!({})).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = sim.search(&token, "deals", json!({})).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&refused, "x-hubspot-ratelimit-remaining").is_none());
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], "You have reached your secondly limit.");
    assert!(body.get("policyName").is_none());
    assert_eq!(
        sim.call(Method::GET, &token, LIST, None).await.status(),
        StatusCode::OK,
        "other calls are not held back"
    );
    sim.clock.advance_ms(1_000);
    assert_eq!(
        sim.search(&token, "deals", json!({})).await.status(),
        StatusCode::OK
    );
}
