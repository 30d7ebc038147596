//! The HubSpot simulator's settings and its command-line flags, with the defaults of the real
//! API (`shared/research/providers.md` §3.2, §3.7, §3.10).

use std::net::SocketAddr;

use crate::engine::settings::{ClientApp, NEVER_MS, Settings, secs_to_ms};
use crate::engine::throttle::BudgetSpec;

/// Everything a HubSpot simulator can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Registered OAuth apps; the default app when empty.
    pub clients: Vec<ClientApp>,
    /// Records per account at start, shared between contacts, companies, deals and tickets.
    pub seed: usize,
    /// Seed of the random generator, so the same flags give the same data.
    pub random_seed: u64,
    /// How many accounts (portals, tenants) exist; the consent page lets the user pick one.
    pub tenants: usize,
    /// Access-token lifetime: 30 minutes at HubSpot (`expires_in: 1800`).
    pub token_ttl_secs: i64,
    /// How long after a write a record becomes searchable (§3.10: "a few moments"; integrators
    /// wait 10 s after a create).
    pub index_lag_secs: i64,
    /// Requests per app and account per rolling ten seconds, search excepted (§3.7: 100 for
    /// public OAuth apps).
    pub ten_secondly_limit: u32,
    /// Search requests per account per second (§3.7: 5).
    pub search_per_second: u32,
    /// Authorization-code lifetime in seconds.
    pub code_ttl_secs: i64,
    /// Lines kept by `GET /_sim/requests`.
    pub request_log_capacity: usize,
    /// Origin written into paging links when the listener's own address is not what clients use.
    pub public_origin: Option<String>,
}

/// Records per account a default simulator starts with.
pub const DEFAULT_SEED: usize = 60;

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: vec![ClientApp::default_app()],
            seed: DEFAULT_SEED,
            random_seed: 0x5EED,
            tenants: 1,
            token_ttl_secs: 1_800,
            index_lag_secs: 10,
            ten_secondly_limit: 100,
            search_per_second: 5,
            code_ttl_secs: 600,
            request_log_capacity: 100_000,
            public_origin: None,
        }
    }
}

impl Config {
    /// What the engine needs to know of these settings: the ten-secondly limit is the tenant
    /// budget (the search limit is the provider's own).
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
            refresh_ttl_ms: NEVER_MS,
            rotate_refresh_tokens: false,
            app_budget: None,
            tenant_budget: BudgetSpec {
                per_window: self.ten_secondly_limit.max(1),
                window_ms: 10_000,
                per_day: u32::MAX,
            },
            request_log_capacity: self.request_log_capacity,
            public_origin: self.public_origin.clone(),
        }
    }
}

/// `tributary simulate hubspot`: a faithful HubSpot CRM v3 API (OAuth with 30-minute tokens,
/// contacts, companies, deals and tickets, search with its 10,000-result cap and index lag,
/// archives, the ten-secondly and search limits) and a control API under /_sim.
///
/// Without --client it knows one OAuth app: client id `tributary-demo`, client secret
/// `tributary-demo-secret`. Authorize at /oauth/authorize, exchange codes at /oauth/v1/token or
/// /oauth/v3/token, call the API under /crm/v3/objects.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub bind: SocketAddr,
    /// An OAuth app as ID:SECRET; repeat for several. Replaces the default app
    /// (tributary-demo:tributary-demo-secret).
    #[arg(long = "client", value_name = "ID:SECRET", value_parser = ClientApp::parse)]
    pub clients: Vec<ClientApp>,
    /// Initial records per account, shared between the four objects.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: usize,
    /// Number of accounts (tenants); the consent page lets the user pick one.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=100))]
    pub tenants: u64,
    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1_800, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub token_ttl: i64,
    /// Seconds after a write before a record is found by search.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(0..=3_600))]
    pub index_lag: i64,
    /// Requests per account per rolling ten seconds (search excepted) before 429.
    #[arg(long, value_name = "N", default_value_t = 100, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ten_secondly_limit: u32,
    /// Search requests per account per second before 429.
    #[arg(long, value_name = "N", default_value_t = 5, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub search_per_second: u32,
}

impl Args {
    /// The simulator's settings from the flags.
    pub fn config(&self) -> Config {
        let mut config = Config {
            seed: self.seed,
            tenants: usize::try_from(self.tenants).unwrap_or(1),
            token_ttl_secs: self.token_ttl,
            index_lag_secs: self.index_lag,
            ten_secondly_limit: self.ten_secondly_limit,
            search_per_second: self.search_per_second,
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
    fn without_flags_the_simulator_has_hubspot_defaults() {
        let config = parse(&[]).expect("no flags");
        assert_eq!(config.clients, [ClientApp::default_app()]);
        assert_eq!(config.token_ttl_secs, 1_800, "30 minutes (§3.2)");
        assert_eq!(config.index_lag_secs, 10, "§3.10");
        assert_eq!(
            (config.ten_secondly_limit, config.search_per_second),
            (100, 5),
            "§3.7"
        );
        let settings = config.settings();
        assert!(!settings.rotate_refresh_tokens && !settings.sliding_access);
        assert_eq!(settings.tenant_budget.window_ms, 10_000);
    }

    #[test]
    fn flags_set_the_lag_the_limits_the_lifetime_and_the_apps() {
        let config = parse(&[
            "--index-lag",
            "0",
            "--ten-secondly-limit",
            "190",
            "--search-per-second",
            "4",
            "--token-ttl",
            "60",
            "--tenants",
            "2",
            "--client",
            "app:se:cret",
        ])
        .expect("valid flags");
        assert_eq!(config.index_lag_secs, 0);
        assert_eq!(
            (config.ten_secondly_limit, config.search_per_second),
            (190, 4)
        );
        assert_eq!((config.token_ttl_secs, config.tenants), (60, 2));
        assert_eq!(config.clients[0].secret, "se:cret");
        for bad in [
            &["--index-lag", "-1"][..],
            &["--search-per-second", "0"],
            &["--token-ttl", "0"],
            &["--tenants", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
