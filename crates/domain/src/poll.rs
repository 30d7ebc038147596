//! The poll's decision, as a pure function: which records of a poll become events, CREATED or
//! UPDATED, and where the cursor and the dedupe memory go next (`shared/spec/product.md` §4).
//!
//! The rules, and why:
//! - The **cursor** is the highest updated date among records already emitted, in the
//!   provider's time, taken from the data — never from Tributary's clock, which may be minutes
//!   away from the provider's.
//! - A poll reads from **cursor − overlap** (`pollDelay`, default 60 s), so records that share
//!   the cursor's second, or that the provider indexed late, are read again. Re-reads are
//!   suppressed by the **dedupe memory**: a record is emitted again only when its updated date
//!   changed. The memory keeps only records inside the overlap window, so it stays bounded.
//! - **CREATED** when the record's created date is after the previous cursor (it did not exist
//!   at the last poll) or equals its updated date within `createdCheckTolerance`; otherwise
//!   **UPDATED**. One refinement the model test found: a record created inside the overlap
//!   window that no event has named yet (the provider indexed it late, after other records moved
//!   the cursor past its creation) is also CREATED — it is new to the client. `date` is the
//!   created date for CREATED, the updated date for UPDATED.
//! - A record whose dates do not parse is **not dropped**: it becomes an UPDATED event flagged
//!   with the error, deduplicated by a hash of its content (it has no usable date), and it does
//!   not move the cursor.
//! - `filterByUpdatedDate: false` judges records by their created date instead;
//!   `filterByCurrentDate` leaves records changed after the poll's start for the next poll.
//! - An **event id** is derived from (instance, resource, object id, updated date): a repeated
//!   poll cannot produce a second event for the same change with another id.
//!
//! The caller writes the events, the new cursor and the new memory in one transaction, or
//! nothing (a failed poll leaves the cursor where it was, and the next poll repeats the window).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::dates::{DatePattern, Zone};
use crate::instance_config::PollerConfig;

/// A poller configuration with its patterns and zones compiled once.
#[derive(Debug, Clone)]
pub struct CompiledPoller {
    pub config: PollerConfig,
    updated: DatePattern,
    updated_zone: Zone,
    created: DatePattern,
    created_zone: Zone,
}

/// A configuration that does not compile (validation normally catches these first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CompileError {
    pub field: &'static str,
    pub message: String,
}

fn zone(id: Option<&str>, field: &'static str) -> Result<Zone, CompileError> {
    match id {
        None => Ok(Zone::utc()),
        Some(id) => Zone::parse(id).map_err(|e| CompileError {
            field,
            message: e.to_string(),
        }),
    }
}

impl CompiledPoller {
    pub fn compile(config: &PollerConfig) -> Result<CompiledPoller, CompileError> {
        let pattern = |text: &str, field| {
            DatePattern::compile(text).map_err(|e| CompileError {
                field,
                message: e.to_string(),
            })
        };
        let dates = &config.dates;
        Ok(CompiledPoller {
            updated: pattern(&dates.updated_format, "updatedDateFormat")?,
            updated_zone: zone(dates.updated_timezone.as_deref(), "updatedDateTimezone")?,
            created: pattern(&dates.created_format, "createdDateFormat")?,
            created_zone: zone(dates.created_timezone.as_deref(), "createdDateTimezone")?,
            config: config.clone(),
        })
    }

    /// The overlap in milliseconds.
    pub fn overlap_ms(&self) -> i64 {
        i64::from(self.config.poll_delay_secs) * 1000
    }

    /// Where a poll starts reading: the cursor minus the overlap.
    pub fn window_start(&self, cursor_ms: i64) -> i64 {
        cursor_ms - self.overlap_ms()
    }
}

/// What a poller remembers between polls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollState {
    /// The highest updated date emitted so far (provider time, epoch ms).
    pub cursor_ms: i64,
    /// Object id → the updated date (or, for undated records, content hash) last emitted,
    /// for the records inside the overlap window.
    pub seen: BTreeMap<String, Seen>,
}

