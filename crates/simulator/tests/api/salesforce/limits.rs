//! The daily API allocation (`providers.md` §2.7).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::salesforce::Config;

use super::{quiet, spawn_sf};

const LEADS: &str = "/query?q=SELECT+Id+FROM+Lead";

fn limit_info(response: &reqwest::Response) -> String {
    response.headers()["sforce-limit-info"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_api_response_carries_sforce_limit_info_counting_each_call() {
    let sim = spawn_sf(quiet()).await;
    let token = sim.access_token().await;
    let first = sim.get(&token, LEADS).await;
    assert_eq!(limit_info(&first), "api-usage=1/100000");
    let missing = sim.get(&token, "/sobjects/Lead/00QD00000000001AAA").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        limit_info(&missing),
        "api-usage=2/100000",
        "errors count too"
    );
    let token_call = sim.refresh("unknown").await;
    assert!(token_call.headers().get("sforce-limit-info").is_none());
    assert_eq!(
        limit_info(&sim.get(&token, LEADS).await),
        "api-usage=3/100000"
    );
}

#[tokio::test]
async fn a_spent_daily_quota_answers_403_request_limit_exceeded_until_raised_or_a_day_passes() {
    let sim = spawn_sf(Config {
        daily_quota: 2,
        session_timeout_secs: 3 * 86_400,
        ..quiet()
    })
    .await;
    let token = sim.access_token().await;
    assert_eq!(sim.get(&token, LEADS).await.status(), StatusCode::OK);
    sim.clock.advance_ms(3_600_000);
    assert_eq!(sim.get(&token, LEADS).await.status(), StatusCode::OK);
    let refused = sim.get(&token, LEADS).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "403, not 429");
    assert_eq!(limit_info(&refused), "api-usage=2/2");
    assert_eq!(
        refused.json::<Value>().await.unwrap(),
        json!([{"message": "TotalRequests Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );

    // A rolling 24 hours: the first call leaves the window a day after it was made.
    sim.clock.advance_ms(86_400_000 - 3_600_000);
    assert_eq!(sim.get(&token, LEADS).await.status(), StatusCode::OK);
    assert_eq!(sim.get(&token, LEADS).await.status(), StatusCode::FORBIDDEN);

    let raised = sim
        .control(Method::POST, "/limits", Some(json!({"daily_quota": 5})))
        .await;
    assert_eq!(raised.status(), StatusCode::OK);
    let shown: Value = raised.json().await.unwrap();
    assert_eq!(shown["orgs"][0]["daily_quota"], 5);
    assert_eq!(shown["orgs"][0]["used"], 2);
    assert_eq!(limit_info(&sim.get(&token, LEADS).await), "api-usage=3/5");

    let reset: Value = sim
        .control(Method::POST, "/limits", Some(json!({"reset": true})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reset["orgs"][0]["used"], 0);
    for body in [
        json!({}),
        json!({"daily_quota": 0}),
        json!({"reset": true, "tenant": "x"}),
    ] {
        let response = sim
            .control(Method::POST, "/limits", Some(body.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}
