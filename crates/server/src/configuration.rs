//! An instance's configuration at rest: secret values sealed with the vault (bound to their
//! key), shown as [`MASK`], opened in memory only when a poll, a client or a change needs them.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use tributary_domain::instance_config::is_secret_key;
use tributary_store::{ConfigEntry, InstanceRecord, StoredValue};

use crate::secrets::{Vault, VaultError};

/// How secrets show in responses and pages; sent back, it means "keep the stored value".
pub const MASK: &str = "********";

/// The plain configuration of a stored instance (secrets unsealed, in memory only).
pub fn open_configuration(
    vault: &Vault,
    record: &InstanceRecord,
) -> Result<BTreeMap<String, String>, VaultError> {
    record
        .configuration
        .iter()
        .map(|entry| {
            let value = match &entry.value {
                StoredValue::Plain(value) => value.clone(),
                StoredValue::Sealed(sealed) => vault
                    .open_string(&entry.key, sealed)?
                    .expose_secret()
                    .to_owned(),
            };
            Ok((entry.key.clone(), value))
        })
        .collect()
}

/// A configuration as the store keeps it: secret keys sealed, the rest plain.
pub fn seal_configuration(
    vault: &Vault,
    config: &BTreeMap<String, String>,
) -> Vec<(String, StoredValue)> {
    config
        .iter()
        .map(|(key, value)| {
            let stored = if is_secret_key(key) {
                StoredValue::Sealed(vault.seal_str(key, value))
            } else {
                StoredValue::Plain(value.clone())
            };
            (key.clone(), stored)
        })
        .collect()
}

/// An entry's value as users see it: secrets masked.
pub fn shown(entry: &ConfigEntry) -> &str {
    match &entry.value {
        StoredValue::Plain(value) => value.as_str(),
        StoredValue::Sealed(_) => MASK,
    }
}
