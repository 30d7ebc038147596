//! The simulator's settings, with the defaults of the real API.

/// An OAuth app registered with the simulator (`--client ID:SECRET`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientApp {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for ClientApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientApp")
            .field("id", &self.id)
            .field("secret", &"********")
            .finish()
    }
}

impl ClientApp {
    /// The app every default simulator knows: `tributary-demo` / `tributary-demo-secret`.
    pub fn default_app() -> ClientApp {
        ClientApp {
            id: DEFAULT_CLIENT_ID.to_owned(),
            secret: DEFAULT_CLIENT_SECRET.to_owned(),
        }
    }

    /// Parses `ID:SECRET` (the secret may itself contain colons).
    pub fn parse(text: &str) -> Result<ClientApp, String> {
        match text.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(ClientApp {
                id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            _ => Err(format!(
                "expected ID:SECRET with both parts non-empty, got {:?}",
                text.split(':').next().unwrap_or("")
            )),
        }
    }
}

pub const DEFAULT_CLIENT_ID: &str = "tributary-demo";
pub const DEFAULT_CLIENT_SECRET: &str = "tributary-demo-secret";

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
            seed: crate::seed::DEFAULT_SEED,
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
    pub(crate) fn client(&self, id: &str) -> Option<&ClientApp> {
        self.clients.iter().find(|client| client.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_flags_split_at_the_first_colon_and_reject_empty_parts() {
        let app = ClientApp::parse("id:se:cret").expect("valid");
        assert_eq!((app.id.as_str(), app.secret.as_str()), ("id", "se:cret"));
        assert!(ClientApp::parse("nocolon").is_err());
        assert!(ClientApp::parse(":secret").is_err());
        assert!(ClientApp::parse("id:").is_err());
    }

    #[test]
    fn a_client_secret_never_shows_in_debug_output() {
        let text = format!("{:?}", ClientApp::parse("app:hunter2").expect("valid"));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
