//! Provider clients of instances, one per instance, cached so that concurrent hub calls of an
//! instance share its token refresh; each instance's events settings with its pollers compiled;
//! and the sink that stores what the clients rotate.
//!
//! [`Clients`] holds what it needs to build them ([`Deps`]), so the services and the workers
//! ask it for a client with nothing but the instance's record.
//!
//! **Memory**: an idle process may hold a hundred thousand instance-resources, most of them
//! configured alike (one app's instances, made from one template). What is alike is kept once
//! ([`Shared`]): instances whose events settings are equal share one [`Prepared`], equal poller
//! configurations one compiled poller (its date patterns and zones), equal plain
//! configurations one map in their clients. Sharing is by value, found by a hash and confirmed
//! by equality, so an edit (a new version, read and compiled again) never reaches an instance
//! configured otherwise; what only an instance has (its tokens, its id) stays its own.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tributary_domain::Clock;
use tributary_domain::instance_config::{EventsSettings, OAUTH_API_KEY, OAUTH_API_SECRET};
use tributary_domain::poll::CompiledPoller;
use tributary_elements::client::{CredentialSink, Credentials, InstanceClient};
use tributary_elements::oauth::ClientCredentials;
use tributary_elements::pacer::Pacers;
use tributary_store::{InstanceRecord, Store, StoredValue};

use crate::configuration::open_configuration;
use crate::elements::LiveRegistry;
use crate::secrets::Vault;
use crate::settings::Settings;

/// The purpose sealed credentials are bound to.
pub const CREDENTIALS: &str = "credentials";

/// Seals provider credentials for the store, with the connection values of the grant (a
/// tenant's API host, its company id), which are as much the grant's as its tokens.
pub fn seal_credentials(vault: &Vault, credentials: &Credentials) -> Vec<u8> {
    let json = json!({
        "access_token": credentials.access_token.expose_secret(),
        "refresh_token": credentials.refresh_token.as_ref().map(|r| r.expose_secret().to_owned()),
        "expires_at_ms": credentials.expires_at_ms,
        "connection": credentials.connection,
    });
    vault.seal(CREDENTIALS, json.to_string().as_bytes())
}

/// Why an instance's client or settings cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// What is stored cannot be used: an unknown element, missing or unreadable credentials,
    /// a configuration that does not open with this key.
    #[error("{0}")]
    Unusable(String),
    /// The stored events configuration does not validate (any more).
    #[error("{0}")]
    InvalidConfiguration(String),
}

impl ClientError {
    fn unusable(detail: impl std::fmt::Display) -> ClientError {
        ClientError::Unusable(detail.to_string())
    }
}

