//! A poll's delete sweep: reads the resource's deletions since its delete cursor through the
//! element's delete request, and hands the poll its `DELETED` events (and a `DELETES_LOST`
//! event when the provider no longer has some), with the delete cursor to commit in the poll's
//! one transaction (`tributary_domain::deletes` decides; this file does the I/O).
//!
//! A sweep that fails does not fail the poll: the updates are committed, the delete cursor
//! stays where it was (on the provider's clock of today, below), and the summary says why — the
//! next poll sweeps the same window again. A provider's refusal of its delete log (a
//! permission, say) must not stop its updates.
//!
//! The cursor is kept with the offset of the provider's clock it was read at (the poller's
//! delete memory): after the provider's clock stepped back, the window starts from the cursor
//! moved back by the step (`deletes::rebase`), or deletions dated on the new clock would fall
//! before it and never be read. Every sweep commits its start, a failed one too
//! (`deletes::start`): a step back that only a failed sweep saw, then a step forward, would
//! otherwise leave the deletions between them behind the cursor.

use serde::Serialize;
use tributary_domain::deletes::{self, Answer, CursorClock, Deletion};
use tributary_domain::poll::event_date;
use tributary_elements::Resource;
use tributary_elements::client::InstanceClient;
use tributary_store::{DeleteCommit, NewEvent, PollerRecord};

/// What a poll's delete sweep did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteSummary {
    /// Deletions the provider reported in the window.
    pub deleted: usize,
    /// The window read (provider time), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The delete cursor after the sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Deletions without a usable id or date (counted, never guessed at).
    pub unreadable: usize,
    /// The span whose deletes the provider no longer had, when it said so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
    /// Why nothing was read: too soon for a window, or the provider's error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a sweep gives the poll's commit.
#[derive(Debug, Default)]
pub struct Sweep {
    pub events: Vec<NewEvent>,
    /// `None` when the delete cursor and memory stay as they are (an archived list's failed
    /// sweep). A delete log's sweep always commits: the cursor read up to, or, when it read
    /// nothing, the cursor it read from, with the provider's clock it is on.
    pub commit: Option<DeleteCommit>,
    pub summary: DeleteSummary,
}

/// Sweeps `resource`'s deletions from the poller's delete cursor (the moment events were
/// enabled, in the provider's time, before the first sweep; moved back by a step back of the
/// provider's clock since it was read) to the provider's `provider_now`.
pub async fn sweep(
    client: &InstanceClient,
    resource: &Resource,
    poller: &PollerRecord,
    instance_id: i64,
    skew_ms: i64,
    now_ms: i64,
) -> Sweep {
    let element = client.element();
    let Some(spec) = element.deletes_of(resource) else {
        return Sweep::default();
    };
    let start = deletes::start(
        poller.delete_cursor_ms,
        CursorClock::from_json(poller.delete_memory.as_deref()),
        poller.enabled_ms,
        skew_ms,
    );
    let cursor = start.cursor_ms;
    if let Some(stored) = poller.delete_cursor_ms
        && cursor != stored
    {
        tracing::info!(
            instance = instance_id,
            resource = %resource.name,
            step_ms = stored - cursor,
            "the provider's clock stepped back; reading its deletes from the cursor moved back \
             as far"
        );
    }
    // Committed with every cursor, whatever the sweep reads: the cursor on the provider's clock
    // of today and that clock, so a step seen once is remembered (`deletes::start`).
    let kept = DeleteCommit {
        cursor_ms: cursor,
        lost: None,
        memory: Some(start.clock.to_json()),
    };
    let clock = kept.memory.clone();
    let provider_now = now_ms + skew_ms;
    let mut summary = DeleteSummary::default();
    let Some(window) = deletes::window(
        cursor,
        provider_now,
        spec.lookback_ms(),
        spec.granularity_ms(),
    ) else {
        summary.skipped = Some(format!(
            "the provider reads deletes in whole units of {} s: the next window opens later",
            spec.granularity_ms() / 1000
        ));
        // The cursor is kept as it is on today's clock (pinned, on the first sweep).
        return Sweep {
            summary,
            commit: Some(kept),
            ..Sweep::default()
        };
    };
    summary.from = Some(event_date(window.start_ms));
    summary.to = Some(event_date(window.end_ms));
    let page = match client
        .deleted(resource, window.start_ms, window.end_ms)
        .await
    {
        Ok(page) => page,
        Err(error) => {
            summary.error = Some(error.to_string());
            // Nothing read: the next sweep reads the same window, from the cursor as it stands
            // on today's clock.
            return Sweep {
                summary,
                commit: Some(kept),
                ..Sweep::default()
            };
        }
    };
    summary.deleted = page.deletions.len();
    summary.unreadable = page.unreadable;
    let answer = Answer {
        deletions: page
            .deletions
            .into_iter()
            .map(|d| Deletion {
                object_id: d.id,
                deleted_ms: d.deleted_ms,
                entry: d.entry,
            })
            .collect(),
        covered_ms: page.covered_ms,
        earliest_ms: page.earliest_ms,
    };
    let outcome = deletes::decide(instance_id, &resource.name, cursor, &window, answer);
    summary.cursor = Some(event_date(outcome.cursor_ms));
    if let Some(lost) = outcome.lost {
        let span = format!(
            "{} to {}",
            event_date(lost.from_ms),
            event_date(lost.until_ms)
        );
        tracing::warn!(
            instance = instance_id,
            resource = %resource.name,
            lost = %span,
            "deletes were lost at the provider before Tributary read them"
        );
        summary.lost = Some(span);
    }
    let events = stored(outcome.events, now_ms);
    Sweep {
        events,
        commit: Some(DeleteCommit {
            cursor_ms: outcome.cursor_ms,
            lost: outcome.lost.map(|l| (l.from_ms, l.until_ms)),
            memory: clock,
        }),
        summary,
    }
}

/// Deletion events as the store keeps them, polled at `now_ms` (every kind of delete read).
pub(super) fn stored(events: Vec<deletes::DeleteEvent>, now_ms: i64) -> Vec<NewEvent> {
    events
        .into_iter()
        .map(|event| NewEvent {
            event_id: event.event_id,
            object_id: event.object_id,
            event_type: event.event_type.to_owned(),
            date_ms: event.date_ms,
            poll_date_ms: now_ms,
            date_error: None,
            record: event.record.to_string(),
        })
        .collect()
}
