//! QuickBooks' limits per company: a 429 Fault 3001 pauses the instance's polling for a minute
//! — no failure, no invalid instance, no provider call while it holds — and polling resumes
//! after it; Tributary never has more than 10 requests of one company in flight.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Config, quiet, spawn_qb};

#[tokio::test]
async fn a_throttled_company_pauses_the_instances_polling_for_a_minute_and_polling_resumes() {
    let app = spawn_qb(quiet()).await;
    let user = app.user().await;
    let (id, _) = app
        .create(&["customers"], "https://receiver.example/events")
        .await;
    app.poll(id).await;
    app.advance_secs(1);
    app.control(
        Method::POST,
        "/_sim/faults",
        json!({"status": 429, "resource": "cdc"}),
    )
    .await;
    let throttled = app.poll(id).await;
    let error = throttled["polls"][0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("paused until") && error.contains("(429): The request limit was reached"),
        "{throttled}"
    );
    let poller = &app.pollers(id).await["customers"];
    assert!(poller["pausedUntil"].is_string(), "{poller}");
    assert_eq!(poller["failures"], 0, "a pause is not a failure: {poller}");
    let calls = app.requests().await.len();
    app.advance_secs(30);
    let still = app.poll(id).await;
    assert!(
        still["polls"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("paused until"),
        "{still}"
    );
    assert_eq!(app.requests().await.len(), calls, "no call while paused");

    app.advance_secs(31);
    let made = app
        .write(&user, "customer", json!({"DisplayName": "After the wait"}))
        .await;
    app.advance_secs(1);
    let resumed = app.poll(id).await;
    assert!(resumed["polls"][0]["error"].is_null(), "{resumed}");
    assert_eq!(
        app.changes(id).await,
        [(
            "customers".to_owned(),
            made["Id"].as_str().unwrap().to_owned(),
            "CREATED".to_owned()
        )]
    );
    let instance = app.instance(id).await;
    assert_eq!(instance["valid"], true, "{instance}");
}

#[tokio::test]
async fn no_more_than_ten_requests_of_one_company_are_in_flight_at_once() {
    let app = spawn_qb(Config {
        concurrent: 10,
        ..quiet()
    })
    .await;
    let (_, token) = app
        .create(&["customers"], "https://receiver.example/events")
        .await;
    // The simulator keeps the next 12 requests waiting, in flight, until released.
    app.control(Method::POST, "/_sim/hold", json!({"count": 12}))
        .await;
    let calls: Vec<_> = (0..12)
        .map(|_| {
            let request = app
                .http
                .get(format!("{}/hubs/finance/customers?pageSize=1", app.api))
                .header(
                    "Authorization",
                    format!("User {}, Element {token}", crate::helpers::USER_SECRET),
                );
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    // Ten reach the simulator and wait there; the other two wait in Tributary's pacer.
    crate::helpers::eventually(
        std::time::Duration::from_secs(10),
        "ten requests held at the simulator",
        async || {
            let hold: Value = app
                .http
                .get(format!("{}/_sim/hold", app.sim.url()))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(
                hold["held"].as_u64().unwrap() <= 10,
                "at most ten in flight: {hold}"
            );
            hold["held"] == 10
        },
    )
    .await;
    app.control(Method::DELETE, "/_sim/hold", json!({})).await;
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK, "none over the limit");
    }
    let refused = app
        .requests()
        .await
        .into_iter()
        .filter(|r| r["status"] == 429)
        .count();
    assert_eq!(refused, 0);
}
