//! Polling one instance's resources: read every change from the cursor on through the instance's
//! provider client, decide the events (`tributary_domain::poll`), and write events, cursor and
//! dedupe memory in one transaction — or nothing, if any page fails.
//!
//! - The URL of the poller configuration is rendered with its placeholders at the cursor minus
//!   the overlap, and its `where` is translated like a hub call's.
//! - **Cheap idle polls**: when the URL's `where` has no lower bound on the updated field but
//!   the provider can filter this resource by it, the poller adds the bound at the window's
//!   start (the element's dialect writes it; the summary says so), so a poll that finds nothing
//!   costs one provider request even for the seed's where-less configuration. Cloud Elements
//!   scanned every page in that case.
//! - Pages are followed as the element's pager says, never further than it says. Each page is
//!   decided (`poll::Decider`) while the next is fetched, so a backfill's reading and deciding
//!   overlap; everything still goes to the store in the poll's one commit at the end (its
//!   events many to a statement), never in a transaction held across a provider request.
//! - **An idle poll's commit** (nothing found, no reconciliation sweep; a delete sweep that
//!   found nothing moves its cursor with it) is the poller's row alone, by group commit: the
//!   idle polls finishing at once are written in one statement (`Store::commit_poll`).
//! - **The first cursor** is the moment events were enabled, in the provider's time: our clock
//!   plus the skew its `Date` header shows (minus a second for that header's resolution), so a
//!   provider whose clock is behind ours loses no change made after enabling.
//! - **A provider clock that steps back** (issue 16): every change after the step is dated
//!   before the cursor. The poll reads from the earlier of the cursor and the last successful
//!   poll's moment on the provider's clock of today (our clock then, plus the skew its `Date`
//!   header shows now; the moment is kept in that poll's stored summary), minus the overlap;
//!   when this poll's own answers show the step, it reads once more from there. Repeats keep
//!   their event ids and are stored once (`tributary_domain::poll::decide_since`).
//!
//! - **What is read, and how far**, is the element's (`tributary_elements::walk`): the list or
//!   the change feed, up to the provider's settle time, re-windowed at a result cap; the
//!   summary says how often it re-windowed, and what a user should know (a feed's look-back
//!   passed).
//! - **Deletes**, where the element can see them and the resource's `detectDeletes` is on, go
//!   into the same commit as the updates': swept after them from a delete log (`deletes`) or
//!   an archived list (`archived`), or set apart from the records as stubs (`stubs`).
//! - **Reconciliation sweeps** (`sweep`): a resource whose deletes show only by absence
//!   (Keap's) is also read whole once per sweep interval (`TRIBUTARY_SWEEP_INTERVAL`, or on
//!   request), after its updates, its ids compared with those the last complete sweep saw;
//!   a resource in checksum mode (no change date) is polled by a sweep every time, comparing
//!   content hashes (`checksum`). A sweep's events and memory commit with the poll, and only a sweep that
//!   read the list to its end decides anything.
//! - **A pause** (the provider's quota for this instance is spent, as its classifier says) is
//!   not a failure: the poller waits until the pause ends, with no back-off and no failure
//!   counted, and says so in its status.
//!
//! Polls run from the scheduler (on their due times, with leases) and from "poll now"
//! (`services::events::poll_now`).

mod archived;
mod checksum;
mod deletes;
mod stubs;
mod sweep;

pub use deletes::DeleteSummary;
pub use sweep::{SweepSummary, deletion_event_id};

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use tributary_domain::instance_config::EventsSettings;
use tributary_domain::placeholders::UrlTemplate;
use tributary_domain::poll::{self, PollState, Seen};
use tributary_domain::record::Record;
use tributary_elements::client::InstanceClient;
use tributary_elements::definition::deletes::DeleteKind;
use tributary_elements::pager::Position;
use tributary_elements::query::Translated;
use tributary_elements::walk::Walk;
use tributary_store::{Committed, InstanceRecord, NewEvent, PollCommit, PollerRecord};

use crate::clients::Prepared;
use crate::quota::{Polled, PollerRef};
use crate::services::hub::HubQuery;
use crate::state::AppState;

