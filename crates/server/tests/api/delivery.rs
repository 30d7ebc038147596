//! Delivery to a real receiver on port 0: the envelope, signatures, batching, retries, SSRF.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tributary_domain::delivery::RetrySchedule;
use tributary_server::AppState;
use tributary_server::delivery::Deliverer;
use tributary_server::secrets::Vault;
use tributary_simulator::Config;

use crate::helpers::{
    TestApp, contacts_poller, eventually, receiver, receiver_answering, receiver_failing_first,
    seed_body, spawn_app_on_manual_clock, tasks_poller,
};

/// The server and the simulator on one manual clock (moved by `deliver` past each retry's
/// wait), retrying three times after 30 ms.
async fn app(allow_private: bool) -> TestApp {
    spawn_app_on_manual_clock(
        Config {
            seed: 0,
            ..Config::default()
        },
        |s| {
            s.allow_private_callbacks = allow_private;
            s.retry_schedule = RetrySchedule::parse("30ms,30ms,30ms").unwrap();
        },
    )
    .await
}

/// An instance polling contacts, delivering to `callback`; returns its id after a first poll.
async fn instance(app: &TestApp, callback: &str) -> i64 {
    instance_with(app, callback, |_| {}).await
}

#[tokio::test]
async fn after_a_410_a_new_callback_url_takes_the_waiting_notifications_and_redeliveries() {
    let app = app(true).await;
    let (gone_url, gone) = receiver_answering(AxumStatus::GONE).await;
    let (new_url, new) = receiver().await;
    let id = instance(&app, &gone_url).await;
    changes(&app, id, 1).await;
    deliver(&app).await;
    app.advance_ms(1_000); // the next changes in a later second than the cursor
    changes(&app, id, 1).await;
    deliver(&app).await;
    assert_eq!(gone.len(), 1, "one 410, then nothing more");

    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&json!({"configuration": {"event.notification.callback.url": new_url}})),
        StatusCode::OK,
    )
    .await;
    deliver(&app).await;
    assert_eq!(
        new.len(),
        1,
        "the notification waiting behind the 410 went to the new URL, without a resume"
    );
    let events = get(&app, &format!("/instances/{id}/events")).await;
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["deliveryStatus"] == "FAILED")
        .expect("the 410'd event stays FAILED");
    app.expect(
        Method::POST,
        &format!(
            "/instances/{id}/events/{}/redeliver",
            failed["eventId"].as_str().unwrap()
        ),
        None,
        StatusCode::OK,
    )
    .await;
    deliver(&app).await;
    assert_eq!(
        (gone.len(), new.len()),
        (1, 2),
        "a redelivery goes where the instance's events go now"
    );
    let statuses = statuses(&app, id).await;
    assert_eq!(statuses, ["NOTIFIED", "NOTIFIED"]);
}

/// As [`instance`], with the create body changed by `adjust` first.
async fn instance_with(app: &TestApp, callback: &str, adjust: impl FnOnce(&mut Value)) -> i64 {
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = json!(callback);
    body["configuration"]["event.poller.configuration"] = contacts_poller();
    adjust(&mut body);
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    let id = created["id"].as_i64().unwrap();
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await;
    app.advance_ms(1_000); // the next changes in a later second than the cursor
    id
}

