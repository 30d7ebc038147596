//! What every API request must carry, and the Fault inside a 200 (`providers.md` §4.1, §4.8).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_simulator::quickbooks::Config;

use super::{fault, quiet, spawn_qb};

const COUNT: &str = "select count(*) from Customer";

#[tokio::test]
async fn a_minorversion_below_75_or_none_is_a_validation_fault() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    let url = format!("{}/v3/company/{}/query", sim.url, company.realm);
    for minor in [None, Some("74"), Some("1")] {
        let mut request = sim
            .http
            .get(&url)
            .bearer_auth(&company.token)
            .header("accept", "application/json")
            .query(&[("query", COUNT)]);
        if let Some(minor) = minor {
            request = request.query(&[("minorversion", minor)]);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{minor:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            fault(&body),
            (
                "ValidationFault".into(),
                "2010".into(),
                "minorversion".into()
            )
        );
        assert!(body["time"].as_str().unwrap().ends_with("-08:00"));
    }
    let current = sim
        .http
        .get(&url)
        .bearer_auth(&company.token)
        .header("accept", "application/json")
        .query(&[("query", COUNT), ("minorversion", "75")])
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::OK);
    assert!(current.headers().contains_key("intuit_tid"));
}

#[tokio::test]
async fn a_request_that_does_not_ask_for_json_is_refused_with_a_fault_saying_so() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    let response = sim
        .http
        .get(format!("{}/v3/company/{}/query", sim.url, company.realm))
        .bearer_auth(&company.token)
        .header("accept", "application/xml")
        .query(&[("query", COUNT), ("minorversion", "75")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(fault(&body).2, "Accept");
}

#[tokio::test]
async fn a_fault_can_arrive_inside_an_http_200() {
    let sim = spawn_qb(quiet()).await;
    let company = sim.sign_in(None).await;
    sim.control(
        Method::POST,
        "/faults",
        Some(json!({"kind": "error_in_200", "resource": "query"})),
    )
    .await;
    let response = sim
        .api(&company, Method::GET, "/query", &[("query", COUNT)], None)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "a 200 …");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        fault(&body),
        ("SystemFault".into(), "10000".into(), String::new()),
        "… whose body is a Fault"
    );
    let next = sim.query(&company, COUNT).await;
    assert_eq!(
        next["QueryResponse"]["totalCount"], 0,
        "one fault, then normal"
    );
}

#[tokio::test]
async fn with_a_fault_rate_requests_meet_faults_inside_200_by_chance() {
    let sim = spawn_qb(Config {
        fault_in_200_rate: 1.0,
        ..quiet()
    })
    .await;
    let company = sim.sign_in(None).await;
    for path in ["/query", "/cdc"] {
        let response = sim
            .api(
                &company,
                Method::GET,
                path,
                &[
                    ("query", COUNT),
                    ("entities", "Customer"),
                    ("changedSince", "2026-11-28"),
                ],
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(fault(&body).1, "10000", "{path}");
    }
}
