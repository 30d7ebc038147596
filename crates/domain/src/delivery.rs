//! What delivery needs that is pure: the notification's envelope, its signatures, the retry
//! schedule, and batching. Nothing here reads a clock: times come in as epoch milliseconds.
//!
//! - **The envelope**: Cloud Elements' notification body (`shared/spec/product.md` §5) for a
//!   batch of events of one instance, resource and poll, with an id (`message.eventId`)
//!   derived from its events' ids, so building it twice gives the same notification, and a
//!   number derived from the id (the outer `id`, a decimal string as Cloud Elements' was);
//!   `createdDate` is Java's `Date.toString()` in UTC and `user` the deployment's sender.
//! - **Cloud Elements' signature**: `Elements-Webhook-Signature: sha256=<base64 HMAC-SHA256 of the
//!   exact body bytes, keyed with event.notification.signature.key>`.
//! - **Standard Webhooks** (optional per instance): `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   "{id}.{timestamp}.{body}">`, keyed with the secret's bytes — base64 after `whsec_`, or the
//!   key's own bytes otherwise — so the standard verifier libraries accept it.
//! - **Retries**: Cloud Elements' schedule by default (attempt x waits 4^x seconds: 4 s, 16 s,
//!   64 s … about 73 h, nine retries), with ±20 % jitter; operators and tests give their own
//!   as a comma list (`1s,5s,30s`).
//! - **Batching**: events of one poll and resource go out in notifications of at most 10
//!   (polling) or 20 (webhooks), as Cloud Elements sent them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::poll::event_date;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `Elements-Webhook-Signature` of a body.
pub fn elements_signature(key: &str, body: &[u8]) -> String {
    format!("sha256={}", hmac(key.as_bytes(), &[body]))
}

/// The key bytes of a Standard Webhooks secret: base64 after `whsec_`, else the text itself.
pub fn standard_secret_bytes(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `webhook-signature` of a message (`v1,<base64>`).
pub fn standard_signature(
    secret: &str,
    message_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> String {
    let timestamp = timestamp_secs.to_string();
    let signature = hmac(
        &standard_secret_bytes(secret),
        &[
            message_id.as_bytes(),
            b".",
            timestamp.as_bytes(),
            b".",
            body,
        ],
    );
    format!("v1,{signature}")
}

/// The scheme of `event.notification.signature.scheme` when none is set.
pub const DEFAULT_SIGNATURE_SCHEME: &str = "elements";

/// The signature headers of a notification, for a scheme: `elements` (Cloud Elements'
/// `Elements-Webhook-Signature`), `standard` (Standard Webhooks' `webhook-id`,
/// `webhook-timestamp`, `webhook-signature`) or `both`; any other scheme signs nothing.
pub fn signature_headers(
    scheme: &str,
    key: &str,
    message_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut headers = Vec::new();
    if scheme == "elements" || scheme == "both" {
        headers.push(("Elements-Webhook-Signature", elements_signature(key, body)));
    }
    if scheme == "standard" || scheme == "both" {
        headers.push(("webhook-id", message_id.to_owned()));
        headers.push(("webhook-timestamp", timestamp_secs.to_string()));
        headers.push((
            "webhook-signature",
            standard_signature(key, message_id, timestamp_secs, body),
        ));
    }
    headers
}

/// Where a notification comes from, as its envelope names it.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeSource<'a> {
    pub instance_id: i64,
    pub organization_id: i64,
    pub user_id: i64,
    pub instance_name: &'a str,
    pub instance_tags: &'a [String],
    pub element_key: &'a str,
    pub hub: &'a str,
    /// The resource (`objectType`) of every event of the notification.
    pub resource: &'a str,
    /// The envelope's `user`: the deployment's sender address (Cloud Elements':
    /// `notifications@cloud-elements.com`).
    pub sender: &'a str,
}

/// One event as a notification carries it.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeEvent<'a> {
    pub event_id: &'a str,
    pub object_id: &'a str,
    pub event_type: &'a str,
    /// When the record changed, at the provider.
    pub date_ms: i64,
    /// When the poll that found it ran.
    pub poll_date_ms: i64,
    /// The record as stored (JSON text; text that does not parse is carried as `null`).
    pub record: &'a str,
}

