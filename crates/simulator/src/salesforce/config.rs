//! The Salesforce simulator's settings and its command-line flags, with the defaults of the
//! real API (`shared/research/providers.md` §2.2, §2.5, §2.7).

use std::net::SocketAddr;

use crate::engine::settings::{ClientApp, NEVER_MS, Settings, secs_to_ms};
use crate::engine::throttle::BudgetSpec;

/// Everything a Salesforce simulator can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Registered connected apps; the default app when empty.
    pub clients: Vec<ClientApp>,
    /// Records per org at start, shared between the five SObjects.
    pub seed: usize,
    /// Seed of the random generator, so the same flags give the same data and page sizes.
    pub random_seed: u64,
    /// How many orgs (tenants) exist; the consent page lets the user pick one.
    pub tenants: usize,
    /// Whether a refresh returns a new refresh token and kills the old one (a connected-app
    /// setting, off by default as in Salesforce).
    pub rotate_refresh_tokens: bool,
    /// The session timeout: an access token dies after this long without a call (each call
    /// resets it). Salesforce's default is two hours.
    pub session_timeout_secs: i64,
    /// API requests per org per rolling 24 hours before 403 `REQUEST_LIMIT_EXCEEDED`.
    pub daily_quota: u32,
    /// Whether query pages are sometimes shorter than the batch size, as Salesforce allows.
    pub short_pages: bool,
    /// Authorization-code lifetime in seconds.
    pub code_ttl_secs: i64,
    /// Refresh-token lifetime in seconds; `None` is Salesforce's default, valid until revoked.
    pub refresh_ttl_secs: Option<i64>,
    /// Lines kept by `GET /_sim/requests`.
    pub request_log_capacity: usize,
    /// Origin written into `instance_url` and identity URLs when the listener's own address is
    /// not what clients use.
    pub public_origin: Option<String>,
}

/// Records per org a default simulator starts with.
pub const DEFAULT_SEED: usize = 60;

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: vec![ClientApp::default_app()],
            seed: DEFAULT_SEED,
            random_seed: 0x5EED,
            tenants: 1,
            rotate_refresh_tokens: false,
            session_timeout_secs: 7_200,
            daily_quota: 100_000,
            short_pages: true,
            code_ttl_secs: 900,
            refresh_ttl_secs: None,
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
            access_ttl_ms: secs_to_ms(self.session_timeout_secs),
            sliding_access: true,
            refresh_ttl_ms: self.refresh_ttl_secs.map_or(NEVER_MS, secs_to_ms),
            rotate_refresh_tokens: self.rotate_refresh_tokens,
            app_budget: None,
            tenant_budget: BudgetSpec {
                per_window: self.daily_quota,
                window_ms: 86_400_000,
                per_day: u32::MAX,
            },
            request_log_capacity: self.request_log_capacity,
            public_origin: self.public_origin.clone(),
        }
    }
}

/// `tributary simulate salesforce`: a faithful Salesforce REST API (OAuth web-server flow, SOQL
/// queries with locator paging, the five core SObjects, getUpdated/getDeleted, the daily API
/// quota) and a control API under /_sim.
///
/// Without --client it knows one connected app: consumer key `tributary-demo`, consumer secret
/// `tributary-demo-secret`. Authorize at /services/oauth2/authorize, exchange codes at
/// /services/oauth2/token, call the API under /services/data/v66.0.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:9091")]
    pub bind: SocketAddr,
    /// A connected app as ID:SECRET; repeat for several. Replaces the default app
    /// (tributary-demo:tributary-demo-secret).
    #[arg(long = "client", value_name = "ID:SECRET", value_parser = ClientApp::parse)]
    pub clients: Vec<ClientApp>,
    /// Initial records per org, shared between the five SObjects.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: usize,
    /// Number of orgs (tenants); the consent page lets the user pick one.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=100))]
    pub tenants: u64,
    /// Rotate refresh tokens: every refresh returns a new one and kills the old.
    #[arg(long)]
    pub rotate_refresh_tokens: bool,
    /// Session timeout in seconds: an access token dies after this long without a call.
    #[arg(long, value_name = "SECONDS", default_value_t = 7_200, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub session_timeout: i64,
    /// API requests per org per rolling 24 hours before 403 REQUEST_LIMIT_EXCEEDED.
    #[arg(long, value_name = "N", default_value_t = 100_000, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub daily_quota: u32,
    /// Whether query pages are sometimes shorter than the batch size (true or false).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub short_pages: bool,
}

impl Args {
    /// The simulator's settings from the flags.
    pub fn config(&self) -> Config {
        let mut config = Config {
            seed: self.seed,
            tenants: usize::try_from(self.tenants).unwrap_or(1),
            rotate_refresh_tokens: self.rotate_refresh_tokens,
            session_timeout_secs: self.session_timeout,
            daily_quota: self.daily_quota,
            short_pages: self.short_pages,
            ..Config::default()
        };
        if !self.clients.is_empty() {
            config.clients = self.clients.clone();
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(flags: &[&str]) -> Result<Config, clap::Error> {
        let argv = std::iter::once("simulate").chain(flags.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.args.config())
    }

    #[test]
    fn without_flags_the_simulator_has_salesforce_defaults() {
        let config = parse(&[]).expect("no flags");
        assert_eq!(config.clients, [ClientApp::default_app()]);
        assert!(
            !config.rotate_refresh_tokens,
            "rotation is off unless switched on"
        );
        assert_eq!(config.session_timeout_secs, 7_200, "two hours");
        assert!(config.short_pages);
        assert_eq!((config.tenants, config.seed), (1, DEFAULT_SEED));
    }

    #[test]
    fn flags_set_rotation_timeout_quota_short_pages_and_apps() {
        let config = parse(&[
            "--rotate-refresh-tokens",
            "--session-timeout",
            "60",
            "--daily-quota",
            "15000",
            "--short-pages",
            "false",
            "--client",
            "app:se:cret",
            "--tenants",
            "3",
        ])
        .expect("valid flags");
        assert!(config.rotate_refresh_tokens);
        assert_eq!(config.session_timeout_secs, 60);
        assert_eq!(config.daily_quota, 15_000);
        assert!(!config.short_pages);
        assert_eq!(config.clients[0].secret, "se:cret");
        assert_eq!(config.tenants, 3);
        for bad in [
            &["--session-timeout", "0"][..],
            &["--daily-quota", "0"],
            &["--tenants", "0"],
            &["--short-pages", "sometimes"],
            &["--client", "nosecret"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
