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
//! - Dates are read as Java's `parse(String)` reads them: **text after the pattern is ignored**
//!   (`yyyy-MM-dd'T'HH:mm:ss` reads `2017-01-01T22:17:59.039Z` as its first 19 characters;
//!   Cloud Elements configurations rely on it). Each such record counts a warning, with one
//!   example per date field, so the user can tighten the pattern; the event is not flagged.
//! - A record whose dates do not parse is **not dropped**: it becomes an UPDATED event flagged
//!   with the error, deduplicated by a hash of its content (it has no usable date), and it does
//!   not move the cursor.
//! - `filterByUpdatedDate: false` judges records by their created date instead;
//!   `filterByCurrentDate` leaves records changed after the poll's start for the next poll.
//! - An **event id** is derived from (instance, resource, object id, updated date): a repeated
//!   poll cannot produce a second event for the same change with another id.
//! - A provider clock that **steps back** behind the cursor (noticed from its `Date` header)
//!   makes the poll read from the provider's now (or the last poll's moment on its new clock)
//!   minus the overlap, holding the cursor there until the clock passes it again; repeats of
//!   changes read before the step share their event ids and are kept once by the store
//!   ([`decide_since`]; issue 16).
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
use crate::record::Record;

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

    /// A record's updated date as this configuration reads it (its field, pattern and zone),
    /// or why it cannot be read: how a delete stub's time is read, like a record's.
    pub fn read_updated(&self, record: &Value) -> Result<i64, String> {
        read_date(
            field_text(record, &self.config.dates.updated_field).as_deref(),
            &self.config.dates.updated_field,
            &self.updated,
            &self.updated_zone,
        )
        .map(|(ms, _)| ms)
    }

    /// Where a poll starts reading when the provider's clock may have stepped back: from the
    /// earlier of the cursor and `since_ms` (the provider's now, or the moment the last poll
    /// read up to on the provider's clock of today), minus the overlap. See [`decide_since`].
    pub fn read_from(&self, cursor_ms: i64, since_ms: i64) -> i64 {
        self.window_start(from_ms(cursor_ms, since_ms))
    }
}

/// How far the provider's now may fall behind the cursor before its clock is judged to have
/// stepped back: its `Date` header has one-second resolution, and records may be dated a moment
/// ahead of it. A smaller step is inside the overlap anyway.
pub const STEP_BACK_TOLERANCE_MS: i64 = 2_000;

