//! An instance's configuration at rest: secret values sealed with the vault (bound to their
//! key), shown as [`MASK`], opened in memory only when a poll, a client or a change needs them.
//!
//! Which keys are secret is the element's word ([`Element::is_secret`]: named like a secret, or
//! declared in its definition). A value stored plain under a key that is secret now (an
//! instance stored before the rule grew) is masked all the same, and sealed at its next write.

use std::collections::BTreeMap;

use secrecy::ExposeSecret;
use tributary_domain::instance_config::is_secret_key;
use tributary_elements::Element;
use tributary_store::{ConfigEntry, InstanceRecord, StoredValue};

use crate::secrets::{Vault, VaultError};

/// How secrets show in responses and pages; sent back, it means "keep the stored value".
pub const MASK: &str = "********";

/// The purpose an instance's token is sealed for.
const TOKEN: &str = "instance.token";

/// Whether a key of this element's configuration is secret (by its name alone when the
/// element is unknown).
pub fn is_secret(element: Option<&Element>, key: &str) -> bool {
    match element {
        Some(element) => element.is_secret(key),
        None => is_secret_key(key),
    }
}

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

/// A configuration as the store keeps it: the element's secret keys sealed, the rest plain.
pub fn seal_configuration(
    vault: &Vault,
    element: &Element,
    config: &BTreeMap<String, String>,
) -> Vec<(String, StoredValue)> {
    config
        .iter()
        .map(|(key, value)| {
            let stored = if element.is_secret(key) {
                StoredValue::Sealed(vault.seal_str(key, value))
            } else {
                StoredValue::Plain(value.clone())
            };
            (key.clone(), stored)
        })
        .collect()
}

/// An entry's value as users see it: secrets masked.
pub fn shown<'a>(element: Option<&Element>, entry: &'a ConfigEntry) -> &'a str {
    match &entry.value {
        StoredValue::Plain(_) if is_secret(element, &entry.key) => MASK,
        StoredValue::Plain(value) => value.as_str(),
        StoredValue::Sealed(_) => MASK,
    }
}

/// An instance token sealed for the store.
pub fn seal_token(vault: &Vault, token: &str) -> Vec<u8> {
    vault.seal_str(TOKEN, token)
}

/// An instance's token as its owner may read it: `None` for an instance stored with only its
/// token's hash (before tokens were sealed), or one whose sealed token does not open.
pub fn open_token(vault: &Vault, record: &InstanceRecord) -> Option<String> {
    let sealed = record.token_sealed.as_ref()?;
    vault
        .open_string(TOKEN, sealed)
        .ok()
        .map(|token| token.expose_secret().to_owned())
}