/// A notification: its id (`message.eventId`), its number (the outer `id`) and its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: String,
    pub number: i64,
    pub body: Value,
}

impl Envelope {
    /// The exact bytes sent (and signed).
    pub fn bytes(&self) -> Vec<u8> {
        self.body.to_string().into_bytes()
    }
}

/// A notification's id: derived from its events' ids (120 bits of their SHA-256, URL-safe
/// base64), so the same events make the same notification.
pub fn notification_id<'a>(event_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for event_id in event_ids {
        hasher.update(event_id.as_bytes());
        hasher.update(b"\n");
    }
    URL_SAFE_NO_PAD.encode(&hasher.finalize()[..15])
}

/// A notification's number: the envelope's outer `id`, a decimal string as Cloud Elements' was
/// (`"1496771"`), distinct from its id (`message.eventId`) and derived from it, so the same
/// notification always has the same number. 63 bits of SHA-256 of the id: it fits a Java
/// `long` (a client may read it as one), and two notifications kept at once share one with a
/// chance of about n²/2⁶⁴ (n = 10 million: 5 in a million).
pub fn notification_number(notification_id: &str) -> i64 {
    let digest = Sha256::digest(notification_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The top bit cleared keeps it positive; 0 is moved to 1 (a number is never 0).
    i64::try_from(u64::from_be_bytes(first) >> 1)
        .unwrap_or(i64::MAX)
        .max(1)
}

/// Java's `Date.toString()` in UTC, as Cloud Elements wrote a notification's `createdDate`:
/// `EEE MMM dd HH:mm:ss zzz yyyy` in `Locale.US` (`Mon Aug 20 15:30:07 UTC 2018`).
pub fn java_date_string(epoch_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(epoch_ms)
        .map(|t| t.strftime("%a %b %d %H:%M:%S UTC %Y").to_string())
        .unwrap_or_default()
}

/// Cloud Elements' notification envelope for events of one instance, resource and poll,
/// created at `created_ms`.
pub fn envelope(
    source: &EnvelopeSource<'_>,
    events: &[EnvelopeEvent<'_>],
    created_ms: i64,
) -> Envelope {
    let id = notification_id(events.iter().map(|e| e.event_id));
    let number = notification_number(&id);
    let resource = source.resource;
    let poll_date = events.first().map(|e| e.poll_date_ms).unwrap_or_default();
    let records: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e.record).unwrap_or(Value::Null))
        .collect();
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "objectType": resource, "objectId": e.object_id, "eventType": e.event_type,
                "date": event_date(e.date_ms), "pollDate": event_date(e.poll_date_ms),
                "elementKey": source.element_key, "hubKey": source.hub, "eventId": e.event_id,
            })
        })
        .collect();
    let mut raw = Map::new();
    raw.insert(resource.to_owned(), Value::Array(records));
    raw.insert("pollDate".into(), json!(poll_date));
    raw.insert("objectType".into(), json!(resource));
    let body = json!({
        "id": number.to_string(),
        "topic": format!("instance-{}-{}-events", source.instance_id, source.element_key),
        "severity": "medium",
        "action": "create",
        "createdDate": java_date_string(created_ms),
        "user": source.sender,
        "message": {
            "elementKey": source.element_key,
            "accountId": source.organization_id,
            "companyId": source.organization_id,
            "userId": source.user_id,
            "eventId": id,
            "instanceId": source.instance_id,
            "instance_id": source.instance_id,
            "instanceName": source.instance_name,
            "instanceTags": source.instance_tags,
            "raw": raw,
            "events": items,
        }
    });
    Envelope { id, number, body }
}

/// Parses one duration such as `500ms`, `30s`, `2m` or `1h` (a whole number and a unit; not
/// zero), or says what is wrong with it.
pub fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    let entry = text.trim();
    let split = entry
        .find(|c: char| !c.is_ascii_digit())
        .ok_or("needs a unit: ms, s, m or h")?;
    let (number, unit) = entry.split_at(split);
    let value: u64 = number.parse().map_err(|_| "needs a whole number")?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "s" => Duration::from_secs(value),
        "m" => Duration::from_secs(value.saturating_mul(60)),
        "h" => Duration::from_secs(value.saturating_mul(3600)),
        _ => return Err("unknown unit (use ms, s, m or h)"),
    };
    if duration.is_zero() {
        return Err("must be longer than zero");
    }
    Ok(duration)
}

