//! Queuing: events that no notification carries yet become notifications of at most ten (one
//! instance, resource and poll), each stored with its exact body bytes before anything is
//! sent. The envelope is built in `tributary_domain::delivery`.
//!
//! The callback URL comes from the instance's configuration at the version the read of the
//! events finds (what was read of an instance is remembered per version: [`super::recipients`]).
//! A configuration that cannot be read (a secret that does not open with this key, an element
//! this binary does not know) is an error, logged once per instance version: that instance's
//! events wait unqueued and go out once it can be read — never failed for want of a callback.
//!
//! The running worker's pass also **leases as it queues** (issue 21): when its last claim came
//! back short (nothing else due), what the free slots and their hosts can start at once is
//! leased in the queuing transaction itself and sent from memory, without a claim. The lease
//! is a claim's lease, so a crash leaves it to expire like any other. A poll's commit does the
//! same for its own few events while the worker is idle (`outbox`), building them with
//! [`notification`]; what it leaves is queued here.

use std::collections::BTreeMap;
use std::sync::Arc;

use tributary_domain::delivery::{EnvelopeEvent, EnvelopeSource, batches, envelope};
use tributary_store::{
    EventRecord, InstanceRecord, NewEvent, NewNotification, NotificationRecord, NotificationStatus,
    QueueLease, UnnotifiedEvent,
};

use super::recipients::Recipient;
use super::worker::{Deliverer, Waiting};
use crate::state::AppState;

impl Deliverer {
    /// Builds and stores notifications for events that have none; returns how many.
    pub async fn queue(&self) -> usize {
        self.queue_leasing(None).await.0
    }

    /// As [`Deliverer::queue`]; with `slots`, also leases in the same transaction what the
    /// free slots and their hosts can start at once ([`Deliverer::to_lease`]) and returns it,
    /// ready to send without a claim: the shortest way from an event stored to its
    /// notification sent. Returns how many were queued, and those leased with their lease's
    /// end.
    pub(super) async fn queue_leasing(
        &self,
        slots: Option<&tokio::sync::Semaphore>,
    ) -> (usize, Vec<Waiting>) {
        let events = match self.state.store.unnotified_events(1_000).await {
            Ok(events) => events,
            Err(error) => {
                tracing::error!(%error, "could not read unnotified events");
                return (0, Vec::new());
            }
        };
        let mut groups: BTreeMap<(i64, String, i64), (i64, Vec<EventRecord>)> = BTreeMap::new();
        for UnnotifiedEvent {
            event,
            instance_version,
        } in events
        {
            groups
                .entry((
                    event.instance_id,
                    event.resource.clone(),
                    event.poll_date_ms,
                ))
                .or_insert_with(|| (instance_version, Vec::new()))
                .1
                .push(event);
        }
        let mut notifications = Vec::new();
        let mut versions = Vec::new();
        for ((instance_id, resource, _), (version, events)) in groups {
            let Some(instance) = self.queued_for(instance_id, version).await else {
                continue;
            };
            // Cloud Elements sends at most 20 events a notification for webhooks, 10 for polls.
            for batch in batches(events, instance.webhooks) {
                notifications.push(notification(&self.state, &instance, &resource, &batch));
                versions.push(instance.version);
            }
        }
        let count = notifications.len();
        if count == 0 {
            return (0, Vec::new());
        }
        let now = self.state.now_ms();
        let lease = QueueLease {
            owner: self.owner.clone(),
            until_ms: now.saturating_add(self.lease_ms()),
            ids: slots.map_or_else(Default::default, |slots| {
                self.to_lease(slots, &notifications)
            }),
        };
        // What is leased is sent from here: its record, kept before the store takes the rest.
        let mut ready: Vec<NotificationRecord> = notifications
            .iter()
            .zip(versions)
            .filter(|(n, _)| lease.ids.contains(&n.id))
            .map(|(n, version)| record(n, version))
            .collect();
        match self
            .state
            .store
            .queue_and_lease(notifications, now, &lease)
            .await
        {
            Ok(leased) => {
                ready.retain(|n| leased.contains(&n.id));
                self.state.delivery_stats.leased_at_queue.fetch_add(
                    u64::try_from(ready.len()).unwrap_or(0),
                    std::sync::atomic::Ordering::Relaxed,
                );
                let until = lease.until_ms;
                (count, ready.into_iter().map(|n| (n, until)).collect())
            }
            Err(error) => {
                tracing::error!(%error, "could not queue notifications");
                (0, Vec::new())
            }
        }
    }

