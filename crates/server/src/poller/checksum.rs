//! A poll in checksum mode (issue 20): a resource without a change date (Keap's companies) is
//! polled by a reconciliation sweep every time (`super::sweep`), each record's content hash
//! compared with the last one's: a changed hash is `UPDATED`, a new id `CREATED`, an id gone
//! `DELETED` (with `detectDeletes`). The first poll only remembers. The cursor does not move
//! (no date is read); the dedupe memory is not used.

use tributary_domain::poll::{self, CompiledPoller};
use tributary_elements::Resource;
use tributary_elements::client::InstanceClient;
use tributary_store::{PollCommit, PollerRecord};

use super::{Moments, PollSummary, PolledInstance, finish, sweep};
use crate::state::AppState;

/// A poll in checksum mode: a sweep of the whole list, its hashes compared with the last
/// ones. A sweep that fails is the poll's failure (there is nothing else to commit).
#[allow(clippy::too_many_arguments)] // the poll's context, passed explicitly
pub(super) async fn poll(
    state: &AppState,
    instance: &PolledInstance<'_>,
    client: &InstanceClient,
    compiled: &CompiledPoller,
    resource: &Resource,
    poller: &PollerRecord,
    summary: &mut PollSummary,
    moments: Moments,
) -> Result<(), String> {
    let Moments { now, next_due, .. } = moments;
    summary.polled_at_ms = Some(now);
    let skew = client.provider_skew_ms().unwrap_or(0);
    let swept = sweep::run(
        state,
        instance.id,
        client,
        compiled,
        resource,
        poller,
        now + skew,
        now,
    )
    .await?;
    summary.pages = swept.summary.pages;
    summary.records = swept.summary.records;
    let error = swept.summary.error.clone();
    summary.sweep = Some(swept.summary);
    let (Some(reconciled), None) = (swept.commit, error.clone()) else {
        return Err(error.unwrap_or_else(|| "the sweep decided nothing".into()));
    };
    // The cursor does not move: no date is read. It shows where events were enabled.
    let cursor_ms = poller.cursor_ms.unwrap_or(poller.enabled_ms + skew);
    summary.cursor = Some(poll::event_date(cursor_ms));
    let commit = PollCommit {
        instance_id: instance.id,
        resource: poller.resource.clone(),
        expected_version: poller.version,
        events: swept.events,
        cursor_ms,
        seen: poller.seen.clone(),
        summary: serde_json::to_string(&*summary).unwrap_or_default(),
        next_due_ms: next_due,
        now_ms: now,
    };
    let committed = crate::delivery::outbox::commit_poll(
        state,
        poller.instance_version,
        commit,
        None,
        Some(reconciled),
    )
    .await
    .map_err(|e| format!("could not store the poll: {e}"))?;
    finish(state, summary, committed);
    Ok(())
}
