//! How an instance's notifications are signed: its signature key (unsealed) and scheme, read
//! once per instance version, so a changed key signs every notification claimed after the
//! change. The signatures themselves are pure (`tributary_domain::delivery`).

use std::sync::Arc;

use secrecy::SecretString;
use tributary_domain::delivery::DEFAULT_SIGNATURE_SCHEME;
use tributary_domain::instance_config::{SIGNATURE_KEY, SIGNATURE_SCHEME};
use tributary_store::StoredValue;

use crate::state::AppState;

/// Instance id → (its version, how its notifications are signed).
#[derive(Debug, Default)]
pub(super) struct SigningCache {
    by_instance: std::sync::Mutex<std::collections::HashMap<i64, (i64, Arc<Signing>)>>,
}

/// The signing key and scheme (`elements`, `standard` or `both`) of an instance.
#[derive(Debug)]
pub(super) struct Signing {
    pub(super) key: Option<SecretString>,
    pub(super) scheme: String,
}

impl Default for Signing {
    fn default() -> Self {
        Signing {
            key: None,
            scheme: DEFAULT_SIGNATURE_SCHEME.into(),
        }
    }
}

impl SigningCache {
    /// How an instance's notifications are signed, read once per instance version.
    pub(super) async fn signing(
        &self,
        state: &AppState,
        instance_id: i64,
        version: i64,
    ) -> Arc<Signing> {
        if let Some((known, signing)) = self
            .by_instance
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&instance_id)
            && *known == version
        {
            return signing.clone();
        }
        let Ok(Some(record)) = state.store.instance_by_id(instance_id).await else {
            return Arc::new(Signing::default());
        };
        let key = record.entry(SIGNATURE_KEY).and_then(|e| match &e.value {
            StoredValue::Sealed(sealed) => state.vault.open_string(SIGNATURE_KEY, sealed).ok(),
            StoredValue::Plain(value) => Some(value.clone().into()),
        });
        let scheme = match record.entry(SIGNATURE_SCHEME).map(|e| &e.value) {
            Some(StoredValue::Plain(value)) => value.to_ascii_lowercase(),
            _ => DEFAULT_SIGNATURE_SCHEME.into(),
        };
        let signing = Arc::new(Signing { key, scheme });
        let mut cache = self.by_instance.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(instance_id, (record.version, signing.clone()));
        signing
    }
}