/// What one poll of one resource did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollSummary {
    pub resource: String,
    pub records: usize,
    pub pages: u32,
    pub events: u64,
    pub skipped: usize,
    pub date_errors: usize,
    /// Records whose dates had text after the pattern: read as Java reads them (the rest
    /// ignored), counted here rather than flagged.
    pub date_warnings: usize,
    /// An example of such a date per date field, saying what to change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The poller added the change filter (a lower bound on the updated field) to a URL
    /// without one. Named `addedSince` in the API, after Cloud Elements' `since`.
    #[serde(rename = "addedSince")]
    pub added_change_filter: bool,
    /// How many times the poll asked again from its last date at the provider's result cap.
    #[serde(skip_serializing_if = "is_zero")]
    pub rewindows: u32,
    /// What the poll did that a user should know (a change feed's look-back passed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The cursor after the poll (provider time, `yyyy-MM-dd'T'HH:mm:ss'Z'`).
    pub cursor: Option<String>,
    pub error: Option<String>,
    /// The delete sweep, on resources that detect deletes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletes: Option<DeleteSummary>,
    /// The reconciliation sweep, when one ran (checksum mode, or deletes by absence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
    /// When the poll began, on Tributary's clock (epoch ms). Stored with the last successful
    /// poll's summary: on the provider's clock of the next poll, everything changed after this
    /// moment may be unread, which matters when that clock has stepped back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polled_at_ms: Option<i64>,
}

/// What a poll needs of its instance besides its client and prepared settings: which it is.
/// Not the whole record: the scheduler polls an instance it holds the client of without
/// reading the record again.
#[derive(Debug, Clone, Copy)]
pub struct PolledInstance<'a> {
    pub id: i64,
    pub element_key: &'a str,
}

impl<'a> From<&'a InstanceRecord> for PolledInstance<'a> {
    fn from(record: &'a InstanceRecord) -> Self {
        PolledInstance {
            id: record.id,
            element_key: &record.element_key,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// When the last successful poll began (Tributary's clock), from its stored summary.
fn last_success_ms(poller: &PollerRecord) -> Option<i64> {
    let summary: Value = serde_json::from_str(poller.last_summary.as_deref()?).ok()?;
    summary.get("polledAtMs")?.as_i64()
}

/// The resources whose pollers an instance should have, each with its first due time spread
/// over the first interval so that instances created together do not poll together.
pub fn wanted_pollers(
    settings: &EventsSettings,
    now_ms: i64,
    instance_id: i64,
) -> Vec<(String, i64)> {
    // A webhooks instance is polled too, every refresh interval: the safety net for a lost
    // delivery (what hooks delivered already is suppressed by its event id).
    if !settings.enabled {
        return Vec::new();
    }
    let interval_ms = i64::from(settings.refresh_minutes) * 60_000;
    settings
        .pollers
        .keys()
        .enumerate()
        .map(|(i, resource)| {
            // A deterministic spread: the same instance keeps its slot across restarts.
            let slot = (instance_id.wrapping_mul(7919) + i as i64 * 104_729)
                .rem_euclid(interval_ms.max(1));
            (resource.clone(), now_ms + slot)
        })
        .collect()
}

/// The dedupe memory as JSON: an object of object id → updated date (`[updated, created]` for
/// a record created ahead of its change, a content hash for an undated one). Written straight
/// from the memory, in its order (the order a `Value` object writes its keys in): a backfill's
/// memory holds every record of the overlap window, tens of thousands, and a `Value` of it
/// cost an allocation for each.
fn seen_to_json(state: &PollState) -> String {
    use std::fmt::Write;
    let mut json = String::with_capacity(2 + state.seen.len() * 32);
    json.push('{');
    for (i, (id, seen)) in state.seen.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        write_json_string(&mut json, id);
        json.push(':');
        // Writing to a String cannot fail.
        let _ = match seen {
            Seen::Updated(ms) => write!(json, "{ms}"),
            Seen::Ahead { updated, created } => write!(json, "[{updated},{created}]"),
            Seen::Content(hash) => {
                write_json_string(&mut json, hash);
                Ok(())
            }
        };
    }
    json.push('}');
    json
}

/// A string as JSON, escaped as `serde_json` escapes it.
fn write_json_string(out: &mut String, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&Value::from(text).to_string());
    }
}

