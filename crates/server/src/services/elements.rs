//! The elements folder, read at start and again on a reload: each definition checked, refused
//! by name when it does not parse or validate, repeats a key, or names a private origin.

use tributary_elements::Registry;

use crate::settings::Settings;
use crate::state::AppState;

/// The elements `serve` runs with: the built-in ones and the folder's, each of the folder's
/// refused by name when it does not parse or validate, repeats a key, or names a private
/// origin (see [`Registry::refused`]); then the operator's origin overrides.
pub fn load(settings: &Settings) -> Result<Registry, tributary_elements::ElementError> {
    let mut registry = Registry::load(settings.elements_dir.as_deref())?;
    guard_origins(&mut registry, settings);
    registry.with_origins(&settings.origins)
}

/// Refuses each definition of the elements folder whose provider URLs name a loopback or
/// private host, unless private origins are allowed or the operator set its origin
/// (`TRIBUTARY_<KEY>_ORIGIN`, applied after this check, replaces them).
fn guard_origins(registry: &mut Registry, settings: &Settings) {
    if settings.allow_private_origins {
        return;
    }
    let mut refused = Vec::new();
    for element in registry.all() {
        if registry.local_file(&element.key).is_none()
            || settings.origins.contains_key(&element.key)
        {
            continue;
        }
        let urls = [
            ("auth.authorization_url", &element.auth.authorization_url),
            ("auth.token_url", &element.auth.token_url),
            ("api.base_url", &element.api.base_url),
        ];
        if let Some((field, why)) = urls
            .iter()
            .find_map(|(field, url)| Some((*field, crate::guard::private_origin(url)?)))
        {
            refused.push((
                element.key.clone(),
                format!(
                    "{field}: {why}; a definition may name a private origin only with \
                     TRIBUTARY_ALLOW_PRIVATE_ORIGINS, or the operator sets it with {}",
                    tributary_elements::definition::origin_variable(&element.key)
                ),
            ));
        }
    }
    for (key, message) in refused {
        registry.refuse(&key, message);
    }
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// The element keys now in use, built-in ones first.
    pub keys: Vec<String>,
    /// The folder's refused files, each with why.
    pub refused: Vec<String>,
}

/// Reads the elements folder again and puts the result in place: new definitions serve new
/// calls, instance clients are rebuilt on their next use, and an origin override
/// (`TRIBUTARY_<KEY>_ORIGIN`) of a key new to the folder is read from the environment. A
/// folder that cannot be read keeps the elements as they were.
pub fn reload(state: &AppState) -> Result<Reloaded, tributary_elements::ElementError> {
    let mut settings = Settings::clone(&state.settings);
    let keys: Vec<String> = Registry::load(settings.elements_dir.as_deref())?
        .keys()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for (key, origin) in crate::settings::origins_from_env(keys.iter().map(String::as_str)) {
        settings.origins.entry(key).or_insert(origin);
    }
    let registry = load(&settings)?;
    let reloaded = Reloaded {
        keys: registry.keys().into_iter().map(str::to_owned).collect(),
        refused: registry.refused().iter().map(|e| e.to_string()).collect(),
    };
    state.registry.replace(registry);
    state.clients.forget_all();
    Ok(reloaded)
}

/// The quota of each provider app of element `key` that this process's scheduler has seen:
/// allowed, projected and planned requests a minute, the stretch of its intervals.
pub fn quota(
    state: &AppState,
    key: &str,
) -> Result<Vec<crate::quota::AppQuotaView>, crate::services::error::ServiceError> {
    if state.registry.get(key).is_none() {
        return Err(crate::services::error::ServiceError::NotFound(format!(
            "no element {key:?}"
        )));
    }
    Ok(state
        .quotas
        .snapshot(state.now_ms())
        .into_iter()
        .filter(|view| view.element == key)
        .collect())
}
