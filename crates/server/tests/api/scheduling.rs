//! The scheduler, stepped on a manual clock against the simulator over real HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_domain::{Clock, ManualClock, SystemClock};
use tributary_server::scheduler::Scheduler;
use tributary_simulator::Config;

use crate::helpers::{TestApp, seed_body, spawn_app_with_clocks};

fn unthrottled() -> Config {
    Config {
        seed: 0,
        throttle_per_minute: 1_000_000,
        tenant_throttle_per_minute: 1_000_000,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    }
}

/// Three resources, polled every minute.
fn three_resources(body: &mut Value) {
    let element_defaults = json!({
        "contacts": crate::helpers::contacts_poller()["contacts"].clone(),
        "tasks": crate::helpers::tasks_poller()["tasks"].clone(),
        "appointments": crate::helpers::seed_poller()["appointments"].clone(),
    });
    body["configuration"]["event.poller.configuration"] = element_defaults;
    body["configuration"]["event.poller.refresh_interval"] = json!(1);
}

async fn create_instances(app: &TestApp, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let mut body = seed_body(&app.code().await);
        three_resources(&mut body);
        let created = app
            .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await;
        ids.push(created["id"].as_i64().unwrap());
    }
    ids
}

/// Steps the scheduler until nothing more is due at the clock's time; returns the polls made.
async fn drain(scheduler: &Scheduler) -> Vec<tributary_server::poller::PollSummary> {
    let mut all = Vec::new();
    loop {
        let polls = scheduler.run_once().await;
        if polls.is_empty() {
            return all;
        }
        all.extend(polls);
    }
}

#[tokio::test]
async fn a_thousand_instances_with_three_resources_poll_every_minute_spread_over_it() {
    let start = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with_clocks(unthrottled(), Arc::new(SystemClock), clock.clone(), |s| {
        s.provider_requests_per_minute = Some(10_000_000);
    })
    .await;
    let ids = create_instances(&app, 1000).await;
    let scheduler = Scheduler::new(app.state.clone(), 64, Duration::from_secs(300));

    // The first minute, second by second.
    let mut per_second = BTreeMap::new();
    for second in 0..60 {
        clock.set_ms(start + second * 1_000 + 999);
        let polls = drain(&scheduler).await;
        for poll in &polls {
            assert!(poll.error.is_none(), "{poll:?}");
        }
        per_second.insert(second, polls.len());
    }
    let total: usize = per_second.values().sum();
    assert_eq!(
        total, 3_000,
        "every resource of every instance polled once in its first minute"
    );
    let busiest = per_second.values().max().copied().unwrap_or(0);
    let busy_seconds = per_second.values().filter(|n| **n > 0).count();
    assert!(
        busiest <= 150,
        "first polls are spread: {busiest} in the busiest second"
    );
    assert!(
        busy_seconds >= 50,
        "spread over the minute: {busy_seconds} seconds had polls"
    );

    // Every poller is due again one interval after its poll: the next minute polls all again.
    for second in 60..120 {
        clock.set_ms(start + second * 1_000 + 999);
        let polls = drain(&scheduler).await;
        per_second.insert(second, polls.len());
    }
    let second_minute: usize = (60..120).map(|s| per_second[&s]).sum();
    assert_eq!(second_minute, 3_000);
    let pollers = app
        .expect(
            Method::GET,
            &format!("/instances/{}/pollers", ids[0]),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(pollers.as_array().unwrap().len(), 3);
    assert!(
        pollers
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["failures"] == 0 && p["lastPollDate"].is_string())
    );
}

#[tokio::test]
async fn two_schedulers_on_one_database_never_poll_a_resource_twice() {
    let start = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let app = spawn_app_with_clocks(unthrottled(), Arc::new(SystemClock), clock.clone(), |s| {
        s.provider_requests_per_minute = Some(10_000_000);
    })
    .await;
    create_instances(&app, 20).await;
    clock.set_ms(start + 61_000);
    let first = Scheduler::new(app.state.clone(), 16, Duration::from_secs(300));
    let second = Scheduler::new(app.state.clone(), 16, Duration::from_secs(300));
    let (a, b) = tokio::join!(drain(&first), drain(&second));
    assert_eq!(a.len() + b.len(), 60, "each of the 60 pollers exactly once");
    assert!(!a.is_empty() && !b.is_empty(), "both took a share");
}

#[tokio::test]
async fn disabling_and_deleting_take_effect_at_the_next_claim_without_a_restart() {
    let start = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(start));
    let app =
        spawn_app_with_clocks(unthrottled(), Arc::new(SystemClock), clock.clone(), |_| {}).await;
    let ids = create_instances(&app, 3).await;
    let scheduler = Scheduler::new(app.state.clone(), 16, Duration::from_secs(300));
    let off = json!({"configuration": {"event.notification.enabled": false}});
    app.expect(
        Method::PATCH,
        &format!("/instances/{}", ids[0]),
        Some(&off),
        StatusCode::OK,
    )
    .await;
    app.expect(
        Method::DELETE,
        &format!("/instances/{}", ids[1]),
        None,
        StatusCode::OK,
    )
    .await;
    let mut fewer = json!({"configuration": {"event.poller.configuration": {
        "appointments": crate::helpers::seed_poller()["appointments"].clone()}}});
    fewer["configuration"]["event.poller.refresh_interval"] = json!(1);
    app.expect(
        Method::PATCH,
        &format!("/instances/{}", ids[2]),
        Some(&fewer),
        StatusCode::OK,
    )
    .await;
    clock.set_ms(start + 61_000);
    let polls = drain(&scheduler).await;
    assert_eq!(
        polls.len(),
        1,
        "only the third instance's one remaining resource"
    );
    assert_eq!(polls[0].resource, "appointments");
}
