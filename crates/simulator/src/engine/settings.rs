//! What the engine is told at start, whatever the provider: the registered OAuth apps, how many
//! tenants, token lifetimes, budgets, the request log's size. Each provider's public `Config`
//! turns itself into these [`Settings`]; the provider-specific rest stays with the provider.

use crate::engine::throttle::BudgetSpec;

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

/// A refresh token that is valid "until revoked" still needs an expiry to compare against: this
/// one is centuries away and cannot overflow when added to a clock reading.
pub(crate) const NEVER_MS: i64 = i64::MAX / 4;

/// The engine's settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Registered OAuth apps (never empty: providers put the default app in when none is given).
    pub clients: Vec<ClientApp>,
    /// How many tenants (Keap apps, Salesforce orgs) exist; at least one.
    pub tenants: usize,
    /// Seed of the random generator, so the same flags give the same data.
    pub random_seed: u64,
    pub code_ttl_ms: i64,
    pub access_ttl_ms: i64,
    /// Whether every authenticated call moves an access token's expiry to now + `access_ttl_ms`
    /// (a Salesforce session times out after inactivity; a Keap token at a fixed time).
    pub sliding_access: bool,
    pub refresh_ttl_ms: i64,
    /// Whether a refresh returns a new refresh token and kills the presented one.
    pub rotate_refresh_tokens: bool,
    /// A budget per OAuth app, when the provider has one.
    pub app_budget: Option<BudgetSpec>,
    /// A budget per tenant.
    pub tenant_budget: BudgetSpec,
    /// Lines kept by `GET /_sim/requests`.
    pub request_log_capacity: usize,
    /// Origin written into links when the listener's own address is not what clients use.
    pub public_origin: Option<String>,
}

impl Settings {
    pub fn client(&self, id: &str) -> Option<&ClientApp> {
        self.clients.iter().find(|client| client.id == id)
    }
}

/// Seconds → milliseconds without overflow (a lifetime flag can be absurdly large).
pub(crate) fn secs_to_ms(seconds: i64) -> i64 {
    seconds.saturating_mul(1000).min(NEVER_MS)
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
