//! Element instances: create (the provider's code exchanged before anything is stored),
//! replace, patch, enable and disable, delete, show, list, and their configuration entries.
//!
//! Inputs are typed ([`CreateInstance`], [`ChangeInstance`]): the API reads them from JSON, the
//! UI from its form, and both get the same checks and the same words. Every write validates the
//! whole resulting configuration (every problem named with its field) and exchanges an
//! authorization code at the provider before anything is stored, so a refused request changes
//! nothing. Updates are guarded by the instance's version: concurrent writers retry on a fresh
//! read instead of overwriting each other. Secret values (the element's word:
//! [`tributary_elements::Element::is_secret`]) are sealed at rest and shown as [`MASK`];
//! sending [`MASK`] back keeps the stored secret. The instance's token is sealed too (beside
//! its hash, which finds it), so that its owner can read it back as Cloud Elements allows.
//!
//! Names and tags are stripped of HTML as Cloud Elements strips them (`<a …>x</a>` is `x`).
//! A disabled instance polls nothing, sends nothing new and refuses hub calls; enabling it
//! resumes its polls from their cursors at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use tributary_domain::instance_config::{
    CALLBACK_URL, EventsSettings, OAUTH_API_KEY, OAUTH_API_SECRET, OAUTH_CALLBACK_URL,
    POLLER_CONFIGURATION, VENDOR_TYPE, VendorType, check_http_url, is_secret_key,
};
use tributary_elements::Element;
use tributary_elements::client::Credentials;
use tributary_elements::oauth::TokenSet;
use tributary_store::{
    ConfigEntry, InstanceData, InstanceRecord, NewInstance, Principal, StoredValue, Updated,
    UserProfile,
};

pub use crate::configuration::MASK;
use crate::configuration::{open_configuration, seal_configuration, seal_token};
use crate::poller::wanted_pollers;
use crate::secrets::{hash_secret, random_secret};
pub use crate::services::connect::ProviderData;
use crate::services::connect::exchange;
use crate::services::error::ServiceError;
use crate::state::AppState;

const MAX_NAME: usize = 200;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 100;

/// Configuration entries as given: key → value, `None` removing the key (a patch).
pub type ConfigEntries = Vec<(String, Option<String>)>;

/// A new instance. Every field is optional here so that the service, not each adapter, says
/// which are required.
#[derive(Debug, Default)]
pub struct CreateInstance {
    pub element_key: Option<String>,
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub configuration: Option<ConfigEntries>,
    pub provider_data: Option<ProviderData>,
    /// What the adapter could not read, each naming its field (a name that is not a string):
    /// reported first, with every problem the service finds, all at once.
    pub problems: Vec<String>,
}

/// A change to an instance: `replace` (PUT) needs a name and a configuration and takes the
/// configuration as the whole; `patch` merges it.
#[derive(Debug, Default)]
pub struct ChangeInstance {
    /// Must be the instance's own element when given.
    pub element_key: Option<String>,
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub configuration: Option<ConfigEntries>,
    /// A new authorization (a new code revives an invalid instance).
    pub provider_data: Option<ProviderData>,
    /// As [`CreateInstance::problems`].
    pub problems: Vec<String>,
}

/// A created instance, with its token.
#[derive(Debug)]
pub struct Created {
    pub record: InstanceRecord,
    pub token: String,
    /// The `providerData` given, its secrets masked (Cloud Elements echoes it on create).
    pub provider_data: Map<String, Value>,
    /// What the user should know now (a callback URL that delivery will refuse).
    pub warnings: Vec<String>,
}

/// A changed instance.
#[derive(Debug)]
pub struct Changed {
    pub record: InstanceRecord,
    pub warnings: Vec<String>,
}

/// Which instances to list: all of an organization's, of an element, with any of these tags,
/// with this text in their name (case-insensitive).
#[derive(Debug, Clone, Default)]
pub struct ListInstances {
    pub element_key: Option<String>,
    pub tags: Vec<String>,
    pub search: Option<String>,
}

