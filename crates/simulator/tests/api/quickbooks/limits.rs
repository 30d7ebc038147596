//! The per-realm limits: 500 requests a minute and 10 at once, each answered with 429 and
//! Fault 3001 (`providers.md` §4.7).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Company, QbSim, quiet, spawn_qb};
use crate::helpers::eventually;

const COUNT: &str = "select count(*) from Customer";

async fn count(sim: &QbSim, company: &Company) -> reqwest::Response {
    sim.api(company, Method::GET, "/query", &[("query", COUNT)], None)
        .await
}

async fn assert_throttled(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"Fault": {"Error": [{
            "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "Detail": "The request limit was reached. Wait 60 seconds before retrying.",
            "code": "3001",
        }], "type": "SERVICE"}})
    );
}

#[tokio::test]
async fn five_hundred_requests_a_minute_per_realm_then_429_with_fault_3001() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    for n in 0..500 {
        assert_eq!(
            count(&sim, &company).await.status(),
            StatusCode::OK,
            "request {n}"
        );
    }
    assert_throttled(count(&sim, &company).await).await;
    sim.clock.advance_ms(60_000);
    assert_eq!(count(&sim, &company).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ten_requests_in_flight_at_once_per_realm_then_429_with_fault_3001() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    sim.control(Method::POST, "/hold", Some(json!({"count": 10})))
        .await;
    let url = format!(
        "{}/v3/company/{}/query?minorversion=75&query=select%20count(*)%20from%20Customer",
        sim.url, company.realm
    );
    let held: Vec<_> = (0..10)
        .map(|_| {
            let request = sim
                .http
                .get(&url)
                .bearer_auth(&company.token)
                .header("accept", "application/json");
            tokio::spawn(async move { request.send().await.map(|r| r.status()) })
        })
        .collect();
    eventually(10, || async {
        let holds = sim.control(Method::GET, "/hold", None).await;
        (holds["held"] == 10).then_some(())
    })
    .await;

    assert_throttled(count(&sim, &company).await).await;

    let released = sim.control(Method::DELETE, "/hold", None).await;
    assert_eq!(released["released"], 10);
    for request in held {
        assert_eq!(request.await.unwrap().unwrap(), StatusCode::OK);
    }
    assert_eq!(
        count(&sim, &company).await.status(),
        StatusCode::OK,
        "slots given back"
    );
}
