//! The poll scheduler: claims due pollers with a lease and polls them, up to N at a time.
//!
//! The loop is mini-redis's: claim what is due, then sleep until the next due time, or until
//! nudged (an instance was created or changed), or until a slot frees, or until shutdown.
//! A claim is a lease in the database, so one worker polls a resource at a time — also across
//! processes sharing a database — and a worker that dies leaves its leases to expire and be
//! claimed again. A poll writes nothing until its final transaction, so an abandoned poll
//! (shutdown, crash) leaves the cursor where it was and the next poll repeats its window.
//! Enabling, disabling, re-configuring and deleting take effect at the next claim: the claim
//! returns each poller's instance version (which every edit moves on) and whether it polls
//! (valid, not disabled: an authorization dies without a new version), and the scheduler
//! reads the instance and its configuration from the database whenever its clients cache holds
//! nothing of that version — an idle poll of an unchanged instance reads nothing else.
//!
//! Each claimed poll passes its provider app's quota first (`crate::quota`): a poll the app's
//! admission bucket cannot afford now gives its lease back with a later due time, in line
//! (pollers with recent changes ahead of idle ones), so the many instances of one app stay
//! within its shared budget; the poller stretches its next due time by the app's factor.

use std::sync::Arc;
use std::time::Duration;

use crate::poller::{self, PollSummary, PolledInstance, wanted_pollers};
use crate::quota::PollerRef;
use crate::state::AppState;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tributary_domain::quota::Admission;
use tributary_elements::client::InstanceClient;
use tributary_store::{InstanceRecord, PollerRecord};

/// The scheduler of one process.
#[derive(Debug, Clone)]
pub struct Scheduler {
    state: AppState,
    owner: String,
    concurrency: usize,
    lease_ms: i64,
    nudge: Arc<Notify>,
}

impl Scheduler {
    pub fn new(state: AppState, concurrency: usize, lease: Duration) -> Scheduler {
        let nudge = state.nudge.clone();
        Scheduler {
            owner: format!("{}-{}", std::process::id(), crate::secrets::random_secret()),
            state,
            concurrency: concurrency.max(1),
            lease_ms: i64::try_from(lease.as_millis()).unwrap_or(i64::MAX),
            nudge,
        }
    }

    /// One pass: claims what is due now (up to the concurrency) and polls it to the end.
    /// Never sleeps; tests step it.
    pub async fn run_once(&self) -> Vec<PollSummary> {
        let limit = i64::try_from(self.concurrency).unwrap_or(i64::MAX);
        let claimed = match self
            .state
            .store
            .claim_due_poller_records(&self.owner, self.state.now_ms(), self.lease_ms, limit)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "could not claim due pollers");
                return Vec::new();
            }
        };
        let mut polls = JoinSet::new();
        for poller in claimed {
            let state = self.state.clone();
            polls.spawn(async move { poll_claimed(&state, poller).await });
        }
        let mut summaries = Vec::new();
        while let Some(done) = polls.join_next().await {
            if let Ok(Some(summary)) = done {
                summaries.push(summary);
            }
        }
        summaries
    }

    /// Runs until `shutdown`; then waits up to `grace` for polls in flight, and abandons the
    /// rest (they write nothing).
    pub async fn run(self, shutdown: CancellationToken, grace: Duration) {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let mut polls = JoinSet::new();
        loop {
            while polls.try_join_next().is_some() {}
            let free = slots.available_permits();
            let now = self.state.now_ms();
            if free > 0 {
                let claimed = self
                    .state
                    .store
                    .claim_due_poller_records(&self.owner, now, self.lease_ms, free as i64)
                    .await
                    .unwrap_or_else(|error| {
                        tracing::error!(%error, "could not claim due pollers");
                        Vec::new()
                    });
                for poller in claimed {
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        break;
                    };
                    let state = self.state.clone();
                    let freed = self.nudge.clone();
                    polls.spawn(async move {
                        poll_claimed(&state, poller).await;
                        drop(permit);
                        freed.notify_one();
                    });
                }
            }
            let next = self.state.store.next_due_ms(now).await.ok().flatten();
            let wait_ms = next.map_or(60_000, |due| (due - now).clamp(20, 60_000));
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                _ = self.nudge.notified() => {}
                _ = shutdown.cancelled() => break,
            }
        }
        let drained =
            tokio::time::timeout(grace, async { while polls.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = polls.len(),
                "shutdown: abandoning polls in flight"
            );
            polls.abort_all();
        }
    }
}