async fn changes(app: &TestApp, id: i64, count: usize) {
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "contacts", "count": count}))
        .send()
        .await
        .unwrap();
    let summary = app
        .expect(
            Method::POST,
            &format!("/instances/{id}/events/poll"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(summary["polls"][0]["events"], count, "{summary}");
}

/// Steps the deliverer through the first attempt and every retry of the schedule (30 ms,
/// ±20 % jitter: the clock moves 100 ms between rounds), so what is left is what stays.
async fn deliver(app: &TestApp) {
    app.deliver(4, 100).await;
}

#[tokio::test]
async fn a_notification_carries_the_cloud_elements_envelope_and_a_signature_that_verifies() {
    let app = app(true).await;
    let (url, inbox) = receiver().await;
    let id = instance(&app, &url).await;
    changes(&app, id, 3).await;
    deliver(&app).await;
    let received = inbox.received();
    assert_eq!(
        received.len(),
        1,
        "three events of one poll: one notification"
    );
    let (headers, raw) = &received[0];
    // The signature, recomputed here from the raw bytes.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"MySecretEventSignatureKey").unwrap();
    mac.update(raw);
    let expected = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(headers["elements-webhook-signature"], expected.as_str());
    assert_eq!(headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(raw).unwrap();
    assert_eq!(
        headers["elements-webhook-id"],
        body["message"]["eventId"].as_str().unwrap()
    );
    assert_eq!(
        body["topic"],
        format!("instance-{id}-infusionsoftrest-events")
    );
    assert_eq!(
        (body["severity"].as_str(), body["action"].as_str()),
        (Some("medium"), Some("create"))
    );
    let message = &body["message"];
    assert_eq!(message["elementKey"], "infusionsoftrest");
    assert_eq!(
        (
            message["instanceId"].as_i64(),
            message["instance_id"].as_i64()
        ),
        (Some(id), Some(id))
    );
    assert_eq!(message["instanceName"], "API Instance");
    assert_eq!(message["instanceTags"], json!(["Docs"]));
    assert_eq!(message["raw"]["objectType"], "contacts");
    assert_eq!(message["raw"]["contacts"].as_array().unwrap().len(), 3);
    assert!(message["raw"]["pollDate"].is_i64());
    let events = message["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    for event in events {
        assert_eq!(event["objectType"], "contacts");
        assert_eq!(event["eventType"], "CREATED");
        assert_eq!(event["hubKey"], "crm");
        assert!(event["date"].as_str().unwrap().ends_with('Z'));
    }
    let stored = get(&app, &format!("/instances/{id}/events")).await;
    assert!(
        stored
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["deliveryStatus"] == "NOTIFIED"),
        "{stored}"
    );
}

#[tokio::test]
async fn twenty_five_events_go_out_as_ten_ten_and_five() {
    let app = app(true).await;
    let (url, inbox) = receiver().await;
    let id = instance(&app, &url).await;
    changes(&app, id, 25).await;
    deliver(&app).await;
    let mut sizes: Vec<usize> = inbox
        .bodies()
        .iter()
        .map(|body| body["message"]["events"].as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 10, 10]);
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_notification_on_the_fourth_attempt_once() {
    let app = app(true).await;
    let (url, inbox) = receiver_failing_first(3).await;
    let id = instance(&app, &url).await;
    changes(&app, id, 2).await;
    deliver(&app).await;
    let received = inbox.received();
    assert_eq!(received.len(), 4, "three failures, then the delivery");
    let ids: Vec<&str> = received
        .iter()
        .map(|(h, _)| h["elements-webhook-id"].to_str().unwrap())
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "the same notification each time"
    );
    let stored = get(&app, &format!("/instances/{id}/events")).await;
    assert!(
        stored
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["deliveryStatus"] == "NOTIFIED")
    );
    let metrics = app.metrics().await;
    for (name, value) in [
        ("tributary_notifications_delivered_total", 1.0),
        ("tributary_delivery_failed_attempts_total", 3.0),
        ("tributary_notifications_retried_total", 3.0),
        ("tributary_notifications_failed_total", 0.0),
        ("tributary_delivery_latency_seconds_count", 1.0),
        ("tributary_notifications_queued", 0.0),
    ] {
        assert_eq!(metrics.value(name), value, "{name}");
    }
    assert!(metrics.value("tributary_delivery_latency_seconds_sum") > 0.0);
}

/// A GET through the API that must answer 200; its JSON.
async fn get(app: &TestApp, path: &str) -> Value {
    app.expect(Method::GET, path, None, StatusCode::OK).await
}

