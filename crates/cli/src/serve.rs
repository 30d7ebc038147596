//! `tributary serve` and `tributary config`: the flags of `serve` (each also a `TRIBUTARY_*`
//! variable), collected as given with where each came from, and read by the server's
//! settings (`tributary_server::settings`), which hold every default and name every bad value.

use std::process::ExitCode;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use tokio_util::sync::CancellationToken;
use tributary_domain::SystemClock;
use tributary_server::app::Application;
use tributary_server::settings::{self, Given, Settings, Source};

use crate::process::{runtime, wait_for_stop_signal};

/// The flags of `serve` and `config`. None has a default here: `tributary config` shows the
/// defaults, which live in the server's settings.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, env = "TRIBUTARY_BIND", value_name = "ADDR")]
    bind: Option<String>,
    /// The database: sqlite://PATH (created on first start), sqlite::memory:, or
    /// postgres://USER@HOST:PORT/DATABASE (the database must exist; several nodes can share it).
    #[arg(
        long,
        env = "TRIBUTARY_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Deliver events to loopback and private addresses (development and tests only).
    #[arg(long, env = "TRIBUTARY_ALLOW_PRIVATE_CALLBACKS")]
    allow_private_callbacks: bool,
    /// Let definitions of the elements folder name loopback or private origins (development).
    #[arg(long, env = "TRIBUTARY_ALLOW_PRIVATE_ORIGINS")]
    allow_private_origins: bool,
    /// A folder of element definitions (`*.toml`) to load besides the built-in ones.
    #[arg(long, env = "TRIBUTARY_ELEMENTS_DIR", value_name = "FOLDER")]
    elements_dir: Option<String>,
    /// Secret of the first organization, used when the database is empty (with the user's).
    #[arg(
        long,
        env = "TRIBUTARY_BOOTSTRAP_ORG_SECRET",
        hide_env_values = true,
        hide = true
    )]
    bootstrap_org_secret: Option<String>,
    /// Secret of the first user, used when the database is empty (with the organization's).
    #[arg(
        long,
        env = "TRIBUTARY_BOOTSTRAP_USER_SECRET",
        hide_env_values = true,
        hide = true
    )]
    bootstrap_user_secret: Option<String>,
    /// Requests per minute per provider app (default: the element's published limit).
    #[arg(long, env = "TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE", value_name = "N")]
    provider_requests_per_minute: Option<String>,
    /// Polls run at once by this process; 0 runs no scheduler (polls only on request).
    #[arg(long, env = "TRIBUTARY_POLL_CONCURRENCY", value_name = "N")]
    poll_concurrency: Option<String>,
    /// How long a claimed poll is this process's, such as 5m (after a crash, another process
    /// polls the resource when the lease ends).
    #[arg(long, env = "TRIBUTARY_POLL_LEASE", value_name = "DURATION")]
    poll_lease: Option<String>,
    /// How often a resource whose deletes show only by absence is read whole and compared
    /// with the ids known (its reconciliation sweep), such as 1h.
    #[arg(long, env = "TRIBUTARY_SWEEP_INTERVAL", value_name = "DURATION")]
    sweep_interval: Option<String>,
    /// How often every webhooks instance's subscriptions are checked at the provider and
    /// mended (re-verified or re-created), such as 5m.
    #[arg(long, env = "TRIBUTARY_HOOKS_KEEP_INTERVAL", value_name = "DURATION")]
    hooks_keep_interval: Option<String>,
    /// What scheduled polls may use of each provider app's request budget: a share such as 80%
    /// (the default) or requests a minute per app such as 600; beyond it intervals stretch.
    #[arg(long, env = "TRIBUTARY_POLL_QUOTA", value_name = "SHARE|N")]
    poll_quota: Option<String>,
    /// Notifications sent at once by this process; 0 runs no delivery worker.
    #[arg(long, env = "TRIBUTARY_DELIVERY_CONCURRENCY", value_name = "N")]
    delivery_concurrency: Option<String>,
    /// Notifications sent at once to one callback host (host and port), 1 to 1024.
    #[arg(long, env = "TRIBUTARY_DELIVERY_PER_HOST", value_name = "N")]
    delivery_per_host: Option<String>,
    /// How long one delivery attempt may take, such as 30s (units ms, s, m, h).
    #[arg(long, env = "TRIBUTARY_DELIVERY_TIMEOUT", value_name = "DURATION")]
    delivery_timeout: Option<String>,
    /// How long a claimed notification is this process's (after a crash, its notifications are
    /// sent again when the lease ends); must be longer than the delivery timeout.
    #[arg(long, env = "TRIBUTARY_DELIVERY_LEASE", value_name = "DURATION")]
    delivery_lease: Option<String>,
    /// Waits before each delivery retry, as a comma list such as 1s,5s,30s (default Cloud
    /// Elements' schedule: 4^x seconds, nine retries, ±20 % jitter).
    #[arg(long, env = "TRIBUTARY_RETRY_SCHEDULE", value_name = "WAITS")]
    retry_schedule: Option<String>,
    /// What this process does: a comma list of api, poller, delivery (several processes can
    /// share one PostgreSQL database with different roles).
    #[arg(long, env = "TRIBUTARY_ROLES", value_name = "ROLES")]
    roles: Option<String>,
    /// The `user` of every notification: the deployment's sender address (default
    /// notifications@tributary.invalid).
    #[arg(long, env = "TRIBUTARY_NOTIFICATION_SENDER", value_name = "ADDRESS")]
    notification_sender: Option<String>,
    /// How long a request's head may take to arrive (also closes connections that send nothing
    /// or idle between requests), e.g. 30s.
    #[arg(long, env = "TRIBUTARY_HEADER_TIMEOUT", value_name = "DURATION")]
    header_timeout: Option<String>,
    /// How long a request body may take to arrive in full (slower: 408), e.g. 60s.
    #[arg(long, env = "TRIBUTARY_BODY_TIMEOUT", value_name = "DURATION")]
    body_timeout: Option<String>,
    /// Connections served at once; more wait until one closes (keep under `ulimit -n`).
    #[arg(long, env = "TRIBUTARY_MAX_CONNECTIONS", value_name = "COUNT")]
    max_connections: Option<String>,
    /// The base URL users and providers reach this server at; https marks the session cookie
    /// Secure.
    #[arg(long, env = "TRIBUTARY_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// How log lines are written: text (for people) or json (one object a line, with the
    /// request id and instance id of its spans, for a log shipper).
    #[arg(long, env = "TRIBUTARY_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<String>,
    /// Days delivered and failed events and their delivery attempts are kept (1 to 3650).
    #[arg(long, env = "TRIBUTARY_RETENTION_DAYS", value_name = "DAYS")]
    retention_days: Option<String>,
    /// Base64 of the 32-byte key that seals secrets at rest (default: a key file beside the
    /// SQLite database, created with mode 0600).
    #[arg(
        long,
        env = "TRIBUTARY_MASTER_KEY",
        hide_env_values = true,
        hide = true
    )]
    master_key: Option<String>,
    /// The operator's secret for administrator calls (`POST /elements/reload` with
    /// `Authorization: Admin <secret>`), at least 16 characters; unset, they are off.
    #[arg(
        long,
        env = "TRIBUTARY_ADMIN_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    admin_secret: Option<String>,
}

