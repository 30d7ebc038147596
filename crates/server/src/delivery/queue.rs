//! Queuing: events that no notification carries yet become notifications of at most ten (one
//! instance, resource and poll), each stored with its exact body bytes before anything is
//! sent. The envelope is built in `tributary_domain::delivery`.
//!
//! The callback URL comes from the instance's configuration as it is now. A configuration that
//! cannot be read (a secret that does not open with this key, an element this binary does not
//! know) is an error, logged once per instance version: that instance's events wait unqueued
//! and go out once it can be read — never failed for want of a callback.

use std::collections::BTreeMap;

use tributary_domain::delivery::{EnvelopeEvent, EnvelopeSource, batches, envelope};
use tributary_domain::instance_config::VendorType;
use tributary_store::{EventRecord, InstanceRecord, NewNotification};

use super::worker::Deliverer;

impl Deliverer {
    /// Builds and stores notifications for events that have none; returns how many.
    pub async fn queue(&self) -> usize {
        let events = match self.state.store.unnotified_events(1_000).await {
            Ok(events) => events,
            Err(error) => {
                tracing::error!(%error, "could not read unnotified events");
                return 0;
            }
        };
        let mut groups: BTreeMap<(i64, String, i64), Vec<EventRecord>> = BTreeMap::new();
        for event in events {
            groups
                .entry((
                    event.instance_id,
                    event.resource.clone(),
                    event.poll_date_ms,
                ))
                .or_default()
                .push(event);
        }
        let mut notifications = Vec::new();
        for ((instance_id, resource, _), events) in groups {
            let Ok(Some(instance)) = self.state.store.instance_by_id(instance_id).await else {
                continue;
            };
            let prepared = match self.state.clients.prepared(&instance) {
                Ok(prepared) => prepared,
                Err(error) => {
                    self.unreadable(&instance, &error);
                    continue;
                }
            };
            let callback = prepared.settings.callback_url.clone().unwrap_or_default();
            // Cloud Elements sends at most 20 events a notification for webhooks, 10 for polls.
            let webhooks = prepared.settings.vendor == VendorType::Webhooks;
            for batch in batches(events, webhooks) {
                notifications.push(self.notification(&instance, &resource, &callback, batch));
            }
        }
        let count = notifications.len();
        if count > 0
            && let Err(error) = self
                .state
                .store
                .queue_notifications(notifications, self.state.now_ms())
                .await
        {
            tracing::error!(%error, "could not queue notifications");
            return 0;
        }
        count
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

    fn notification(
        &self,
        instance: &InstanceRecord,
        resource: &str,
        callback: &str,
        events: Vec<EventRecord>,
    ) -> NewNotification {
        let element = self.state.registry.get(&instance.element_key);
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
            sender: &self.state.settings.notification_sender,
        };
        let items: Vec<EnvelopeEvent<'_>> = events
            .iter()
            .map(|e| EnvelopeEvent {
                event_id: &e.event_id,
                object_id: &e.object_id,
                event_type: &e.event_type,
                date_ms: e.date_ms,
                poll_date_ms: e.poll_date_ms,
                record: &e.record,
            })
            .collect();
        let built = envelope(&source, &items, self.state.now_ms());
        NewNotification {
            event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
            body: built.bytes(),
            id: built.id,
            instance_id: instance.id,
            resource: resource.to_owned(),
            callback_url: callback.to_owned(),
        }
    }
}