/// Opens stored provider credentials (those sealed before connection values existed have none).
pub fn open_credentials(vault: &Vault, sealed: &[u8]) -> Result<Credentials, ClientError> {
    let bytes = vault
        .open(CREDENTIALS, sealed)
        .map_err(ClientError::unusable)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(ClientError::unusable)?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(|s| SecretString::from(s.to_owned()))
    };
    Ok(Credentials {
        access_token: text("access_token")
            .ok_or_else(|| ClientError::unusable("stored credentials lack an access token"))?,
        refresh_token: text("refresh_token"),
        expires_at_ms: value.get("expires_at_ms").and_then(Value::as_i64),
        connection: value
            .get("connection")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Stores an instance's rotated credentials, and its death.
#[derive(Debug)]
struct StoreSink {
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
    instance_id: i64,
}

#[async_trait]
impl CredentialSink for StoreSink {
    async fn save(&self, credentials: &Credentials) -> Result<(), String> {
        let sealed = seal_credentials(&self.vault, credentials);
        self.store
            .store_credentials(self.instance_id, sealed, self.clock.now_ms())
            .await
            .map_err(|e| e.to_string())
    }

    async fn invalidate(&self, reason: &str) -> Result<(), String> {
        tracing::warn!(instance = self.instance_id, %reason, "instance authorization is invalid");
        self.store
            .mark_invalid(self.instance_id, reason, self.clock.now_ms())
            .await
            .map_err(|e| e.to_string())
    }
}

/// The HTTP clients of provider calls: the open one, and the guarded one that the calls of a
/// definition nobody vouched for go through ([`LiveRegistry::unvouched`]: a file of the
/// elements folder whose origin the operator did not set), whose resolver refuses hosts that
/// resolve only to private addresses unless `TRIBUTARY_ALLOW_PRIVATE_ORIGINS` — the origin
/// check at load sees only IP literals and `localhost`.
#[derive(Debug, Clone)]
pub struct ProviderHttp {
    pub open: reqwest::Client,
    pub guarded: reqwest::Client,
}

impl ProviderHttp {
    pub fn new(
        timeout: std::time::Duration,
        allow_private_origins: bool,
    ) -> Result<ProviderHttp, reqwest::Error> {
        Ok(ProviderHttp {
            open: tributary_elements::http::provider_client(timeout)?,
            guarded: tributary_elements::http::guarded_provider_client(
                timeout,
                Arc::new(crate::guard::GuardedResolver::system(
                    allow_private_origins,
                    "provider host",
                )),
            )?,
        })
    }

    /// The client an element's provider calls go through.
    pub fn for_element(&self, registry: &LiveRegistry, key: &str) -> reqwest::Client {
        if registry.unvouched(key) {
            self.guarded.clone()
        } else {
            self.open.clone()
        }
    }
}

/// The cache of instance clients. An entry is keyed by the instance's version, so a user's
/// edit (a new code, a new client secret) gets a fresh client.
#[derive(Debug)]
pub struct Clients {
    cache: Mutex<HashMap<i64, (i64, Arc<InstanceClient>)>>,
    prepared: Mutex<HashMap<i64, (i64, Arc<Prepared>)>>,
    shared: Shared,
    pub pacers: Pacers,
    deps: Deps,
}

/// One copy of each value many instances hold alike (see the module's note on memory).
#[derive(Debug, Default)]
struct Shared {
    /// Keyed by the events settings.
    prepared: Interner<Prepared>,
    /// Keyed by the poller configuration.
    pollers: Interner<CompiledPoller>,
    /// Clients' plain configurations, for templates.
    configs: Interner<BTreeMap<String, String>>,
}

impl Shared {
    fn clear(&self) {
        self.prepared.clear();
        self.pollers.clear();
        self.configs.clear();
    }
}

/// Values by hash, each held weakly: a value lives as long as some instance's entry holds it,
/// and the table forgets it after. Equal values found by their hash are confirmed by equality.
#[derive(Debug)]
struct Interner<T> {
    hasher: RandomState,
    table: Mutex<InternTable<T>>,
}

#[derive(Debug)]
struct InternTable<T> {
    by_hash: HashMap<u64, Vec<Weak<T>>>,
    /// Entries (live or not), and the live ones at the last sweep of the dead.
    entries: usize,
    live_at_sweep: usize,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            hasher: RandomState::new(),
            table: Mutex::new(InternTable {
                by_hash: HashMap::new(),
                entries: 0,
                live_at_sweep: 0,
            }),
        }
    }
}