    /// What a notification needs of its instance at `version`: remembered from an earlier
    /// pass while the version holds (a change of the instance bumps it), else read and
    /// remembered. `None` where the instance is gone or its configuration cannot be read.
    async fn queued_for(&self, instance_id: i64, version: i64) -> Option<Arc<Recipient>> {
        self.state
            .recipients
            .read(
                self.state.store.as_ref(),
                &self.state.clients,
                instance_id,
                version,
                |instance, error| self.unreadable(instance, error),
            )
            .await
    }

    /// Says (once per instance version) that an instance's events wait because its
    /// configuration cannot be read.
    fn unreadable(&self, instance: &InstanceRecord, error: &crate::clients::ClientError) {
        let first = self
            .unreadable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((instance.id, instance.version));
        if first {
            tracing::error!(
                instance = instance.id,
                %error,
                "the instance's configuration cannot be read; its events wait unqueued"
            );
        }
    }
}

/// An event as a notification's envelope carries it: one stored (a queue pass reads it) or one
/// a poll's commit is about to store (its outbox).
pub(super) trait Enveloped {
    fn enveloped(&self) -> EnvelopeEvent<'_>;
}

/// The two event types hold the envelope's fields under the same names.
macro_rules! enveloped {
    ($($event:ty),*) => {$(
        impl Enveloped for $event {
            fn enveloped(&self) -> EnvelopeEvent<'_> {
                EnvelopeEvent {
                    event_id: &self.event_id,
                    object_id: &self.object_id,
                    event_type: &self.event_type,
                    date_ms: self.date_ms,
                    poll_date_ms: self.poll_date_ms,
                    record: &self.record,
                }
            }
        }
    )*};
}

enveloped!(EventRecord, NewEvent);

impl<E: Enveloped> Enveloped for &E {
    fn enveloped(&self) -> EnvelopeEvent<'_> {
        (**self).enveloped()
    }
}

/// The notification of `events` (an instance's events of one resource and poll, at most a
/// batch), with its exact body bytes.
pub(super) fn notification(
    state: &AppState,
    instance: &Recipient,
    resource: &str,
    events: &[impl Enveloped],
) -> NewNotification {
    let items: Vec<EnvelopeEvent<'_>> = events.iter().map(Enveloped::enveloped).collect();
    let element = state.registry.get(&instance.element_key);
    let (element_key, hub) = element
        .as_ref()
        .map(|e| (e.key.clone(), e.hub.clone()))
        .unwrap_or_else(|| (instance.element_key.clone(), String::new()));
    let source = EnvelopeSource {
        instance_id: instance.id,
        organization_id: instance.organization_id,
        user_id: instance.user_id,
        instance_name: &instance.name,
        instance_tags: &instance.tags,
        element_key: &element_key,
        hub: &hub,
        resource,
        sender: &state.settings.notification_sender,
    };
    let built = envelope(&source, &items, state.now_ms());
    NewNotification {
        event_ids: items.iter().map(|e| e.event_id.to_owned()).collect(),
        body: built.bytes(),
        id: built.id,
        instance_id: instance.id,
        resource: resource.to_owned(),
        callback_url: instance.callback_url.clone(),
        poll_date_ms: items.first().map(|e| e.poll_date_ms),
    }
}

/// The record of a notification about to be queued, as a claim would return it once stored,
/// for sending what is leased as it is queued from memory.
pub(super) fn record(n: &NewNotification, instance_version: i64) -> NotificationRecord {
    NotificationRecord {
        id: n.id.clone(),
        instance_id: n.instance_id,
        resource: n.resource.clone(),
        callback_url: n.callback_url.clone(),
        body: n.body.clone(),
        status: NotificationStatus::Queued,
        attempts: 0,
        instance_version,
        poll_date_ms: n.poll_date_ms,
    }
}
