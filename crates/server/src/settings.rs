//! Settings of `tributary serve`: every setting, its default and its validation, in one place.
//!
//! - **Defaults**: [`Settings::default`] is the one set of defaults; each field's doc names its
//!   variable and default. The command line gives no defaults of its own.
//! - **Reading**: the command line collects what was given ([`Given`]: each `TRIBUTARY_*`
//!   variable's text, from a flag or the environment) and [`Settings::read`] reads it over the
//!   defaults, naming **every** value that cannot be used at once ([`SettingsErrors`]), never
//!   echoing a secret.
//! - **Showing**: [`effective`] lists every setting with its value and where it came from
//!   (flag, environment, default), secrets and a database URL's password redacted —
//!   `tributary config`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use tributary_domain::delivery::{RetrySchedule, parse_duration};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://tributary.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The `user` of every notification unless a deployment names its own: the `.invalid` domain
/// (RFC 2606) says plainly that it reaches no one.
pub const DEFAULT_NOTIFICATION_SENDER: &str = "notifications@tributary.invalid";

/// The defaults of every setting (the only place they are written).
impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            allow_private_callbacks: false,
            allow_private_origins: false,
            origins: BTreeMap::new(),
            elements_dir: None,
            bootstrap: None,
            master_key: None,
            admin_secret: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            provider_timeout: Duration::from_secs(30),
            provider_requests_per_minute: None,
            provider_rate_window: Duration::from_secs(60),
            poll_concurrency: 8,
            poll_lease: Duration::from_secs(300),
            sweep_interval: Duration::from_secs(3_600),
            hooks_keep_interval: Duration::from_secs(300),
            poll_quota: PollQuota::Share(0.8),
            delivery_concurrency: 16,
            delivery_per_host: 4,
            delivery_timeout: Duration::from_secs(30),
            delivery_lease: Duration::from_secs(120),
            retry_schedule: RetrySchedule::default(),
            retention: Duration::from_secs(30 * 86_400),
            roles: Roles::default(),
            notification_sender: DEFAULT_NOTIFICATION_SENDER.to_owned(),
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(60),
            max_connections: 4096,
            public_url: None,
            log_format: crate::telemetry::LogFormat::Text,
        }
    }
}

/// What scheduled polls may use of a provider app's request budget (`TRIBUTARY_POLL_QUOTA`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PollQuota {
    /// A share of the app's budget per minute (0 < share ≤ 1): `80%`.
    Share(f64),
    /// Requests a minute per app, whatever its budget: `600`.
    PerMinute(u32),
}

impl PollQuota {
    /// Requests a minute polls may use of an app whose budget is `budget_per_minute`.
    pub fn allowed(self, budget_per_minute: f64) -> f64 {
        match self {
            PollQuota::Share(share) => budget_per_minute * share,
            PollQuota::PerMinute(n) => f64::from(n),
        }
    }
}

