//! The Infusionsoft provider's own state, beside the engine's: its settings, the REST hooks
//! (behind their own lock), the wake-up of the delivery worker, and the HTTP client it delivers
//! with.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::infusionsoft::config::Config;
use crate::infusionsoft::outbox::Hooks;

/// The Infusionsoft (Keap) provider.
#[derive(Debug)]
pub(crate) struct Infusionsoft {
    pub config: Config,
    hooks: Mutex<Hooks>,
    /// Wakes the hook delivery worker when a batch is queued.
    pub wake: Notify,
    pub http: reqwest::Client,
}

impl Infusionsoft {
    pub fn new(config: Config) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let hooks = Hooks::new(config.tenants, config.hook_time_scale, config.random_seed);
        Self {
            config,
            hooks: Mutex::new(hooks),
            wake: Notify::new(),
            http,
        }
    }

    /// The REST hooks. Taken while the engine's lock may be held (changes queue deliveries), so
    /// code holding this lock never takes the engine's.
    pub fn hooks(&self) -> MutexGuard<'_, Hooks> {
        // As with the engine's lock: a test double takes over a poisoned lock.
        self.hooks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