/// The delivery status of each of an instance's events, oldest first.
async fn statuses(app: &TestApp, id: i64) -> Vec<String> {
    get(app, &format!("/instances/{id}/events"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["deliveryStatus"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_receiver_down_past_the_last_retry_leaves_the_notification_failed() {
    let app = app(true).await;
    let (url, inbox) = receiver_failing_first(100).await;
    let id = instance(&app, &url).await;
    changes(&app, id, 1).await;
    deliver(&app).await;
    assert_eq!(inbox.len(), 4, "the first attempt and three retries");
    let metrics = app.metrics().await;
    assert_eq!(metrics.value("tributary_notifications_failed_total"), 1.0);
    assert_eq!(
        metrics.value("tributary_notifications_delivered_total"),
        0.0
    );
    let stored = get(&app, &format!("/instances/{id}/events")).await;
    assert_eq!(stored[0]["deliveryStatus"], "FAILED");
}

#[tokio::test]
async fn a_callback_on_loopback_is_refused_without_the_allow_flag() {
    refused_without_the_allow_flag(|url| url, "127.0.0.1").await;
}

/// A hostname is checked after DNS: `localhost` reaches the same loopback receiver only if the
/// guard forgot to look at what it resolved to.
#[tokio::test]
async fn a_callback_hostname_resolving_to_loopback_is_refused_after_dns() {
    refused_without_the_allow_flag(|url| url.replace("127.0.0.1", "localhost"), "private").await;
}

async fn refused_without_the_allow_flag(callback: impl Fn(String) -> String, named: &str) {
    let app = app(false).await;
    let (url, inbox) = receiver().await;
    let id = instance(&app, &callback(url)).await;
    changes(&app, id, 1).await;
    deliver(&app).await;
    assert!(inbox.is_empty(), "nothing reached the loopback receiver");
    let stored = get(&app, &format!("/instances/{id}/events")).await;
    assert_eq!(stored[0]["deliveryStatus"], "FAILED");
    let notification = stored[0]["notificationId"].as_str().unwrap();
    let attempts = app.state.store.attempts(notification).await.unwrap();
    assert_eq!(attempts.len(), 4);
    let error = attempts[0].error.clone().unwrap();
    assert!(
        error.contains(named) && error.contains("private"),
        "{error}"
    );
}

#[tokio::test]
async fn a_failed_notification_is_recovered_once_the_receiver_is_back() {
    let app = app(true).await;
    let (url, inbox) = receiver_failing_first(100).await;
    let id = instance(&app, &url).await;
    changes(&app, id, 2).await;
    deliver(&app).await;
    let failed = get(&app, &format!("/instances/{id}/events?status=failed")).await;
    assert_eq!(failed.as_array().unwrap().len(), 2);
    inbox.fail_next(0);
    let recovered = app
        .expect(
            Method::POST,
            &format!("/instances/{id}/events/recover?since=2020-01-01T00:00:00Z"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        recovered["requeued"], 1,
        "one notification carried both events"
    );
    deliver(&app).await;
    let notified = get(&app, &format!("/instances/{id}/events?status=NOTIFIED")).await;
    assert_eq!(notified.as_array().unwrap().len(), 2);
    // The event shows every attempt: four failures, then the delivery.
    let event_id = notified[0]["eventId"].as_str().unwrap();
    let detail = get(&app, &format!("/instances/{id}/events/{event_id}")).await;
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 5);
    assert_eq!(attempts[0]["statusCode"], 503);
    assert_eq!(attempts[0]["responseExcerpt"], "down for maintenance");
    assert_eq!(attempts[4]["statusCode"], 200);
    let same = get(&app, &format!("/instances/events/{event_id}")).await;
    assert_eq!(same["eventId"], event_id);
    assert_eq!(inbox.len(), 5);
}

#[tokio::test]
async fn redelivery_sends_a_delivered_notification_again() {
    let app = app(true).await;
    let (url, inbox) = receiver().await;
    let id = instance(&app, &url).await;
    changes(&app, id, 1).await;
    deliver(&app).await;
    let events = get(&app, &format!("/instances/{id}/events")).await;
    let event_id = events[0]["eventId"].as_str().unwrap();
    let again = app
        .expect(
            Method::POST,
            &format!("/instances/{id}/events/{event_id}/redeliver"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(again["status"], "QUEUED");
    deliver(&app).await;
    let received = inbox.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].0["elements-webhook-id"], received[1].0["elements-webhook-id"],
        "the same notification"
    );
    assert_eq!(received[0].1, received[1].1, "the same bytes");
    app.expect(
        Method::POST,
        &format!("/instances/{id}/events/nope/redeliver"),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_event_log_filters_and_refuses_bad_filters_by_name() {
    let app = app(true).await;
    let (url, _inbox) = receiver().await;
    let id = instance(&app, &url).await;
    changes(&app, id, 3).await;
    let all = get(
        &app,
        "/instances/events?objectType=contacts&eventType=created",
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let none = get(&app, &format!("/instances/{id}/events?objectType=tasks")).await;
    assert_eq!(none, json!([]));
    let paged = get(&app, &format!("/instances/{id}/events?pageSize=2")).await;
    let after = paged[1]["sequence"].as_i64().unwrap();
    let rest = get(&app, &format!("/instances/{id}/events?after={after}")).await;
    assert_eq!(rest.as_array().unwrap().len(), 1);
    let future = get(
        &app,
        &format!("/instances/{id}/events?from=2999-01-01T00:00:00Z"),
    )
    .await;
    assert_eq!(future, json!([]));
    for (query, needle) in [
        ("status=LOST", "status must be"),
        ("from=yesterday", "from must be"),
        ("pageSize=0", "pageSize must be"),
    ] {
        let error = app
            .expect(
                Method::GET,
                &format!("/instances/{id}/events?{query}"),
                None,
                StatusCode::BAD_REQUEST,
            )
            .await;
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{query}: {error}"
        );
    }
}

#[tokio::test]
async fn standard_webhooks_headers_verify_with_an_independent_implementation() {
    let app = app(true).await;
    let (url, inbox) = receiver().await;
    let id = instance_with(&app, &url, |body| {
        body["configuration"]["event.notification.signature.key"] =
            json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        body["configuration"]["event.notification.signature.scheme"] = json!("both");
    })
    .await;
    changes(&app, id, 1).await;
    let sent_at = app.state.clock.now_ms();
    deliver(&app).await;
    let (headers, raw) = inbox.received()[0].clone();
    // Verified as the Standard Webhooks libraries do: HMAC-SHA256 over "{id}.{timestamp}.{body}"
    // keyed with the base64-decoded part of the whsec_ secret.
    let id_header = headers["webhook-id"].to_str().unwrap();
    let timestamp = headers["webhook-timestamp"].to_str().unwrap();
    let secret = base64::engine::general_purpose::STANDARD
        .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(format!("{id_header}.{timestamp}.").as_bytes());
    mac.update(&raw);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(headers["webhook-signature"], expected.as_str());
    assert_eq!(id_header, headers["elements-webhook-id"].to_str().unwrap());
    assert_eq!(
        timestamp.parse::<i64>().unwrap(),
        sent_at / 1000,
        "the time of the send, in seconds"
    );
    assert!(
        headers.contains_key("elements-webhook-signature"),
        "both schemes"
    );
}

#[tokio::test]
async fn creating_an_instance_with_a_callback_that_will_be_refused_warns_at_once() {
    for (allow, warned) in [(false, true), (true, false)] {
        let app = app(allow).await;
        let mut body = seed_body(&app.code().await);
        body["configuration"]["event.notification.callback.url"] =
            json!("http://127.0.0.1:9/events");
        let created = app
            .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
            .await;
        let warning = created["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            warning.contains("127.0.0.1 is a private address"),
            warned,
            "allow {allow}: {created}"
        );
        let id = created["id"].as_i64().unwrap();
        let patch =
            json!({"configuration": {"event.notification.callback.url": "http://10.0.0.1/x"}});
        let patched = app
            .expect(
                Method::PATCH,
                &format!("/instances/{id}"),
                Some(&patch),
                StatusCode::OK,
            )
            .await;
        assert_eq!(patched.get("warnings").is_some(), warned, "{patched}");
    }
}

#[tokio::test]
async fn a_slow_receiver_does_not_hold_up_another_ones_deliveries() {
    // The sends to the slow receiver last as long as the test wants (it holds them at a gate),
    // and far less than the delivery timeout: a deliverer that waited for them would never
    // serve the prompt receiver within the deadline below.
    let app = spawn_app_on_manual_clock(
        Config {
            seed: 0,
            ..Config::default()
        },
        |s| {
            s.allow_private_callbacks = true;
            s.delivery_timeout = Duration::from_secs(600);
        },
    )
    .await;
    let slow_hits = Arc::new(Mutex::new(0usize));
    let slow_done = Arc::new(Mutex::new(0usize));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (hits, done, held) = (slow_hits.clone(), slow_done.clone(), gate.clone());
    let slow = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let (hits, done, held) = (hits.clone(), done.clone(), held.clone());
            async move {
                *hits.lock().unwrap() += 1;
                // Until the test opens the gate (it is never closed).
                drop(held.acquire().await);
                *done.lock().unwrap() += 1;
                AxumStatus::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, slow).await.unwrap() });
    let (fast_url, fast) = receiver().await;

    let slow_instance = instance(&app, &slow_url).await;
    // The prompt receiver's instance polls tasks, so the slow one's contacts are not its.
    let mut body = seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = json!(fast_url);
    body["configuration"]["event.poller.configuration"] = tasks_poller();
    let created = app
        .expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
        .await;
    let fast_instance = created["id"].as_i64().unwrap();
    app.expect(
        Method::POST,
        &format!("/instances/{fast_instance}/events/poll"),
        None,
        StatusCode::OK,
    )
    .await;
    changes(&app, slow_instance, 60).await; // six notifications for the slow host

    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(
        Deliverer::new(app.state.clone(), 8)
            .unwrap()
            .run(stop.clone()),
    );
    eventually(
        Duration::from_secs(30),
        "the slow receiver is called",
        async || *slow_hits.lock().unwrap() > 0,
    )
    .await;
    // Only now, with slow sends in flight, does the prompt receiver's change happen.
    app.advance_ms(1_000); // in a later second than the tasks cursor
    app.http
        .post(format!("{}/_sim/records", app.sim.url()))
        .json(&json!({"resource": "tasks", "count": 1}))
        .send()
        .await
        .unwrap();
    let polled = app
        .expect(
            Method::POST,
            &format!("/instances/{fast_instance}/events/poll"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(polled["polls"][0]["events"], 1, "{polled}");
    eventually(
        Duration::from_secs(30),
        "the prompt receiver gets its notification while the slow sends are held",
        async || !fast.is_empty(),
    )
    .await;
    // Ordering, not timing: the prompt receiver was served while the slow one still held every
    // send it had started, and the slow host never had more than its share at once.
    assert_eq!(*slow_done.lock().unwrap(), 0, "no slow send had finished");
    assert!(
        *slow_hits.lock().unwrap() <= app.state.settings.delivery_per_host,
        "the slow host holds at most its share"
    );
    gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS);
    eventually(
        Duration::from_secs(30),
        "the slow host gets its six notifications once it answers",
        async || *slow_done.lock().unwrap() >= 6,
    )
    .await;
    stop.cancel();
}

/// The server and the simulator on one manual clock, sending to a host one notification at a
/// time, with room under the lease (120 s) after a send's timeout and the margin (claiming
/// ahead on).
async fn one_send_per_host() -> TestApp {
    spawn_app_on_manual_clock(
        Config {
            seed: 0,
            ..Config::default()
        },
        |s| {
            s.allow_private_callbacks = true;
            s.delivery_per_host = 1;
            s.delivery_timeout = Duration::from_secs(10);
        },
    )
    .await
}

/// The running worker claims ahead for a busy host (issue 21): what it cannot start yet waits
/// under its lease in the worker, not in the database's due queue — and when the worker
/// stops, it goes back at once (due, unleased), while the send on the wire keeps its lease.
/// Everything arrives once when the receiver answers again.
#[tokio::test]
async fn notifications_claimed_ahead_for_a_busy_host_go_back_when_the_worker_stops() {
    let app = one_send_per_host().await;
    let (hits, done) = (Arc::new(Mutex::new(0usize)), Arc::new(Mutex::new(0usize)));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (h, d, held) = (hits.clone(), done.clone(), gate.clone());
    let busy = axum::Router::new().route(
        "/events",
        axum::routing::post(move || {
            let (h, d, held) = (h.clone(), d.clone(), held.clone());
            async move {
                *h.lock().unwrap() += 1;
                drop(held.acquire().await);
                *d.lock().unwrap() += 1;
                AxumStatus::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, busy).await.unwrap() });
    let id = instance(&app, &url).await;
    changes(&app, id, 60).await; // six notifications, one host taking one at a time

    let store = app.state.store.clone();
    let leased = async || {
        store
            .in_flight_notifications(app.state.now_ms())
            .await
            .unwrap()
            .len()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(
        Deliverer::new(app.state.clone(), 8)
            .unwrap()
            .run(stop.clone()),
    );
    eventually(
        Duration::from_secs(30),
        "one send on the wire and the other five claimed ahead",
        async || *hits.lock().unwrap() == 1 && leased().await == 6,
    )
    .await;
    stop.cancel();
    eventually(
        Duration::from_secs(30),
        "what waited ahead goes back when the worker stops; the send on the wire keeps its lease",
        async || leased().await == 1,
    )
    .await;
    assert_eq!(store.queued_notifications().await.unwrap(), 6);
    gate.add_permits(tokio::sync::Semaphore::MAX_PERMITS);
    running.await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(
        Deliverer::new(app.state.clone(), 8)
            .unwrap()
            .run(stop.clone()),
    );
    eventually(
        Duration::from_secs(30),
        "all six arrive once the host answers",
        async || *done.lock().unwrap() >= 6,
    )
    .await;
    eventually(Duration::from_secs(30), "and are settled", async || {
        store.queued_notifications().await.unwrap() == 0
    })
    .await;
    stop.cancel();
    assert_eq!(*hits.lock().unwrap(), 6, "each sent once");
}

/// Notifications leased as they were queued, by a poll's commit (`at_commit`) and by the
/// worker's queue pass (`at_queue`), since the process started.
fn leased_as_queued(app: &TestApp) -> (u64, u64) {
    let stats = &app.state.delivery_stats;
    (
        stats
            .leased_at_commit
            .load(std::sync::atomic::Ordering::Relaxed),
        stats
            .leased_at_queue
            .load(std::sync::atomic::Ordering::Relaxed),
    )
}

/// A running worker on `app`, idle once its first notification is settled (its claims come
/// back short from then on); returns the instance [`changes`] then changes, the inbox its
/// notifications arrive in, and the worker's stop.
async fn idle_worker(
    app: TestApp,
) -> (
    TestApp,
    i64,
    crate::helpers::Inbox,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let (url, inbox) = receiver().await;
    let id = instance(&app, &url).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(
        Deliverer::new(app.state.clone(), 8)
            .unwrap()
            .run(stop.clone()),
    );
    changes(&app, id, 1).await;
    settled(&app, &inbox, 1).await;
    (app, id, inbox, stop, running)
}

async fn settled(app: &TestApp, inbox: &crate::helpers::Inbox, count: usize) {
    let store = app.state.store.clone();
    eventually(
        Duration::from_secs(30),
        &format!("{count} notifications delivered and settled"),
        async || inbox.len() == count && store.queued_notifications().await.unwrap() == 0,
    )
    .await;
}

fn sent_once(inbox: &crate::helpers::Inbox, count: usize) {
    let mut ids: Vec<String> = inbox.bodies().iter().map(|b| b["id"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "each sent once");
}

#[tokio::test]
async fn what_a_poll_commit_can_send_at_once_it_leases_and_the_rest_waits_for_a_claim() {
    // The worker idle, a poll's commit queues its notifications itself (its outbox): of three,
    // one to a host that takes one send at a time is leased by the commit and handed to the
    // worker; the two others are queued due and claimed. Each arrives once.
    let (app, id, inbox, stop, running) = idle_worker(one_send_per_host().await).await;
    let (commit_before, queue_before) = leased_as_queued(&app);
    app.advance_ms(1_000);
    changes(&app, id, 25).await; // ten, ten and five events: three notifications
    settled(&app, &inbox, 4).await;
    let (at_commit, at_queue) = leased_as_queued(&app);
    assert_eq!(
        (at_commit - commit_before, at_queue - queue_before),
        (1, 0),
        "one leased by the poll's commit, none by a queue pass, two claimed"
    );
    sent_once(&inbox, 4);
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn a_poll_too_big_for_its_commit_to_queue_is_queued_and_leased_by_the_worker() {
    // More events than a commit queues itself (a backfill's worth): they are stored unqueued
    // and the worker's queue pass queues them, leasing what the host can take at once (one)
    // and leaving the rest due for claims. Each arrives once.
    let (app, id, inbox, stop, running) = idle_worker(one_send_per_host().await).await;
    let (commit_before, queue_before) = leased_as_queued(&app);
    let events = tributary_server::delivery::outbox::OUTBOX_EVENTS + 5;
    app.advance_ms(1_000);
    changes(&app, id, events).await;
    let notifications = 1 + events.div_ceil(10);
    settled(&app, &inbox, notifications).await;
    let (at_commit, at_queue) = leased_as_queued(&app);
    assert_eq!(
        (at_commit - commit_before, at_queue - queue_before),
        (0, 1),
        "left to the queue pass, which leased one"
    );
    sent_once(&inbox, notifications);
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn a_change_found_while_the_worker_is_idle_goes_out_from_the_polls_commit() {
    // The shortest way: the poll's commit queues and leases the notification, the worker
    // sends it from memory. It arrives once, settled; a worker stepped by hand (not running)
    // gets nothing from commits: its queue pass queues the next change.
    let (app, id, inbox, stop, running) = idle_worker(app(true).await).await;
    let before = leased_as_queued(&app);
    for round in 2..=4 {
        app.advance_ms(1_000);
        changes(&app, id, 2).await;
        settled(&app, &inbox, round).await;
    }
    let after = leased_as_queued(&app);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (3, 0),
        "each poll's notification leased by its commit"
    );
    sent_once(&inbox, 4);
    stop.cancel();
    running.await.unwrap();

    let stepped = Deliverer::new(app.state.clone(), 8).unwrap();
    app.advance_ms(1_000);
    changes(&app, id, 1).await;
    assert_eq!(
        stepped.queue().await,
        1,
        "no worker runs: the commit left its event to the queue pass"
    );
    assert_eq!(leased_as_queued(&app), after);
}

#[tokio::test]
async fn an_instance_edited_while_the_worker_runs_shapes_its_next_notifications() {
    // The running worker remembers what it read of an instance; an edit (a new version) is
    // read again: the next notification goes to the new URL, under the new name.
    let app = app(true).await;
    let (old_url, old) = receiver().await;
    let (new_url, new) = receiver().await;
    let id = instance(&app, &old_url).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(
        Deliverer::new(app.state.clone(), 8)
            .unwrap()
            .run(stop.clone()),
    );
    changes(&app, id, 1).await;
    eventually(
        Duration::from_secs(30),
        "the first notification",
        async || old.len() == 1,
    )
    .await;
    app.expect(
        Method::PATCH,
        &format!("/instances/{id}"),
        Some(&json!({
            "name": "renamed",
            "configuration": {"event.notification.callback.url": new_url}
        })),
        StatusCode::OK,
    )
    .await;
    app.advance_ms(1_000);
    changes(&app, id, 1).await;
    eventually(
        Duration::from_secs(30),
        "the second notification",
        async || new.len() == 1,
    )
    .await;
    assert_eq!(old.len(), 1, "nothing more to the old URL");
    let body = &new.bodies()[0];
    assert_eq!(body["message"]["instanceName"], "renamed", "{body}");
    stop.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn a_410_stops_delivery_to_that_url_until_the_user_resumes() {
    let app = app(true).await;
    let (url, inbox) = receiver_answering(AxumStatus::GONE).await;
    let id = instance(&app, &url).await;
    changes(&app, id, 1).await;
    deliver(&app).await;
    assert_eq!(inbox.len(), 1, "one attempt: a 410 is not retried");
    app.advance_ms(1_000); // the next changes in a later second than the cursor
    changes(&app, id, 1).await;
    deliver(&app).await;
    assert_eq!(inbox.len(), 1, "nothing more goes to a gone URL");
    let statuses = statuses(&app, id).await;
    assert_eq!(statuses, ["FAILED", "QUEUED"]);
    assert_eq!(
        app.metrics().await.value("tributary_notifications_queued"),
        1.0
    );
    inbox.answer(AxumStatus::OK);
    let resumed = app
        .expect(
            Method::POST,
            &format!("/instances/{id}/events/resume"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(resumed["resumed"], 1);
    deliver(&app).await;
    assert_eq!(
        inbox.len(),
        2,
        "the waiting notification went after the resume"
    );
    assert_eq!(
        app.metrics().await.value("tributary_notifications_queued"),
        0.0
    );
}

/// A configuration that cannot be read (here: sealed with another key than this process has)
/// is an error for that instance, not a notification without a callback: its events stay
/// unqueued, nothing is failed, and they go out once the configuration reads again.
#[tokio::test]
async fn events_of_an_instance_whose_configuration_cannot_be_read_wait_unqueued_and_none_fail() {
    let app = app(true).await;
    let (url, inbox) = receiver().await;
    let id = instance(&app, &url).await;
    changes(&app, id, 3).await;

    let state = &app.state;
    let other_key = AppState::new(
        state.store.clone(),
        state.registry.current(),
        Arc::new(Vault::from_key(&[7; 32])),
        state.clock.clone(),
        state.http.clone(),
        state.settings.clone(),
    );
    let blind = Deliverer::new(other_key, 4).unwrap();
    assert_eq!(
        blind.run_once().await,
        (0, 0),
        "nothing queued, nothing sent"
    );
    assert_eq!(statuses(&app, id).await, ["NEW", "NEW", "NEW"]);
    assert!(inbox.is_empty());

    deliver(&app).await;
    assert_eq!(
        statuses(&app, id).await,
        ["NOTIFIED", "NOTIFIED", "NOTIFIED"]
    );
    assert_eq!(inbox.len(), 1, "one notification of three");
}
