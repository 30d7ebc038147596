//! A poll's inline deletes (`inline` delete detection, QuickBooks' CDC stubs): the stubs the
//! walk set apart from the records become `DELETED` events, and the spans whose stubs the walk
//! could not see (an answer cut at its cap before them, a window older than the change feed
//! reaches) become `DELETES_LOST` events and the poller's loss — all in the poll's one commit
//! (`tributary_domain::stubs` decides; this file reads the stubs as the poller reads records).

use serde_json::Value;
use tributary_domain::poll::{CompiledPoller, event_date, field_text};
use tributary_domain::stubs::{self, Stub};
use tributary_elements::walk::Unseen;
use tributary_store::{DeleteCommit, NewEvent};

use super::deletes::{DeleteSummary, Sweep};

/// The events of `stubs` and of the `unseen` spans. The delete cursor says up to where deletes
/// are accounted for — seen as stubs, or reported lost — so it follows the update cursor
/// (`cursor_ms`: stubs come with the updates) and never goes back; a span before the last
/// poll's delete cursor (`accounted_ms`: the overlap reading a cut answer again) is not
/// reported twice.
// The sweep's whole context, passed explicitly rather than bundled into a struct used once.
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    compiled: &CompiledPoller,
    instance_id: i64,
    resource: &str,
    stubs: Vec<Value>,
    unseen: &[Unseen],
    accounted_ms: Option<i64>,
    cursor_ms: i64,
    now_ms: i64,
) -> Sweep {
    let mut summary = DeleteSummary::default();
    let mut read = Vec::with_capacity(stubs.len());
    for entry in stubs {
        let id = field_text(&entry, &compiled.config.id_field);
        match (id, compiled.read_updated(&entry)) {
            (Some(object_id), Ok(deleted_ms)) => read.push(Stub {
                object_id,
                deleted_ms,
                entry,
            }),
            _ => summary.unreadable += 1,
        }
    }
    let mut events = stubs::deleted_events(instance_id, resource, read);
    summary.deleted = events.len();
    let unseen: Vec<(i64, i64, &str)> = unseen
        .iter()
        .map(|span| {
            let from = accounted_ms.map_or(span.from_ms, |at| span.from_ms.max(at));
            (from, span.until_ms, span.reason.as_str())
        })
        .filter(|(from, until, _)| from < until)
        .collect();
    for (from, until, reason) in &unseen {
        events.push(stubs::unseen_event(
            instance_id,
            resource,
            *from,
            *until,
            reason,
        ));
    }
    let lost = unseen
        .iter()
        .fold(None, |acc: Option<(i64, i64)>, (from, until, _)| {
            Some(match acc {
                None => (*from, *until),
                Some((a, b)) => (a.min(*from), b.max(*until)),
            })
        });
    if let Some((from, until)) = lost {
        tracing::warn!(
            instance = instance_id,
            resource,
            from = %event_date(from),
            until = %event_date(until),
            "deletes may have been lost: the provider's answers did not show them"
        );
        summary.lost = Some(format!("{} to {}", event_date(from), event_date(until)));
    }
    let cursor_ms = accounted_ms.map_or(cursor_ms, |at| cursor_ms.max(at));
    summary.cursor = Some(event_date(cursor_ms));
    let events = events
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
        .collect();
    Sweep {
        events,
        commit: Some(DeleteCommit {
            cursor_ms,
            lost,
            memory: None,
        }),
        summary,
    }
}
