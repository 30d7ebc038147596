//! Settings of `tributary serve`, from flags and `TRIBUTARY_*` environment variables, validated
//! at start so a bad value stops the process with one readable message.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TRIBUTARY_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `TRIBUTARY_DATABASE_URL`, default `sqlite://tributary.db`.
    pub database_url: String,
    /// `TRIBUTARY_ALLOW_PRIVATE_CALLBACKS`: deliver to loopback/private addresses (dev, tests).
    pub allow_private_callbacks: bool,
    /// Element key → origin replacing the provider's (`TRIBUTARY_<KEY>_ORIGIN`).
    pub origins: BTreeMap<String, String>,
    /// `TRIBUTARY_ELEMENTS_DIR`: a folder whose `*.toml` element definitions are loaded
    /// besides the built-in ones.
    pub elements_dir: Option<PathBuf>,
    /// `TRIBUTARY_BOOTSTRAP_ORG_SECRET` and `TRIBUTARY_BOOTSTRAP_USER_SECRET`.
    pub bootstrap: Option<Bootstrap>,
    /// `TRIBUTARY_MASTER_KEY`: base64 of the 32-byte key sealing secrets at rest.
    pub master_key: Option<SecretString>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// Timeout of one provider request.
    pub provider_timeout: Duration,
    /// `TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE`: the pace per provider app, replacing the
    /// element's published limit (for an app with a raised quota, or tests).
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
    pub retry_schedule: tributary_domain::delivery::RetrySchedule,
    /// `TRIBUTARY_RETENTION_DAYS`: how long delivered and failed events and their attempts are
    /// kept (default 30 days).
    pub retention: Duration,
    /// `TRIBUTARY_ROLES`: what this process does (default all three).
    pub roles: Roles,
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

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tributary.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            allow_private_callbacks: false,
            origins: BTreeMap::new(),
            elements_dir: None,
            bootstrap: None,
            master_key: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            provider_timeout: Duration::from_secs(30),
            provider_requests_per_minute: None,
            provider_rate_window: Duration::from_secs(60),
            poll_concurrency: 8,
            poll_lease: Duration::from_secs(300),
            delivery_concurrency: 16,
            delivery_per_host: 4,
            delivery_timeout: Duration::from_secs(30),
            delivery_lease: Duration::from_secs(120),
            retry_schedule: tributary_domain::delivery::RetrySchedule::default(),
            retention: Duration::from_secs(30 * 86_400),
            roles: Roles::default(),
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    pub variable: String,
    pub message: String,
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

/// Reads the bootstrap secrets: both or neither, each at least 16 characters.
pub fn bootstrap_from(
    organization: Option<String>,
    user: Option<String>,
) -> Result<Option<Bootstrap>, SettingsError> {
    const MIN: usize = 16;
    match (organization, user) {
        (None, None) => Ok(None),
        (Some(org), Some(user)) => {
            for (variable, value) in [
                ("TRIBUTARY_BOOTSTRAP_ORG_SECRET", &org),
                ("TRIBUTARY_BOOTSTRAP_USER_SECRET", &user),
            ] {
                if value.chars().count() < MIN
                    || value.contains(char::is_whitespace)
                    || value.contains(',')
                {
                    return Err(SettingsError {
                        variable: variable.into(),
                        message: format!(
                            "must be at least {MIN} characters without spaces or commas"
                        ),
                    });
                }
            }
            Ok(Some(Bootstrap {
                organization_secret: SecretString::from(org),
                user_secret: SecretString::from(user),
            }))
        }
        (Some(_), None) | (None, Some(_)) => Err(SettingsError {
            variable: "TRIBUTARY_BOOTSTRAP_ORG_SECRET/TRIBUTARY_BOOTSTRAP_USER_SECRET".into(),
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