impl<T> Interner<T> {
    fn hash(&self, key: &impl Hash) -> u64 {
        self.hasher.hash_one(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InternTable<T>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live value of `hash` that `is` accepts.
    fn find(&self, hash: u64, is: impl Fn(&T) -> bool) -> Option<Arc<T>> {
        self.lock()
            .by_hash
            .get(&hash)?
            .iter()
            .filter_map(Weak::upgrade)
            .find(|value| is(value))
    }

    /// `value`, or the one already held that `same` finds equal to it, given instead.
    fn keep(&self, hash: u64, value: T, same: impl Fn(&T, &T) -> bool) -> Arc<T> {
        let mut table = self.lock();
        if let Some(found) = table.by_hash.get(&hash).and_then(|values| {
            values
                .iter()
                .filter_map(Weak::upgrade)
                .find(|held| same(held, &value))
        }) {
            return found;
        }
        // Forget the dead once they are as many as the living were (amortised: each sweep
        // follows at least as many insertions as it visits entries).
        if table.entries >= 64 && table.entries >= 2 * table.live_at_sweep {
            table.by_hash.retain(|_, values| {
                values.retain(|v| v.strong_count() > 0);
                !values.is_empty()
            });
            let live = table.by_hash.values().map(Vec::len).sum();
            table.entries = live;
            table.live_at_sweep = live;
        }
        let value = Arc::new(value);
        table
            .by_hash
            .entry(hash)
            .or_default()
            .push(Arc::downgrade(&value));
        table.entries += 1;
        value
    }

    fn clear(&self) {
        let mut table = self.lock();
        table.by_hash.clear();
        table.entries = 0;
        table.live_at_sweep = 0;
    }

    /// How many values are held (by some instance) now.
    #[cfg(test)]
    fn live(&self) -> usize {
        self.lock()
            .by_hash
            .values()
            .flatten()
            .filter(|v| v.strong_count() > 0)
            .count()
    }
}

impl<T: Hash + Eq> Interner<T> {
    /// `value`, or the equal one already held.
    fn intern(&self, value: T) -> Arc<T> {
        let hash = self.hash(&value);
        self.keep(hash, value, |held, value| held == value)
    }
}

/// What clients are made of: where credentials are stored, the elements, the vault that opens
/// secrets, the clock, the HTTP client and the pacing settings.
#[derive(Clone)]
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub registry: Arc<LiveRegistry>,
    pub vault: Arc<Vault>,
    pub clock: Arc<dyn Clock>,
    pub http: ProviderHttp,
    pub settings: Arc<Settings>,
    /// Told of every provider request (the request-duration histogram of `/metrics`).
    pub request_observer: Option<tributary_elements::pacer::RequestObserver>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("registry", &self.registry)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An instance's events settings with every poller compiled, made once per instance version
/// (a poll then neither unseals, parses nor compiles anything), and shared by the instances
/// whose settings are equal; a compiled poller is shared by every equal poller configuration.
#[derive(Debug)]
pub struct Prepared {
    pub settings: EventsSettings,
    pub pollers: BTreeMap<String, Arc<CompiledPoller>>,
}

impl Clients {
    /// Drops every cached client and compiled poller (the elements were reloaded): each is
    /// made again, from the definitions now in use, on its next use.
    pub fn forget_all(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.shared.clear();
    }

    pub fn new(deps: Deps) -> Clients {
        Clients {
            cache: Mutex::default(),
            prepared: Mutex::default(),
            shared: Shared::default(),
            pacers: match &deps.request_observer {
                Some(observer) => Pacers::with_observer(observer.clone()),
                None => Pacers::default(),
            },
            deps,
        }
    }

    /// The client of an instance, made on first use.
    pub fn client(&self, record: &InstanceRecord) -> Result<Arc<InstanceClient>, ClientError> {
        let state = &self.deps;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, client)) = cache.get(&record.id)
            && *version == record.version
        {
            return Ok(client.clone());
        }
        let element = state.registry.get(&record.element_key).ok_or_else(|| {
            ClientError::unusable(format!(
                "instance {} has unknown element {}",
                record.id, record.element_key
            ))
        })?;
        let sealed = record.credentials.as_ref().ok_or_else(|| {
            ClientError::unusable(format!("instance {} has no credentials", record.id))
        })?;
        let credentials = open_credentials(&state.vault, sealed)?;
        let plain = |key: &str| -> Result<String, ClientError> {
            match record.entry(key).map(|e| &e.value) {
                Some(StoredValue::Plain(value)) => Ok(value.clone()),
                Some(StoredValue::Sealed(sealed)) => Ok(state
                    .vault
                    .open_string(key, sealed)
                    .map_err(ClientError::unusable)?
                    .expose_secret()
                    .to_owned()),
                None => Err(ClientError::unusable(format!(
                    "instance {} lacks {key}",
                    record.id
                ))),
            }
        };
        let app = ClientCredentials {
            client_id: plain(OAUTH_API_KEY)?,
            client_secret: SecretString::from(plain(OAUTH_API_SECRET)?),
        };
        let per_minute = state
            .settings
            .provider_requests_per_minute
            .unwrap_or(element.requests_per_minute());
        let pacer = self.pacers.for_element(
            &element.key,
            per_minute,
            state.settings.provider_rate_window,
        );
        // The override replaces every budget the element publishes (a raised quota, tests).
        let budgets = self.pacers.for_budgets(
            &element,
            state
                .settings
                .provider_requests_per_minute
                .map(|n| (n, state.settings.provider_rate_window)),
        );
        let sink = Arc::new(StoreSink {
            store: state.store.clone(),
            vault: state.vault.clone(),
            clock: state.clock.clone(),
            instance_id: record.id,
        });
        // Templates may read configuration values, but never a sealed (secret) one.
        let plain_config: BTreeMap<String, String> = record
            .configuration
            .iter()
            .filter_map(|entry| match &entry.value {
                StoredValue::Plain(value) => Some((entry.key.clone(), value.clone())),
                StoredValue::Sealed(_) => None,
            })
            .collect();
        let http = state.http.for_element(&state.registry, &element.key);
        let client = Arc::new(
            InstanceClient::new(
                element,
                http,
                app,
                credentials,
                pacer,
                state.clock.clone(),
                sink,
            )
            .with_config(self.shared.configs.intern(plain_config))
            // Budgets that are each tenant's own (a QuickBooks company, a HubSpot account)
            // are kept per instance.
            .with_pacing(record.id.to_string(), budgets),
        );
        cache.insert(record.id, (record.version, client.clone()));
        Ok(client)
    }

