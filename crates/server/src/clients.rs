//! Provider clients of instances, one per instance, cached so that concurrent hub calls of an
//! instance share its token refresh; and the sink that stores what the clients rotate.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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

use crate::api::error::ApiError;
use crate::app::AppState;
use crate::secrets::Vault;

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

/// Opens stored provider credentials (those sealed before connection values existed have none).
pub fn open_credentials(vault: &Vault, sealed: &[u8]) -> Result<Credentials, ApiError> {
    let bytes = vault
        .open(CREDENTIALS, sealed)
        .map_err(ApiError::internal)?;
    let value: Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(|s| SecretString::from(s.to_owned()))
    };
    Ok(Credentials {
        access_token: text("access_token")
            .ok_or_else(|| ApiError::internal("stored credentials lack an access token"))?,
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

/// The cache of instance clients. An entry is keyed by the instance's version, so a user's
/// edit (a new code, a new client secret) gets a fresh client.
#[derive(Debug, Default)]
pub struct Clients {
    cache: Mutex<HashMap<i64, (i64, Arc<InstanceClient>)>>,
    prepared: Mutex<HashMap<i64, (i64, Arc<Prepared>)>>,
    pub pacers: Pacers,
}

/// An instance's events settings with every poller compiled, made once per instance version
/// (a poll then neither unseals, parses nor compiles anything).
#[derive(Debug)]
pub struct Prepared {
    pub settings: EventsSettings,
    pub pollers: BTreeMap<String, CompiledPoller>,
}

impl Clients {
    /// The client of an instance, made on first use.
    pub fn client(
        &self,
        state: &AppState,
        record: &InstanceRecord,
    ) -> Result<Arc<InstanceClient>, ApiError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, client)) = cache.get(&record.id)
            && *version == record.version
        {
            return Ok(client.clone());
        }
        let element = state.registry.get(&record.element_key).ok_or_else(|| {
            ApiError::internal(format!(
                "instance {} has unknown element {}",
                record.id, record.element_key
            ))
        })?;
        let sealed = record.credentials.as_ref().ok_or_else(|| {
            ApiError::internal(format!("instance {} has no credentials", record.id))
        })?;
        let credentials = open_credentials(&state.vault, sealed)?;
        let plain = |key: &str| -> Result<String, ApiError> {
            match record.entry(key).map(|e| &e.value) {
                Some(StoredValue::Plain(value)) => Ok(value.clone()),
                Some(StoredValue::Sealed(sealed)) => Ok(state
                    .vault
                    .open_string(key, sealed)
                    .map_err(ApiError::internal)?
                    .expose_secret()
                    .to_owned()),
                None => Err(ApiError::internal(format!(
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
        let client = Arc::new(
            InstanceClient::new(
                element,
                state.http.clone(),
                app,
                credentials,
                pacer,
                state.clock.clone(),
                sink,
            )
            .with_config(plain_config),
        );
        cache.insert(record.id, (record.version, client.clone()));
        Ok(client)
    }

    /// The instance's events settings and compiled pollers, made on first use per version.
    pub fn prepared(
        &self,
        state: &AppState,
        record: &InstanceRecord,
    ) -> Result<Arc<Prepared>, ApiError> {
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
            ApiError::internal(format!(
                "instance {} has unknown element {}",
                record.id, record.element_key
            ))
        })?;
        let config = crate::api::instances::open_configuration(state, record)?;
        let settings = EventsSettings::read(&config, element.as_ref()).map_err(|errors| {
            ApiError::Conflict(format!(
                "instance {} has an invalid events configuration: {}",
                record.id,
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let mut pollers = BTreeMap::new();
        for (resource, config) in &settings.pollers {
            let compiled = CompiledPoller::compile(config).map_err(|e| {
                ApiError::Conflict(format!("instance {} poller {resource}: {e}", record.id))
            })?;
            pollers.insert(resource.clone(), compiled);
        }
        let prepared = Arc::new(Prepared { settings, pollers });
        self.prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.id, (record.version, prepared.clone()));
        Ok(prepared)
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
