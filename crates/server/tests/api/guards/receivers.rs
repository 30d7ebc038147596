//! What a receiver can do to a delivery, and what Tributary makes of it: a redirect is a failed
//! attempt whose `Location` is never reached; `Retry-After` (seconds or an HTTP date) sets the
//! next attempt, up to an hour (README, "Delivery"); a receiver that hangs past the delivery
//! timeout is a failed attempt; an IPv6 loopback callback is refused when set and when sent. Times are read from
//! the stored schedule on the server's manual clock, never from the wall clock.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tributary_domain::delivery::RetrySchedule;
use tributary_server::delivery::Deliverer;

use super::{
    Reply, attempts, contacts_instance, counting_listener, events_of, manual_clock, one_change,
    poll, quiet, receiver,
};
use crate::helpers::spawn_app_with_clocks;

/// The longest `Retry-After` honoured: "`Retry-After` honoured up to an hour" (README).
const RETRY_AFTER_CAP_MS: i64 = 3_600_000;

fn statuses(attempts: &[Value]) -> Vec<Option<u64>> {
    attempts.iter().map(|a| a["statusCode"].as_u64()).collect()
}

async fn status_of(app: &crate::helpers::TestApp, id: i64, event_id: &str) -> String {
    events_of(app, id)
        .await
        .iter()
        .find(|e| e["eventId"] == event_id)
        .unwrap()["deliveryStatus"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_redirect_is_a_failed_attempt_and_its_loopback_location_is_never_reached() {
    let clock = manual_clock();
    let app = spawn_app_with_clocks(quiet(), clock.clone(), clock.clone(), |s| {
        // The receiver itself is on loopback; the guard's refusal of the Location is not what
        // keeps it away here: redirects are not followed at all.
        s.allow_private_callbacks = true;
        s.retry_schedule = RetrySchedule::parse("1s,1s,1s,1s,1s").unwrap();
    })
    .await;
    let (target, reached) = counting_listener("127.0.0.1:0").await;
    let location = format!("http://{target}/events");
    let rx = receiver(Reply::Status(301, vec![("location", location.clone())])).await;
    let id = contacts_instance(&app, &rx.url, None).await;
    poll(&app, id).await;
    let event = one_change(&app, &clock, id).await;
    let deliverer = Deliverer::new(app.state.clone(), 1).unwrap();
    let redirects = [301u16, 302, 303, 307, 308];
    for status in redirects {
        *rx.reply.lock().unwrap() = Reply::Status(status, vec![("location", location.clone())]);
        deliverer.run_once().await;
        // Past the retry's wait (1 s, +20 % at most).
        clock.advance_ms(2_000);
    }
    let attempts = attempts(&app, id, &event).await;
    assert_eq!(
        statuses(&attempts),
        redirects.map(|s| Some(u64::from(s))),
        "each redirect is an attempt of its own: {attempts:?}"
    );
    assert_eq!(rx.count(), redirects.len());
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "no redirect was followed to its loopback Location"
    );
    assert_eq!(status_of(&app, id, &event).await, "QUEUED", "not delivered");
}

#[tokio::test]
async fn retry_after_in_seconds_or_as_a_date_sets_the_next_attempt_capped_at_an_hour() {
    let clock = manual_clock();
    let app = spawn_app_with_clocks(quiet(), clock.clone(), clock.clone(), |s| {
        s.allow_private_callbacks = true;
        // Waits far shorter than the Retry-After answers below, so those decide.
        s.retry_schedule = RetrySchedule::parse("1s,1s,1s").unwrap();
    })
    .await;
    let rx = receiver(Reply::Status(503, vec![("retry-after", "120".into())])).await;
    let id = contacts_instance(&app, &rx.url, None).await;
    poll(&app, id).await;
    let event = one_change(&app, &clock, id).await;
    let deliverer = Deliverer::new(app.state.clone(), 1).unwrap();
    let store = app.state.store.clone();
    // Whether the notification is due at `at` (a claim with a 1 ms lease, which ends at once).
    let due_at = |at: i64| {
        let store = store.clone();
        async move {
            !store
                .claim_due_notifications("probe", at, 1, 10)
                .await
                .unwrap()
                .is_empty()
        }
    };

    let first = tributary_domain::Clock::now_ms(clock.as_ref());
    deliverer.run_once().await;
    assert_eq!(rx.count(), 1);
    assert!(
        !due_at(first + 119_999).await,
        "not before Retry-After: 120"
    );
    assert!(due_at(first + 120_000).await, "due when Retry-After ends");

    // A Retry-After of two hours waits one.
    let second = first + 200_000;
    clock.set_ms(second);
    *rx.reply.lock().unwrap() = Reply::Status(503, vec![("retry-after", "7200".into())]);
    deliverer.run_once().await;
    assert_eq!(rx.count(), 2, "the retry was sent");
    assert!(!due_at(second + RETRY_AFTER_CAP_MS - 1).await);
    assert!(
        due_at(second + RETRY_AFTER_CAP_MS).await,
        "capped at an hour, not two"
    );

    // As an HTTP date (RFC 9110 allows either form): five minutes from the attempt.
    let third = second + RETRY_AFTER_CAP_MS + 1_000;
    clock.set_ms(third);
    let date = jiff::Timestamp::from_millisecond(third + 300_000)
        .unwrap()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    *rx.reply.lock().unwrap() = Reply::Status(503, vec![("retry-after", date)]);
    deliverer.run_once().await;
    assert_eq!(rx.count(), 3, "the second retry was sent");
    assert!(!due_at(third + 299_999).await);
    assert!(due_at(third + 300_000).await, "due at the date given");

    let attempts = attempts(&app, id, &event).await;
    assert_eq!(statuses(&attempts), [Some(503), Some(503), Some(503)]);
}

#[tokio::test]
async fn a_receiver_that_hangs_past_the_delivery_timeout_is_a_failed_attempt() {
    let clock = manual_clock();
    let app = spawn_app_with_clocks(quiet(), clock.clone(), clock.clone(), |s| {
        s.allow_private_callbacks = true;
        s.delivery_timeout = Duration::from_millis(500);
        s.retry_schedule = RetrySchedule::parse("1s").unwrap();
    })
    .await;
    let rx = receiver(Reply::Hang).await;
    let id = contacts_instance(&app, &rx.url, None).await;
    poll(&app, id).await;
    let event = one_change(&app, &clock, id).await;
    let deliverer = Deliverer::new(app.state.clone(), 1).unwrap();
    // The receiver never answers: the send ends at the timeout, whatever the machine's speed.
    deliverer.run_once().await;
    let attempts = attempts(&app, id, &event).await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["statusCode"], Value::Null, "no answer");
    assert!(
        attempts[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out after 500ms")),
        "{attempts:?}"
    );
    assert_eq!(status_of(&app, id, &event).await, "QUEUED", "to be retried");
    // The last retry hangs too: the notification fails.
    clock.advance_ms(2_000);
    deliverer.run_once().await;
    assert_eq!(status_of(&app, id, &event).await, "FAILED");
}

#[tokio::test]
async fn an_ipv6_loopback_callback_is_refused_when_set_and_when_sent() {
    let clock = manual_clock();
    let app = spawn_app_with_clocks(quiet(), clock.clone(), clock.clone(), |s| {
        s.allow_private_callbacks = false;
        s.retry_schedule = RetrySchedule::parse("1s").unwrap();
    })
    .await;
    let (listening, reached) = counting_listener("[::1]:0").await;
    let callback = format!("http://{listening}/events");
    assert!(callback.starts_with("http://[::1]:"), "{callback}");
    let mut body = crate::helpers::seed_body(&app.code().await);
    body["configuration"]["event.notification.callback.url"] = callback.clone().into();
    body["configuration"]["event.poller.configuration"] = super::contacts_poller(None);
    let created = app
        .expect(
            reqwest::Method::POST,
            "/instances",
            Some(&body),
            reqwest::StatusCode::OK,
        )
        .await;
    assert!(
        created["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("::1 is a private address")),
        "warned when set: {created}"
    );
    let id = created["id"].as_i64().unwrap();
    poll(&app, id).await;
    let event = one_change(&app, &clock, id).await;
    let deliverer = Deliverer::new(app.state.clone(), 1).unwrap();
    deliverer.run_once().await;
    let attempts = attempts(&app, id, &event).await;
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert!(
        attempts[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("::1 is private") && e.contains("refused")),
        "{attempts:?}"
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "nothing connected to [::1]"
    );
}
