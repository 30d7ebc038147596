//! The Infusionsoft simulator's settings, with the defaults of the real API.

use crate::engine::settings::{ClientApp, Settings, secs_to_ms};
use crate::engine::throttle::BudgetSpec;

/// Everything a simulator can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Registered OAuth apps; the default app when empty.
    pub clients: Vec<ClientApp>,
    /// Access-token lifetime in seconds (`expires_in`); Keap's is 86,400.
    pub token_ttl_secs: i64,
    /// Authorization-code lifetime in seconds.
    pub code_ttl_secs: i64,
    /// Refresh-token lifetime in seconds; Keap staff say 45 days.
    pub refresh_ttl_secs: i64,
    /// Requests per rolling minute per app (Keap: 1,500).
    pub throttle_per_minute: u32,
    /// The length of the throttles' rolling "minute" in ms (60,000; tests shorten it to run a
    /// per-minute budget in seconds).
    pub throttle_window_ms: i64,
    /// Requests per UTC day per app (Keap: 150,000).
    pub quota_per_day: u32,
    /// Requests per rolling minute per tenant (Keap: 10,000).
    pub tenant_throttle_per_minute: u32,
    /// Requests per UTC day per tenant (Keap: 250,000).
    pub tenant_quota_per_day: u32,
    /// Initial records per tenant, shared between the resources.
    pub seed: usize,
    /// Seed of the random generator, so the same flags give the same data.
    pub random_seed: u64,
    /// How many Keap apps (tenants) exist: `ab123.infusionsoft.com`, `ab124…`, ….
    pub tenants: usize,
    /// Whether a 429 carries `Retry-After` (the real API sends none).
    pub retry_after: bool,
    /// Multiplies every REST hook delay (batching 30–60 s, retries 30–60 s, 5 min, 30 min);
    /// tests use a small factor.
    pub hook_time_scale: f64,
    /// Lines kept by `GET /_sim/requests`.
    pub request_log_capacity: usize,
    /// Origin written into `apiUrl`s when the listener's own address is not what clients use.
    pub public_origin: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: vec![ClientApp::default_app()],
            token_ttl_secs: 86_400,
            code_ttl_secs: 600,
            refresh_ttl_secs: 45 * 86_400,
            throttle_per_minute: 1_500,
            throttle_window_ms: 60_000,
            quota_per_day: 150_000,
            tenant_throttle_per_minute: 10_000,
            tenant_quota_per_day: 250_000,
            seed: crate::infusionsoft::seed::DEFAULT_SEED,
            random_seed: 0x5EED,
            tenants: 1,
            retry_after: false,
            hook_time_scale: 1.0,
            request_log_capacity: 100_000,
            public_origin: None,
        }
    }
}

impl Config {
    /// What the engine needs to know of these settings.
    pub(crate) fn settings(&self) -> Settings {
        let clients = if self.clients.is_empty() {
            vec![ClientApp::default_app()]
        } else {
            self.clients.clone()
        };
        Settings {
            clients,
            tenants: self.tenants.max(1),
            random_seed: self.random_seed,
            code_ttl_ms: secs_to_ms(self.code_ttl_secs),
            access_ttl_ms: secs_to_ms(self.token_ttl_secs),
            sliding_access: false,
            refresh_ttl_ms: secs_to_ms(self.refresh_ttl_secs),
            rotate_refresh_tokens: true,
            app_budget: Some(BudgetSpec {
                per_window: self.throttle_per_minute,
                window_ms: self.throttle_window_ms,
                per_day: self.quota_per_day,
            }),
            tenant_budget: BudgetSpec {
                per_window: self.tenant_throttle_per_minute,
                window_ms: self.throttle_window_ms,
                per_day: self.tenant_quota_per_day,
            },
            request_log_capacity: self.request_log_capacity,
            public_origin: self.public_origin.clone(),
        }
    }
}