/// The waits before each retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    waits: Vec<Duration>,
}

/// A retry schedule that does not parse, naming the bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retry schedule entry {index} ({entry:?}): {message}")]
pub struct ScheduleError {
    pub index: usize,
    pub entry: String,
    pub message: &'static str,
}

impl Default for RetrySchedule {
    /// Cloud Elements' schedule: 4^x seconds for retries 1 to 9.
    fn default() -> Self {
        RetrySchedule {
            waits: (1..=9).map(|x| Duration::from_secs(4u64.pow(x))).collect(),
        }
    }
}

impl RetrySchedule {
    /// Parses `1s,5s,30s` (units `ms`, `s`, `m`, `h`; at least one entry, none zero).
    pub fn parse(text: &str) -> Result<RetrySchedule, ScheduleError> {
        let mut waits = Vec::new();
        for (index, raw) in text.split(',').enumerate() {
            let entry = raw.trim();
            let wait = parse_duration(entry).map_err(|message| ScheduleError {
                index: index + 1,
                entry: entry.to_owned(),
                message,
            })?;
            waits.push(wait);
        }
        Ok(RetrySchedule { waits })
    }

    /// How many retries follow a first attempt.
    pub fn retries(&self) -> usize {
        self.waits.len()
    }

    /// The wait before retry `retry` (1-based), jittered by `jitter` in [-1, 1] times 20 %;
    /// `None` when the schedule is spent (the notification is then `FAILED`).
    pub fn wait(&self, retry: usize, jitter: f64) -> Option<Duration> {
        let base = *self.waits.get(retry.checked_sub(1)?)?;
        let factor = 1.0 + 0.2 * jitter.clamp(-1.0, 1.0);
        Some(base.mul_f64(factor))
    }
}

/// The most events in one notification.
pub fn batch_size(webhooks: bool) -> usize {
    if webhooks { 20 } else { 10 }
}