/// The settings given to `serve` or `config`: each flag's (or its variable's) text, keyed by
/// the variable, with where it came from.
pub fn given(matches: &ArgMatches) -> Given {
    let mut given = Given::default();
    let command = <ServeArgs as Args>::augment_args(clap::Command::new("serve"));
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(variable) = arg.get_env().and_then(|v| v.to_str()) else {
            continue;
        };
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Environment,
            _ => continue,
        };
        let text = match matches.try_get_one::<String>(id) {
            Ok(Some(text)) => text.clone(),
            _ => match matches.try_get_one::<bool>(id) {
                Ok(Some(on)) => on.to_string(),
                _ => continue,
            },
        };
        given.set(variable, text, source);
    }
    given
}

/// Reads the settings given, or says every value that cannot be used.
fn read(given: &Given) -> Result<Settings, ExitCode> {
    Settings::read(given).map_err(|errors| {
        for error in errors.0 {
            eprintln!("error: {error}");
        }
        ExitCode::from(2)
    })
}

/// The origin overrides (`TRIBUTARY_<KEY>_ORIGIN`) of every element the definitions name,
/// built in or loaded from the elements folder.
fn origins(settings: &Settings) -> Result<std::collections::BTreeMap<String, String>, ExitCode> {
    let registry =
        tributary_elements::Registry::load(settings.elements_dir.as_deref()).map_err(|error| {
            eprintln!("error: {error}");
            ExitCode::from(2)
        })?;
    Ok(settings::origins_from_env(registry.keys()))
}

