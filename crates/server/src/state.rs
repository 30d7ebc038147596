//! The state every part of the server shares: the store, the elements, the vault, the clock,
//! the settings, the provider clients, and the nudges that wake the workers.
//!
//! It sits below everything else in the crate (the API, the UI, the services and the workers
//! all read it; it reads none of them), so building the router in `app` never ties a worker to
//! the API through it.

use std::sync::Arc;

use tributary_domain::Clock;
use tributary_elements::Registry;
use tributary_store::Store;

use crate::clients::{Clients, ProviderHttp};
use crate::delivery::handoff::Handoff;
use crate::delivery::recipients::Recipients;
use crate::delivery::stats::DeliveryStats;
use crate::elements::LiveRegistry;
use crate::metrics::Metrics;
use crate::secrets::Vault;
use crate::settings::Settings;

/// What every handler and worker can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The elements in use (replaced whole by a reload).
    pub registry: Arc<LiveRegistry>,
    pub vault: Arc<Vault>,
    pub clock: Arc<dyn Clock>,
    /// The clients for provider calls (token endpoint, APIs): `http.for_element(…)`.
    pub http: ProviderHttp,
    pub settings: Arc<Settings>,
    /// Provider clients of instances, and the pacers of provider apps.
    pub clients: Arc<Clients>,
    /// Wakes the scheduler when pollers change (an instance created, changed or deleted).
    pub nudge: Arc<tokio::sync::Notify>,
    /// Wakes the delivery worker when a poll stored events.
    pub delivery_nudge: Arc<tokio::sync::Notify>,
    /// Wakes the inbound worker when a webhook delivery was stored.
    pub hooks_nudge: Arc<tokio::sync::Notify>,
    /// Delivery counters for `/metrics`.
    pub delivery_stats: Arc<DeliveryStats>,
    /// Where polls' commits hand notifications to this process's idle delivery worker.
    pub handoff: Arc<Handoff>,
    /// What delivery knows of the instances it notifies for lately, per version.
    pub recipients: Arc<Recipients>,
    /// Poll counters for `/metrics`.
    pub poll_stats: Arc<PollStats>,
    /// The latency histograms of `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The provider apps' quotas as the scheduler plans them.
    pub quotas: Arc<crate::quota::Quotas>,
}

/// Counters of polling since the process started, for `/metrics`.
#[derive(Debug, Default)]
pub struct PollStats {
    /// Records whose dates had text after their pattern (read as Java reads them).
    pub date_warnings: std::sync::atomic::AtomicU64,
    /// Reconciliation sweeps that completed (their decision committed with their poll).
    pub sweeps_completed: std::sync::atomic::AtomicU64,
    /// Reconciliation sweeps a fault interrupted (they decided nothing).
    pub sweeps_interrupted: std::sync::atomic::AtomicU64,
    /// Provider requests sweeps made: list pages and missing ids asked for one by one.
    pub sweep_requests: std::sync::atomic::AtomicU64,
}

impl AppState {
    /// The state of one process: fresh client caches, nudges and counters around the given
    /// parts.
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        vault: Arc<Vault>,
        clock: Arc<dyn Clock>,
        http: ProviderHttp,
        settings: Arc<Settings>,
    ) -> AppState {
        let registry = Arc::new(LiveRegistry::new(registry));
        let metrics = Arc::new(Metrics::new());
        let clients = Arc::new(Clients::new(crate::clients::Deps {
            store: store.clone(),
            registry: registry.clone(),
            vault: vault.clone(),
            clock: clock.clone(),
            http: http.clone(),
            settings: settings.clone(),
            request_observer: Some(metrics.request_observer()),
        }));
        AppState {
            store,
            registry,
            vault,
            clock,
            http,
            settings,
            clients,
            nudge: Arc::new(tokio::sync::Notify::new()),
            delivery_nudge: Arc::new(tokio::sync::Notify::new()),
            hooks_nudge: Arc::new(tokio::sync::Notify::new()),
            delivery_stats: Arc::new(DeliveryStats::default()),
            handoff: Arc::default(),
            recipients: Arc::default(),
            poll_stats: Arc::new(PollStats::default()),
            quotas: Arc::default(),
            metrics,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Events were stored or notifications queued again: wake the delivery worker here, and
    /// those of the other processes on the database (PostgreSQL).
    pub fn nudge_delivery(&self) {
        self.delivery_nudge.notify_one();
        self.wake_others(tributary_store::WAKE_DELIVERY);
    }

    /// Pollers changed: wake the scheduler here and on the other processes.
    pub fn nudge_scheduler(&self) {
        self.nudge.notify_one();
        self.wake_others(tributary_store::WAKE_SCHEDULER);
    }

    fn wake_others(&self, topic: &'static str) {
        let store = self.store.clone();
        tokio::spawn(async move {
            // Best effort: the other processes' timers find the work anyway.
            if let Err(error) = store.wake_others(topic).await {
                tracing::debug!(%error, topic, "could not wake the other processes");
            }
        });
    }
}