/// Text without its HTML tags, as Cloud Elements stores names and tags: `<a href="#">x</a>`
/// is `x`. A tag is `<` followed by a letter, `/`, `!` or `?`, up to the `>` outside quotes;
/// a `<` that starts no tag (`a < b`) and an unclosed tag are kept as text. Entities are left
/// as written.
pub fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let opens = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        let end = opens.then(|| tag_end(after)).flatten();
        match end {
            Some(end) => {
                out.push_str(&rest[..start]);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[..=start]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The byte offset of the `>` that closes a tag, skipping quoted attribute values.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// A name stripped of HTML, trimmed and checked.
fn check_name(name: Option<&str>, errors: &mut Vec<String>) -> Option<String> {
    let stripped = strip_html(name?);
    let trimmed = stripped.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME {
        errors.push(format!("name must be 1 to {MAX_NAME} characters"));
        return None;
    }
    Some(trimmed.to_owned())
}

/// Tags stripped of HTML, trimmed and checked.
fn check_tags(tags: Option<&[String]>, errors: &mut Vec<String>) -> Option<Vec<String>> {
    let tags: Vec<String> = tags?
        .iter()
        .map(|t| strip_html(t).trim().to_owned())
        .collect();
    if tags.len() > MAX_TAGS
        || tags
            .iter()
            .any(|t| t.is_empty() || t.chars().count() > MAX_TAG)
    {
        errors.push(tags_message());
        return None;
    }
    Some(tags)
}

/// What tags must be (also the API's word for tags that are not strings).
pub fn tags_message() -> String {
    format!("tags must be an array of at most {MAX_TAGS} strings of 1 to {MAX_TAG} characters")
}

/// Whether a problem is about `field` (its first word names it).
fn about(errors: &[String], field: &str) -> bool {
    errors.iter().any(|e| e.starts_with(field))
}

/// Checks a whole configuration for an element; `exchanging` adds what a code exchange needs.
fn validate(
    element: &Element,
    config: &BTreeMap<String, String>,
    exchanging: bool,
) -> Result<EventsSettings, Vec<String>> {
    let mut errors = Vec::new();
    for key in [OAUTH_API_KEY, OAUTH_API_SECRET] {
        if config.get(key).is_none_or(|v| v.trim().is_empty()) {
            errors.push(format!(
                "configuration.{key} is required (the provider app's client {})",
                if key == OAUTH_API_KEY { "id" } else { "secret" }
            ));
        }
    }
    match config.get(OAUTH_CALLBACK_URL) {
        Some(url) => {
            if let Err(message) = check_http_url(url) {
                errors.push(format!("configuration.{OAUTH_CALLBACK_URL} {message}"));
            }
        }
        None if exchanging => errors.push(format!(
            "configuration.{OAUTH_CALLBACK_URL} is required to exchange an authorization code \
             (the redirect URL registered with the provider app)"
        )),
        None => {}
    }
    // The element's own settings (a login host among its choices).
    errors.extend(element.config_problems(config));
    let settings = EventsSettings::read(config, element).map_err(|field_errors| {
        field_errors
            .into_iter()
            .map(|e| format!("configuration.{e}"))
            .collect::<Vec<_>>()
    });
    // A configuration that can never produce an event is refused, not stored "enabled".
    if let Ok(settings) = &settings
        && settings.vendor == VendorType::Webhooks
        && !element.has_webhook_source()
    {
        errors.push(format!(
            "configuration.{VENDOR_TYPE}: {} ({}) has no webhook source in Tributary yet, so \
             webhooks would never produce an event; use polling",
            element.name, element.key
        ));
    }
    // Each poller's URL as a poll will read it: the hub's own parser and the element's fields.
    if let Ok(settings) = &settings {
        for (resource, poller) in &settings.pollers {
            if let Err(problem) = crate::services::hub::check_poller_url(
                element,
                &poller.url,
                &poller.dates.updated_field,
            ) {
                errors.push(format!(
                    "configuration.{POLLER_CONFIGURATION}.{resource}.url: {problem}"
                ));
            }
        }
    }
    match settings {
        Ok(settings) if errors.is_empty() => Ok(settings),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// Webhooks need a URL the provider can reach: refused without `TRIBUTARY_PUBLIC_URL`.
fn needs_public_url(state: &AppState, settings: &EventsSettings) -> Result<(), ServiceError> {
    if settings.enabled
        && settings.vendor == VendorType::Webhooks
        && state.settings.public_url.is_none()
    {
        return Err(ServiceError::BadInput(format!(
            "configuration.{VENDOR_TYPE}: webhooks need the server's public URL for the \
             provider to deliver to; set TRIBUTARY_PUBLIC_URL (or --public-url), or use polling"
        )));
    }
    Ok(())
}

/// Makes the instance's webhook subscriptions what it wants now. A provider's refusal is
/// stored on the subscription (visible, and tried again by the keeper), never failing the
/// request that changed the instance.
async fn sync_hooks(state: &AppState, record: &InstanceRecord) {
    if let Err(error) = crate::hooks::sync(state, record, false).await {
        tracing::warn!(instance = record.id, %error, "could not sync the webhook subscriptions");
    }
}

fn element_for(state: &AppState, key: &str) -> Result<Arc<Element>, ServiceError> {
    state.registry.get(key).ok_or_else(|| {
        let known: Vec<String> = state.registry.all().iter().map(|e| e.key.clone()).collect();
        ServiceError::BadInput(format!(
            "element.key: unknown element {key:?}; known elements: {}",
            known.join(", ")
        ))
    })
}

fn seal_credentials(state: &AppState, tokens: &TokenSet) -> Vec<u8> {
    let credentials = Credentials {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_at_ms: tokens
            .expires_in
            .map(|s| state.now_ms() + s.saturating_mul(1000)),
        connection: tokens.connection.clone(),
    };
    crate::clients::seal_credentials(&state.vault, &credentials)
}

/// A create that passed every check but the provider's.
struct CheckedCreate {
    element: Arc<Element>,
    name: String,
    tags: Vec<String>,
    config: BTreeMap<String, String>,
    settings: EventsSettings,
}

/// Every check of a new instance that needs no provider: each problem named.
fn check_create(state: &AppState, input: &CreateInstance) -> Result<CheckedCreate, ServiceError> {
    let mut errors = input.problems.clone();
    let name = check_name(input.name.as_deref(), &mut errors);
    let tags = check_tags(input.tags.as_deref(), &mut errors);
    let Some(key) = &input.element_key else {
        errors.push("element.key is required (such as \"infusionsoftrest\")".into());
        return Err(ServiceError::InvalidInstance(errors));
    };
    let element = element_for(state, key)?;
    if name.is_none() && !about(&errors, "name") {
        errors.push("name is required".into());
    }
    if input.provider_data.is_none() && !about(&errors, "providerData") {
        errors.push(
            "providerData is required: {\"code\": <OAuth authorization code>} or \
             {\"access_token\": …, \"refresh_token\": …}"
                .into(),
        );
    }
    let config: BTreeMap<String, String> = input
        .configuration
        .iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    let exchanging = matches!(input.provider_data, Some(ProviderData::Code(..)));
    let settings = match validate(&element, &config, exchanging) {
        Ok(settings) if errors.is_empty() => {
            needs_public_url(state, &settings)?;
            settings
        }
        Ok(_) => return Err(ServiceError::InvalidInstance(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(ServiceError::InvalidInstance(errors));
        }
    };
    let Some(name) = name else {
        return Err(ServiceError::InvalidInstance(errors));
    };
    Ok(CheckedCreate {
        element,
        name,
        tags: tags.unwrap_or_default(),
        config,
        settings,
    })
}

/// Checks a new instance as [`create`] would, without asking the provider (the web UI, before
/// it sends the user to the consent page).
pub fn check(state: &AppState, input: &CreateInstance) -> Result<(), ServiceError> {
    check_create(state, input).map(|_| ())
}

/// Creates an instance: checks it, exchanges its code at the provider, stores it, and starts
/// its pollers.
pub async fn create(
    state: &AppState,
    principal: Principal,
    mut input: CreateInstance,
) -> Result<Created, ServiceError> {
    let CheckedCreate {
        element,
        name,
        tags,
        config,
        settings,
    } = check_create(state, &input)?;
    let data = input
        .provider_data
        .take()
        .ok_or_else(|| ServiceError::internal("a checked create lacks its provider data"))?;
    let provider_data = echo(&data);
    let tokens = exchange(state, &element, &config, data).await?;
    let token = random_secret();
    let record = state
        .store
        .insert_instance(NewInstance {
            principal,
            element_key: element.key.clone(),
            token_hash: hash_secret(&token),
            token_sealed: seal_token(&state.vault, &token),
            data: InstanceData {
                name,
                tags,
                configuration: seal_configuration(&state.vault, &element, &config),
                credentials: Some(seal_credentials(state, &tokens)),
                valid: true,
                invalid_reason: None,
                disabled: false,
                events_enabled: settings.enabled,
            },
            now_ms: state.now_ms(),
        })
        .await?;
    let now = state.now_ms();
    state
        .store
        .sync_pollers(record.id, &wanted_pollers(&settings, now, record.id), now)
        .await?;
    state.nudge_scheduler();
    sync_hooks(state, &record).await;
    tracing::info!(instance = record.id, element = %element.key, "instance created");
    let warnings = warnings(state, &record);
    Ok(Created {
        record,
        token,
        provider_data,
        warnings,
    })
}

/// `providerData` as a create response echoes it: every field given, secrets (tokens, a
/// secret) masked.
fn echo(data: &ProviderData) -> Map<String, Value> {
    let (ProviderData::Code(_, given) | ProviderData::Tokens(_, given)) = data;
    given
        .iter()
        .map(|(key, value)| {
            let shown = if is_secret_key(key) {
                Value::String(MASK.into())
            } else {
                value.clone()
            };
            (key.clone(), shown)
        })
        .collect()
}

/// What a user should know of a stored instance now: its callback URL will be refused.
fn warnings(state: &AppState, record: &InstanceRecord) -> Vec<String> {
    let callback = match record.entry(CALLBACK_URL).map(|e| &e.value) {
        Some(StoredValue::Plain(url)) => url,
        _ => return Vec::new(),
    };
    crate::guard::callback_warning(callback, state.settings.allow_private_callbacks)
        .into_iter()
        .collect()
}

/// One instance of the caller's organization.
pub async fn show(
    state: &AppState,
    principal: Principal,
    id: i64,
) -> Result<InstanceRecord, ServiceError> {
    state
        .store
        .instance(principal.organization_id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no instance {id}")))
}

/// The organization's instances that match. Cloud Elements answers "not found" when a
/// filtered search finds nothing; so do we.
pub async fn list(
    state: &AppState,
    principal: Principal,
    query: &ListInstances,
) -> Result<Vec<InstanceRecord>, ServiceError> {
    if let Some(key) = &query.element_key
        && state.registry.get(key).is_none()
    {
        return Err(ServiceError::NotFound(format!("no element {key:?}")));
    }
    let search = query.search.as_ref().map(|s| s.to_lowercase());
    let filtered = !query.tags.is_empty() || search.is_some();
    let records = state.store.instances(principal.organization_id).await?;
    let matches: Vec<InstanceRecord> = records
        .into_iter()
        .filter(|r| {
            query
                .element_key
                .as_ref()
                .is_none_or(|key| r.element_key == *key)
        })
        .filter(|r| query.tags.is_empty() || r.tags.iter().any(|t| query.tags.contains(t)))
        .filter(|r| {
            search
                .as_ref()
                .is_none_or(|s| r.name.to_lowercase().contains(s))
        })
        .collect();
    if filtered && matches.is_empty() {
        return Err(ServiceError::NotFound(
            "no instance matches the search".into(),
        ));
    }
    Ok(matches)
}

/// How an update changes the configuration.
enum ConfigChange {
    Keep,
    /// Set these keys (`None` removes one).
    Merge(ConfigEntries),
    /// Exactly these keys.
    Replace(ConfigEntries),
}

struct Change {
    name: Option<String>,
    tags: Option<Vec<String>>,
    configuration: ConfigChange,
    provider_data: Option<ProviderData>,
}

/// How many times a change is re-read and re-applied when concurrent writes keep winning the
/// version race: enough for dozens of writers at once to all get through (issue 16 found three
/// tries failing 70 % of 18 concurrent PATCHes), still a bound.
const UPDATE_ATTEMPTS: u32 = 64;

/// Applies a change: validates the result, authenticates anew if provider data came, and writes
/// it guarded by the version read. On a concurrent update the change is re-read and re-applied
/// on the newer instance (after a short random pause, so racing writers spread out), up to
/// [`UPDATE_ATTEMPTS`] times: a PATCH merges its keys into whatever the others wrote, so
/// partial updates of different keys never fail each other. Two changes of the same key are
/// last-writer-wins, as two PATCHes in sequence would be; a PUT replaces whatever it finds.
async fn update(
    state: &AppState,
    principal: Principal,
    id: i64,
    change: Change,
) -> Result<InstanceRecord, ServiceError> {
    let mut tokens: Option<TokenSet> = None;
    let mut provider_data = change.provider_data;
    for attempt in 0..UPDATE_ATTEMPTS {
        if attempt > 0 {
            let pause = rand::random_range(0..=(attempt * 2).min(40));
            tokio::time::sleep(std::time::Duration::from_millis(u64::from(pause))).await;
        }
        let record = show(state, principal, id).await?;
        let element = state.registry.get(&record.element_key).ok_or_else(|| {
            ServiceError::internal(format!(
                "instance {id} has unknown element {}",
                record.element_key
            ))
        })?;
        let current = open_configuration(&state.vault, &record).map_err(ServiceError::internal)?;
        let keep_or = |key: &str, value: String| -> String {
            if value == MASK && element.is_secret(key) {
                current.get(key).cloned().unwrap_or(value)
            } else {
                value
            }
        };
        let config: BTreeMap<String, String> = match &change.configuration {
            ConfigChange::Keep => current.clone(),
            ConfigChange::Merge(entries) => {
                let mut merged = current.clone();
                for (key, value) in entries {
                    match value {
                        Some(value) => {
                            merged.insert(key.clone(), keep_or(key, value.clone()));
                        }
                        None => {
                            merged.remove(key);
                        }
                    }
                }
                merged
            }
            ConfigChange::Replace(entries) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), keep_or(k, v.clone()?))))
                .collect(),
        };
        let exchanging = matches!(provider_data, Some(ProviderData::Code(..)));
        let settings =
            validate(&element, &config, exchanging).map_err(ServiceError::InvalidInstance)?;
        needs_public_url(state, &settings)?;
        if let Some(data) = provider_data.take() {
            tokens = Some(exchange(state, &element, &config, data).await?);
        }
        let (credentials, valid, invalid_reason) = match &tokens {
            Some(tokens) => (Some(seal_credentials(state, tokens)), true, None),
            None => (
                record.credentials.clone(),
                record.valid,
                record.invalid_reason.clone(),
            ),
        };
        let data = InstanceData {
            name: change.name.clone().unwrap_or(record.name.clone()),
            tags: change.tags.clone().unwrap_or(record.tags.clone()),
            configuration: seal_configuration(&state.vault, &element, &config),
            credentials,
            valid,
            invalid_reason,
            disabled: record.disabled,
            events_enabled: settings.enabled,
        };
        match state
            .store
            .update_instance(
                principal.organization_id,
                id,
                record.version,
                data,
                state.now_ms(),
            )
            .await?
        {
            Updated::Done(record) => {
                // The cached provider client holds the old credentials and app secret.
                state.clients.forget(id);
                let now = state.now_ms();
                state
                    .store
                    .sync_pollers(id, &wanted_pollers(&settings, now, id), now)
                    .await?;
                state.nudge_scheduler();
                sync_hooks(state, &record).await;
                return Ok(*record);
            }
            Updated::NotFound => return Err(ServiceError::NotFound(format!("no instance {id}"))),
            Updated::Conflict => continue,
        }
    }
    Err(ServiceError::Conflict(format!(
        "instance {id} is being changed by someone else; read it again and retry"
    )))
}

/// The problems of a change's own fields, once the instance is known to exist in the caller's
/// organization and the change does not try to change its element.
async fn read_change(
    state: &AppState,
    principal: Principal,
    id: i64,
    input: &ChangeInstance,
) -> Result<(Vec<String>, Option<String>, Option<Vec<String>>), ServiceError> {
    let record = show(state, principal, id).await?;
    match &input.element_key {
        Some(key) if *key != record.element_key => {
            return Err(ServiceError::BadInput(format!(
                "element.key cannot change (the instance is {:?}); create a new instance instead",
                record.element_key
            )));
        }
        _ => {}
    }
    let mut errors = input.problems.clone();
    let name = check_name(input.name.as_deref(), &mut errors);
    let tags = check_tags(input.tags.as_deref(), &mut errors);
    Ok((errors, name, tags))
}

/// Replaces an instance's name, tags and configuration (PUT); a new code authorizes it anew.
pub async fn replace(
    state: &AppState,
    principal: Principal,
    id: i64,
    input: ChangeInstance,
) -> Result<Changed, ServiceError> {
    let (mut errors, name, tags) = read_change(state, principal, id, &input).await?;
    if name.is_none() && !about(&errors, "name") {
        errors.push("name is required (PUT replaces the whole instance)".into());
    }
    if input.configuration.is_none() && !about(&errors, "configuration") {
        errors.push("configuration is required (PUT replaces the whole instance)".into());
    }
    if !errors.is_empty() {
        return Err(ServiceError::InvalidInstance(errors));
    }
    let change = Change {
        name,
        tags: Some(tags.unwrap_or_default()),
        configuration: ConfigChange::Replace(input.configuration.unwrap_or_default()),
        provider_data: input.provider_data,
    };
    let record = update(state, principal, id, change).await?;
    let warnings = warnings(state, &record);
    Ok(Changed { record, warnings })
}

/// Changes what is given (PATCH): name, tags replaced, configuration merged (`None` removes a
/// key); a new code authorizes it anew.
pub async fn patch(
    state: &AppState,
    principal: Principal,
    id: i64,
    input: ChangeInstance,
) -> Result<Changed, ServiceError> {
    let (errors, name, tags) = read_change(state, principal, id, &input).await?;
    if !errors.is_empty() {
        return Err(ServiceError::InvalidInstance(errors));
    }
    let change = Change {
        name,
        tags,
        configuration: match input.configuration {
            Some(entries) => ConfigChange::Merge(entries),
            None => ConfigChange::Keep,
        },
        provider_data: input.provider_data,
    };
    let record = update(state, principal, id, change).await?;
    let warnings = warnings(state, &record);
    Ok(Changed { record, warnings })
}

/// Enables (`true`) or disables an instance (`PUT` / `DELETE /instances/{id}/enabled`). A
/// disabled instance polls nothing (the scheduler skips it and "poll now" refuses), sends
/// nothing new (its events wait unqueued; notifications queued before go on to their end) and
/// refuses hub calls with 403, as Cloud Elements does. Its pollers keep their cursors, so
/// enabling it polls at once from where it stopped: nothing changed meanwhile is lost.
pub async fn set_enabled(
    state: &AppState,
    principal: Principal,
    id: i64,
    enabled: bool,
) -> Result<InstanceRecord, ServiceError> {
    // Only the switch changes: the configuration is written back as stored (not validated
    // again), so an instance whose stored configuration no longer validates can still be
    // switched off.
    for _attempt in 0..3 {
        let record = show(state, principal, id).await?;
        let data = InstanceData {
            name: record.name.clone(),
            tags: record.tags.clone(),
            configuration: record
                .configuration
                .iter()
                .map(|entry| (entry.key.clone(), entry.value.clone()))
                .collect(),
            credentials: record.credentials.clone(),
            valid: record.valid,
            invalid_reason: record.invalid_reason.clone(),
            disabled: !enabled,
            events_enabled: record.events_enabled,
        };
        let now = state.now_ms();
        match state
            .store
            .update_instance(principal.organization_id, id, record.version, data, now)
            .await?
        {
            Updated::Done(record) => {
                state.clients.forget(id);
                if enabled {
                    state.store.make_pollers_due(id, now).await?;
                    state.nudge_delivery();
                }
                state.nudge_scheduler();
                sync_hooks(state, &record).await;
                tracing::info!(instance = id, enabled, "instance enabled or disabled");
                return Ok(*record);
            }
            Updated::NotFound => return Err(ServiceError::NotFound(format!("no instance {id}"))),
            Updated::Conflict => continue,
        }
    }
    Err(ServiceError::Conflict(format!(
        "instance {id} is being changed by someone else; try again"
    )))
}

/// The instance an instance token names, if it belongs to the caller's organization (the
/// token-scoped calls: `Authorization: User …, Organization …, Element <token>`).
pub async fn by_token(
    state: &AppState,
    principal: Principal,
    token: &str,
) -> Result<InstanceRecord, ServiceError> {
    state
        .store
        .instance_by_token(&hash_secret(token))
        .await?
        .filter(|record| record.organization_id == principal.organization_id)
        .ok_or_else(|| {
            ServiceError::Unauthorized(
                "the Element token names no instance of this organization".into(),
            )
        })
}

/// Who owns an instance, as its `user` object shows them (each part empty when never given).
pub async fn owner(state: &AppState, record: &InstanceRecord) -> Result<UserProfile, ServiceError> {
    Ok(state
        .store
        .user(record.organization_id, record.user_id)
        .await?
        .map(|user| user.profile)
        .unwrap_or_default())
}

/// Removes an instance with its configuration, pollers and events.
pub async fn delete(state: &AppState, principal: Principal, id: i64) -> Result<(), ServiceError> {
    // Its webhook subscriptions first, while its credentials are still there to ask with.
    if let Some(record) = state.store.instance(principal.organization_id, id).await? {
        crate::hooks::remove_all(state, &record).await;
    }
    if state
        .store
        .delete_instance(principal.organization_id, id)
        .await?
    {
        state.clients.forget(id);
        tracing::info!(instance = id, "instance deleted");
        Ok(())
    } else {
        Err(ServiceError::NotFound(format!("no instance {id}")))
    }
}

fn find_entry(
    record: &InstanceRecord,
    id: i64,
    entry_id: i64,
) -> Result<&ConfigEntry, ServiceError> {
    record
        .configuration
        .iter()
        .find(|e| e.id == entry_id)
        .ok_or_else(|| {
            ServiceError::NotFound(format!(
                "no configuration entry {entry_id} in instance {id}"
            ))
        })
}

/// One configuration entry by its id.
pub async fn configuration_entry(
    state: &AppState,
    principal: Principal,
    id: i64,
    entry_id: i64,
) -> Result<ConfigEntry, ServiceError> {
    let record = show(state, principal, id).await?;
    find_entry(&record, id, entry_id).cloned()
}

/// A new value for one configuration entry.
#[derive(Debug, Clone, Default)]
pub struct SetEntry {
    /// The entry's key, when the caller names it (it must match).
    pub key: Option<String>,
    pub value: Option<String>,
}

/// Sets one configuration entry's value, validated with the whole configuration.
pub async fn set_configuration_entry(
    state: &AppState,
    principal: Principal,
    id: i64,
    entry_id: i64,
    input: SetEntry,
) -> Result<ConfigEntry, ServiceError> {
    let record = show(state, principal, id).await?;
    let key = find_entry(&record, id, entry_id)?.key.clone();
    let Some(value) = input.value else {
        return Err(ServiceError::BadInput(
            "propertyValue is required (a string, number, boolean or object)".into(),
        ));
    };
    if let Some(given) = input.key
        && given != key
    {
        return Err(ServiceError::BadInput(format!(
            "key {given:?} does not match configuration entry {entry_id} ({key:?})"
        )));
    }
    let change = Change {
        name: None,
        tags: None,
        configuration: ConfigChange::Merge(vec![(key.clone(), Some(value))]),
        provider_data: None,
    };
    let record = update(state, principal, id, change).await?;
    record
        .entry(&key)
        .cloned()
        .ok_or_else(|| ServiceError::internal(format!("entry {key} vanished from instance {id}")))
}

#[cfg(test)]
mod tests {
    use super::strip_html;

    #[test]
    fn html_tags_are_stripped_and_other_text_kept() {
        for (given, kept) in [
            (
                "<a href=\"#\" onClick=\"javascript:alert('xss');return false;\">churros-xss</a>",
                "churros-xss",
            ),
            ("<b>bold</b> and <i>it</i>", "bold and it"),
            ("<a title=\"x > y\">quoted</a>", "quoted"),
            ("<!-- note -->text", "text"),
            ("a < b and b > a", "a < b and b > a"),
            ("<3 for CRM", "<3 for CRM"),
            ("unclosed <b tag", "unclosed <b tag"),
            ("plain", "plain"),
            ("", ""),
        ] {
            assert_eq!(strip_html(given), kept, "{given:?}");
        }
    }
}
