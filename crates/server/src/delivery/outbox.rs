//! A poll's outbox (issue 21): while this process's delivery worker is idle, a poll that
//! stores a few events queues their notifications in its own commit — the events and their
//! notifications become durable together — and leases to the worker what it can start at
//! once ([`super::handoff`]), so the shortest way from a change found to its notification on
//! the wire has one transaction in it, the poll's, and no queue pass or claim after it.
//!
//! Where the worker is busy or not running here, the commit has more events than
//! [`OUTBOX_EVENTS`], or the store finds that not every event is new or the instance changed
//! (`Store::commit_poll_queuing`), the events are stored unqueued and the worker is nudged, as
//! before: its queue pass takes them. The notifications are built as the queue pass builds
//! them (`queue::notification`), so which way an event goes changes nothing of what is sent.

use tributary_domain::delivery::batches;
use tributary_store::{
    Committed, DeleteCommit, NewEvent, NotificationRecord, Outbox, OutboxQueued, PollCommit,
    StoreError, SweepCommit,
};

use super::queue::{notification, record};
use crate::state::AppState;

/// Events a poll's commit queues the notifications of, at most: more (a backfill) are left to
/// the queue pass, which reads and queues them in bounded passes, so no poll holds a
/// backfill's notification bodies in memory or its commit's write lock for their statements.
pub const OUTBOX_EVENTS: usize = 100;

/// Stores a poll of an instance at `instance_version` (as the poll's claim read it; `None`:
/// unknown) — its events, cursor and memory, `deletes` and `sweep` as
/// `Store::commit_poll_with_sweep` takes them — and gets its events' notifications on their way:
/// queued and leased by the commit itself and handed to the idle worker (see the module docs),
/// or left to a queue pass, the worker nudged.
pub async fn commit_poll(
    state: &AppState,
    instance_version: Option<i64>,
    commit: PollCommit,
    deletes: Option<DeleteCommit>,
    sweep: Option<SweepCommit>,
) -> Result<Committed, StoreError> {
    let planned = match instance_version {
        Some(version) if !commit.events.is_empty() && commit.events.len() <= OUTBOX_EVENTS => {
            outbox(state, version, &commit).await
        }
        _ => None,
    };
    let Some((outbox, mut ready)) = planned else {
        let committed = match (deletes, sweep) {
            (deletes, Some(sweep)) => {
                state
                    .store
                    .commit_poll_with_sweep(commit, deletes, sweep)
                    .await?
            }
            (Some(deletes), None) => {
                state
                    .store
                    .commit_poll_with_deletes(commit, deletes)
                    .await?
            }
            (None, None) => state.store.commit_poll(commit).await?,
        };
        if matches!(committed, Committed::Done { inserted } if inserted > 0) {
            state.nudge_delivery();
        }
        return Ok(committed);
    };
    let (owner, until, count) = (
        outbox.lease.owner.clone(),
        outbox.lease.until_ms,
        outbox.notifications.len(),
    );
    let now = commit.now_ms;
    let (committed, queued) = state
        .store
        .commit_poll_queuing(commit, deletes, sweep, outbox)
        .await?;
    let handed_all = match queued {
        OutboxQueued::Queued { leased } => {
            ready.retain(|n| leased.contains(&n.id));
            state.delivery_stats.leased_at_commit.fetch_add(
                u64::try_from(ready.len()).unwrap_or(0),
                std::sync::atomic::Ordering::Relaxed,
            );
            let handed = ready.len();
            let waiting = ready.into_iter().map(|n| (n, until)).collect();
            if let Err(back) = state.handoff.hand(&owner, waiting) {
                // The worker stopped meanwhile: the lease is released for any worker's claim.
                for (notification, _) in back {
                    if let Err(error) = state.store.defer_notification(&notification.id, now).await
                    {
                        tracing::error!(%error, "could not give back a notification");
                    }
                }
                false
            } else {
                handed == count
            }
        }
        OutboxQueued::Left => false,
    };
    // What was not handed over (left unqueued, or queued due) waits for the worker's next pass
    // — here or on another node.
    if !handed_all && matches!(committed, Committed::Done { inserted } if inserted > 0) {
        state.nudge_delivery();
    }
    Ok(committed)
}

/// The commit's notifications, with the lease the idle worker gives them and the records of
/// those it leases; `None` where no worker here takes them now, or the instance cannot be read
/// at the poll's version (gone, changed, a configuration that does not open: the queue pass
/// says why, once).
async fn outbox(
    state: &AppState,
    instance_version: i64,
    commit: &PollCommit,
) -> Option<(Outbox, Vec<NotificationRecord>)> {
    if !state.handoff.may_lease() {
        return None;
    }
    // The queue pass says (once) why an instance cannot be read.
    let recipient = state
        .recipients
        .read(
            state.store.as_ref(),
            &state.clients,
            commit.instance_id,
            instance_version,
            |_, _| {},
        )
        .await
        .filter(|recipient| recipient.version == instance_version)?;
    let mut notifications = Vec::new();
    // A commit's events are one poll's, but a poll date is what groups them, as in a pass.
    let mut groups: Vec<(i64, Vec<&NewEvent>)> = Vec::new();
    for event in &commit.events {
        match groups
            .iter_mut()
            .find(|(date, _)| *date == event.poll_date_ms)
        {
            Some((_, group)) => group.push(event),
            None => groups.push((event.poll_date_ms, vec![event])),
        }
    }
    groups.sort_by_key(|(date, _)| *date);
    for (_, group) in groups {
        for batch in batches(group, recipient.webhooks) {
            notifications.push(notification(state, &recipient, &commit.resource, &batch));
        }
    }
    let lease = state.handoff.lease(&notifications, state.now_ms())?;
    let ready = notifications
        .iter()
        .filter(|n| lease.ids.contains(&n.id))
        .map(|n| record(n, instance_version))
        .collect();
    Some((
        Outbox {
            instance_version,
            notifications,
            lease,
        },
        ready,
    ))
}