impl std::fmt::Display for PollQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollQuota::Share(share) => write!(f, "{}%", share * 100.0),
            PollQuota::PerMinute(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for PollQuota {
    type Err = String;

    fn from_str(text: &str) -> Result<PollQuota, String> {
        let text = text.trim();
        if let Some(percent) = text.strip_suffix('%') {
            return match percent.trim().parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 100.0 => Ok(PollQuota::Share(p / 100.0)),
                _ => Err(format!(
                    "{text:?}: a share must be a percentage above 0% and at most 100%"
                )),
            };
        }
        match text.parse::<u32>() {
            Ok(n) if n > 0 => Ok(PollQuota::PerMinute(n)),
            _ => Err(format!(
                "{text:?}: must be a percentage of each app's budget (80%) or requests a minute \
                 per app (600)"
            )),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TRIBUTARY_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `TRIBUTARY_DATABASE_URL`, default `sqlite://tributary.db`.
    pub database_url: String,
    /// `TRIBUTARY_ALLOW_PRIVATE_CALLBACKS`: deliver to loopback/private addresses (dev, tests).
    pub allow_private_callbacks: bool,
    /// `TRIBUTARY_ALLOW_PRIVATE_ORIGINS`: let definitions of the elements folder name loopback
    /// or private origins (development). An origin set by `TRIBUTARY_<KEY>_ORIGIN` is trusted
    /// regardless: the operator chose it.
    pub allow_private_origins: bool,
    /// Element key → origin replacing the provider's (`TRIBUTARY_<KEY>_ORIGIN`).
    pub origins: BTreeMap<String, String>,
    /// `TRIBUTARY_ELEMENTS_DIR`: a folder of element definition files (`*.toml`) loaded beside
    /// the built-in elements.
    pub elements_dir: Option<std::path::PathBuf>,
    /// `TRIBUTARY_BOOTSTRAP_ORG_SECRET` and `TRIBUTARY_BOOTSTRAP_USER_SECRET`.
    pub bootstrap: Option<Bootstrap>,
    /// `TRIBUTARY_MASTER_KEY`: base64 of the 32-byte key sealing secrets at rest.
    pub master_key: Option<SecretString>,
    /// `TRIBUTARY_ADMIN_SECRET`: the operator's secret for the administrator's calls
    /// (`POST /elements/reload`, with `Authorization: Admin <secret>`); none turns them off.
    pub admin_secret: Option<SecretString>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Timeout of one provider request.
    pub provider_timeout: Duration,
    /// `TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE`: the pace per provider app (or per instance,
    /// where the element's budget is each tenant's), replacing every limit the element
    /// publishes — its extra budgets too, such as HubSpot's search — for an app with a raised
    /// quota, or tests.
    pub provider_requests_per_minute: Option<u32>,
    /// The window that budget applies to: a minute, unless a test shortens it.
    pub provider_rate_window: Duration,
    /// `TRIBUTARY_POLL_CONCURRENCY`: polls run at once by this process (0: no scheduler).
    pub poll_concurrency: usize,
    /// `TRIBUTARY_POLL_LEASE`: how long a claimed poll is its process's; after a crash another
    /// process (or the restarted one) polls the resource when it ends (default 5 min). A poll
    /// still running at the end of its lease cannot commit twice: a poll's commit checks the
    /// poller's version.
    pub poll_lease: Duration,
    /// `TRIBUTARY_SWEEP_INTERVAL`: how often a resource whose deletes are seen only by
    /// absence (Keap's) is read whole and compared with the ids known, its reconciliation
    /// sweep (default 1 h; it runs with the first poll due after that). Resources in checksum
    /// mode sweep at every poll: it is how they are polled.
    pub sweep_interval: Duration,
    /// `TRIBUTARY_HOOKS_KEEP_INTERVAL`: how often the webhook subscriptions of every webhooks
    /// instance are checked at the provider and mended (re-verified or re-created; default
    /// 5 min).
    pub hooks_keep_interval: Duration,
    /// `TRIBUTARY_POLL_QUOTA`: what scheduled polls may use of each provider app's request
    /// budget used evenly all day (the minute's, or the day's over 1,440 minutes where less),
    /// as a share (`80%`, the default, leaves room for hub calls and retries) or as requests a
    /// minute per app (`600`). When an app's pollers would use more, their intervals
    /// stretch by one factor (`crate::quota`).
    pub poll_quota: PollQuota,
    /// `TRIBUTARY_DELIVERY_CONCURRENCY`: notifications sent at once (0: no delivery worker).
    pub delivery_concurrency: usize,
    /// `TRIBUTARY_DELIVERY_PER_HOST`: notifications sent at once to one callback host (host and
    /// port), so one slow receiver cannot take every slot (default 4).
    pub delivery_per_host: usize,
    /// `TRIBUTARY_DELIVERY_TIMEOUT`: how long one delivery attempt may take (default 30 s).
    pub delivery_timeout: Duration,
    /// `TRIBUTARY_DELIVERY_LEASE`: how long a claimed notification stays this process's; after a
    /// crash, its notifications are sent again once their lease ends (default 2 min; always
    /// longer than the timeout, so a slow send is never sent twice by a live process).
    pub delivery_lease: Duration,
    /// `TRIBUTARY_RETRY_SCHEDULE`: waits before each retry (default Cloud Elements' 4^x s).
    pub retry_schedule: RetrySchedule,
    /// `TRIBUTARY_RETENTION_DAYS`: how long delivered and failed events and their attempts are
    /// kept (default 30 days).
    pub retention: Duration,
    /// `TRIBUTARY_ROLES`: what this process does (default all three).
    pub roles: Roles,
    /// `TRIBUTARY_NOTIFICATION_SENDER`: the `user` of every notification's envelope, the
    /// deployment's sender address (Cloud Elements': `notifications@cloud-elements.com`).
    pub notification_sender: String,
    /// `TRIBUTARY_HEADER_TIMEOUT`: how long a request's head may take to arrive, counted from
    /// when the server starts waiting for it — so it also closes a connection that sends
    /// nothing, or sits idle between kept-alive requests (default 30 s).
    pub header_timeout: Duration,
    /// `TRIBUTARY_BODY_TIMEOUT`: how long a request body may take to arrive in full; slower is
    /// a 408 and a closed connection (default 60 s).
    pub body_timeout: Duration,
    /// `TRIBUTARY_MAX_CONNECTIONS`: connections served at once; more wait in the listen
    /// backlog until one closes, so half-open clients cannot take every file descriptor
    /// (default 4,096; keep it under the process's `ulimit -n`).
    pub max_connections: usize,
    /// `TRIBUTARY_PUBLIC_URL`: the base URL users and providers reach this server at (behind a
    /// proxy or TLS terminator). An `https` one marks the session cookie `Secure`.
    pub public_url: Option<String>,
    /// `TRIBUTARY_LOG_FORMAT`: `text` (default) or `json`, one object a line with the request
    /// id, instance id and the like of its spans.
    pub log_format: crate::telemetry::LogFormat,
}

impl Settings {
    /// Whether users reach this server over https (`TRIBUTARY_PUBLIC_URL`).
    pub fn public_url_is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.to_ascii_lowercase().starts_with("https://"))
    }
}