/// How an emitted record is remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Its updated date, epoch ms.
    Updated(i64),
    /// A hash of its content, for a record whose dates did not parse.
    Content(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Created,
    Updated,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "CREATED",
            EventType::Updated => "UPDATED",
        }
    }
}

/// One change, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub object_id: String,
    pub event_type: EventType,
    /// The created date (CREATED) or updated date (UPDATED); for an undated record, the poll's
    /// start.
    pub date_ms: i64,
    /// The record's updated date when it parsed.
    pub updated_ms: Option<i64>,
    /// Why the record's dates did not parse, when they did not.
    pub date_error: Option<String>,
    pub record: Value,
}

/// What a poll decided.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOutcome {
    pub events: Vec<Event>,
    pub state: PollState,
    /// Records read but not emitted (already seen, outside the window, or left for later).
    pub skipped: usize,
    /// Records without a usable id (no event can name them).
    pub without_id: usize,
    pub date_errors: usize,
}

/// Reads a dotted path (`user.id`) from a record as text.
pub fn field_text(record: &Value, path: &str) -> Option<String> {
    let mut current = record;
    for part in path.split('.') {
        current = match current {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match current {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The event id of a change: base64url of the first 15 bytes of SHA-256 over the instance,
/// resource, object id and the change's identity (its updated date, or its content hash).
pub fn event_id(instance_id: i64, resource: &str, object_id: &str, change: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [
        instance_id.to_string().as_str(),
        resource,
        object_id,
        change,
    ] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(&hasher.finalize()[..15])
}

fn content_hash(record: &Value) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(record.to_string().as_bytes())[..15])
}

/// Decides a poll: `records` as the provider returned them (any order), read at `poll_start_ms`
/// (Tributary's clock, used only for `filterByCurrentDate` and undated records).
pub fn decide(
    poller: &CompiledPoller,
    state: &PollState,
    poll_start_ms: i64,
    instance_id: i64,
    resource: &str,
    records: Vec<Value>,
) -> PollOutcome {
    let config = &poller.config;
    let window_start = poller.window_start(state.cursor_ms);
    let tolerance_ms = i64::from(config.created_check_tolerance_secs) * 1000;
    let mut outcome = PollOutcome {
        events: Vec::new(),
        state: PollState {
            cursor_ms: state.cursor_ms,
            seen: BTreeMap::new(),
        },
        skipped: 0,
        without_id: 0,
        date_errors: 0,
    };
    let mut seen = state.seen.clone();
    // Object id → the updated date this poll emitted for it.
    let mut this_poll: BTreeMap<String, i64> = BTreeMap::new();
    for record in records {
        let Some(object_id) = field_text(&record, &config.id_field) else {
            outcome.without_id += 1;
            continue;
        };
        let parse = |field: &str, pattern: &DatePattern, zone: &Zone| -> Result<i64, String> {
            let text =
                field_text(&record, field).ok_or_else(|| format!("{field} is missing or empty"))?;
            pattern.parse(&text, zone).map_err(|e| {
                format!(
                    "{field} {text:?} does not match {:?}: {e}",
                    pattern.source()
                )
            })
        };
        let updated = parse(
            &config.dates.updated_field,
            &poller.updated,
            &poller.updated_zone,
        );
        let created = parse(
            &config.dates.created_field,
            &poller.created,
            &poller.created_zone,
        );
        let (updated_ms, created_ms) = match (updated, created) {
            (Ok(updated), Ok(created)) => (updated, created),
            (Err(error), _) | (_, Err(error)) => {
                // Not dropped: an UPDATED event flagged with the error, once per content.
                let hash = content_hash(&record);
                if seen.get(&object_id) == Some(&Seen::Content(hash.clone())) {
                    outcome.skipped += 1;
                    continue;
                }
                outcome.date_errors += 1;
                outcome.events.push(Event {
                    event_id: event_id(
                        instance_id,
                        resource,
                        &object_id,
                        &format!("content:{hash}"),
                    ),
                    object_id: object_id.clone(),
                    event_type: EventType::Updated,
                    date_ms: poll_start_ms,
                    updated_ms: None,
                    date_error: Some(error),
                    record,
                });
                seen.insert(object_id, Seen::Content(hash));
                continue;
            }
        };
        let judged = if config.filter_by_updated_date {
            updated_ms
        } else {
            created_ms
        };
        if judged < window_start {
            outcome.skipped += 1;
            continue;
        }
        if config.filter_by_current_date && updated_ms > poll_start_ms {
            outcome.skipped += 1; // the next poll takes it
            continue;
        }
        if seen.get(&object_id) == Some(&Seen::Updated(updated_ms)) {
            outcome.skipped += 1;
            continue;
        }
        // A record this poll read twice: offset paging reads a record again when one is
        // inserted before it between two pages, and it may have changed meanwhile. A version
        // older than the one emitted is stale; a newer one is an update of a record the client
        // now knows, whatever its dates say.
        let emitted_now = this_poll.get(&object_id).copied();
        if emitted_now.is_some_and(|emitted| emitted >= updated_ms) {
            outcome.skipped += 1;
            continue;
        }
        // New to the client: created after the last cursor, or created inside the overlap window
        // and never emitted (indexed late: it existed at the last poll, but no event named it).
        let unseen = !state.seen.contains_key(&object_id);
        let created_now = emitted_now.is_none()
            && (created_ms > state.cursor_ms
                || (unseen && created_ms >= window_start)
                || (updated_ms - created_ms).abs() <= tolerance_ms);
        let event_type = if created_now {
            EventType::Created
        } else {
            EventType::Updated
        };
        outcome.events.push(Event {
            event_id: event_id(instance_id, resource, &object_id, &updated_ms.to_string()),
            object_id: object_id.clone(),
            event_type,
            date_ms: if created_now { created_ms } else { updated_ms },
            updated_ms: Some(updated_ms),
            date_error: None,
            record,
        });
        outcome.state.cursor_ms = outcome.state.cursor_ms.max(updated_ms);
        this_poll.insert(object_id.clone(), updated_ms);
        seen.insert(object_id, Seen::Updated(updated_ms));
    }
    // Keep only what the next poll's window can still return.
    let next_window = poller.window_start(outcome.state.cursor_ms);
    outcome.state.seen = seen
        .into_iter()
        .filter(|(_, seen)| match seen {
            Seen::Updated(ms) => *ms >= next_window,
            Seen::Content(_) => true,
        })
        .collect();
    // Undated records are remembered until they change or leave the provider's answers; cap
    // the memory so a provider full of broken dates cannot grow it without bound.
    const MAX_UNDATED: usize = 10_000;
    let undated = outcome
        .state
        .seen
        .values()
        .filter(|s| matches!(s, Seen::Content(_)))
        .count();
    if undated > MAX_UNDATED {
        let mut excess = undated - MAX_UNDATED;
        outcome.state.seen.retain(|_, s| {
            if excess > 0 && matches!(s, Seen::Content(_)) {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
    outcome
}

/// `date`/`pollDate` as Cloud Elements writes them: `yyyy-MM-dd'T'HH:mm:ss'Z'` in UTC.
pub fn event_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance_config::DatesConfiguration;
    use serde_json::json;

    const T0: i64 = 1_795_860_000_000; // 2026-11-28T10:00:00Z

    /// The seed's appointments configuration.
    fn seed() -> CompiledPoller {
        let format = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'".to_owned();
        CompiledPoller::compile(&PollerConfig {
            url: "/hubs/crm/appointments".into(),
            id_field: "id".into(),
            dates: DatesConfiguration {
                updated_field: "modification_date".into(),
                updated_format: format.clone(),
                updated_timezone: Some("GMT".into()),
                created_field: "creation_date".into(),
                created_format: format,
                created_timezone: Some("GMT".into()),
            },
            page_size: None,
            poll_delay_secs: 60,
            created_check_tolerance_secs: 0,
            filter_by_updated_date: true,
            filter_by_current_date: false,
        })
        .unwrap()
    }

    fn at(ms: i64) -> String {
        event_date(ms).replace('Z', &format!(".{:03}Z", ms.rem_euclid(1000)))
    }

    fn record(id: i64, created: i64, updated: i64) -> Value {
        json!({"id": id, "creation_date": at(created), "modification_date": at(updated)})
    }

    fn types(outcome: &PollOutcome) -> Vec<(String, &'static str)> {
        outcome
            .events
            .iter()
            .map(|e| (e.object_id.clone(), e.event_type.as_str()))
            .collect()
    }

    #[test]
    fn a_new_record_is_created_and_an_edited_one_updated_with_their_dates() {
        let poller = seed();
        let state = PollState {
            cursor_ms: T0,
            seen: BTreeMap::new(),
        };
        let outcome = decide(
            &poller,
            &state,
            T0 + 90_000,
            7,
            "appointments",
            vec![
                record(1, T0 + 10_000, T0 + 10_000),
                record(2, T0 - 86_400_000, T0 + 20_500),
            ],
        );
        assert_eq!(
            types(&outcome),
            [("1".into(), "CREATED"), ("2".into(), "UPDATED")]
        );
        assert_eq!(
            event_date(outcome.events[0].date_ms),
            "2026-11-28T10:00:10Z"
        );
        assert_eq!(
            outcome.events[1].date_ms,
            T0 + 20_500,
            "UPDATED carries the updated date"
        );
        assert_eq!(outcome.state.cursor_ms, T0 + 20_500);
    }

    #[test]
    fn records_sharing_the_cursors_second_across_two_polls_arrive_exactly_once() {
        let poller = seed();
        let tie = T0 + 5_000;
        let first_half: Vec<Value> = (1..=5).map(|id| record(id, T0 - 1_000_000, tie)).collect();
        let first = decide(
            &poller,
            &PollState {
                cursor_ms: T0,
                ..Default::default()
            },
            T0 + 6_000,
            1,
            "contacts",
            first_half.clone(),
        );
        assert_eq!(first.events.len(), 5);
        // The second poll re-reads the overlap: the first five again, and five more of the same
        // second that the provider indexed late.
        let mut second_read = first_half;
        second_read.extend((6..=10).map(|id| record(id, T0 - 1_000_000, tie)));
        let second = decide(
            &poller,
            &first.state,
            T0 + 70_000,
            1,
            "contacts",
            second_read,
        );
        let ids: Vec<String> = second.events.iter().map(|e| e.object_id.clone()).collect();
        assert_eq!(ids, ["6", "7", "8", "9", "10"]);
        assert_eq!(second.skipped, 5);
    }

    #[test]
    fn an_edit_of_a_seen_record_is_emitted_again_and_a_repeat_is_not() {
        let poller = seed();
        let first = decide(
            &poller,
            &PollState {
                cursor_ms: T0,
                ..Default::default()
            },
            T0 + 10_000,
            1,
            "r",
            vec![record(1, T0 + 1_000, T0 + 1_000)],
        );
        let again = decide(
            &poller,
            &first.state,
            T0 + 20_000,
            1,
            "r",
            vec![record(1, T0 + 1_000, T0 + 1_000)],
        );
        assert!(again.events.is_empty(), "a re-read is not a change");
        let edited = decide(
            &poller,
            &again.state,
            T0 + 30_000,
            1,
            "r",
            vec![record(1, T0 + 1_000, T0 + 25_000)],
        );
        assert_eq!(types(&edited), [("1".into(), "UPDATED")]);
        assert_ne!(edited.events[0].event_id, first.events[0].event_id);
    }

    #[test]
    fn an_update_before_the_first_poll_of_a_record_is_still_created() {
        let poller = seed();
        let outcome = decide(
            &poller,
            &PollState {
                cursor_ms: T0,
                ..Default::default()
            },
            T0 + 60_000,
            1,
            "r",
            vec![record(1, T0 + 1_000, T0 + 30_000)],
        );
        assert_eq!(types(&outcome), [("1".into(), "CREATED")]);
        assert_eq!(
            outcome.events[0].date_ms,
            T0 + 1_000,
            "CREATED carries the created date"
        );
    }

    #[test]
    fn the_created_check_tolerance_treats_near_equal_dates_as_a_creation() {
        let mut config = seed().config;
        config.created_check_tolerance_secs = 2;
        let poller = CompiledPoller::compile(&config).unwrap();
        let state = PollState {
            cursor_ms: T0 + 100_000,
            ..Default::default()
        };
        // The window starts at T0 + 40 s; both were created before it.
        let outcome = decide(
            &poller,
            &state,
            T0 + 200_000,
            1,
            "r",
            vec![
                record(1, T0 + 39_000, T0 + 40_500),
                record(2, T0 + 38_000, T0 + 41_000),
            ],
        );
        assert_eq!(
            types(&outcome),
            [("1".into(), "CREATED"), ("2".into(), "UPDATED")]
        );
    }

    #[test]
    fn records_before_the_window_are_skipped_and_the_memory_stays_inside_it() {
        let poller = seed();
        let state = PollState {
            cursor_ms: T0,
            ..Default::default()
        };
        let outcome = decide(
            &poller,
            &state,
            T0 + 500_000,
            1,
            "r",
            vec![
                record(1, T0 - 500_000, T0 - 61_000), // before cursor − 60 s
                record(2, T0 - 500_000, T0 - 59_000), // inside the overlap: new to the memory
                record(3, T0 - 500_000, T0 + 300_000),
            ],
        );
        assert_eq!(
            types(&outcome),
            [("2".into(), "UPDATED"), ("3".into(), "UPDATED")]
        );
        assert_eq!(outcome.skipped, 1);
        assert_eq!(outcome.state.cursor_ms, T0 + 300_000);
        assert_eq!(
            outcome.state.seen.keys().collect::<Vec<_>>(),
            ["3"],
            "2 left the window"
        );
    }

    #[test]
    fn a_date_that_does_not_parse_is_a_flagged_update_emitted_once_per_content() {
        let poller = seed();
        let broken =
            json!({"id": 9, "creation_date": "yesterday", "modification_date": "2026-13-01"});
        let state = PollState {
            cursor_ms: T0,
            ..Default::default()
        };
        let first = decide(&poller, &state, T0 + 1_000, 1, "r", vec![broken.clone()]);
        assert_eq!(types(&first), [("9".into(), "UPDATED")]);
        assert_eq!(first.date_errors, 1);
        let error = first.events[0].date_error.clone().unwrap();
        assert!(
            error.contains("modification_date \"2026-13-01\""),
            "{error}"
        );
        assert_eq!(
            first.state.cursor_ms, T0,
            "an undated record does not move the cursor"
        );
        let again = decide(
            &poller,
            &first.state,
            T0 + 2_000,
            1,
            "r",
            vec![broken.clone()],
        );
        assert!(again.events.is_empty());
        let mut changed = broken;
        changed["title"] = json!("renamed");
        let third = decide(&poller, &again.state, T0 + 3_000, 1, "r", vec![changed]);
        assert_eq!(third.events.len(), 1);
    }

    #[test]
    fn filter_by_current_date_leaves_future_records_for_the_next_poll() {
        let mut config = seed().config;
        config.filter_by_current_date = true;
        let poller = CompiledPoller::compile(&config).unwrap();
        let state = PollState {
            cursor_ms: T0,
            ..Default::default()
        };
        let outcome = decide(
            &poller,
            &state,
            T0 + 10_000,
            1,
            "r",
            vec![record(1, T0 + 1_000, T0 + 20_000)],
        );
        assert!(outcome.events.is_empty());
        assert_eq!(outcome.state.cursor_ms, T0, "the cursor waits for it");
        let later = decide(
            &poller,
            &outcome.state,
            T0 + 30_000,
            1,
            "r",
            vec![record(1, T0 + 1_000, T0 + 20_000)],
        );
        assert_eq!(later.events.len(), 1);
    }

    #[test]
    fn filter_by_created_date_judges_records_by_their_creation() {
        let mut config = seed().config;
        config.filter_by_updated_date = false;
        let poller = CompiledPoller::compile(&config).unwrap();
        let state = PollState {
            cursor_ms: T0,
            ..Default::default()
        };
        let outcome = decide(
            &poller,
            &state,
            T0 + 10_000,
            1,
            "r",
            vec![
                record(1, T0 - 100_000, T0 + 5_000),
                record(2, T0 + 2_000, T0 + 2_000),
            ],
        );
        assert_eq!(types(&outcome), [("2".into(), "CREATED")]);
    }

    #[test]
    fn event_ids_are_stable_and_distinguish_every_part() {
        let id = event_id(1, "contacts", "42", "1795860000000");
        assert_eq!(id, event_id(1, "contacts", "42", "1795860000000"));
        assert_eq!(id.len(), 20);
        for other in [
            event_id(2, "contacts", "42", "1795860000000"),
            event_id(1, "contact", "s42", "1795860000000"),
            event_id(1, "contacts", "42", "1795860000001"),
        ] {
            assert_ne!(id, other);
        }
    }

    #[test]
    fn a_record_read_twice_in_one_poll_is_created_once_and_never_goes_back() {
        let poller = seed();
        let state = PollState {
            cursor_ms: T0,
            ..Default::default()
        };
        // Page 1 read record 1 new; it changed before page 2, which an insertion before it
        // made read it again; then an older copy, as a provider answering out of order would.
        let outcome = decide(
            &poller,
            &state,
            T0 + 60_000,
            1,
            "r",
            vec![
                record(1, T0 + 1_000, T0 + 1_000),
                record(1, T0 + 1_000, T0 + 5_000),
                record(1, T0 + 1_000, T0 + 1_000),
            ],
        );
        assert_eq!(
            types(&outcome),
            [("1".into(), "CREATED"), ("1".into(), "UPDATED")]
        );
        assert_eq!(outcome.skipped, 1);
        assert_eq!(outcome.state.cursor_ms, T0 + 5_000);
        assert_eq!(
            outcome.state.seen.get("1"),
            Some(&Seen::Updated(T0 + 5_000)),
            "the memory keeps the newest version"
        );
    }

    #[test]
    fn records_without_an_id_are_counted_not_emitted() {
        let poller = seed();
        let outcome = decide(
            &poller,
            &PollState {
                cursor_ms: T0,
                ..Default::default()
            },
            T0,
            1,
            "r",
            vec![json!({"creation_date": at(T0), "modification_date": at(T0)})],
        );
        assert!(outcome.events.is_empty());
        assert_eq!(outcome.without_id, 1);
    }

    #[test]
    fn nested_and_numeric_ids_are_read_as_text() {
        assert_eq!(
            field_text(&json!({"user": {"id": 7}}), "user.id").as_deref(),
            Some("7")
        );
        assert_eq!(
            field_text(&json!({"a": [{"b": "x"}]}), "a.0.b").as_deref(),
            Some("x")
        );
        assert_eq!(field_text(&json!({"id": ""}), "id"), None);
        assert_eq!(field_text(&json!({"id": null}), "id"), None);
    }
}