/// `tributary config`: every setting, its value (secrets redacted) and where it came from;
/// then every value that cannot be used (exit status 2).
pub fn config(given: Given) -> ExitCode {
    let read_settings = read(&given);
    let origins = match &read_settings {
        Ok(settings) => match origins(settings) {
            Ok(origins) => origins,
            Err(code) => return code,
        },
        Err(_) => std::collections::BTreeMap::new(),
    };
    let lines = settings::effective(&given, &origins);
    let name = |line: &settings::Effective| match line.flag {
        Some(flag) => format!("{} ({flag})", line.variable),
        None => line.variable.clone(),
    };
    let width = lines.iter().map(|l| name(l).len()).max().unwrap_or(0);
    let value_width = lines
        .iter()
        .map(|l| l.value.chars().count())
        .max()
        .unwrap_or(0);
    for line in &lines {
        println!(
            "{:width$}  {:value_width$}  {}",
            name(line),
            line.value,
            line.source.as_str()
        );
    }
    let settings = match read_settings {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    // The elements folder's refused definitions: `serve` starts without them.
    let mut settings = settings;
    settings.origins = origins.clone();
    let refused = tributary_server::services::elements::load(&settings)
        .map(|registry| registry.refused().to_vec())
        .unwrap_or_default();
    for error in &refused {
        eprintln!("error: {error} (serve starts without it)");
    }
    if refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// `tributary serve`.
pub fn serve(given: Given) -> ExitCode {
    let mut settings = match read(&given) {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    tributary_server::telemetry::init_stderr_as(settings.log_format);
    settings.origins = match origins(&settings) {
        Ok(origins) => origins,
        Err(code) => return code,
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async move {
        let app = match Application::build(settings, Arc::new(SystemClock)).await {
            Ok(app) => app,
            Err(error) => {
                eprintln!("error: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        if let Some(secrets) = app.generated_secrets() {
            // Shown once, on stdout only (never in the log): the first organization's secrets.
            println!("{}", secrets.to_json());
            eprintln!(
                "Created the first organization. Its secrets are printed above, once: keep them. \
                 Calls use `Authorization: User <userSecret>, Organization <organizationSecret>`."
            );
        }
        match app.local_addr() {
            Ok(addr) => eprintln!("Tributary listening on http://{addr}/elements/api-v2"),
            Err(error) => eprintln!("Tributary listening (address unknown: {error})"),
        }
        let shutdown = CancellationToken::new();
        let stopper = shutdown.clone();
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            stopper.cancel();
        });
        reload_on_hangup(app.state().clone());
        match app.run_until_stopped(shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: the server stopped: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `SIGHUP` reads the elements folder again (`TRIBUTARY_ELEMENTS_DIR`), as daemons reread
/// their configuration: what loaded and what was refused is logged.
fn reload_on_hangup(state: tributary_server::AppState) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!(
                "SIGHUP cannot be listened to; the elements folder is read at start only"
            );
            return;
        };
        while hangups.recv().await.is_some() {
            match tributary_server::services::elements::reload(&state) {
                Ok(reloaded) => {
                    for refused in &reloaded.refused {
                        tracing::error!(error = %refused, "an element definition was refused");
                    }
                    tracing::info!(
                        elements = %reloaded.keys.join(", "),
                        refused = reloaded.refused.len(),
                        "the elements folder was read again"
                    );
                }
                Err(error) => tracing::error!(
                    %error,
                    "the elements folder could not be read again; the elements are unchanged"
                ),
            }
        }
    });
    #[cfg(not(unix))]
    drop(state);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_of_serve_is_a_setting_the_server_reads_and_every_setting_has_a_flag() {
        let command = <ServeArgs as Args>::augment_args(clap::Command::new("serve"));
        let mut flags: Vec<&str> = command
            .get_arguments()
            .filter_map(|arg| arg.get_env().and_then(|v| v.to_str()))
            .collect();
        let mut read: Vec<&str> = settings::variables().collect();
        flags.sort_unstable();
        read.sort_unstable();
        assert_eq!(flags, read);
    }
}