/// The point from which changes are new: the cursor, or `since` when the provider's clock
/// stepped back behind the cursor by more than [`STEP_BACK_TOLERANCE_MS`].
fn from_ms(cursor_ms: i64, since_ms: i64) -> i64 {
    if since_ms < cursor_ms - STEP_BACK_TOLERANCE_MS {
        since_ms
    } else {
        cursor_ms
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
    /// Its updated date and a created date *after* it (epoch ms): the provider's clock stepped
    /// back between the record's creation and its change. Remembered until the window passes
    /// the created date, so the record is not taken for a new one while its created date,
    /// written on the clock before the step, still falls inside the window.
    Ahead { updated: i64, created: i64 },
    /// A hash of its content, for a record whose dates did not parse.
    Content(String),
}

impl Seen {
    /// The updated date remembered, for a dated record.
    pub fn updated_ms(&self) -> Option<i64> {
        match self {
            Seen::Updated(ms) | Seen::Ahead { updated: ms, .. } => Some(*ms),
            Seen::Content(_) => None,
        }
    }
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
    /// The record's JSON text, as stored (see [`Record`]).
    pub record: Record,
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
    /// Records whose dates had text after the pattern (read as Java does, the rest ignored).
    pub date_warnings: usize,
    /// One example of such a date per date field, in words a user can act on.
    pub warnings: Vec<String>,
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

/// A record's content hash (checksum mode, and dates that do not read): base64url of the
/// first 15 bytes of SHA-256 over its JSON text.
pub fn content_hash(record: &Value) -> String {
    text_hash(&record.to_string())
}

/// [`content_hash`] of a record's JSON text (the same text its `Value` writes).
fn text_hash(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(text.as_bytes())[..15])
}

/// Reads a record's date field as Java's `parse(String)` does: the instant, and a warning when
/// text after the pattern was ignored; or why it cannot be read.
fn read_date(
    text: Option<&str>,
    field: &str,
    pattern: &DatePattern,
    zone: &Zone,
) -> Result<(i64, Option<String>), String> {
    let text = text.ok_or_else(|| format!("{field} is missing or empty"))?;
    let (epoch_ms, read) = pattern.parse_prefix(text, zone).map_err(|e| {
        format!(
            "{field} {text:?} does not match {:?}: {e}",
            pattern.source()
        )
    })?;
    let rest = text.get(read..).unwrap_or_default();
    let warning = (!rest.is_empty()).then(|| {
        format!(
            "{field} {text:?}: {rest:?} after the pattern {:?} was ignored, as Java ignores it; \
             extend the pattern to read it",
            pattern.source()
        )
    });
    Ok((epoch_ms, warning))
}

/// Decides a poll: `records` as the provider returned them (any order), read at `poll_start_ms`
/// (the provider's now, from its `Date` header: used for `filterByCurrentDate`, undated records,
/// and to notice that the provider's clock stepped back behind the cursor — see
/// [`decide_since`]; here the poll reads from the earlier of the cursor and that now).
pub fn decide(
    poller: &CompiledPoller,
    state: &PollState,
    poll_start_ms: i64,
    instance_id: i64,
    resource: &str,
    records: Vec<Value>,
) -> PollOutcome {
    decide_since(
        poller,
        state,
        poll_start_ms,
        poll_start_ms,
        instance_id,
        resource,
        records,
    )
}

/// [`decide`], with `since_ms`: the moment on the provider's clock of today from which a change
/// may not have been read yet (the caller knows it from its own clock: when the last poll ran,
/// plus the provider's skew now). Normally that is after the cursor, and nothing differs.
///
/// When the provider's clock **steps back** (issue 16: an NTP correction, a failover to a host
/// whose clock is behind), every change made after the step is dated before the cursor, and a
/// window of cursor − overlap never reads it. So when `since_ms` (or the provider's now) is
/// more than [`STEP_BACK_TOLERANCE_MS`] before the cursor, the poll reads from there minus the
/// overlap, and the new cursor is held at the provider's now (not the highest date emitted,
/// which is in the provider's future now), so the next poll reads on from here until the
/// provider's clock passes the old cursor. Records re-read from before the step that the
/// (bounded) dedupe memory no longer holds are emitted again under the same event ids, which
/// the store keeps once: nothing is lost, and nothing is delivered twice.
pub fn decide_since(
    poller: &CompiledPoller,
    state: &PollState,
    since_ms: i64,
    poll_start_ms: i64,
    instance_id: i64,
    resource: &str,
    records: Vec<Value>,
) -> PollOutcome {
    let mut decider = Decider::new(
        poller,
        state,
        since_ms,
        poll_start_ms,
        instance_id,
        resource,
    );
    for record in records {
        decider.feed(Record::from(record));
    }
    decider.finish()
}

/// [`decide_since`] a page at a time: records fed in the order read, decided as they come,
/// so a poll can decide one page while the next is on its way. Feeding every record, then
/// [`Decider::finish`], is exactly [`decide_since`] (which is written so).
#[derive(Debug)]
pub struct Decider<'a> {
    poller: &'a CompiledPoller,
    state: &'a PollState,
    instance_id: i64,
    resource: &'a str,
    poll_start_ms: i64,
    stepped_back: bool,
    window_start: i64,
    new_from: i64,
    tolerance_ms: i64,
    outcome: PollOutcome,
    seen: BTreeMap<String, Seen>,
    /// Object id → the updated date this poll emitted for it.
    this_poll: BTreeMap<String, i64>,
}

