//! The inbound worker: stored deliveries become events. Claimed with a lease (another process,
//! or this one after a crash, takes a delivery up when its lease ends); each delivery's
//! records are fetched by id through the instance's provider client, decided as a poll
//! decides them, and stored with the delivery's removal in one transaction.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tributary_domain::poll::{self, PollState};
use tributary_domain::sweep::stub;
use tributary_elements::client::ProviderError;
use tributary_elements::definition::hooks::HookAction;
use tributary_store::NewEvent;
use tributary_store::hooks::InboundRecord;

use crate::state::AppState;

/// Deliveries claimed in one pass.
const CLAIM: i64 = 16;
/// A failed delivery waits this long (times its attempts, up to ten minutes) before the next.
const RETRY_MS: i64 = 5_000;

/// The worker of one process.
#[derive(Debug, Clone)]
pub struct Inbound {
    state: AppState,
    lease_ms: i64,
    nudge: Arc<Notify>,
}

impl Inbound {
    pub fn new(state: AppState, lease: Duration) -> Inbound {
        let nudge = state.hooks_nudge.clone();
        Inbound {
            state,
            lease_ms: i64::try_from(lease.as_millis()).unwrap_or(i64::MAX),
            nudge,
        }
    }

    /// One pass: claims what is stored and free, and processes it. Returns how many events
    /// were new. Never sleeps; tests step it.
    pub async fn run_once(&self) -> u64 {
        self.pass().await.1
    }

    /// One pass: (deliveries claimed, new events).
    async fn pass(&self) -> (usize, u64) {
        let now = self.state.now_ms();
        let claimed = match self
            .state
            .store
            .claim_inbound(now, self.lease_ms, CLAIM)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "could not claim stored deliveries");
                return (0, 0);
            }
        };
        let count = claimed.len();
        let mut inserted = 0;
        for delivery in claimed {
            inserted += self.process(delivery).await;
        }
        if inserted > 0 {
            self.state.nudge_delivery();
        }
        (count, inserted)
    }

    /// Runs passes until `shutdown`: after each pass that found work at once, otherwise when
    /// nudged (a delivery was stored) or after `idle`.
    pub async fn run(self, shutdown: CancellationToken, idle: Duration) {
        loop {
            // A full claim may have left more behind: go again at once.
            let (claimed, _) = self.pass().await;
            if claimed as i64 >= CLAIM {
                continue;
            }
            tokio::select! {
                _ = self.nudge.notified() => {}
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    async fn process(&self, delivery: InboundRecord) -> u64 {
        let state = &self.state;
        match events_of(state, &delivery).await {
            Ok(events) => match state
                .store
                .commit_inbound(
                    delivery.id,
                    delivery.instance_id,
                    &delivery.resource,
                    events,
                    state.now_ms(),
                )
                .await
            {
                Ok(inserted) => inserted,
                Err(error) => {
                    tracing::error!(%error, "could not store a delivery's events");
                    0
                }
            },
            Err(error) => {
                let wait = (RETRY_MS * delivery.attempts.max(1)).min(600_000);
                tracing::warn!(instance = delivery.instance_id, %error,
                    "a stored delivery could not be processed; it is tried again");
                if let Err(e) = state
                    .store
                    .fail_inbound(delivery.id, &error, state.now_ms() + wait)
                    .await
                {
                    tracing::error!(error = %e, "could not record a failed delivery");
                }
                0
            }
        }
    }
}

/// A delivery's events: its records fetched and decided, or its deletions. A delivery whose
/// instance or resource is gone has none (it is forgotten).
async fn events_of(state: &AppState, delivery: &InboundRecord) -> Result<Vec<NewEvent>, String> {
    let Some(instance) = state
        .store
        .instance_by_id(delivery.instance_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Vec::new());
    };
    let prepared = state
        .clients
        .prepared(&instance)
        .map_err(|e| e.to_string())?;
    let Some(compiled) = prepared.pollers.get(&delivery.resource) else {
        return Ok(Vec::new());
    };
    let client = state.clients.client(&instance).map_err(|e| e.to_string())?;
    let element = client.element();
    let path = compiled.config.url.split('?').next().unwrap_or_default();
    let hub = path.rsplit('/').next().unwrap_or_default();
    let Some(resource) = element
        .resource(hub)
        .or_else(|| element.resource(&delivery.resource))
        .cloned()
    else {
        return Ok(Vec::new());
    };
    let poller = state
        .store
        .poller(instance.id, &delivery.resource)
        .await
        .map_err(|e| e.to_string())?;
    let now = state.now_ms();
    let skew = client.provider_skew_ms().unwrap_or(0);
    let mut ids = delivery.ids.clone();
    ids.sort();
    ids.dedup();
    match HookAction::parse(&delivery.action) {
        Some(HookAction::Deleted) => {
            let mut events = Vec::new();
            for id in ids {
                let Some(event_id) =
                    crate::poller::deletion_event_id(state, instance.id, &delivery.resource, &id)
                        .await?
                else {
                    continue;
                };
                events.push(NewEvent {
                    event_id,
                    object_id: id.clone(),
                    event_type: "DELETED".into(),
                    date_ms: now + skew,
                    poll_date_ms: now,
                    date_error: None,
                    record: stub(&compiled.config.id_field, &id).to_string(),
                });
            }
            Ok(events)
        }
        Some(HookAction::Created | HookAction::Updated) => {
            let mut records: Vec<Value> = Vec::new();
            for id in ids {
                match client.get(&resource, &id).await {
                    Ok(record) => records.push(record),
                    // Deleted since: its own delete delivery (or the sweep) tells it.
                    Err(ProviderError::Rejected {
                        status: 404 | 410, ..
                    }) => {}
                    // An id the definition cannot ask for: nothing to fetch.
                    Err(ProviderError::Unsent(_)) => {}
                    Err(error) => return Err(error.to_string()),
                }
            }
            // The poll's own decision, from the poller's cursor: the event ids are the ones a
            // poll of the same records makes, so the two sources' events are one.
            let skew = client.provider_skew_ms().unwrap_or(skew);
            let cursor = poller
                .as_ref()
                .map(|p| p.cursor_ms.unwrap_or(p.enabled_ms + skew - 1_000))
                .unwrap_or(i64::MIN / 2);
            let previous = PollState {
                cursor_ms: cursor,
                seen: Default::default(),
            };
            let outcome = poll::decide(
                compiled,
                &previous,
                now + skew,
                instance.id,
                &delivery.resource,
                records,
            );
            // An edit is an update, whatever the cursor says of its creation: a poll that read
            // the record after its creation and before this edit told the creation. (Its id
            // is the poll's; a poll that saw creation and edit at once as one CREATED shares
            // it, and whichever is stored first stands.)
            let edited = HookAction::parse(&delivery.action) == Some(HookAction::Updated);
            Ok(outcome
                .events
                .into_iter()
                .map(|event| NewEvent {
                    event_id: event.event_id,
                    object_id: event.object_id,
                    event_type: if edited {
                        "UPDATED".to_owned()
                    } else {
                        event.event_type.as_str().to_owned()
                    },
                    date_ms: match (edited, event.updated_ms) {
                        (true, Some(updated)) => updated,
                        _ => event.date_ms,
                    },
                    poll_date_ms: now,
                    date_error: event.date_error,
                    record: event.record.to_string(),
                })
                .collect())
        }
        None => Ok(Vec::new()),
    }
}