/// Splits events into notifications: 25 become 10 + 10 + 5.
pub fn batches<T>(events: Vec<T>, webhooks: bool) -> Vec<Vec<T>> {
    let size = batch_size(webhooks);
    let mut out = Vec::with_capacity(events.len().div_ceil(size));
    let mut current = Vec::with_capacity(size);
    for event in events {
        current.push(event);
        if current.len() == size {
            out.push(std::mem::replace(&mut current, Vec::with_capacity(size)));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_cloud_elements_test_vector_signs_as_documented() {
        assert_eq!(
            elements_signature(
                "MySecretEventSignatureKey",
                b"<INSERT_EVENT_NOTIFICATION_RESPONSE_BODY>"
            ),
            "sha256=jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ="
        );
    }

    #[test]
    fn the_standard_webhooks_example_signs_as_the_standard_says() {
        // The example of the Standard Webhooks specification, checked here with Python's hmac.
        assert_eq!(
            standard_signature(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(standard_secret_bytes("plain-key"), b"plain-key");
        assert_eq!(
            standard_secret_bytes("whsec_!!!"),
            b"whsec_!!!",
            "not base64: the text itself"
        );
    }

    #[test]
    fn every_scheme_sends_its_own_signature_headers() {
        let body = b"<INSERT_EVENT_NOTIFICATION_RESPONSE_BODY>";
        let elements = "sha256=jHdbRx5EZAsOfTwAPJOGkNUzQMVVdu5VJlxcsk+G6jQ=";
        let standard = standard_signature("MySecretEventSignatureKey", "n1", 1_795_860_000, body);
        let table: [(&str, Vec<(&str, String)>); 5] = [
            (
                "elements",
                vec![("Elements-Webhook-Signature", elements.to_owned())],
            ),
            (
                "standard",
                vec![
                    ("webhook-id", "n1".to_owned()),
                    ("webhook-timestamp", "1795860000".to_owned()),
                    ("webhook-signature", standard.clone()),
                ],
            ),
            (
                "both",
                vec![
                    ("Elements-Webhook-Signature", elements.to_owned()),
                    ("webhook-id", "n1".to_owned()),
                    ("webhook-timestamp", "1795860000".to_owned()),
                    ("webhook-signature", standard.clone()),
                ],
            ),
            ("none", vec![]),
            ("", vec![]),
        ];
        for (scheme, expected) in table {
            assert_eq!(
                signature_headers(
                    scheme,
                    "MySecretEventSignatureKey",
                    "n1",
                    1_795_860_000,
                    body
                ),
                expected,
                "{scheme:?}"
            );
        }
        assert!(standard.starts_with("v1,"));
    }

    /// The envelope of two events, built from fixed inputs, field by field (spec §5).
    #[test]
    fn an_envelope_from_fixed_inputs_carries_every_field_of_the_spec() {
        let tags = vec!["Docs".to_owned()];
        let source = EnvelopeSource {
            instance_id: 123,
            organization_id: 7,
            user_id: 9,
            instance_name: "API Instance",
            instance_tags: &tags,
            element_key: "infusionsoftrest",
            hub: "crm",
            resource: "appointments",
            sender: "notifications@tributary.example",
        };
        let events = [
            EnvelopeEvent {
                event_id: "e1",
                object_id: "42",
                event_type: "CREATED",
                date_ms: 1_795_860_000_000,
                poll_date_ms: 1_795_860_005_000,
                record: r#"{"id": 42, "title": "Call"}"#,
            },
            EnvelopeEvent {
                event_id: "e2",
                object_id: "43",
                event_type: "UPDATED",
                date_ms: 1_795_860_001_000,
                poll_date_ms: 1_795_860_005_000,
                record: "not json",
            },
        ];
        let built = envelope(&source, &events, 1_795_860_006_000);
        let body = &built.body;
        assert_eq!(built.id, notification_id(["e1", "e2"]));
        assert_eq!(built.number, notification_number(&built.id));
        let top: [(&str, Value); 6] = [
            ("/id", json!(built.number.to_string())),
            ("/topic", json!("instance-123-infusionsoftrest-events")),
            ("/severity", json!("medium")),
            ("/action", json!("create")),
            ("/createdDate", json!("Sat Nov 28 10:00:06 UTC 2026")),
            ("/user", json!("notifications@tributary.example")),
        ];
        let message: [(&str, Value); 14] = [
            ("/message/elementKey", json!("infusionsoftrest")),
            ("/message/accountId", json!(7)),
            ("/message/companyId", json!(7)),
            ("/message/userId", json!(9)),
            ("/message/eventId", json!(built.id)),
            ("/message/instanceId", json!(123)),
            ("/message/instance_id", json!(123)),
            ("/message/instanceName", json!("API Instance")),
            ("/message/instanceTags", json!(["Docs"])),
            (
                "/message/raw/appointments",
                json!([{"id": 42, "title": "Call"}, null]),
            ),
            ("/message/raw/pollDate", json!(1_795_860_005_000_i64)),
            ("/message/raw/objectType", json!("appointments")),
            (
                "/message/events/0",
                json!({"objectType": "appointments", "objectId": "42", "eventType": "CREATED",
                       "date": "2026-11-28T10:00:00Z", "pollDate": "2026-11-28T10:00:05Z",
                       "elementKey": "infusionsoftrest", "hubKey": "crm", "eventId": "e1"}),
            ),
            (
                "/message/events/1",
                json!({"objectType": "appointments", "objectId": "43", "eventType": "UPDATED",
                       "date": "2026-11-28T10:00:01Z", "pollDate": "2026-11-28T10:00:05Z",
                       "elementKey": "infusionsoftrest", "hubKey": "crm", "eventId": "e2"}),
            ),
        ];
        for (pointer, expected) in top.iter().chain(message.iter()) {
            assert_eq!(body.pointer(pointer), Some(expected), "{pointer}");
        }
        assert_eq!(body.as_object().map(|o| o.len()), Some(7), "no other field");
        assert_eq!(body["message"].as_object().map(|o| o.len()), Some(11));
        assert_eq!(body["message"]["events"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            serde_json::from_slice::<Value>(&built.bytes())
                .ok()
                .as_ref(),
            Some(body),
            "the bytes are the body"
        );
    }

    #[test]
    fn a_notification_number_is_a_positive_java_long_of_its_own() {
        let id = notification_id(["e1", "e2"]);
        let number = notification_number(&id);
        assert!(number > 0);
        assert_eq!(
            number,
            notification_number(&id),
            "the same id, the same number"
        );
        assert_ne!(number, notification_number(&notification_id(["e2", "e1"])));
        assert_ne!(number.to_string(), id, "distinct from the id");
        assert!(
            number.to_string().parse::<i64>().is_ok(),
            "a Java long reads it"
        );
    }

    #[test]
    fn created_dates_are_java_date_to_string_in_utc() {
        // The captured Cloud Elements notification: `Mon Aug 20 15:30:07 UTC 2018`.
        assert_eq!(
            java_date_string(1_534_779_007_000),
            "Mon Aug 20 15:30:07 UTC 2018"
        );
        assert_eq!(java_date_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            java_date_string(1_780_448_400_500),
            "Wed Jun 03 01:00:00 UTC 2026",
            "the day of the month is two digits; milliseconds are dropped"
        );
    }

    #[test]
    fn a_notification_id_derives_from_its_event_ids_in_order() {
        let id = notification_id(["e1", "e2"]);
        assert_eq!(
            id,
            notification_id(["e1", "e2"]),
            "the same events, the same id"
        );
        assert_ne!(id, notification_id(["e2", "e1"]));
        assert_ne!(id, notification_id(["e1e2"]), "ids are separated");
        assert_eq!(id.len(), 20, "120 bits in URL-safe base64");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn the_default_schedule_is_cloud_elements_four_to_the_x_seconds() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.retries(), 9);
        assert_eq!(schedule.wait(1, 0.0), Some(Duration::from_secs(4)));
        assert_eq!(schedule.wait(3, 0.0), Some(Duration::from_secs(64)));
        let total: Duration = (1..=9).filter_map(|r| schedule.wait(r, 0.0)).sum();
        assert_eq!(total.as_secs() / 3600, 97, "about four days in all");
        assert_eq!(
            schedule.wait(9, 0.0),
            Some(Duration::from_secs(262_144)),
            "the last, ~73 h"
        );
        assert_eq!(schedule.wait(10, 0.0), None);
        assert_eq!(schedule.wait(0, 0.0), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.wait(1, 1.0), Some(Duration::from_millis(4_800)));
        assert_eq!(schedule.wait(1, -1.0), Some(Duration::from_millis(3_200)));
        assert_eq!(
            schedule.wait(1, 7.0),
            Some(Duration::from_millis(4_800)),
            "clamped"
        );
    }

    #[test]
    fn schedules_parse_from_a_comma_list_and_name_a_bad_entry() {
        let schedule = RetrySchedule::parse("250ms, 1s,2m,1h").unwrap();
        assert_eq!(schedule.retries(), 4);
        assert_eq!(schedule.wait(2, 0.0), Some(Duration::from_secs(1)));
        assert_eq!(schedule.wait(4, 0.0), Some(Duration::from_secs(3600)));
        for (text, index, needle) in [
            ("1s,5", 2, "needs a unit"),
            ("1s,,5s", 2, "needs a unit"),
            ("1d", 1, "unknown unit"),
            ("0s", 1, "longer than zero"),
            ("-1s", 1, "needs a whole number"),
        ] {
            let error = RetrySchedule::parse(text).unwrap_err();
            assert_eq!(error.index, index, "{text}");
            assert!(error.to_string().contains(needle), "{text}: {error}");
        }
    }

    #[test]
    fn one_duration_parses_with_its_unit() {
        assert_eq!(parse_duration(" 500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30"), Err("needs a unit: ms, s, m or h"));
        assert_eq!(parse_duration("0h"), Err("must be longer than zero"));
    }

    #[test]
    fn twenty_five_events_go_out_as_ten_ten_and_five() {
        let sizes: Vec<usize> = batches((0..25).collect(), false)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
        let sizes: Vec<usize> = batches((0..25).collect(), true)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [20, 5]);
        assert!(batches(Vec::<u8>::new(), false).is_empty());
    }
}
