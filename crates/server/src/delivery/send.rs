//! Sending one claimed notification: POST the exact stored bytes, signed, then decide what the
//! answer means (delivered, retry when, failed, gone) and record the attempt.

use std::time::{Duration, Instant};

use rand::Rng;
use secrecy::ExposeSecret;
use tributary_domain::delivery::signature_headers;
use tributary_store::{AttemptOutcome, AttemptRecord, NotificationRecord};

use super::worker::Deliverer;
use crate::guard::private_literal;

/// A send's slot among all sends and its slot of its callback host.
pub(super) type Slots = (
    tokio::sync::OwnedSemaphorePermit,
    tokio::sync::OwnedSemaphorePermit,
);

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER_MS: i64 = 3_600_000;

impl Deliverer {
    /// Sends a claimed notification once and records the attempt, in a span naming the
    /// instance and the notification (so every log line of the send carries them).
    ///
    /// `slots` are the send's slot among all sends and its slot of its callback host: given
    /// back as soon as the receiver has answered, before the attempt is recorded, so the next
    /// send does not wait for this one's commit (the limits protect receivers and bound what
    /// is in flight; the commit waits in the group commit meanwhile). The notification stays
    /// leased until it is recorded, so a crash in between sends it again, as a crash before
    /// the commit always has.
    pub(super) async fn send(&self, notification: NotificationRecord, slots: Slots) {
        let span = tracing::info_span!(
            "delivery",
            instance_id = notification.instance_id,
            notification_id = %notification.id
        );
        tracing::Instrument::instrument(self.send_once(notification, slots), span).await
    }

    async fn send_once(&self, mut notification: NotificationRecord, slots: Slots) {
        let started = Instant::now();
        // The body once, shared by the request and the signature without a copy.
        let body = axum::body::Bytes::from(std::mem::take(&mut notification.body));
        let at_ms = self.state.now_ms();
        let signing = self
            .signing
            .signing(
                &self.state,
                notification.instance_id,
                notification.instance_version,
            )
            .await;
        let attempt_number = notification.attempts + 1;
        let key = signing.key.as_ref().map(|k| k.expose_secret());
        let result = self.post(&notification, &body, key, &signing.scheme).await;
        drop(slots);
        self.freed.notify_one();
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, excerpt, error, retry_after_ms) = match result {
            Ok((status, excerpt, retry_after)) => (Some(status), Some(excerpt), None, retry_after),
            Err(error) => (None, None, Some(error), None),
        };
        let delivered = status_code.is_some_and(|s| (200..300).contains(&s));
        let gone = status_code == Some(410);
        let outcome = if delivered {
            AttemptOutcome::Delivered
        } else if gone {
            AttemptOutcome::Gone
        } else if notification.callback_url.is_empty() {
            AttemptOutcome::Failed
        } else {
            let jitter = rand::rng().random_range(-1.0..=1.0);
            match self.state.settings.retry_schedule.wait(
                usize::try_from(attempt_number).unwrap_or(usize::MAX),
                jitter,
            ) {
                Some(wait) => {
                    let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                    let wait_ms = wait_ms.max(retry_after_ms.unwrap_or(0).min(MAX_RETRY_AFTER_MS));
                    AttemptOutcome::RetryAt(at_ms + wait_ms)
                }
                None => AttemptOutcome::Failed,
            }
        };
        let error = error.or_else(|| {
            (!delivered).then(|| match status_code {
                Some(410) => "410 Gone: delivery to this URL stopped".to_owned(),
                Some(code) => format!("the receiver answered {code}"),
                None => "no answer".to_owned(),
            })
        });
        if let Some(latency_ms) =
            self.state
                .delivery_stats
                .count(&outcome, at_ms, notification.poll_date_ms, &body)
        {
            self.state
                .metrics
                .delivered(Duration::from_millis(latency_ms));
        }
        let record = AttemptRecord {
            notification_id: notification.id.clone(),
            url: notification.callback_url.clone(),
            at_ms,
            status_code,
            duration_ms,
            excerpt,
            error,
            outcome,
        };
        if let Err(error) = self
            .recorder
            .record(self.state.store.as_ref(), record)
            .await
        {
            tracing::error!(%error, "could not record a delivery attempt");
        }
    }

    /// POSTs the exact stored bytes; returns (status, body excerpt, Retry-After in ms).
    async fn post(
        &self,
        notification: &NotificationRecord,
        body: &axum::body::Bytes,
        key: Option<&str>,
        scheme: &str,
    ) -> Result<(u16, String, Option<i64>), String> {
        if notification.callback_url.is_empty() {
            return Err("the instance has no event.notification.callback.url".into());
        }
        let url = self
            .callbacks
            .get(&notification.callback_url)
            .url
            .ok_or_else(|| "the callback URL does not parse".to_owned())?;
        // IP literals skip DNS, so the guard checks them here.
        if !self.state.settings.allow_private_callbacks
            && let Some(ip) = private_literal(&url)
        {
            return Err(format!(
                "callback address {ip} is private (loopback, private, link-local, CGNAT, \
                 multicast or metadata); refused"
            ));
        }
        let mut request = self
            .http
            .post(reqwest::Url::clone(&url))
            .header("Content-Type", "application/json")
            .header("Elements-Webhook-Id", &notification.id)
            .body(body.clone());
        if let Some(key) = key {
            let timestamp = self.state.now_ms() / 1000;
            for (name, value) in signature_headers(scheme, key, &notification.id, timestamp, body) {
                request = request.header(name, value);
            }
        }
        let timeout = self.state.settings.delivery_timeout;
        let response = request.send().await.map_err(|e| describe(&e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after_ms(v, self.state.now_ms()));
        let body = response.bytes().await.unwrap_or_default();
        let excerpt: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        Ok((status, excerpt, retry_after))
    }
}

/// A `Retry-After` value as a wait in milliseconds from `now_ms`: seconds, or an HTTP date
/// (RFC 9110 allows both; a date in the past is no wait). Anything else is ignored.
fn retry_after_ms(value: &str, now_ms: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds.max(0).saturating_mul(1000));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?;
    Some((at.timestamp().as_millisecond() - now_ms).max(0))
}

/// A send's error in words: its chain of causes, or the timeout it hit.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    let mut text = String::new();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        source = e.source();
    }
    if error.is_timeout() {
        format!("timed out after {timeout:?}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::retry_after_ms;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        // 2026-11-28T10:00:00Z.
        let now = 1_795_860_000_000;
        assert_eq!(retry_after_ms("120", now), Some(120_000));
        assert_eq!(retry_after_ms(" 7 ", now), Some(7_000));
        assert_eq!(retry_after_ms("-5", now), Some(0));
        assert_eq!(
            retry_after_ms("Sat, 28 Nov 2026 10:05:00 GMT", now),
            Some(300_000)
        );
        assert_eq!(
            retry_after_ms("Sat, 28 Nov 2026 09:00:00 GMT", now),
            Some(0),
            "a date passed is no wait"
        );
        assert_eq!(retry_after_ms("soon", now), None);
    }
}