fn seen_from_json(text: &str) -> BTreeMap<String, Seen> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(id, value)| match value {
                Value::Number(n) => Some((id, Seen::Updated(n.as_i64()?))),
                Value::Array(dates) => match dates.as_slice() {
                    [updated, created] => Some((
                        id,
                        Seen::Ahead {
                            updated: updated.as_i64()?,
                            created: created.as_i64()?,
                        },
                    )),
                    _ => None,
                },
                Value::String(hash) => Some((id, Seen::Content(hash))),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Polls one resource; records a failure, or commits the outcome. In a span naming the
/// instance and the resource, so every log line of the poll carries them; its duration goes to
/// the poll-duration histogram of `/metrics`.
pub async fn poll_resource(
    state: &AppState,
    instance: &PolledInstance<'_>,
    client: &InstanceClient,
    prepared: &Prepared,
    poller: &PollerRecord,
    force_sweep: bool,
) -> PollSummary {
    let span = tracing::info_span!(
        "poll",
        instance_id = instance.id,
        element = %instance.element_key,
        resource = %poller.resource
    );
    let started = std::time::Instant::now();
    let summary = tracing::Instrument::instrument(
        poll_once(state, instance, client, prepared, poller, force_sweep),
        span,
    )
    .await;
    state
        .metrics
        .polled(instance.element_key, &poller.resource, started.elapsed());
    summary
}

async fn poll_once(
    state: &AppState,
    instance: &PolledInstance<'_>,
    client: &InstanceClient,
    prepared: &Prepared,
    poller: &PollerRecord,
    force_sweep: bool,
) -> PollSummary {
    let settings = &prepared.settings;
    let mut summary = PollSummary {
        resource: poller.resource.clone(),
        ..PollSummary::default()
    };
    let now = state.now_ms();
    // The interval, stretched when the app's pollers would use more than its quota allows.
    let owner = client.quota_key();
    let quota = PollerRef {
        element: instance.element_key,
        budget_owner: &owner,
        instance_id: instance.id,
        resource: &poller.resource,
        interval_ms: i64::from(settings.refresh_minutes) * 60_000,
    };
    let allowed = crate::quota::allowed_per_minute(&state.settings, client.element());
    let next_due = state.quotas.next_due(&quota, allowed, now);
    let (outcome, counted) = tributary_elements::client::count_requests(run(
        state,
        instance,
        client,
        prepared,
        poller,
        &mut summary,
        Moments {
            now,
            next_due,
            force_sweep,
        },
    ))
    .await;
    state.quotas.polled(
        &quota,
        allowed,
        state.now_ms(),
        Polled {
            requests: counted.max(requests_made(&summary)),
            changed: summary.events > 0,
            first: poller.last_poll_ms.is_none(),
        },
    );
    match outcome {
        Ok(()) => {}
        Err(error) if client.paused_until_ms().is_some() => {
            // The provider's quota for this instance is spent: wait for it, not a failure.
            let until = client.paused_until_ms().unwrap_or(next_due);
            let reason = format!(
                "paused until {}: the provider refused for a spent quota ({error})",
                poll::event_date(until)
            );
            if let Err(e) = state
                .store
                .record_poll_pause(instance.id, &poller.resource, &reason, until, now)
                .await
            {
                tracing::error!(error = %e, "could not record a paused poll");
            }
            tracing::info!(instance = instance.id, resource = %poller.resource, %reason, "poll paused");
            summary.error = Some(reason);
        }
        Err(error) => {
            // Back off on repeated failures: the interval, doubled per failure up to an hour.
            let failures = u32::try_from(poller.failures.max(0))
                .unwrap_or(u32::MAX)
                .min(6);
            let backoff = (next_due - now)
                .max(60_000)
                .saturating_mul(1 << failures)
                .min(3_600_000);
            if let Err(e) = state
                .store
                .record_poll_failure(instance.id, &poller.resource, &error, now + backoff, now)
                .await
            {
                tracing::error!(error = %e, "could not record a failed poll");
            }
            tracing::warn!(instance = instance.id, resource = %poller.resource, %error, "poll failed");
            summary.error = Some(error);
        }
    }
    summary
}

/// The provider requests a poll made, as its summary counts them (a floor under the count of
/// its client's requests, for requests sent from tasks the poll spawned): its list pages, its
/// sweep's pages and the ids the sweep asked for one by one, one for a delete sweep; at least
/// one.
fn requests_made(summary: &PollSummary) -> u32 {
    let sweep = summary.sweep.as_ref().map_or(0, |s| {
        s.pages
            .saturating_add(u32::try_from(s.checked).unwrap_or(u32::MAX))
    });
    let deletes = u32::from(summary.deletes.is_some());
    summary
        .pages
        .saturating_add(sweep)
        .saturating_add(deletes)
        .max(1)
}

// The poll's whole context, passed explicitly rather than bundled into a struct used once.
#[allow(clippy::too_many_arguments)]
async fn run(
    state: &AppState,
    instance: &PolledInstance<'_>,
    client: &InstanceClient,
    prepared: &Prepared,
    poller: &PollerRecord,
    summary: &mut PollSummary,
    moments: Moments,
) -> Result<(), String> {
    let Moments {
        now,
        next_due,
        force_sweep,
    } = moments;
    let compiled = prepared
        .pollers
        .get(&poller.resource)
        .ok_or_else(|| format!("no poller configuration for {}", poller.resource))?;
    let config = &compiled.config;
    let element = client.element();
    // The URL names the hub resource to read; its query may carry a where and an orderBy.
    let template = UrlTemplate::compile(&config.url).map_err(|e| format!("url: {e}"))?;
    let hub_prefix = format!("/hubs/{}/", element.hub);
    let (path, _) = config.url.split_once('?').unwrap_or((&config.url, ""));
    let name = path
        .strip_prefix(&hub_prefix)
        .unwrap_or(path)
        .trim_matches('/');
    let resource = element
        .resource(name)
        .ok_or_else(|| format!("url: no resource {name:?} in hub {}", element.hub))?
        .clone();

    if config.checksum {
        // No change date to read from: the poll is a sweep of the whole list.
        return checksum::poll(
            state, instance, client, compiled, &resource, poller, summary, moments,
        )
        .await;
    }

    // Learn the provider's clock before the first poll of this resource.
    if poller.cursor_ms.is_none() && client.provider_skew_ms().is_none() {
        client
            .list(&resource, &Translated::default(), &Position::Start, 1)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut skew = client.provider_skew_ms().unwrap_or(0);
    let cursor = poller.cursor_ms.unwrap_or(poller.enabled_ms + skew - 1_000);
    let last_success = last_success_ms(poller);
    summary.polled_at_ms = Some(now);
    // Read from the cursor — or earlier, when the provider's clock has stepped back behind it:
    // `since` is the last successful poll's moment on the provider's clock of today (or its
    // now), and a skew learned from this poll's own answers that puts it earlier than the one
    // the poll began with sends the poll back once to read from there (issue 16).
    let previous = std::sync::Arc::new(PollState {
        cursor_ms: cursor,
        seen: seen_from_json(&poller.seen),
    });
    let mut reread = false;
    let (outcome, mut events, stubs, provider_now, unseen) = loop {
        let provider_now = now + skew;
        let since = last_success.map_or(provider_now, |at| (at + skew).min(provider_now));
        let window_start = compiled.read_from(cursor, since);
        let rendered = template.render(window_start, provider_now);
        // The URL's query reads as a hub call's would.
        let query_text = rendered.split_once('?').map(|(_, q)| q).unwrap_or("");
        let params = HubQuery::parse(query_text).map_err(|e| format!("url: {e}"))?;
        let mut walk = Walk::new(
            element,
            &resource,
            params.params(),
            &config.dates.updated_field,
            window_start,
            provider_now,
        )
        .map_err(|e| format!("url: {e}"))?;
        summary.added_change_filter = walk.added_change_filter();

        let page_size = config.page_size.unwrap_or(element.api.max_page_size);
        // Each page is decided (and its events' records written out) while the next is on
        // its way, in a task of its own: the provider's work, the reading of its pages and
        // the deciding overlap instead of taking turns (on another core, when there is one;
        // the next request goes out as soon as a page is read, not after it is decided).
        // What is decided is the same as deciding every record at the end (`poll::Decider`);
        // nothing is stored before the poll's one commit.
        let (pages_tx, mut pages_rx) = tokio::sync::mpsc::channel::<Vec<Record>>(2);
        let decide = {
            let (compiled, previous) = (compiled.clone(), previous.clone());
            let (instance_id, resource) = (instance.id, poller.resource.clone());
            tokio::spawn(tracing::Instrument::in_current_span(async move {
                let mut decider = poll::Decider::new(
                    &compiled,
                    &previous,
                    since,
                    provider_now,
                    instance_id,
                    &resource,
                );
                let (mut records, mut events) = (0_usize, Vec::new());
                while let Some(page) = pages_rx.recv().await {
                    records += page.len();
                    for record in page {
                        decider.feed(record);
                    }
                    events.extend(decider.take_events().into_iter().map(|e| new_event(e, now)));
                }
                let mut outcome = decider.finish();
                events.extend(outcome.events.drain(..).map(|e| new_event(e, now)));
                (records, events, outcome)
            }))
        };
        let read = async {
            let mut pages = 0_u32;
            let mut stubs = Vec::new();
            while let Some(page) = walk
                .next(client, page_size)
                .await
                .map_err(|e| e.to_string())?
            {
                pages += 1;
                stubs.extend(page.stubs);
                if pages_tx.send(page.records).await.is_err() {
                    break;
                }
            }
            drop(pages_tx);
            Ok::<_, String>((pages, stubs))
        };
        // The read ends (its sender dropped) before the decision is awaited: it ends too.
        let read = read.await;
        let (records, events, outcome) = decide
            .await
            .map_err(|e| format!("the poll's decision failed: {e}"))?;
        let (pages, stubs) = read?;
        summary.pages += pages;
        summary.rewindows = walk.rewindows();
        summary.notes = walk.notes().to_vec();
        let fresh = client.provider_skew_ms().unwrap_or(skew);
        let fresh_since = last_success.map_or(now + fresh, |at| (at + fresh).min(now + fresh));
        if !reread
            && compiled.read_from(cursor, fresh_since) < window_start - poll::STEP_BACK_TOLERANCE_MS
        {
            tracing::info!(
                instance = instance.id,
                resource = %poller.resource,
                step_ms = skew - fresh,
                "the provider's clock stepped back; reading again from its new clock"
            );
            skew = fresh;
            reread = true;
            continue;
        }
        let unseen = walk.unseen().to_vec();
        summary.records = records;
        break (outcome, events, stubs, provider_now, unseen);
    };
    summary.skipped = outcome.skipped;
    summary.date_errors = outcome.date_errors;
    summary.date_warnings = outcome.date_warnings;
    summary.warnings = outcome.warnings.clone();
    let mut cursor_ms = outcome.state.cursor_ms;
    let mut sweep = None;
    let kind = element.deletes_of(&resource).map(|spec| spec.kind);
    if config.detect_deletes
        && let Some(kind) = kind
        && kind != DeleteKind::Absence
    {
        // The provider's clock as its latest answer (this poll's pages) showed it.
        let skew = client.provider_skew_ms().unwrap_or(skew);
        let swept = match kind {
            DeleteKind::SeparateRequest => {
                deletes::sweep(client, &resource, poller, instance.id, skew, now).await
            }
            DeleteKind::ArchivedList => {
                archived::sweep(client, &resource, poller, instance.id, skew, now).await
            }
            DeleteKind::Inline => {
                // Stubs are changes too: the cursor moves past the latest (never past the
                // provider's now), so a resource that only sees deletes reads on.
                let latest = stubs
                    .iter()
                    .filter_map(|stub| compiled.read_updated(stub).ok())
                    .max();
                if let Some(latest) = latest {
                    cursor_ms = cursor_ms.max(latest.min(provider_now));
                }
                stubs::sweep(
                    compiled,
                    instance.id,
                    &poller.resource,
                    stubs,
                    &unseen,
                    poller.delete_cursor_ms,
                    cursor_ms,
                    now,
                )
            }
            // Swept below, on its own schedule.
            DeleteKind::Absence => Default::default(),
        };
        events.extend(swept.events);
        summary.deletes = Some(swept.summary);
        sweep = swept.commit;
    }
    let mut reconciled = None;
    if config.detect_deletes
        && kind == Some(DeleteKind::Absence)
        && sweep::due(state, poller, now, force_sweep)
    {
        let skew = client.provider_skew_ms().unwrap_or(skew);
        let swept = sweep::run(
            state,
            instance.id,
            client,
            compiled,
            &resource,
            poller,
            now + skew,
            now,
        )
        .await?;
        events.extend(swept.events);
        summary.sweep = Some(swept.summary);
        reconciled = swept.commit;
    }
    summary.cursor = Some(poll::event_date(cursor_ms));
    let summary_json = serde_json::to_string(&*summary).unwrap_or_default();
    let commit = PollCommit {
        instance_id: instance.id,
        resource: poller.resource.clone(),
        expected_version: poller.version,
        events,
        cursor_ms,
        seen: seen_to_json(&outcome.state),
        summary: summary_json,
        next_due_ms: next_due,
        now_ms: now,
    };
    // Its events' notifications go on their way from here (queued by the commit itself where
    // the worker here is idle, else the worker nudged).
    let committed = crate::delivery::outbox::commit_poll(
        state,
        poller.instance_version,
        commit,
        sweep,
        reconciled,
    )
    .await
    .map_err(|e| format!("could not store the poll: {e}"))?;
    finish(state, summary, committed);
    Ok(())
}

/// A decided event as the store takes it: its texts moved, not copied (the record's is the
/// text the provider's page held, see `tributary_domain::record`).
fn new_event(event: poll::Event, poll_date_ms: i64) -> NewEvent {
    NewEvent {
        event_id: event.event_id,
        object_id: event.object_id,
        event_type: event.event_type.as_str().to_owned(),
        date_ms: event.date_ms,
        poll_date_ms,
        date_error: event.date_error,
        record: event.record.into_string(),
    }
}

/// The moments a poll runs at, and whether it was asked to sweep now.
#[derive(Debug, Clone, Copy)]
struct Moments {
    now: i64,
    next_due: i64,
    force_sweep: bool,
}

/// Counts what a stored poll did, or says that another poll of the resource won.
fn finish(state: &AppState, summary: &mut PollSummary, committed: Committed) {
    match committed {
        Committed::Done { inserted } => {
            use std::sync::atomic::Ordering::Relaxed;
            summary.events = inserted;
            let stats = &state.poll_stats;
            stats.date_warnings.fetch_add(
                u64::try_from(summary.date_warnings).unwrap_or(u64::MAX),
                Relaxed,
            );
            if let Some(sweep) = &summary.sweep {
                let finished = match sweep.error {
                    None => &stats.sweeps_completed,
                    Some(_) => &stats.sweeps_interrupted,
                };
                finished.fetch_add(1, Relaxed);
                let requests = u64::from(sweep.pages) + sweep.checked as u64;
                stats.sweep_requests.fetch_add(requests, Relaxed);
            }
        }
        Committed::Conflict => {
            summary.error =
                Some("another poll of this resource finished first; its results stand".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};
    use tributary_domain::instance_config::PollerConfig;

    #[test]
    fn the_dedupe_memory_round_trips_through_json() {
        let state = PollState {
            cursor_ms: 5,
            seen: BTreeMap::from([
                ("1".to_owned(), Seen::Updated(1_795_860_000_000)),
                ("2".to_owned(), Seen::Content("abc".into())),
                (
                    "3".to_owned(),
                    Seen::Ahead {
                        updated: 1_795_860_000_000,
                        created: 1_795_860_060_000,
                    },
                ),
            ]),
        };
        assert_eq!(seen_from_json(&seen_to_json(&state)), state.seen);
        // Byte for byte what a `Value` of the memory writes (escaped ids included).
        let mut state = state;
        state.seen.insert(
            "a \"quoted\"\n\\ id é".to_owned(),
            Seen::Content("h\"".into()),
        );
        let value: Map<String, Value> = state
            .seen
            .iter()
            .map(|(id, seen)| {
                let value = match seen {
                    Seen::Updated(ms) => json!(ms),
                    Seen::Ahead { updated, created } => json!([updated, created]),
                    Seen::Content(hash) => json!(hash),
                };
                (id.clone(), value)
            })
            .collect();
        assert_eq!(seen_to_json(&state), Value::Object(value).to_string());
        assert_eq!(seen_to_json(&PollState::default()), "{}");
        assert!(seen_from_json("not json").is_empty());
    }

    fn poller(resource: &str) -> PollerConfig {
        let format = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
        PollerConfig {
            url: format!("/hubs/crm/{resource}"),
            id_field: "id".into(),
            dates: tributary_domain::instance_config::DatesConfiguration {
                updated_field: "updated".into(),
                updated_format: format.into(),
                updated_timezone: None,
                created_field: "created".into(),
                created_format: format.into(),
                created_timezone: None,
            },
            page_size: None,
            poll_delay_secs: 0,
            created_check_tolerance_secs: 0,
            filter_by_updated_date: true,
            filter_by_current_date: false,
            detect_deletes: false,
            checksum: false,
        }
    }

    fn settings(refresh_minutes: u32, resources: &[&str]) -> EventsSettings {
        EventsSettings {
            enabled: true,
            vendor: tributary_domain::instance_config::VendorType::Polling,
            callback_url: None,
            has_signature_key: false,
            refresh_minutes,
            pollers: resources
                .iter()
                .map(|r| ((*r).to_owned(), poller(r)))
                .collect(),
        }
    }

    /// The production slots (`wanted_pollers`), not a copy of their formula: 1,000 instances
    /// with one resource each, due at `now` + their slot.
    #[test]
    fn first_polls_are_spread_over_the_interval() {
        let now = 1_795_860_000_000;
        let one = settings(1, &["contacts"]);
        let mut offsets: Vec<i64> = (1..=1000)
            .flat_map(|id| wanted_pollers(&one, now, id))
            .map(|(resource, due)| {
                assert_eq!(resource, "contacts");
                due - now
            })
            .collect();
        assert_eq!(offsets.len(), 1000, "one poller per instance");
        assert!(
            offsets.iter().all(|offset| (0..60_000).contains(offset)),
            "every first poll within the one-minute interval: {offsets:?}"
        );
        offsets.sort_unstable();
        offsets.dedup();
        assert!(
            offsets.len() > 900,
            "1,000 instances spread over a minute: {} slots",
            offsets.len()
        );
        // The whole interval is used, not a corner of it.
        assert!(
            offsets[0] < 6_000 && offsets[offsets.len() - 1] >= 54_000,
            "{offsets:?}"
        );
        // A longer interval spreads over its own length.
        let fifteen = settings(15, &["contacts"]);
        assert!(
            (1..=1000)
                .flat_map(|id| wanted_pollers(&fifteen, now, id))
                .any(|(_, due)| due - now >= 60_000),
            "a 15-minute interval uses more than its first minute"
        );
    }

    #[test]
    fn an_instance_keeps_its_slots_and_its_resources_do_not_share_one() {
        let two = settings(5, &["appointments", "contacts"]);
        let first = wanted_pollers(&two, 1_000, 42);
        assert_eq!(
            first.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
            ["appointments", "contacts"]
        );
        assert_ne!(
            first[0].1, first[1].1,
            "two resources, two slots: {first:?}"
        );
        // A restart (a later `now`) keeps the instance's offsets.
        let later = wanted_pollers(&two, 61_000, 42);
        for ((_, a), (_, b)) in first.iter().zip(&later) {
            assert_eq!(b - a, 60_000);
        }
    }

    #[test]
    fn an_instance_without_polling_events_wants_no_poller() {
        assert!(
            wanted_pollers(&settings(1, &[]), 0, 1).is_empty(),
            "no configured resources"
        );
        let mut disabled = settings(1, &["contacts"]);
        disabled.enabled = false;
        assert!(
            wanted_pollers(&disabled, 0, 1).is_empty(),
            "events disabled"
        );
    }
}