/// What a process does, so one deployment can run API-only and worker-only nodes from the same
/// binary. Every node answers `/healthz`, `/readyz` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The API and the web UI.
    pub api: bool,
    /// The poll scheduler.
    pub poller: bool,
    /// The delivery worker.
    pub delivery: bool,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            api: true,
            poller: true,
            delivery: true,
        }
    }
}

impl std::fmt::Display for Roles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = [
            (self.api, "api"),
            (self.poller, "poller"),
            (self.delivery, "delivery"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(","))
    }
}

impl Roles {
    /// Parses `api,poller,delivery` (any non-empty subset, any order).
    pub fn parse(text: &str) -> Result<Roles, String> {
        let mut roles = Roles {
            api: false,
            poller: false,
            delivery: false,
        };
        for role in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            match role.to_ascii_lowercase().as_str() {
                "api" => roles.api = true,
                "poller" => roles.poller = true,
                "delivery" => roles.delivery = true,
                _ => {
                    return Err(format!(
                        "unknown role {role:?}; roles are api, poller and delivery"
                    ));
                }
            }
        }
        if roles
            == (Roles {
                api: false,
                poller: false,
                delivery: false,
            })
        {
            return Err("name at least one role: api, poller, delivery".into());
        }
        Ok(roles)
    }
}

/// The first organization's secrets, for an empty database.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub organization_secret: SecretString,
    pub user_secret: SecretString,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    pub variable: String,
    pub message: String,
}

/// Every setting that cannot be used, each on its own line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct SettingsErrors(pub Vec<SettingsError>);

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::Default => "default",
        }
    }
}

/// Settings as given, before they are read: each `TRIBUTARY_*` variable's text (from its flag
/// or the environment) and where it came from. Its `Debug` shows no value.
#[derive(Clone, Default)]
pub struct Given {
    values: BTreeMap<String, (String, Source)>,
}

impl std::fmt::Debug for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Given {
    /// Records a variable's text; a later call for the same variable replaces it.
    pub fn set(&mut self, variable: &str, text: impl Into<String>, source: Source) {
        self.values
            .insert(variable.to_owned(), (text.into(), source));
    }

    fn get(&self, variable: &str) -> Option<&(String, Source)> {
        self.values.get(variable)
    }
}

/// How a setting's value may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Plain,
    /// Never shown: `********` when set.
    Secret,
    /// A URL whose password is hidden.
    Url,
}