impl<'a> Decider<'a> {
    /// A decision from `state`, as [`decide_since`] begins one.
    pub fn new(
        poller: &'a CompiledPoller,
        state: &'a PollState,
        since_ms: i64,
        poll_start_ms: i64,
        instance_id: i64,
        resource: &'a str,
    ) -> Decider<'a> {
        let config = &poller.config;
        let from_ms = from_ms(state.cursor_ms, since_ms.min(poll_start_ms));
        let stepped_back = from_ms < state.cursor_ms;
        let window_start = poller.window_start(from_ms);
        // A record never emitted is new when created after this: the usual window's start
        // (created after the last cursor, or inside the overlap and indexed late), or — the
        // provider's clock having stepped back — the moment from which changes may be unread on
        // its new clock (it was created after the last poll). Not the stepped-back window's
        // start: a record emitted before the step, whose memory the usual window let go, may be
        // created inside it.
        let new_from = poller.window_start(state.cursor_ms).min(from_ms);
        let tolerance_ms = i64::from(config.created_check_tolerance_secs) * 1000;
        let outcome = PollOutcome {
            events: Vec::new(),
            state: PollState {
                cursor_ms: state.cursor_ms,
                seen: BTreeMap::new(),
            },
            skipped: 0,
            without_id: 0,
            date_errors: 0,
            date_warnings: 0,
            warnings: Vec::new(),
        };
        Decider {
            poller,
            state,
            instance_id,
            resource,
            poll_start_ms,
            stepped_back,
            window_start,
            new_from,
            tolerance_ms,
            outcome,
            seen: state.seen.clone(),
            this_poll: BTreeMap::new(),
        }
    }

    /// Decides one record (records in the order the provider returned them).
    pub fn feed(&mut self, record: Record) {
        let Decider {
            poller,
            state,
            outcome,
            seen,
            this_poll,
            ..
        } = self;
        let (poller, state) = (*poller, *state);
        let config = &poller.config;
        let (instance_id, resource, poll_start_ms) =
            (self.instance_id, self.resource, self.poll_start_ms);
        let (window_start, new_from, tolerance_ms) =
            (self.window_start, self.new_from, self.tolerance_ms);
        // The id and both dates in one pass over the record's text; the borrows end here,
        // before the record moves into its event.
        let (id, updated, created) = {
            let dates = &config.dates;
            let [id, updated, created] =
                record.fields([&config.id_field, &dates.updated_field, &dates.created_field]);
            let read = |text: Option<std::borrow::Cow<'_, str>>, field, pattern, zone| {
                read_date(text.as_deref(), field, pattern, zone)
            };
            (
                id.map(std::borrow::Cow::into_owned),
                read(
                    updated,
                    &dates.updated_field,
                    &poller.updated,
                    &poller.updated_zone,
                ),
                read(
                    created,
                    &dates.created_field,
                    &poller.created,
                    &poller.created_zone,
                ),
            )
        };
        let Some(object_id) = id else {
            outcome.without_id += 1;
            return;
        };
        let (updated_ms, created_ms) = match (updated, created) {
            (Ok(updated), Ok(created)) => {
                let warned = [&updated.1, &created.1].into_iter().flatten();
                let mut any = false;
                for warning in warned {
                    any = true;
                    let field = warning.split(' ').next().unwrap_or_default();
                    if !outcome
                        .warnings
                        .iter()
                        .any(|w| w.split(' ').next() == Some(field))
                    {
                        outcome.warnings.push(warning.clone());
                    }
                }
                outcome.date_warnings += usize::from(any);
                (updated.0, created.0)
            }
            (Err(error), _) | (_, Err(error)) => {
                // Not dropped: an UPDATED event flagged with the error, once per content.
                let hash = text_hash(record.as_str());
                if seen.get(&object_id) == Some(&Seen::Content(hash.clone())) {
                    outcome.skipped += 1;
                    return;
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
                return;
            }
        };
        let judged = if config.filter_by_updated_date {
            updated_ms
        } else {
            created_ms
        };
        if judged < window_start {
            outcome.skipped += 1;
            return;
        }
        if config.filter_by_current_date && updated_ms > poll_start_ms {
            outcome.skipped += 1; // the next poll takes it
            return;
        }
        if seen
            .get(&object_id)
            .is_some_and(|seen| seen.updated_ms() == Some(updated_ms))
        {
            outcome.skipped += 1;
            return;
        }
        // A record this poll read twice: offset paging reads a record again when one is
        // inserted before it between two pages, and it may have changed meanwhile. A version
        // older than the one emitted is stale; a newer one is an update of a record the client
        // now knows, whatever its dates say.
        let emitted_now = this_poll.get(&object_id).copied();
        if emitted_now.is_some_and(|emitted| emitted >= updated_ms) {
            outcome.skipped += 1;
            return;
        }
        // New to the client: never emitted (not in the memory, not earlier in this poll), and
        // created inside the window — after the last cursor, or indexed late (it existed at the
        // last poll, but no event named it), or after the provider's clock stepped back (dated
        // behind the cursor) — or created at its updated date within the tolerance. A record
        // the memory holds was emitted, so it is no news whatever its created date says (after
        // a step back, one emitted before the step carries a created date past the window's
        // start, and the cursor itself may have been pulled back behind it).
        let unseen = !state.seen.contains_key(&object_id);
        let created_now = emitted_now.is_none()
            && unseen
            && (created_ms >= new_from || (updated_ms - created_ms).abs() <= tolerance_ms);
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
        let memory = if created_ms > updated_ms {
            Seen::Ahead {
                updated: updated_ms,
                created: created_ms,
            }
        } else {
            Seen::Updated(updated_ms)
        };
        seen.insert(object_id, memory);
    }

    /// Takes the events decided so far (they are the caller's now, and not in
    /// [`Decider::finish`]'s outcome).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.outcome.events)
    }

    /// The outcome: the events not taken, the new cursor and the memory the next poll needs.
    pub fn finish(self) -> PollOutcome {
        let Decider {
            poller,
            state,
            stepped_back,
            poll_start_ms,
            mut outcome,
            seen,
            ..
        } = self;
        if stepped_back {
            // The provider's now is behind what was emitted: the next poll reads on from here.
            outcome.state.cursor_ms = outcome.state.cursor_ms.min(poll_start_ms);
        } else {
            // Nor does a record dated past the provider's now take the cursor there: its clock
            // may have stepped back since the record was written, unseen (the cursor had not
            // moved since), and a change made next, dated before that record, would fall
            // behind the next window. A cursor already past the poll's start stays put.
            outcome.state.cursor_ms = outcome
                .state
                .cursor_ms
                .min(poll_start_ms.max(state.cursor_ms));
        }
        // Keep only what the next poll's window can still return.
        let next_window = poller.window_start(outcome.state.cursor_ms);
        outcome.state.seen = seen
            .into_iter()
            .filter(|(_, seen)| match seen {
                Seen::Updated(ms) => *ms >= next_window,
                Seen::Ahead { created, .. } => *created >= next_window,
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
            detect_deletes: false,
            checksum: false,
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
    fn text_after_the_pattern_is_read_as_java_reads_it_with_a_warning_not_a_flag() {
        let mut config = seed().config;
        config.dates.updated_format = "yyyy-MM-dd'T'HH:mm:ss".into();
        config.dates.created_format = "yyyy-MM-dd'T'HH:mm:ss".into();
        let poller = CompiledPoller::compile(&config).unwrap();
        let state = PollState {
            cursor_ms: 1_483_300_000_000,
            seen: BTreeMap::new(),
        };
        let outcome = decide(
            &poller,
            &state,
            1_483_400_000_000,
            7,
            "appointments",
            vec![
                json!({"id": 1, "creation_date": "2017-01-01T22:17:59.039Z",
                       "modification_date": "2017-01-01T22:17:59.039Z"}),
                json!({"id": 2, "creation_date": "2017-01-01T22:00:00",
                       "modification_date": "2017-01-01T22:18:00.5Z"}),
                json!({"id": 3, "creation_date": "2017-01-01T22:00:00",
                       "modification_date": "2017-01-01T22:19:00"}),
            ],
        );
        assert_eq!(outcome.date_errors, 0);
        assert_eq!(outcome.date_warnings, 2, "records 1 and 2; 3 matches whole");
        assert!(outcome.events.iter().all(|e| e.date_error.is_none()));
        assert_eq!(
            event_date(outcome.events[0].date_ms),
            "2017-01-01T22:17:59Z",
            "the prefix, as Java's parse(String) reads it"
        );
        assert_eq!(outcome.events[1].updated_ms, Some(1_483_309_080_000));
        assert_eq!(
            outcome.warnings.len(),
            2,
            "one example per field: {:?}",
            outcome.warnings
        );
        assert!(
            outcome.warnings[0].starts_with("modification_date \"2017-01-01T22:17:59.039Z\"")
                && outcome.warnings[0].contains("\".039Z\" after the pattern"),
            "{:?}",
            outcome.warnings
        );
        assert!(outcome.warnings[1].starts_with("creation_date "));
    }

    /// A poll decides each page as it arrives; the outcome is the one of deciding every record
    /// at the end, whatever the pages' sizes: the same events in the same order, cursor and
    /// memory (a record read twice across pages, a repeat of one seen before, one undated).
    #[test]
    fn deciding_page_by_page_is_deciding_every_record_at_once() {
        let poller = seed();
        let state = PollState {
            cursor_ms: T0,
            seen: BTreeMap::from([("1".to_owned(), Seen::Updated(T0 - 5_000))]),
        };
        let records = vec![
            record(1, T0 - 90_000, T0 - 5_000),
            record(2, T0 - 90_000, T0 + 1_000),
            record(3, T0 + 2_000, T0 + 2_000),
            json!({"id": 4, "creation_date": "soon", "modification_date": "later"}),
            record(2, T0 - 90_000, T0 + 3_000),
            record(3, T0 + 2_000, T0 + 2_000),
            record(5, T0 - 300_000, T0 - 200_000),
        ];
        let at_once = decide_since(
            &poller,
            &state,
            T0 + 9_000,
            T0 + 9_000,
            7,
            "r",
            records.clone(),
        );
        assert_eq!(at_once.events.len(), 4, "{:?}", types(&at_once));
        for page_size in 1..=records.len() {
            let mut decider = Decider::new(&poller, &state, T0 + 9_000, T0 + 9_000, 7, "r");
            let mut events = Vec::new();
            for page in records.chunks(page_size) {
                for record in page {
                    decider.feed(record.into());
                }
                events.extend(decider.take_events());
            }
            let mut outcome = decider.finish();
            events.append(&mut outcome.events);
            outcome.events = events;
            assert_eq!(outcome, at_once, "pages of {page_size}");
        }
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

    #[test]
    fn changes_after_the_provider_clock_steps_back_are_read_and_repeats_keep_their_ids() {
        let poller = seed();
        // Before the step: record 1 emitted at T0 (the cursor), record 2 ten minutes earlier.
        let before = PollState {
            cursor_ms: T0,
            seen: BTreeMap::from([("1".to_owned(), Seen::Updated(T0))]),
        };
        let earlier = decide(
            &poller,
            &PollState {
                cursor_ms: T0 - 700_000,
                seen: BTreeMap::new(),
            },
            T0 - 590_000,
            7,
            "appointments",
            vec![record(2, T0 - 86_400_000, T0 - 620_000)],
        );
        // The provider's clock steps back ten minutes: its now is T0 − 600 s, and records
        // changed since are dated before the cursor − overlap.
        let now = T0 - 600_000 + 30_000;
        let outcome = decide(
            &poller,
            &before,
            now,
            7,
            "appointments",
            vec![
                record(1, T0 - 86_400_000, T0),           // in the memory: skipped
                record(2, T0 - 86_400_000, T0 - 620_000), // re-read, not remembered
                record(3, now - 20_000, now - 20_000),    // new after the step
                record(4, T0 - 86_400_000, now - 10_000), // edited after the step
            ],
        );
        assert_eq!(
            types(&outcome),
            [
                ("2".into(), "UPDATED"),
                ("3".into(), "CREATED"),
                ("4".into(), "UPDATED")
            ]
        );
        assert_eq!(
            outcome.events[0].event_id, earlier.events[0].event_id,
            "a repeat has its first event's id, which the store keeps once"
        );
        assert_eq!(outcome.state.cursor_ms, now, "held at the provider's now");
        // The next poll reads on from there: a change between the polls is not lost.
        let next = decide(
            &poller,
            &outcome.state,
            now + 120_000,
            7,
            "appointments",
            vec![
                record(1, T0 - 86_400_000, T0),
                record(3, now - 20_000, now - 20_000),
                record(5, now + 30_000, now + 30_000),
            ],
        );
        assert_eq!(types(&next), [("5".into(), "CREATED")]);
        // `since` (the last poll on the provider's new clock) reaches further back than its
        // now when polls are further apart than the overlap.
        let late = decide_since(
            &poller,
            &before,
            now - 300_000,
            now,
            7,
            "appointments",
            vec![record(6, now - 200_000, now - 200_000)],
        );
        assert_eq!(types(&late), [("6".into(), "CREATED")]);
        // A provider a second behind the cursor has not stepped back: nothing changes.
        let jitter = decide(
            &poller,
            &before,
            T0 - 1_000,
            7,
            "appointments",
            vec![record(7, T0 - 86_400_000, T0 - 120_000)],
        );
        assert_eq!(types(&jitter), [], "outside the window, as before");
        assert_eq!(jitter.state.cursor_ms, T0);
    }
}