/// Polls one claimed poller: its row as the claim returned it (leased to this scheduler, so
/// no other poll changes it meanwhile), with its instance's version and whether it polls as the
/// claim read them. The instance's client and settings of that version, when cached, are
/// polled with as they are; otherwise (a first poll, an edit, a reload of the elements) the
/// instance is read from the database now.
async fn poll_claimed(state: &AppState, poller: PollerRecord) -> Option<PollSummary> {
    let (instance_id, resource) = (poller.instance_id, poller.resource.as_str());
    let now = state.now_ms();
    let release = |next_due: i64| async move {
        if let Err(error) = state
            .store
            .release_poller(instance_id, resource, next_due)
            .await
        {
            tracing::error!(%error, "could not release a poller");
        }
    };
    // Deleted since the claim: its pollers went with it.
    let version = poller.instance_version?;
    let (prepared, source, polls) = match state.clients.cached(instance_id, version) {
        Some((prepared, client)) => (prepared, Source::Cached(client), poller.instance_polls),
        None => {
            let instance = match state.store.instance_by_id(instance_id).await {
                Ok(Some(instance)) => instance,
                Ok(None) => return None, // deleted; its pollers went with it
                Err(error) => {
                    tracing::error!(%error, "could not load a polled instance");
                    release(now + 60_000).await;
                    return None;
                }
            };
            let prepared = match state.clients.prepared(&instance) {
                Ok(prepared) => prepared,
                Err(_) => {
                    release(now + 3_600_000).await;
                    return None;
                }
            };
            let polls = instance.valid && !instance.disabled;
            (prepared, Source::Read(Box::new(instance)), polls)
        }
    };
    let settings = &prepared.settings;
    // Configuration changed under the scheduler: follow it (`wanted_pollers`' resources).
    if !settings.enabled || !settings.pollers.contains_key(resource) {
        let wanted = wanted_pollers(settings, now, instance_id);
        if let Err(error) = state.store.sync_pollers(instance_id, &wanted, now).await {
            tracing::error!(%error, "could not follow a configuration change");
        }
        return None;
    }
    if !polls {
        // Polling waits for a new authorization; look again in an hour.
        release(now + 3_600_000).await;
        return None;
    }
    let client = match source {
        Source::Cached(client) => client,
        Source::Read(instance) => match state.clients.client(&instance) {
            Ok(client) => client,
            Err(_) => {
                release(now + 600_000).await;
                return None;
            }
        },
    };
    let instance = PolledInstance {
        id: instance_id,
        element_key: &client.element().key,
    };
    // Within the app's quota: a poll the app's bucket cannot afford now waits for it.
    let owner = client.quota_key();
    let quota = PollerRef {
        element: instance.element_key,
        budget_owner: &owner,
        instance_id,
        resource,
        interval_ms: i64::from(settings.refresh_minutes) * 60_000,
    };
    let allowed = crate::quota::allowed_per_minute(&state.settings, client.element());
    if let Admission::Later(at) = state.quotas.admit(&quota, allowed, now) {
        release(at).await;
        return None;
    }
    Some(poller::poll_resource(state, &instance, &client, &prepared, &poller, false).await)
}

/// Where a poll's client comes from: the cache, for the instance's version the claim read; or
/// the instance's record read now, to be made from once the poll is known to need one.
enum Source {
    Cached(Arc<InstanceClient>),
    Read(Box<InstanceRecord>),
}