    /// The instance's events settings and compiled pollers, made on first use per version.
    pub fn prepared(&self, record: &InstanceRecord) -> Result<Arc<Prepared>, ClientError> {
        let state = &self.deps;
        if let Some((version, prepared)) = self
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&record.id)
            && *version == record.version
        {
            return Ok(prepared.clone());
        }
        let element = state.registry.get(&record.element_key).ok_or_else(|| {
            ClientError::unusable(format!(
                "instance {} has unknown element {}",
                record.id, record.element_key
            ))
        })?;
        let config = open_configuration(&state.vault, record).map_err(|e| {
            ClientError::Unusable(format!(
                "instance {} has a configuration that cannot be read: {e}",
                record.id
            ))
        })?;
        let settings = EventsSettings::read(&config, element.as_ref()).map_err(|errors| {
            ClientError::InvalidConfiguration(format!(
                "instance {} has an invalid events configuration: {}",
                record.id,
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let prepared = self.share(settings, record.id)?;
        self.prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.id, (record.version, prepared.clone()));
        Ok(prepared)
    }

    /// The [`Prepared`] of `settings`: the one equal settings already have, or one made now
    /// from the compiled pollers equal configurations already have, and those compiled now.
    fn share(&self, settings: EventsSettings, id: i64) -> Result<Arc<Prepared>, ClientError> {
        let shared = &self.shared;
        let hash = shared.prepared.hash(&settings);
        if let Some(prepared) = shared.prepared.find(hash, |p| p.settings == settings) {
            return Ok(prepared);
        }
        let mut pollers = BTreeMap::new();
        for (resource, config) in &settings.pollers {
            let poller_hash = shared.pollers.hash(config);
            let compiled = match shared.pollers.find(poller_hash, |c| c.config == *config) {
                Some(compiled) => compiled,
                None => {
                    let compiled = CompiledPoller::compile(config).map_err(|e| {
                        ClientError::InvalidConfiguration(format!(
                            "instance {id} poller {resource}: {e}"
                        ))
                    })?;
                    shared
                        .pollers
                        .keep(poller_hash, compiled, |a, b| a.config == b.config)
                }
            };
            pollers.insert(resource.clone(), compiled);
        }
        Ok(shared
            .prepared
            .keep(hash, Prepared { settings, pollers }, |a, b| {
                a.settings == b.settings
            }))
    }

    /// The client and the prepared settings made for an instance at `version`, when both are
    /// cached: a worker that knows the instance's version (a poller's claim returns it) then
    /// polls without reading the instance. `None` sends it to the store for the record.
    pub fn cached(
        &self,
        instance_id: i64,
        version: i64,
    ) -> Option<(Arc<Prepared>, Arc<InstanceClient>)> {
        let prepared = match self
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&instance_id)
        {
            Some((made, prepared)) if *made == version => prepared.clone(),
            _ => return None,
        };
        match self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&instance_id)
        {
            Some((made, client)) if *made == version => Some((prepared, client.clone())),
            _ => None,
        }
    }

    /// Drops an instance's client and prepared settings (after an edit or a delete).
    pub fn forget(&self, instance_id: i64) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&instance_id);
        self.prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&instance_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_are_held_once_and_the_dropped_are_forgotten() {
        let interner = Interner::<String>::default();
        let a = interner.intern("contacts".to_owned());
        let b = interner.intern("contacts".to_owned());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &interner.intern("tasks".to_owned())));
        assert_eq!(interner.live(), 1, "tasks was dropped at once");

        // Values made and dropped (instances edited, deleted) do not pile up in the table.
        for round in 0..1_000 {
            drop(interner.intern(format!("value {round}")));
        }
        let table = interner.lock();
        assert!(table.entries <= 128, "{} entries kept", table.entries);
        drop(table);
        assert_eq!(interner.live(), 1);
        assert!(Arc::ptr_eq(&a, &interner.intern("contacts".to_owned())));
    }

    #[test]
    fn credentials_keep_their_connection_values_and_the_old_shape_still_opens() {
        let vault = Vault::from_key(&[3; 32]);
        let credentials = Credentials {
            access_token: SecretString::from("at"),
            refresh_token: Some(SecretString::from("rt")),
            expires_at_ms: Some(5),
            connection: BTreeMap::from([("realm".to_owned(), "4620816365".to_owned())]),
        };
        let opened = open_credentials(&vault, &seal_credentials(&vault, &credentials)).unwrap();
        assert_eq!(opened.connection, credentials.connection);
        assert_eq!(opened.access_token.expose_secret(), "at");

        // Sealed before connection values existed: no connection map at all.
        let old = json!({"access_token": "at", "refresh_token": "rt", "expires_at_ms": 5});
        let sealed = vault.seal(CREDENTIALS, old.to_string().as_bytes());
        let opened = open_credentials(&vault, &sealed).unwrap();
        assert!(opened.connection.is_empty());
        assert_eq!(opened.refresh_token.unwrap().expose_secret(), "rt");
    }
}