/// One setting: its variable, its flag, how it is shown, how its default reads, and how its
/// text is read into the settings.
struct Spec {
    variable: &'static str,
    flag: &'static str,
    shown: Shown,
    default: fn(&Settings) -> String,
    read: fn(&mut Settings, &str) -> Result<(), String>,
}

/// A duration as the settings write it: `30s`, `2m`, `1h`, `500ms`.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        0 => "0s".into(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| format!("{:?}: {e}", text.trim()))
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    text: &str,
    min: T,
    max: T,
) -> Result<T, String> {
    match text.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "{:?}: must be a whole number from {min} to {max}",
            text.trim()
        )),
    }
}

fn positive(duration: Duration) -> Result<Duration, String> {
    if duration.is_zero() {
        return Err("must be longer than 0".into());
    }
    Ok(duration)
}

fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(format!("{other:?}: must be true or false")),
    }
}

/// Every setting of `serve`, in the order `tributary config` shows them.
const SPECS: &[Spec] = &[
    Spec {
        variable: "TRIBUTARY_BIND",
        flag: "--bind",
        shown: Shown::Plain,
        default: |s| s.bind.to_string(),
        read: |s, t| {
            s.bind = t.trim().parse().map_err(|_| {
                format!("{:?}: must be an address such as 127.0.0.1:8080", t.trim())
            })?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_DATABASE_URL",
        flag: "--database-url",
        shown: Shown::Url,
        default: |s| s.database_url.clone(),
        read: |s, t| {
            if t.trim().is_empty() {
                return Err("must not be empty".into());
            }
            s.database_url = t.trim().to_owned();
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_ALLOW_PRIVATE_CALLBACKS",
        flag: "--allow-private-callbacks",
        shown: Shown::Plain,
        default: |s| s.allow_private_callbacks.to_string(),
        read: |s, t| {
            s.allow_private_callbacks = boolean(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_ALLOW_PRIVATE_ORIGINS",
        flag: "--allow-private-origins",
        shown: Shown::Plain,
        default: |s| s.allow_private_origins.to_string(),
        read: |s, t| {
            s.allow_private_origins = boolean(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_ELEMENTS_DIR",
        flag: "--elements-dir",
        shown: Shown::Plain,
        default: |s| match &s.elements_dir {
            Some(dir) => dir.display().to_string(),
            None => "none: the built-in elements only".into(),
        },
        read: |s, t| {
            if t.trim().is_empty() {
                return Err("must name a folder".into());
            }
            s.elements_dir = Some(std::path::PathBuf::from(t.trim()));
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE",
        flag: "--provider-requests-per-minute",
        shown: Shown::Plain,
        default: |s| match s.provider_requests_per_minute {
            Some(n) => n.to_string(),
            None => "the element's published limit".into(),
        },
        read: |s, t| {
            s.provider_requests_per_minute = Some(number(t, 1, u32::MAX)?);
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_POLL_CONCURRENCY",
        flag: "--poll-concurrency",
        shown: Shown::Plain,
        default: |s| s.poll_concurrency.to_string(),
        read: |s, t| {
            s.poll_concurrency = number(t, 0, 100_000)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_POLL_LEASE",
        flag: "--poll-lease",
        shown: Shown::Plain,
        default: |s| format_duration(s.poll_lease),
        read: |s, t| {
            s.poll_lease = duration(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_SWEEP_INTERVAL",
        flag: "--sweep-interval",
        shown: Shown::Plain,
        default: |s| format_duration(s.sweep_interval),
        read: |s, t| {
            s.sweep_interval = duration(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_HOOKS_KEEP_INTERVAL",
        flag: "--hooks-keep-interval",
        shown: Shown::Plain,
        default: |s| format_duration(s.hooks_keep_interval),
        read: |s, t| {
            s.hooks_keep_interval = duration(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_POLL_QUOTA",
        flag: "--poll-quota",
        shown: Shown::Plain,
        default: |s| s.poll_quota.to_string(),
        read: |s, t| {
            s.poll_quota = t.parse()?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_DELIVERY_CONCURRENCY",
        flag: "--delivery-concurrency",
        shown: Shown::Plain,
        default: |s| s.delivery_concurrency.to_string(),
        read: |s, t| {
            s.delivery_concurrency = number(t, 0, 100_000)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_DELIVERY_PER_HOST",
        flag: "--delivery-per-host",
        shown: Shown::Plain,
        default: |s| s.delivery_per_host.to_string(),
        read: |s, t| {
            s.delivery_per_host = number(t, 1, 1024)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_DELIVERY_TIMEOUT",
        flag: "--delivery-timeout",
        shown: Shown::Plain,
        default: |s| format_duration(s.delivery_timeout),
        read: |s, t| {
            s.delivery_timeout = duration(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_DELIVERY_LEASE",
        flag: "--delivery-lease",
        shown: Shown::Plain,
        default: |s| format_duration(s.delivery_lease),
        read: |s, t| {
            s.delivery_lease = duration(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_RETRY_SCHEDULE",
        flag: "--retry-schedule",
        shown: Shown::Plain,
        default: |_| "Cloud Elements' 4^x s (4s,16s,…,262144s)".into(),
        read: |s, t| {
            s.retry_schedule = RetrySchedule::parse(t).map_err(|e| e.to_string())?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_ROLES",
        flag: "--roles",
        shown: Shown::Plain,
        default: |s| s.roles.to_string(),
        read: |s, t| {
            s.roles = Roles::parse(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_RETENTION_DAYS",
        flag: "--retention-days",
        shown: Shown::Plain,
        default: |s| (s.retention.as_secs() / 86_400).to_string(),
        read: |s, t| {
            let days: u64 = number(t, 1, 3650)?;
            s.retention = Duration::from_secs(days * 86_400);
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_NOTIFICATION_SENDER",
        flag: "--notification-sender",
        shown: Shown::Plain,
        default: |s| s.notification_sender.clone(),
        read: |s, t| {
            let address = t.trim();
            let parts = address.split_once('@');
            let well_formed = parts.is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            }) && address.len() <= 254
                && !address.chars().any(|c| c.is_whitespace() || c.is_control());
            if !well_formed {
                return Err(format!(
                    "{address:?}: must be an email address such as notifications@example.com"
                ));
            }
            s.notification_sender = address.to_owned();
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_HEADER_TIMEOUT",
        flag: "--header-timeout",
        shown: Shown::Plain,
        default: |s| format_duration(s.header_timeout),
        read: |s, t| {
            s.header_timeout = positive(duration(t)?)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_BODY_TIMEOUT",
        flag: "--body-timeout",
        shown: Shown::Plain,
        default: |s| format_duration(s.body_timeout),
        read: |s, t| {
            s.body_timeout = positive(duration(t)?)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_MAX_CONNECTIONS",
        flag: "--max-connections",
        shown: Shown::Plain,
        default: |s| s.max_connections.to_string(),
        read: |s, t| {
            s.max_connections = number(t, 1, 1_000_000)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_PUBLIC_URL",
        flag: "--public-url",
        shown: Shown::Url,
        default: |s| match &s.public_url {
            Some(url) => url.clone(),
            None => "none: the bind address, plain http".into(),
        },
        read: |s, t| {
            let url = t.trim().trim_end_matches('/');
            let parsed = reqwest::Url::parse(url)
                .map_err(|_| format!("{url:?}: must be an http or https URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(format!("{url:?}: must be an http or https URL with a host"));
            }
            s.public_url = Some(url.to_owned());
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_LOG_FORMAT",
        flag: "--log-format",
        shown: Shown::Plain,
        default: |s| s.log_format.as_str().to_owned(),
        read: |s, t| {
            s.log_format = crate::telemetry::LogFormat::parse(t)?;
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_MASTER_KEY",
        flag: "--master-key",
        shown: Shown::Secret,
        default: |_| "a key file beside the SQLite database".into(),
        read: |s, t| {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(t.trim());
            if !decoded.is_ok_and(|key| key.len() == 32) {
                return Err("must be base64 of exactly 32 bytes".into());
            }
            s.master_key = Some(SecretString::from(t.trim().to_owned()));
            Ok(())
        },
    },
    Spec {
        variable: "TRIBUTARY_ADMIN_SECRET",
        flag: "--admin-secret",
        shown: Shown::Secret,
        default: |_| "none: administrator calls are off (SIGHUP still reloads elements)".into(),
        read: |s, t| {
            let t = t.trim();
            if t.chars().count() < ADMIN_SECRET_MIN {
                return Err(format!("must be at least {ADMIN_SECRET_MIN} characters"));
            }
            s.admin_secret = Some(SecretString::from(t.to_owned()));
            Ok(())
        },
    },
    Spec {
        variable: BOOTSTRAP_ORG,
        flag: "--bootstrap-org-secret",
        shown: Shown::Secret,
        default: |_| "generated and printed once".into(),
        // Read with its pair, below.
        read: |_, _| Ok(()),
    },
    Spec {
        variable: BOOTSTRAP_USER,
        flag: "--bootstrap-user-secret",
        shown: Shown::Secret,
        default: |_| "generated and printed once".into(),
        read: |_, _| Ok(()),
    },
];

/// The variable of every setting [`Settings::read`] reads.
pub fn variables() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|spec| spec.variable)
}

const BOOTSTRAP_ORG: &str = "TRIBUTARY_BOOTSTRAP_ORG_SECRET";
const BOOTSTRAP_USER: &str = "TRIBUTARY_BOOTSTRAP_USER_SECRET";

impl Settings {
    /// Reads what was given over the defaults; names every value that cannot be used (a
    /// secret's value never).
    pub fn read(given: &Given) -> Result<Settings, SettingsErrors> {
        let mut settings = Settings::default();
        let mut errors = Vec::new();
        for spec in SPECS {
            let Some((text, _)) = given.get(spec.variable) else {
                continue;
            };
            if let Err(message) = (spec.read)(&mut settings, text) {
                errors.push(SettingsError {
                    variable: format!("{} ({})", spec.flag, spec.variable),
                    message,
                });
            }
        }
        let text = |variable: &str| given.get(variable).map(|(t, _)| t.clone());
        let secret_errors: Vec<SettingsError> = [BOOTSTRAP_ORG, BOOTSTRAP_USER]
            .into_iter()
            .filter_map(|v| bootstrap_secret_error(v, &text(v)?))
            .collect();
        if secret_errors.is_empty() {
            match bootstrap_from(text(BOOTSTRAP_ORG), text(BOOTSTRAP_USER)) {
                Ok(bootstrap) => settings.bootstrap = bootstrap,
                Err(error) => errors.push(error),
            }
        } else {
            errors.extend(secret_errors);
        }
        let both_read = ["TRIBUTARY_DELIVERY_LEASE", "TRIBUTARY_DELIVERY_TIMEOUT"]
            .iter()
            .all(|v| !errors.iter().any(|e| e.variable.contains(v)));
        if both_read && settings.delivery_lease <= settings.delivery_timeout {
            errors.push(SettingsError {
                variable: "--delivery-lease".into(),
                message: format!(
                    "TRIBUTARY_DELIVERY_LEASE ({}) must be longer than TRIBUTARY_DELIVERY_TIMEOUT \
                     ({}), or a slow send could be claimed and sent again while it runs",
                    format_duration(settings.delivery_lease),
                    format_duration(settings.delivery_timeout)
                ),
            });
        }
        if errors.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsErrors(errors))
        }
    }
}

/// One setting as `tributary config` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub variable: String,
    /// The flag of `serve` that sets it, if any.
    pub flag: Option<&'static str>,
    /// Its value, redacted where secret.
    pub value: String,
    pub source: Source,
}

/// Every setting with its value and source: what was given (redacted where secret), else the
/// default; then each provider origin that was replaced.
pub fn effective(given: &Given, origins: &BTreeMap<String, String>) -> Vec<Effective> {
    let defaults = Settings::default();
    let mut lines: Vec<Effective> = SPECS
        .iter()
        .map(|spec| {
            let (value, source) = match given.get(spec.variable) {
                Some((text, source)) => {
                    let value = match spec.shown {
                        Shown::Plain => text.trim().to_owned(),
                        Shown::Secret => "********".to_owned(),
                        Shown::Url => redact_url(text.trim()),
                    };
                    (value, *source)
                }
                None => ((spec.default)(&defaults), Source::Default),
            };
            Effective {
                variable: spec.variable.to_owned(),
                flag: Some(spec.flag),
                value,
                source,
            }
        })
        .collect();
    lines.extend(origins.iter().map(|(key, origin)| Effective {
        variable: tributary_elements::definition::origin_variable(key),
        flag: None,
        value: origin.clone(),
        source: Source::Environment,
    }));
    lines
}

/// A database URL without its password (and user), for messages and `tributary config`.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://****@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The retry schedule of `TRIBUTARY_RETRY_SCHEDULE`, or Cloud Elements' default.
pub fn schedule_from(
    text: Option<&str>,
) -> Result<tributary_domain::delivery::RetrySchedule, String> {
    use tributary_domain::delivery::RetrySchedule;
    match text {
        None => Ok(RetrySchedule::default()),
        Some(text) => RetrySchedule::parse(text).map_err(|e| e.to_string()),
    }
}

/// Reads `TRIBUTARY_<KEY>_ORIGIN` for every element key given.
pub fn origins_from_env<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    keys.into_iter()
        .filter_map(|key| {
            let variable = tributary_elements::definition::origin_variable(key);
            let value = std::env::var(variable).ok()?;
            (!value.trim().is_empty()).then(|| (key.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

const MIN_BOOTSTRAP_SECRET: usize = 16;
/// The shortest administrator secret accepted: a guessable one would hand out the
/// administrator's calls.
const ADMIN_SECRET_MIN: usize = 16;

/// Why a bootstrap secret cannot be used, if it cannot (its value never said).
fn bootstrap_secret_error(variable: &str, value: &str) -> Option<SettingsError> {
    (value.chars().count() < MIN_BOOTSTRAP_SECRET
        || value.contains(char::is_whitespace)
        || value.contains(','))
    .then(|| SettingsError {
        variable: variable.into(),
        message: format!(
            "must be at least {MIN_BOOTSTRAP_SECRET} characters without spaces or commas"
        ),
    })
}

/// Reads the bootstrap secrets: both or neither, each at least 16 characters.
pub fn bootstrap_from(
    organization: Option<String>,
    user: Option<String>,
) -> Result<Option<Bootstrap>, SettingsError> {
    match (organization, user) {
        (None, None) => Ok(None),
        (Some(org), Some(user)) => {
            for (variable, value) in [(BOOTSTRAP_ORG, &org), (BOOTSTRAP_USER, &user)] {
                if let Some(error) = bootstrap_secret_error(variable, value) {
                    return Err(error);
                }
            }
            Ok(Some(Bootstrap {
                organization_secret: SecretString::from(org),
                user_secret: SecretString::from(user),
            }))
        }
        (Some(_), None) | (None, Some(_)) => Err(SettingsError {
            variable: format!("{BOOTSTRAP_ORG}/{BOOTSTRAP_USER}"),
            message: "set both or neither".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_a_comma_list_and_name_what_is_wrong() {
        assert_eq!(Roles::parse("api,poller,delivery"), Ok(Roles::default()));
        assert_eq!(
            Roles::parse(" Delivery "),
            Ok(Roles {
                api: false,
                poller: false,
                delivery: true
            })
        );
        assert!(
            Roles::parse("api,worker")
                .unwrap_err()
                .contains("\"worker\"")
        );
        assert!(
            Roles::parse(" , ")
                .unwrap_err()
                .contains("at least one role")
        );
    }

    #[test]
    fn the_poll_quota_is_a_share_of_each_budget_or_requests_a_minute() {
        assert_eq!(Settings::default().poll_quota, PollQuota::Share(0.8));
        assert_eq!(Settings::default().poll_quota.to_string(), "80%");
        assert_eq!(Settings::default().poll_quota.allowed(1_500.0), 1_200.0);
        assert_eq!("50 %".parse(), Ok(PollQuota::Share(0.5)));
        assert_eq!(" 600 ".parse(), Ok(PollQuota::PerMinute(600)));
        assert_eq!(PollQuota::PerMinute(600).allowed(1_500.0), 600.0);
        for bad in ["0%", "150%", "0", "-3", "lots", ""] {
            let error = bad.parse::<PollQuota>().unwrap_err();
            assert!(error.contains(&format!("{:?}", bad.trim())), "{error}");
        }
        let mut given = Given::default();
        given.set("TRIBUTARY_POLL_QUOTA", "40%", Source::Environment);
        assert_eq!(
            Settings::read(&given).unwrap().poll_quota,
            PollQuota::Share(0.4)
        );
    }

    #[test]
    fn reading_names_every_bad_value_and_keeps_the_defaults_of_the_rest() {
        let mut given = Given::default();
        given.set("TRIBUTARY_POLL_CONCURRENCY", "3", Source::Flag);
        let settings = Settings::read(&given).unwrap();
        assert_eq!(settings.poll_concurrency, 3);
        assert_eq!(settings.delivery_lease, Settings::default().delivery_lease);
        given.set("TRIBUTARY_DELIVERY_TIMEOUT", "0s", Source::Environment);
        given.set("TRIBUTARY_RETENTION_DAYS", "forever", Source::Environment);
        given.set(
            "TRIBUTARY_BOOTSTRAP_USER_SECRET",
            "short",
            Source::Environment,
        );
        let errors = Settings::read(&given).unwrap_err().0;
        let named: Vec<&str> = errors.iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(
            named,
            [
                "--delivery-timeout (TRIBUTARY_DELIVERY_TIMEOUT)",
                "--retention-days (TRIBUTARY_RETENTION_DAYS)",
                "TRIBUTARY_BOOTSTRAP_USER_SECRET",
            ]
        );
        assert!(!format!("{errors:?}").contains("short"), "never the secret");
        let mut lease = Given::default();
        lease.set("TRIBUTARY_DELIVERY_LEASE", "30s", Source::Flag);
        let error = Settings::read(&lease).unwrap_err().to_string();
        assert!(
            error.contains("TRIBUTARY_DELIVERY_LEASE (30s) must be longer than TRIBUTARY_DELIVERY_TIMEOUT (30s)"),
            "{error}"
        );
    }

    #[test]
    fn the_notification_sender_is_an_email_address() {
        assert_eq!(
            Settings::read(&Given::default())
                .unwrap()
                .notification_sender,
            DEFAULT_NOTIFICATION_SENDER
        );
        let mut given = Given::default();
        given.set(
            "TRIBUTARY_NOTIFICATION_SENDER",
            " events@acme.example ",
            Source::Flag,
        );
        assert_eq!(
            Settings::read(&given).unwrap().notification_sender,
            "events@acme.example"
        );
        for bad in ["", "acme", "@acme.example", "events@", "a b@c", "a@b@c"] {
            given.set("TRIBUTARY_NOTIFICATION_SENDER", bad, Source::Environment);
            let error = Settings::read(&given).unwrap_err().to_string();
            assert!(
                error.contains("--notification-sender (TRIBUTARY_NOTIFICATION_SENDER)")
                    && error.contains("must be an email address"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn durations_are_written_in_their_largest_whole_unit() {
        for (ms, text) in [
            (500, "500ms"),
            (30_000, "30s"),
            (120_000, "2m"),
            (7_200_000, "2h"),
            (90_500, "90500ms"),
        ] {
            assert_eq!(format_duration(Duration::from_millis(ms)), text);
        }
        assert_eq!(
            redact_url("postgres://u:p@h:5432/d"),
            "postgres://****@h:5432/d"
        );
        assert_eq!(redact_url("sqlite://tributary.db"), "sqlite://tributary.db");
    }

    #[test]
    fn bootstrap_secrets_come_in_pairs_and_are_long_enough() {
        assert!(bootstrap_from(None, None).unwrap().is_none());
        assert!(
            bootstrap_from(Some("a".repeat(16)), Some("b".repeat(16)))
                .unwrap()
                .is_some()
        );
        let error = bootstrap_from(Some("a".repeat(16)), None).unwrap_err();
        assert!(error.to_string().contains("both or neither"));
        let error = bootstrap_from(Some("short".into()), Some("b".repeat(16))).unwrap_err();
        assert!(error.to_string().contains("TRIBUTARY_BOOTSTRAP_ORG_SECRET"));
        assert!(
            !error.to_string().contains("short"),
            "the value is never echoed"
        );
    }
}
