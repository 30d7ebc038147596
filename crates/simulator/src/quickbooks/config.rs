//! The QuickBooks Online simulator's settings and its command-line flags, with the defaults of
//! the real API (`shared/research/providers.md` §4.2, §4.7), and the companies' UTC offsets.

use std::fmt;
use std::net::SocketAddr;

use crate::engine::settings::{ClientApp, Settings, secs_to_ms};
use crate::engine::throttle::BudgetSpec;

/// A company's fixed UTC offset, as QuickBooks writes its dates (`-08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompanyOffset {
    seconds: i32,
}

impl CompanyOffset {
    /// Parses `-08:00`, `+05:30` or `Z`, between -12:00 and +14:00.
    pub fn parse(text: &str) -> Result<CompanyOffset, String> {
        let bad = || format!("expected an offset such as -08:00 or +05:30, got {text:?}");
        if text == "Z" || text == "+00:00" || text == "-00:00" {
            return Ok(CompanyOffset { seconds: 0 });
        }
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(bad()),
        };
        let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
        let digits = |part: &str| {
            (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i32>().ok())
                .flatten()
        };
        let (hours, minutes) = (
            digits(hours).ok_or_else(bad)?,
            digits(minutes).ok_or_else(bad)?,
        );
        let seconds = sign * (hours * 3_600 + minutes * 60);
        if minutes >= 60 || !(-12 * 3_600..=14 * 3_600).contains(&seconds) {
            return Err(bad());
        }
        Ok(CompanyOffset { seconds })
    }

    /// The offset in seconds east of UTC.
    pub fn seconds(self) -> i32 {
        self.seconds
    }
}

impl fmt::Display for CompanyOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.seconds < 0 { '-' } else { '+' };
        let abs = self.seconds.abs();
        write!(f, "{sign}{:02}:{:02}", abs / 3_600, abs % 3_600 / 60)
    }
}

/// Everything a QuickBooks simulator can be told at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Registered OAuth apps; the default app when empty.
    pub clients: Vec<ClientApp>,
    /// Records per company at start, shared between the five entities.
    pub seed: usize,
    /// Seed of the random generator, so the same flags give the same data.
    pub random_seed: u64,
    /// How many companies (realms, tenants) exist; the consent page lets the user pick one.
    pub tenants: usize,
    /// The companies' UTC offsets: company `i` takes the `i`-th, those past the list the last.
    pub offsets: Vec<CompanyOffset>,
    /// Access-token lifetime: an hour at QuickBooks (`expires_in: 3600`).
    pub token_ttl_secs: i64,
    /// Refresh-token lifetime (`x_refresh_token_expires_in`): about 101 days.
    pub refresh_ttl_secs: i64,
    /// Requests per realm per rolling minute before 429 (§4.7: 500).
    pub requests_per_minute: u32,
    /// Requests of one realm in flight at once before 429 (§4.7: 10).
    pub concurrent: u32,
    /// The share of API requests answered with a Fault inside HTTP 200 (0 to 1).
    pub fault_in_200_rate: f64,
    /// Authorization-code lifetime in seconds.
    pub code_ttl_secs: i64,
    /// Lines kept by `GET /_sim/requests`.
    pub request_log_capacity: usize,
    /// Origin clients use, when the listener's own address is not it.
    pub public_origin: Option<String>,
}

/// Records per company a default simulator starts with.
pub const DEFAULT_SEED: usize = 60;

impl Default for Config {
    fn default() -> Self {
        Config {
            clients: vec![ClientApp::default_app()],
            seed: DEFAULT_SEED,
            random_seed: 0x5EED,
            tenants: 1,
            offsets: vec![CompanyOffset {
                seconds: -8 * 3_600,
            }],
            token_ttl_secs: 3_600,
            refresh_ttl_secs: 8_726_400,
            requests_per_minute: 500,
            concurrent: 10,
            fault_in_200_rate: 0.0,
            code_ttl_secs: 600,
            request_log_capacity: 100_000,
            public_origin: None,
        }
    }
}

impl Config {
    /// The UTC offset of company `index`.
    pub fn offset(&self, index: usize) -> CompanyOffset {
        self.offsets
            .get(index)
            .or(self.offsets.last())
            .copied()
            .unwrap_or(CompanyOffset { seconds: 0 })
    }

