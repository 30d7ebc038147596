//! Injected faults happen exactly as many times as asked, to the resource asked, in the way asked.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::spawn_sim;

async fn sim_with_token() -> (crate::helpers::TestSim, String) {
    let sim = spawn_sim(tributary_simulator::Config::default()).await;
    let token = sim.access_token().await;
    (sim, token)
}

#[tokio::test]
async fn a_status_fault_hits_exactly_count_requests_and_the_log_says_so() {
    let (sim, token) = sim_with_token().await;
    let added = sim
        .control(
            Method::POST,
            "/faults",
            Some(json!({"status": 500, "count": 2})),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(sim.get(&token, "/contacts").await.status().as_u16());
        }
        out
    };
    assert_eq!(statuses, [500, 500, 200, 200]);
    let faults: Vec<Value> = sim
        .control(Method::GET, "/faults", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(faults.is_empty(), "used-up faults leave the queue");
    let log = sim.requests().await;
    let faulted: Vec<&Value> = log.iter().filter(|r| r["fault"] == "status").collect();
    assert_eq!(faulted.len(), 2);
    assert_eq!(faulted[0]["status"], 500);
}

#[tokio::test]
async fn a_fault_for_one_resource_leaves_the_others_alone() {
    let (sim, token) = sim_with_token().await;
    sim.control(
        Method::POST,
        "/faults",
        Some(json!({"status": 503, "count": 1, "resource": "tasks"})),
    )
    .await;
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
    assert_eq!(
        sim.get(&token, "/tasks").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(sim.get(&token, "/tasks").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_429_fault_answers_with_the_real_throttle_body() {
    let (sim, token) = sim_with_token().await;
    sim.control(Method::POST, "/faults", Some(json!({"status": 429})))
        .await;
    let response = sim.get(&token, "/contacts").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.json::<Value>().await.unwrap()["message"],
        "Quota Exceeded"
    );
}

#[tokio::test]
async fn a_reset_fault_closes_the_connection_without_an_answer() {
    let (sim, token) = sim_with_token().await;
    sim.control(Method::POST, "/faults", Some(json!({"kind": "reset"})))
        .await;
    let error = sim
        .http
        .get(format!("{}/crm/rest/v1/contacts", sim.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("the connection is closed");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    assert_eq!(
        sim.get(&token, "/contacts").await.status(),
        StatusCode::OK,
        "one request only"
    );
}

#[tokio::test]
async fn a_timeout_fault_never_answers() {
    let (sim, token) = sim_with_token().await;
    sim.control(Method::POST, "/faults", Some(json!({"kind": "timeout"})))
        .await;
    let error = sim
        .http
        .get(format!("{}/crm/rest/v1/contacts", sim.url))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("no answer");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_malformed_fault_answers_200_with_json_that_does_not_parse() {
    let (sim, token) = sim_with_token().await;
    sim.control(
        Method::POST,
        "/faults",
        Some(json!({"kind": "malformed", "resource": "contacts"})),
    )
    .await;
    let response = sim.get(&token, "/contacts").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("{\"contacts\": ["), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn an_html_fault_answers_a_front_end_error_page() {
    let (sim, token) = sim_with_token().await;
    sim.control(Method::POST, "/faults", Some(json!({"kind": "html"})))
        .await;
    let response = sim.get(&token, "/contacts").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<title>Error 502 (Bad Gateway)!!1</title>")
    );
}

#[tokio::test]
async fn a_latency_fault_delays_a_normal_answer() {
    let (sim, token) = sim_with_token().await;
    sim.control(Method::POST, "/faults", Some(json!({"latency_ms": 150})))
        .await;
    let started = std::time::Instant::now();
    let response = sim.get(&token, "/contacts").await;
    assert_eq!(response.status(), StatusCode::OK);
    // A sleep of at least 150 ms was injected: a lower bound, not a performance figure.
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn the_token_endpoint_can_be_faulted_too() {
    let (sim, _) = sim_with_token().await;
    sim.control(
        Method::POST,
        "/faults",
        Some(json!({"status": 502, "resource": "token"})),
    )
    .await;
    let response = sim.token(&[("grant_type", "refresh_token")]).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn bad_fault_requests_get_a_400_that_names_the_problem_and_queue_nothing() {
    let (sim, _) = sim_with_token().await;
    for (body, needle) in [
        ("{\"status\": 700}", "between 100 and 599"),
        (
            "{\"status\": 500, \"resource\": \"widgets\"}",
            "unknown resource",
        ),
        ("{\"kind\": \"explode\"}", "unknown variant"),
        ("{\"status\": 500, \"count\": 0}", "at least 1"),
        ("{\"status\": \"high\"}", "invalid type"),
        ("{\"status\": 500, \"colour\": \"red\"}", "unknown field"),
        ("not json", "Invalid request body"),
    ] {
        let response = sim
            .http
            .post(format!("{}/_sim/faults", sim.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let message = response.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let faults: Vec<Value> = sim
        .control(Method::GET, "/faults", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(faults.is_empty());
}

#[tokio::test]
async fn clearing_faults_empties_the_queue() {
    let (sim, token) = sim_with_token().await;
    sim.control(
        Method::POST,
        "/faults",
        Some(json!({"status": 500, "count": 5})),
    )
    .await;
    assert_eq!(
        sim.control(Method::DELETE, "/faults", None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(sim.get(&token, "/contacts").await.status(), StatusCode::OK);
}
