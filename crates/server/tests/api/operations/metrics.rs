//! `/metrics` after a poll and a delivery: valid OpenMetrics text, every metric name of before,
//! the latency histograms with their buckets, and no secret.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tributary_simulator::Config;

use super::exposition::{Family, parse};
use crate::helpers::{
    ORG_SECRET, TestApp, USER_SECRET, contacts_poller, seed_body, spawn_app_on_manual_clock,
};
// Used here, and by `logs` from here.
pub(super) use crate::helpers::{deliver_until, receiver};

/// An app delivering to loopback, an instance polling contacts into `callback`, a first poll
/// (cursor set) and three new contacts polled: returns the app and the instance id.
pub(super) async fn polled_instance(callback: &str) -> (TestApp, i64) {
    let app = spawn_app_on_manual_clock(
        Config {
            seed: 0,
            ..Config::default()
        },
        |s| s.allow_private_callbacks = true,
    )
    .await;
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = json!(callback);
    body["configuration"]["event.poller.configuration"] = contacts_poller();
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    let id = created["id"].as_i64().unwrap();
    let poll = format!("/instances/{id}/events/poll");
    app.expect(Method::POST, &poll, None, StatusCode::OK).await;
    // The next changes must be after the cursor's second.
    app.advance_ms(1_000);
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "contacts", "count": 3}))
        .send()
        .await
        .unwrap();
    let summary = app.expect(Method::POST, &poll, None, StatusCode::OK).await;
    assert_eq!(summary["polls"][0]["events"], 3, "{summary}");
    (app, id)
}

/// The series of a family whose labels include every `(key, value)` given.
fn count_of(family: &Family, suffix: &str, labels: &[(&str, &str)]) -> f64 {
    family
        .samples
        .iter()
        .filter(|s| s.name.ends_with(suffix))
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

#[tokio::test]
async fn metrics_parse_as_openmetrics_and_hold_latency_histograms_after_a_poll_and_a_delivery() {
    let (callback, inbox) = receiver().await;
    let (app, _id) = polled_instance(&callback).await;
    deliver_until(&app, &inbox, 1).await;

    let response = app
        .http
        .get(format!(
            "{}/metrics",
            app.api.trim_end_matches("/elements/api-v2")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let families = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    // Every series name /metrics had before it was written through the client crate.
    let names: Vec<&str> = families
        .values()
        .flat_map(|f| f.samples.iter().map(|s| s.name.as_str()))
        .collect();
    for name in [
        "tributary_provider_pacing_waits_total",
        "tributary_provider_pacing_wait_seconds_total",
        "tributary_provider_throttled_total",
        "tributary_notifications_delivered_total",
        "tributary_delivery_failed_attempts_total",
        "tributary_notifications_retried_total",
        "tributary_notifications_failed_total",
        "tributary_notifications_leased_at_queue_total",
        "tributary_notifications_leased_at_commit_total",
        "tributary_delivery_latency_seconds_sum",
        "tributary_delivery_latency_seconds_count",
        "tributary_poll_date_warnings_total",
        "tributary_notifications_queued",
        "tributary_deletes_lost_total",
        "tributary_notifications_in_flight",
    ] {
        assert!(names.contains(&name), "{name} is exposed:\n{text}");
    }

    let histogram = |name: &str| {
        let family = families
            .get(name)
            .unwrap_or_else(|| panic!("{name}:\n{text}"));
        assert_eq!(family.kind, "histogram", "{name}");
        assert!(
            family
                .samples
                .iter()
                .filter(|s| s.name.ends_with("_bucket"))
                .count()
                > 5,
            "{name} has buckets"
        );
        family
    };
    let delivery = histogram("tributary_delivery_latency_seconds");
    assert_eq!(count_of(delivery, "_count", &[]), 1.0, "one delivery");
    let polls = histogram("tributary_poll_duration_seconds");
    let contacts = [("element", "infusionsoftrest"), ("resource", "contacts")];
    assert_eq!(
        count_of(polls, "_count", &contacts),
        2.0,
        "two polls of contacts"
    );
    let requests = histogram("tributary_provider_request_duration_seconds");
    let answered = [("element", "infusionsoftrest"), ("status", "200")];
    assert!(count_of(requests, "_count", &answered) >= 2.0, "{text}");
    assert!(
        count_of(requests, "_bucket", &[("le", "+Inf"), ("status", "200")])
            >= count_of(requests, "_bucket", &[("le", "1.0"), ("status", "200")]),
        "{text}"
    );

    for secret in [
        ORG_SECRET,
        USER_SECRET,
        "tributary-demo-secret",
        "MySecretEventSignatureKey",
    ] {
        assert!(!text.contains(secret), "no secret in the metrics");
    }
}

#[test]
fn the_exposition_reader_refuses_what_prometheus_would() {
    let good = "# HELP a_seconds A.\n# TYPE a_seconds histogram\n\
                a_seconds_sum 1.5\na_seconds_count 2\n\
                a_seconds_bucket{le=\"1.0\"} 1\na_seconds_bucket{le=\"+Inf\"} 2\n# EOF";
    assert!(parse(good).is_ok());
    for bad in [
        good.replace("\n# EOF", ""),
        good.replace("a_seconds_count 2", "a_seconds_count 3"),
        good.replace("le=\"1.0\"} 1", "le=\"1.0\"} 3"),
        good.replace("a_seconds_sum 1.5", "a_seconds_total 1.5"),
        good.replace("a_seconds_sum 1.5", "a_seconds_sum one"),
        "# TYPE c counter\nc_total{x=\"unterminated} 1\n# EOF".to_owned(),
    ] {
        assert!(parse(&bad).is_err(), "{bad}");
    }
}