    /// What the engine needs to know of these settings: the per-minute limit is the tenant
    /// budget (the concurrency limit is a provider hook).
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
            app_budget: None,
            tenant_budget: BudgetSpec {
                per_window: self.requests_per_minute.max(1),
                window_ms: 60_000,
                per_day: u32::MAX,
            },
            request_log_capacity: self.request_log_capacity,
            public_origin: self.public_origin.clone(),
        }
    }
}

/// A share between 0 and 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("expected a number between 0 and 1, got {text:?}")),
    }
}

/// `tributary simulate quickbooks`: a faithful QuickBooks Online Accounting API (OAuth with
/// realmId on the redirect and rotating refresh tokens, CDC with its 30-day horizon and
/// 1,000-object cap, the query language, five entities, local-offset dates, per-realm limits,
/// Faults) and a control API under /_sim.
///
/// Without --client it knows one OAuth app: client id `tributary-demo`, client secret
/// `tributary-demo-secret`. Authorize at /connect/oauth2, exchange codes at
/// /oauth2/v1/tokens/bearer (Basic auth), call the API under /v3/company/{realmId}.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:9093")]
    pub bind: SocketAddr,
    /// An OAuth app as ID:SECRET; repeat for several. Replaces the default app
    /// (tributary-demo:tributary-demo-secret).
    #[arg(long = "client", value_name = "ID:SECRET", value_parser = ClientApp::parse)]
    pub clients: Vec<ClientApp>,
    /// Initial records per company, shared between the five entities.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    pub seed: usize,
    /// Number of companies (realms); the consent page lets the user pick one.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=100))]
    pub tenants: u64,
    /// A company's UTC offset, such as -08:00; repeat for the next companies (those past the
    /// list take the last).
    #[arg(long = "company-offset", value_name = "OFFSET", allow_hyphen_values = true,
          value_parser = CompanyOffset::parse)]
    pub offsets: Vec<CompanyOffset>,
    /// Access-token lifetime in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3_600, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub token_ttl: i64,
    /// Requests per realm per rolling minute before 429.
    #[arg(long, value_name = "N", default_value_t = 500, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub requests_per_minute: u32,
    /// Requests of one realm in flight at once before 429.
    #[arg(long, value_name = "N", default_value_t = 10, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrent: u32,
    /// The share of API requests (0 to 1) answered with a Fault inside HTTP 200.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0, value_parser = share)]
    pub fault_in_200_rate: f64,
}

impl Args {
    /// The simulator's settings from the flags.
    pub fn config(&self) -> Config {
        let mut config = Config {
            seed: self.seed,
            tenants: usize::try_from(self.tenants).unwrap_or(1),
            token_ttl_secs: self.token_ttl,
            requests_per_minute: self.requests_per_minute,
            concurrent: self.concurrent,
            fault_in_200_rate: self.fault_in_200_rate,
            ..Config::default()
        };
        if !self.clients.is_empty() {
            config.clients = self.clients.clone();
        }
        if !self.offsets.is_empty() {
            config.offsets = self.offsets.clone();
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
    fn without_flags_the_simulator_has_quickbooks_defaults() {
        let config = parse(&[]).expect("no flags");
        assert_eq!(config.clients, [ClientApp::default_app()]);
        assert_eq!(config.token_ttl_secs, 3_600, "§4.2");
        assert_eq!(
            (config.requests_per_minute, config.concurrent),
            (500, 10),
            "§4.7"
        );
        assert_eq!(config.offset(0).to_string(), "-08:00");
        assert_eq!(config.fault_in_200_rate, 0.0);
        let settings = config.settings();
        assert!(settings.rotate_refresh_tokens, "§4.2");
        assert_eq!(settings.tenant_budget.window_ms, 60_000);
    }

    #[test]
    fn flags_set_offsets_per_company_limits_and_the_fault_rate() {
        let config = parse(&[
            "--tenants",
            "3",
            "--company-offset",
            "-05:00",
            "--company-offset",
            "+05:30",
            "--requests-per-minute",
            "60",
            "--concurrent",
            "2",
            "--fault-in-200-rate",
            "0.25",
        ])
        .expect("valid flags");
        let offsets: Vec<String> = (0..3).map(|i| config.offset(i).to_string()).collect();
        assert_eq!(offsets, ["-05:00", "+05:30", "+05:30"]);
        assert_eq!((config.requests_per_minute, config.concurrent), (60, 2));
        assert_eq!(config.fault_in_200_rate, 0.25);
        for bad in [
            &["--company-offset", "PST"][..],
            &["--company-offset", "-8:00"],
            &["--company-offset", "+15:00"],
            &["--fault-in-200-rate", "2"],
            &["--concurrent", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
