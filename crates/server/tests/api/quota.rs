//! Quota-aware scheduling: many instances of one Keap app share its per-minute budget. The
//! simulator enforces that budget (a 429 past it) on the manual clock it shares with the
//! server; the scheduler is stepped second by second. The server's own pacer is set out of the
//! way (it paces on real time), so what keeps the app under its budget here is the scheduler's
//! plan alone.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_server::scheduler::Scheduler;
use tributary_server::settings::PollQuota;
use tributary_simulator::Config;

use crate::helpers::{
    ORG_SECRET, TestApp, USER_SECRET, seed_body, spawn_app_on_manual_clock, submit_sign_in,
};

const MINUTE: i64 = 60_000;

/// Keap's simulator with `per_minute` requests a rolling minute for its one app, no seed
/// records, and no other limit.
fn keap_allowing(per_minute: u32) -> Config {
    Config {
        seed: 0,
        throttle_per_minute: per_minute,
        tenant_throttle_per_minute: 1_000_000,
        quota_per_day: u32::MAX,
        tenant_quota_per_day: u32::MAX,
        ..Config::default()
    }
}

/// A server whose scheduled polls may use `poll_quota` requests a minute of each app, on
/// `database` (SQLite of its own when `None`).
async fn spawn_on(sim_per_minute: u32, poll_quota: u32, database: Option<String>) -> TestApp {
    spawn_app_on_manual_clock(keap_allowing(sim_per_minute), |s| {
        s.provider_requests_per_minute = Some(10_000_000);
        s.poll_quota = PollQuota::PerMinute(poll_quota);
        if let Some(url) = database {
            s.database_url = url;
            s.master_key = Some(crate::backends::MASTER_KEY.to_owned().into());
        }
    })
    .await
}

async fn spawn(sim_per_minute: u32, poll_quota: u32) -> TestApp {
    spawn_on(sim_per_minute, poll_quota, None).await
}

/// `count` instances of the one app, each polling contacts, tasks and appointments every
/// minute.
async fn create_instances(app: &TestApp, count: usize) {
    for _ in 0..count {
        let mut body = seed_body(&app.code().await);
        body["configuration"]["event.poller.configuration"] = json!({
            "contacts": crate::helpers::contacts_poller()["contacts"].clone(),
            "tasks": crate::helpers::tasks_poller()["tasks"].clone(),
            "appointments": crate::helpers::seed_poller()["appointments"].clone(),
        });
        body["configuration"]["event.poller.refresh_interval"] = json!(1);
        app.expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await;
    }
}

/// Moves the clock `seconds` seconds, a second at a time, running every poll due at each;
/// `each_second` runs before each step (to make changes at the provider).
async fn run_seconds(
    app: &TestApp,
    scheduler: &Scheduler,
    seconds: i64,
    mut each_second: impl AsyncFnMut(i64),
) {
    for second in 0..seconds {
        each_second(second).await;
        app.advance_ms(1_000);
        while !scheduler.run_once().await.is_empty() {}
    }
}

/// The simulator's API requests (not its OAuth or control calls): (start ms, instance token,
/// path, status).
async fn api_requests(app: &TestApp) -> Vec<(i64, String, String, u16)> {
    app.sim_requests()
        .await
        .iter()
        .filter(|r| r["token"].is_string() && !r["path"].as_str().unwrap().starts_with("/_sim"))
        .map(|r| {
            (
                r["started_ms"].as_i64().unwrap(),
                r["token"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
                u16::try_from(r["status"].as_u64().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// The most requests any rolling minute from `from_ms` on held.
fn busiest_minute(requests: &[(i64, String, String, u16)], from_ms: i64) -> usize {
    let times: Vec<i64> = requests
        .iter()
        .map(|r| r.0)
        .filter(|t| *t >= from_ms)
        .collect();
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < start + MINUTE)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Each poller's poll moments (one per distinct moment of its instance and resource path).
fn polls_by_poller(
    requests: &[(i64, String, String, u16)],
) -> BTreeMap<(String, String), Vec<i64>> {
    let mut polls: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for (at, token, path, _) in requests {
        let moments = polls.entry((token.clone(), path.clone())).or_default();
        if moments.last() != Some(at) {
            moments.push(*at);
        }
    }
    polls
}

async fn quota_of(app: &TestApp) -> Value {
    let quotas = app
        .expect(
            Method::GET,
            "/elements/infusionsoftrest/quota",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(quotas.as_array().unwrap().len(), 1, "one app: {quotas}");
    quotas[0].clone()
}

#[tokio::test]
async fn a_hundred_and_twenty_pollers_on_a_budget_of_sixty_a_minute_meet_no_429() {
    a_hundred_and_twenty_pollers_meet_no_429(spawn(60, 48).await).await;
}

#[tokio::test]
async fn a_hundred_and_twenty_pollers_on_a_budget_of_sixty_a_minute_meet_no_429_on_postgres() {
    let database = crate::backends::PostgresDatabase::create().await;
    let app = spawn_on(60, 48, Some(database.url.clone())).await;
    // On a task of its own, so a failure still drops the database.
    let outcome = tokio::spawn(a_hundred_and_twenty_pollers_meet_no_429(app)).await;
    database.drop_it().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn a_hundred_and_twenty_pollers_meet_no_429(app: TestApp) {
    // 40 instances × 3 resources every minute: 120 requests a minute wanted, 60 allowed by
    // the provider, 48 planned (80 %).
    create_instances(&app, 40).await;
    let start = app.state.now_ms();
    let scheduler = Scheduler::new(app.state.clone(), 64, Duration::from_secs(300));
    run_seconds(&app, &scheduler, 8 * 60, async |_| {}).await;

    let requests = api_requests(&app).await;
    let throttled = requests.iter().filter(|r| r.3 == 429).count();
    assert_eq!(throttled, 0, "no 429 at all, warming up included");
    let busiest = busiest_minute(&requests, start);
    assert!(
        busiest <= 60,
        "{busiest} requests in the busiest rolling minute"
    );
    let quota = quota_of(&app).await;
    assert_eq!(quota["pollers"], 120, "{quota}");
    assert_eq!(quota["allowedPerMinute"], 48.0);
    let stretch = quota["stretch"].as_f64().unwrap();
    assert!(
        (2.6..=3.2).contains(&stretch),
        "120 a minute projected, 48 allowed, 43.2 planned: {quota}"
    );
    // Every poller polled in the last minutes: none starves.
    let now = app.state.now_ms();
    let polls = polls_by_poller(&requests);
    assert_eq!(polls.len(), 120, "every poller polled");
    for (poller, moments) in &polls {
        let last = *moments.last().unwrap();
        assert!(
            now - last <= 2 * (stretch * MINUTE as f64) as i64,
            "{poller:?} last polled {} s ago",
            (now - last) / 1_000
        );
    }
    // The polls used what the plan allows, no less: the steady state's minutes (the last
    // three) hold about 43 requests each.
    let steady: usize = requests.iter().filter(|r| r.0 > now - 3 * MINUTE).count();
    assert!(
        (110..=150).contains(&steady),
        "{steady} requests in the last three minutes"
    );
}

#[tokio::test]
async fn an_over_subscribed_app_stretches_every_interval_and_polls_changed_resources_first() {
    // 20 instances × 3 resources: 60 requests a minute wanted, 24 planned.
    let app = spawn(30, 24).await;
    create_instances(&app, 20).await;
    let scheduler = Scheduler::new(app.state.clone(), 64, Duration::from_secs(300));
    // A new contact every 20 seconds: every contacts poller finds changes at each poll; tasks
    // and appointments stay idle.
    let sim = app.sim.url();
    let http = app.http.clone();
    let new_contact = async |second: i64| {
        if second % 20 == 0 {
            let created = http
                .post(format!("{sim}/_sim/records"))
                .json(&json!({"resource": "contacts", "count": 1}))
                .send()
                .await
                .unwrap();
            assert!(created.status().is_success());
        }
    };
    run_seconds(&app, &scheduler, 12 * 60, new_contact).await;
    let now = app.state.now_ms();

    let quota = quota_of(&app).await;
    let stretch = quota["stretch"].as_f64().unwrap();
    assert!(stretch > 2.0, "60 a minute projected, 24 allowed: {quota}");
    assert!(
        quota["projectedPerMinute"].as_f64().unwrap() >= 60.0,
        "{quota}"
    );
    assert_eq!(quota["busyPollers"], 20, "the contacts pollers: {quota}");
    assert!(quota["plannedPerMinute"].as_f64().unwrap() <= 24.0 + 1e-9);

    let requests = api_requests(&app).await;
    assert_eq!(requests.iter().filter(|r| r.3 == 429).count(), 0);
    // Over the last six minutes, every poller was polled (none starves).
    let recent: Vec<_> = requests
        .iter()
        .filter(|r| r.0 > now - 6 * MINUTE)
        .cloned()
        .collect();
    let polls = polls_by_poller(&recent);
    assert_eq!(
        polls.len(),
        60,
        "every poller polled in the last six minutes"
    );
    let mean_gap = |contacts: bool| {
        let gaps: Vec<i64> = polls
            .iter()
            .filter(|((_, path), _)| path.ends_with("/contacts") == contacts)
            .flat_map(|(_, moments)| moments.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>())
            .collect();
        assert!(!gaps.is_empty());
        gaps.iter().sum::<i64>() as f64 / gaps.len() as f64
    };
    let (busy, idle) = (mean_gap(true), mean_gap(false));
    // The same factor for all: in the steady state, busy and idle pollers come as often.
    let stretched = stretch * MINUTE as f64;
    for gap in [busy, idle] {
        assert!(
            (gap - stretched).abs() < 0.15 * stretched,
            "every {:.0} s, the interval stretched is {:.0} s",
            gap / 1_000.0,
            stretched / 1_000.0
        );
    }

    // Everything due at once, more than the budget allows at once: the resources with recent
    // changes are polled first, and every idle one follows.
    let due = app.state.now_ms();
    app.state.store.set_all_pollers_due(due).await.unwrap();
    run_seconds(&app, &scheduler, 200, async |_| {}).await;
    let requests = api_requests(&app).await;
    let after: Vec<_> = requests.iter().filter(|r| r.0 > due).cloned().collect();
    let firsts = polls_by_poller(&after);
    assert_eq!(firsts.len(), 60, "every poller polled again");
    let mean_first = |contacts: bool| {
        let firsts: Vec<i64> = firsts
            .iter()
            .filter(|((_, path), _)| path.ends_with("/contacts") == contacts)
            .map(|(_, moments)| moments[0] - due)
            .collect();
        firsts.iter().sum::<i64>() as f64 / firsts.len() as f64
    };
    let (busy, idle) = (mean_first(true), mean_first(false));
    assert!(
        busy < idle / 2.0,
        "changed resources first: {:.0} s after, idle ones {:.0} s after",
        busy / 1_000.0,
        idle / 1_000.0
    );
    assert_eq!(after.iter().filter(|r| r.3 == 429).count(), 0);

    // `/metrics` shows the same projection.
    let metrics = app.metrics().await;
    assert_eq!(metrics.value("tributary_quota_allowed_per_minute"), 24.0);
    assert!(metrics.value("tributary_quota_projected_per_minute") >= 60.0);
    assert!(metrics.value("tributary_quota_stretch") > 2.0);

    // And the home page, a line for the app.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let origin = app.api.trim_end_matches("/elements/api-v2").to_owned();
    let signed_in = submit_sign_in(&http, &origin, USER_SECRET, ORG_SECRET).await;
    let session = signed_in
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tributary_session="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        .unwrap();
    let home = http
        .get(format!("{origin}/"))
        .header(
            reqwest::header::COOKIE,
            format!("tributary_session={session}"),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "Infusionsoft REST app <code>{}</code>: 60 requests/min projected of 24 allowed — \
         intervals stretched ×{stretch:.2}",
        quota["app"].as_str().unwrap()
    );
    assert!(home.contains(&line), "{line} in {home}");
}

#[tokio::test]
async fn the_quota_of_an_unknown_element_is_a_404_naming_it() {
    let app = spawn(60, 48).await;
    let error = app
        .expect(
            Method::GET,
            "/elements/nosuchthing/quota",
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert!(error.to_string().contains("nosuchthing"), "{error}");
    let none = app
        .expect(
            Method::GET,
            "/elements/infusionsoftrest/quota",
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(none, json!([]), "no app polled yet");
}

/// The warm-up: the app's projection grows while its pollers first appear (and their costs
/// are learned), so the polls admitted first plan their next ones with a smaller stretch than
/// the app's. Those come round again early and crowd out the pollers still waiting their first
/// turn. Once every poller is known, no gap between two polls of a poller in the second half
/// is much longer than the interval as stretched (the quota bench's figure, here small).
#[tokio::test]
async fn after_the_warm_up_no_poller_waits_much_longer_than_the_stretched_interval() {
    // 40 instances × 3 resources every minute, 48 requests a minute allowed; every poll after
    // a resource's first also sweeps its whole list (a sweep due every minute, as the bench's
    // hourly one is once intervals stretch past the hour): the polls cost more than an unknown
    // poller is expected to, and the stretch grows as that is learned.
    let app = spawn_app_on_manual_clock(keap_allowing(60), |s| {
        s.provider_requests_per_minute = Some(10_000_000);
        s.poll_quota = PollQuota::PerMinute(48);
        s.sweep_interval = Duration::from_secs(60);
    })
    .await;
    create_instances(&app, 40).await;
    let start = app.state.now_ms();
    let scheduler = Scheduler::new(app.state.clone(), 64, Duration::from_secs(300));
    run_seconds(&app, &scheduler, 20 * 60, async |_| {}).await;
    let end = app.state.now_ms();

    let quota = quota_of(&app).await;
    let stretched = (quota["stretch"].as_f64().unwrap() * MINUTE as f64) as i64;
    let requests = api_requests(&app).await;
    assert_eq!(requests.iter().filter(|r| r.3 == 429).count(), 0);
    let half = start + (end - start) / 2;
    let polls = polls_by_poller(&requests);
    assert_eq!(polls.len(), 120, "every poller polled");
    let (poller, longest) = polls
        .iter()
        .flat_map(|(poller, moments)| {
            moments
                .windows(2)
                .filter(|w| w[1] > half)
                .map(move |w| (poller, w[1] - w[0]))
        })
        .max_by_key(|(_, gap)| *gap)
        .unwrap();
    assert!(
        longest * 10 <= stretched * 12,
        "{poller:?} waited {} s between two polls; the interval stretched is {} s",
        longest / 1_000,
        stretched / 1_000
    );
}
