//! `/instances`: connect a provider account, read, change and remove it, and its configuration
//! entries — the Cloud Elements instance API (`shared/research/cloud-elements.md` §3).
//!
//! Every write validates the whole resulting configuration (every problem named with its field)
//! before anything is stored, and exchanges an authorization code at the provider before
//! anything is stored, so a refused request changes nothing. Updates are guarded by the
//! instance's version: concurrent writers retry on a fresh read instead of overwriting each
//! other. Secret values are sealed at rest and shown as `********`; a client that sends
//! `********` back (GET, edit, PUT) keeps the stored secret.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use tributary_domain::instance_config::{
    CALLBACK_URL, EventsSettings, OAUTH_API_KEY, OAUTH_API_SECRET, OAUTH_CALLBACK_URL,
    check_http_url, is_secret_key, normalize_value,
};
use tributary_elements::Element;
use tributary_elements::client::Credentials;
use tributary_elements::oauth::{self, ClientCredentials, OAuthError, TokenSet};
use tributary_store::{InstanceData, InstanceRecord, NewInstance, StoredValue, Updated};

use crate::api::error::ApiError;
use crate::api::extract::{Caller, JsonBody, path_id};
use crate::app::AppState;
use crate::poller::wanted_pollers;
use crate::secrets::{hash_secret, random_secret};

/// How secrets show in responses; sent back, it means "keep the stored value".
pub const MASK: &str = "********";
const MAX_NAME: usize = 200;
const MAX_TAGS: usize = 50;
const MAX_TAG: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/instances", get(list).post(create))
        .route(
            "/instances/{id}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/instances/{id}/configuration", get(list_configuration))
        .route(
            "/instances/{id}/configuration/{entry}",
            get(show_configuration).patch(patch_configuration),
        )
        .route(
            "/elements/{key}/instances",
            get(list_for_element).post(create_for_element),
        )
}

/// How the account is authenticated; each with the whole `providerData` object, which may carry
/// connection values beside the code or tokens (the OAuth redirect's `realmId`, say).
enum ProviderData {
    /// An authorization code to exchange at the provider's token endpoint.
    Code(String, Map<String, Value>),
    /// Tokens obtained elsewhere.
    Tokens(TokenSet, Map<String, Value>),
}

/// What a request body says, read field by field; `errors` names every bad field.
#[derive(Default)]
struct InstanceRequest {
    element_key: Option<String>,
    name: Option<String>,
    tags: Option<Vec<String>>,
    /// Key → value; `None` removes the key (PATCH).
    configuration: Option<Vec<(String, Option<String>)>>,
    provider_data: Option<ProviderData>,
    errors: Vec<String>,
}

fn read_request(body: &Value) -> InstanceRequest {
    let mut request = InstanceRequest::default();
    let Value::Object(body) = body else {
        request
            .errors
            .push("the request body must be a JSON object".into());
        return request;
    };
    match body.get("element") {
        None | Some(Value::Null) => {}
        Some(Value::Object(element)) => match element.get("key") {
            Some(Value::String(key)) => request.element_key = Some(key.clone()),
            None if element.contains_key("id") => request
                .errors
                .push("element: give the element by key ({\"key\": \"infusionsoftrest\"})".into()),
            _ => request.errors.push("element.key must be a string".into()),
        },
        Some(_) => request
            .errors
            .push("element must be an object such as {\"key\": \"infusionsoftrest\"}".into()),
    }
    match body.get("name") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => {
            let trimmed = name.trim();
            if trimmed.is_empty() || trimmed.chars().count() > MAX_NAME {
                request
                    .errors
                    .push(format!("name must be 1 to {MAX_NAME} characters"));
            } else {
                request.name = Some(trimmed.to_owned());
            }
        }
        Some(_) => request.errors.push("name must be a string".into()),
    }
    match body.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let tags: Option<Vec<String>> = items
                .iter()
                .map(|t| t.as_str().map(str::trim).map(str::to_owned))
                .collect();
            match tags {
                Some(tags)
                    if tags.len() <= MAX_TAGS
                        && tags
                            .iter()
                            .all(|t| !t.is_empty() && t.chars().count() <= MAX_TAG) =>
                {
                    request.tags = Some(tags);
                }
                _ => request.errors.push(format!(
                    "tags must be an array of at most {MAX_TAGS} strings of 1 to {MAX_TAG} characters"
                )),
            }
        }
        Some(_) => request
            .errors
            .push("tags must be an array of strings".into()),
    }
    match body.get("configuration") {
        None | Some(Value::Null) => {}
        Some(Value::Object(config)) => {
            request.configuration = Some(
                config
                    .iter()
                    .map(|(key, value)| (key.clone(), normalize_value(value)))
                    .collect(),
            );
        }
        Some(_) => request
            .errors
            .push("configuration must be an object of key to value".into()),
    }
    match body.get("providerData") {
        None | Some(Value::Null) => {}
        Some(Value::Object(data)) => match read_provider_data(data) {
            Ok(data) => request.provider_data = Some(data),
            Err(message) => request.errors.push(message),
        },
        Some(_) => request.errors.push(
            "providerData must be an object with a code, or with access_token and refresh_token"
                .into(),
        ),
    }
    request
}

fn read_provider_data(data: &Map<String, Value>) -> Result<ProviderData, String> {
    let text = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(code) = data.get("code") {
        return match code.as_str().filter(|c| !c.trim().is_empty()) {
            Some(code) => Ok(ProviderData::Code(code.trim().to_owned(), data.clone())),
            None => Err("providerData.code must be a non-empty string".into()),
        };
    }
    if data.contains_key("access_token") {
        let Some(access) = text("access_token") else {
            return Err("providerData.access_token must be a non-empty string".into());
        };
        let expires_in = match data.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(value) => match normalize_value(value).and_then(|v| v.parse::<i64>().ok()) {
                Some(seconds) if seconds > 0 => Some(seconds),
                _ => {
                    return Err(
                        "providerData.expires_in must be a positive number of seconds".into(),
                    );
                }
            },
        };
        return Ok(ProviderData::Tokens(
            TokenSet {
                access_token: SecretString::from(access.to_owned()),
                refresh_token: text("refresh_token").map(|r| SecretString::from(r.to_owned())),
                expires_in,
                scope: text("scope").map(str::to_owned),
                connection: BTreeMap::new(),
            },
            data.clone(),
        ));
    }
    Err("providerData needs a code (an OAuth authorization code) or an access_token".into())
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
    let settings = EventsSettings::read(config, element).map_err(|field_errors| {
        field_errors
            .into_iter()
            .map(|e| format!("configuration.{e}"))
            .collect::<Vec<_>>()
    });
    match settings {
        Ok(settings) if errors.is_empty() => Ok(settings),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

fn invalid(errors: Vec<String>) -> ApiError {
    ApiError::BadRequest(format!("invalid instance: {}", errors.join("; ")))
}

fn element_for(state: &AppState, key: &str) -> Result<Arc<Element>, ApiError> {
    state.registry.get(key).ok_or_else(|| {
        let known: Vec<&str> = state
            .registry
            .all()
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        ApiError::BadRequest(format!(
            "element.key: unknown element {key:?}; known elements: {}",
            known.join(", ")
        ))
    })
}

/// The plain configuration of a stored instance (secrets unsealed, in memory only).
pub(crate) fn open_configuration(
    state: &AppState,
    record: &InstanceRecord,
) -> Result<BTreeMap<String, String>, ApiError> {
    record
        .configuration
        .iter()
        .map(|entry| {
            let value = match &entry.value {
                StoredValue::Plain(value) => value.clone(),
                StoredValue::Sealed(sealed) => state
                    .vault
                    .open_string(&entry.key, sealed)
                    .map_err(ApiError::internal)?
                    .expose_secret()
                    .to_owned(),
            };
            Ok((entry.key.clone(), value))
        })
        .collect()
}

fn seal_configuration(
    state: &AppState,
    config: &BTreeMap<String, String>,
) -> Vec<(String, StoredValue)> {
    config
        .iter()
        .map(|(key, value)| {
            let stored = if is_secret_key(key) {
                StoredValue::Sealed(state.vault.seal_str(key, value))
            } else {
                StoredValue::Plain(value.clone())
            };
            (key.clone(), stored)
        })
        .collect()
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

/// Turns provider data into tokens: exchanges a code, or takes the tokens given.
async fn authenticate(
    state: &AppState,
    element: &Element,
    config: &BTreeMap<String, String>,
    data: ProviderData,
) -> Result<TokenSet, ApiError> {
    let missing = |error: OAuthError| ApiError::BadRequest(error.provider_message());
    let (code, data) = match data {
        ProviderData::Tokens(tokens, data) => {
            return oauth::accept_tokens(element, tokens, &data, config).map_err(missing);
        }
        ProviderData::Code(code, data) => (code, data),
    };
    let client = ClientCredentials {
        client_id: config.get(OAUTH_API_KEY).cloned().unwrap_or_default(),
        client_secret: SecretString::from(
            config.get(OAUTH_API_SECRET).cloned().unwrap_or_default(),
        ),
    };
    let redirect = config.get(OAUTH_CALLBACK_URL).cloned().unwrap_or_default();
    let redirect = oauth::Redirect {
        uri: &redirect,
        provider_data: &data,
        config,
    };
    oauth::exchange_code(&state.http, element, &client, &code, &redirect)
        .await
        .map_err(|error| match &error {
            OAuthError::Missing(_) => missing(error),
            OAuthError::Rejected { .. } => ApiError::Provider {
                status: StatusCode::BAD_REQUEST,
                message: format!(
                    "{} refused the authorization code; get a new code and try again",
                    element.name
                ),
                provider: error.provider_message(),
            },
            OAuthError::Unavailable(_) => ApiError::Provider {
                status: StatusCode::BAD_GATEWAY,
                message: format!("{} could not be reached to exchange the code", element.name),
                provider: error.provider_message(),
            },
        })
}

async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    create_instance(&state, principal, None, &body).await
}

async fn create_for_element(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    if state.registry.get(&key).is_none() {
        return Err(ApiError::NotFound(format!("no element {key:?}")));
    }
    create_instance(&state, principal, Some(&key), &body).await
}

/// A create request that passed every check but the provider's.
struct CheckedCreate {
    element: Arc<Element>,
    name: String,
    tags: Vec<String>,
    config: BTreeMap<String, String>,
    settings: EventsSettings,
    data: ProviderData,
}

/// Every check of a create body that needs no provider: each problem named, as the API
/// reports them (the web UI shows each next to its field).
fn check_create(
    state: &AppState,
    path_key: Option<&str>,
    body: &Value,
) -> Result<CheckedCreate, CreateRefused> {
    let request = read_request(body);
    let mut errors = request.errors;
    let key = match (path_key, &request.element_key) {
        (Some(path), Some(body)) if path != body => {
            return Err(CreateRefused::Other(ApiError::BadRequest(format!(
                "element.key {body:?} does not match the element {path:?} of the URL"
            ))));
        }
        (Some(path), _) => path.to_owned(),
        (None, Some(body)) => body.clone(),
        (None, None) => {
            errors.push("element.key is required (such as \"infusionsoftrest\")".into());
            return Err(CreateRefused::Invalid(errors));
        }
    };
    let element = element_for(state, &key).map_err(CreateRefused::Other)?;
    if request.name.is_none() && !errors.iter().any(|e| e.starts_with("name")) {
        errors.push("name is required".into());
    }
    if request.provider_data.is_none() && !errors.iter().any(|e| e.starts_with("providerData")) {
        errors.push(
            "providerData is required: {\"code\": <OAuth authorization code>} or \
             {\"access_token\": …, \"refresh_token\": …}"
                .into(),
        );
    }
    let config: BTreeMap<String, String> = request
        .configuration
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    let exchanging = matches!(request.provider_data, Some(ProviderData::Code(..)));
    let settings = match validate(&element, &config, exchanging) {
        Ok(settings) if errors.is_empty() => settings,
        Ok(_) => return Err(CreateRefused::Invalid(errors)),
        Err(more) => {
            errors.extend(more);
            return Err(CreateRefused::Invalid(errors));
        }
    };
    let (Some(name), Some(data)) = (request.name, request.provider_data) else {
        return Err(CreateRefused::Invalid(errors));
    };
    Ok(CheckedCreate {
        element,
        name,
        tags: request.tags.unwrap_or_default(),
        config,
        settings,
        data,
    })
}

/// Why a create body was refused before the provider was asked.
pub(crate) enum CreateRefused {
    /// Each problem with a field, named.
    Invalid(Vec<String>),
    Other(ApiError),
}

impl From<CreateRefused> for ApiError {
    fn from(refused: CreateRefused) -> ApiError {
        match refused {
            CreateRefused::Invalid(errors) => invalid(errors),
            CreateRefused::Other(error) => error,
        }
    }
}

/// Checks a create body as `POST /instances` would, without asking the provider (the web UI,
/// before it sends the user to the consent page).
pub(crate) fn check_new_instance(state: &AppState, body: &Value) -> Result<(), CreateRefused> {
    check_create(state, None, body).map(|_| ())
}

/// `POST /instances` itself: the created instance's JSON (with its token, shown once).
pub(crate) async fn create_from_body(
    state: &AppState,
    principal: tributary_store::Principal,
    body: &Value,
) -> Result<Value, ApiError> {
    create_checked(state, principal, check_create(state, None, body)?).await
}

async fn create_instance(
    state: &AppState,
    principal: tributary_store::Principal,
    path_key: Option<&str>,
    body: &Value,
) -> Result<Response, ApiError> {
    let checked = check_create(state, path_key, body)?;
    Ok(Json(create_checked(state, principal, checked).await?).into_response())
}

async fn create_checked(
    state: &AppState,
    principal: tributary_store::Principal,
    checked: CheckedCreate,
) -> Result<Value, ApiError> {
    let CheckedCreate {
        element,
        name,
        tags,
        config,
        settings,
        data,
    } = checked;
    let tokens = authenticate(state, &element, &config, data).await?;
    let token = random_secret();
    let record = state
        .store
        .insert_instance(NewInstance {
            principal,
            element_key: element.key.clone(),
            token_hash: hash_secret(&token),
            data: InstanceData {
                name,
                tags,
                configuration: seal_configuration(state, &config),
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
    tracing::info!(instance = record.id, element = %element.key, "instance created");
    let mut body = instance_json(state, &record, Some(&token));
    add_warnings(state, &mut body);
    Ok(body)
}

/// Adds `warnings` to an instance response when its callback URL will be refused.
fn add_warnings(state: &AppState, body: &mut Value) {
    let Some(callback) = body["configuration"][CALLBACK_URL].as_str() else {
        return;
    };
    if let (Some(warning), Some(map)) = (
        crate::delivery::callback_warning(callback, state.settings.allow_private_callbacks),
        body.as_object_mut(),
    ) {
        map.insert("warnings".into(), json!([warning]));
    }
}

fn format_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The instance as Cloud Elements shows it: every configuration value a string, secrets masked;
/// the token only when it was just issued.
pub(crate) fn instance_json(
    state: &AppState,
    record: &InstanceRecord,
    token: Option<&str>,
) -> Value {
    let configuration: Map<String, Value> = record
        .configuration
        .iter()
        .map(|entry| {
            let shown = match &entry.value {
                StoredValue::Plain(value) => value.clone(),
                StoredValue::Sealed(_) => MASK.to_owned(),
            };
            (entry.key.clone(), Value::String(shown))
        })
        .collect();
    let element = state.registry.get(&record.element_key);
    let element_json = match &element {
        Some(e) => json!({
            "id": e.id, "key": e.key, "name": e.name, "hub": e.hub,
            "authentication": {"type": e.auth.kind}, "active": true, "deleted": false,
            "typeOauth": e.auth.kind.starts_with("oauth"), "trialAccount": false,
            "beta": false, "extended": false, "private": false, "protocolType": "http",
        }),
        None => json!({"key": record.element_key}),
    };
    let mut out = json!({
        "id": record.id,
        "name": record.name,
        "createdDate": format_date(record.created_ms),
        "updatedDate": format_date(record.updated_ms),
        "token": token.unwrap_or(MASK),
        "element": element_json,
        "elementId": element.as_ref().map(|e| e.id),
        "tags": record.tags,
        "provisionInteractions": [],
        "valid": record.valid,
        "disabled": record.disabled,
        "maxCacheSize": 0,
        "cacheTimeToLive": 0,
        "configuration": configuration,
        "eventsEnabled": record.events_enabled,
        "traceLoggingEnabled": false,
        "cachingEnabled": false,
        "externalAuthentication": "none",
        "user": {"id": record.user_id},
    });
    if let (Some(reason), Some(map)) = (&record.invalid_reason, out.as_object_mut()) {
        map.insert("invalidReason".into(), Value::String(reason.clone()));
    }
    out
}

pub(crate) async fn load(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
) -> Result<InstanceRecord, ApiError> {
    state
        .store
        .instance(principal.organization_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no instance {id}")))
}

async fn show(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let record = load(&state, principal, id).await?;
    Ok(Json(instance_json(&state, &record, None)).into_response())
}

/// `tags[]` (repeatable; an instance with any of them matches) and `searchText` (in the name,
/// case-insensitive). Cloud Elements answers 404 when a filtered search finds nothing; so do we.
async fn list_filtered(
    state: &AppState,
    principal: tributary_store::Principal,
    element: Option<&str>,
    raw: Option<String>,
) -> Result<Response, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let tags: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "tags[]" || k == "tags")
        .map(|(_, v)| v.as_str())
        .collect();
    let search = params
        .iter()
        .find(|(k, _)| k == "searchText")
        .map(|(_, v)| v.to_lowercase());
    let filtered = !tags.is_empty() || search.is_some();
    let records = state.store.instances(principal.organization_id).await?;
    let matches: Vec<Value> = records
        .iter()
        .filter(|r| element.is_none_or(|key| r.element_key == key))
        .filter(|r| tags.is_empty() || r.tags.iter().any(|t| tags.contains(&t.as_str())))
        .filter(|r| {
            search
                .as_ref()
                .is_none_or(|s| r.name.to_lowercase().contains(s))
        })
        .map(|r| instance_json(state, r, None))
        .collect();
    if filtered && matches.is_empty() {
        return Err(ApiError::NotFound("no instance matches the search".into()));
    }
    Ok(Json(matches).into_response())
}

async fn list(
    State(state): State<AppState>,
    Caller(principal): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list_filtered(&state, principal, None, raw).await
}

async fn list_for_element(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if state.registry.get(&key).is_none() {
        return Err(ApiError::NotFound(format!("no element {key:?}")));
    }
    list_filtered(&state, principal, Some(&key), raw).await
}

/// How an update changes the configuration.
enum ConfigChange {
    Keep,
    /// PATCH: set these keys (`None` removes one).
    Merge(Vec<(String, Option<String>)>),
    /// PUT: exactly these keys.
    Replace(Vec<(String, Option<String>)>),
}

struct Change {
    name: Option<String>,
    tags: Option<Vec<String>>,
    configuration: ConfigChange,
    provider_data: Option<ProviderData>,
}

/// Applies a change: validates the result, authenticates anew if provider data came, and writes
/// it guarded by the version read (re-reading and re-applying on a concurrent update).
async fn update(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
    change: Change,
) -> Result<InstanceRecord, ApiError> {
    let mut tokens: Option<TokenSet> = None;
    let mut provider_data = change.provider_data;
    for _attempt in 0..3 {
        let record = load(state, principal, id).await?;
        let element = state.registry.get(&record.element_key).ok_or_else(|| {
            ApiError::internal(format!(
                "instance {id} has unknown element {}",
                record.element_key
            ))
        })?;
        let current = open_configuration(state, &record)?;
        let keep_or = |key: &str, value: String| -> String {
            if value == MASK && is_secret_key(key) {
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
        let settings = validate(&element, &config, exchanging).map_err(invalid)?;
        if let Some(data) = provider_data.take() {
            tokens = Some(authenticate(state, &element, &config, data).await?);
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
            configuration: seal_configuration(state, &config),
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
                return Ok(*record);
            }
            Updated::NotFound => return Err(ApiError::NotFound(format!("no instance {id}"))),
            Updated::Conflict => continue,
        }
    }
    Err(ApiError::Conflict(format!(
        "instance {id} is being changed by someone else; read it again and retry"
    )))
}

/// The instance id and the request of a PUT or PATCH, once the instance is known to exist in
/// the caller's organization and the request does not try to change its element.
async fn read_change(
    state: &AppState,
    principal: tributary_store::Principal,
    id: &str,
    body: &Value,
) -> Result<(i64, InstanceRequest), ApiError> {
    let id = path_id("instance", id)?;
    let record = load(state, principal, id).await?;
    let request = read_request(body);
    match &request.element_key {
        Some(key) if *key != record.element_key => Err(ApiError::BadRequest(format!(
            "element.key cannot change (the instance is {:?}); create a new instance instead",
            record.element_key
        ))),
        _ => Ok((id, request)),
    }
}

async fn replace(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (id, request) = read_change(&state, principal, &id, &body).await?;
    let mut errors = request.errors;
    if request.name.is_none() && !errors.iter().any(|e| e.starts_with("name")) {
        errors.push("name is required (PUT replaces the whole instance)".into());
    }
    if request.configuration.is_none() && !errors.iter().any(|e| e.starts_with("configuration")) {
        errors.push("configuration is required (PUT replaces the whole instance)".into());
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let change = Change {
        name: request.name,
        tags: Some(request.tags.unwrap_or_default()),
        configuration: ConfigChange::Replace(request.configuration.unwrap_or_default()),
        provider_data: request.provider_data,
    };
    let record = update(&state, principal, id, change).await?;
    let mut body = instance_json(&state, &record, None);
    add_warnings(&state, &mut body);
    Ok(Json(body).into_response())
}

async fn patch(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (id, request) = read_change(&state, principal, &id, &body).await?;
    if !request.errors.is_empty() {
        return Err(invalid(request.errors));
    }
    let change = Change {
        name: request.name,
        tags: request.tags,
        configuration: match request.configuration {
            Some(entries) => ConfigChange::Merge(entries),
            None => ConfigChange::Keep,
        },
        provider_data: request.provider_data,
    };
    let record = update(&state, principal, id, change).await?;
    let mut body = instance_json(&state, &record, None);
    add_warnings(&state, &mut body);
    Ok(Json(body).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    if state
        .store
        .delete_instance(principal.organization_id, id)
        .await?
    {
        state.clients.forget(id);
        tracing::info!(instance = id, "instance deleted");
        Ok(Json(json!({})).into_response())
    } else {
        Err(ApiError::NotFound(format!("no instance {id}")))
    }
}

fn entry_json(entry: &tributary_store::ConfigEntry) -> Value {
    let value = match &entry.value {
        StoredValue::Plain(value) => value.as_str(),
        StoredValue::Sealed(_) => MASK,
    };
    json!({"id": entry.id, "key": entry.key, "propertyValue": value})
}

async fn list_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let record = load(&state, principal, id).await?;
    let entries: Vec<Value> = record.configuration.iter().map(entry_json).collect();
    Ok(Json(entries).into_response())
}

async fn show_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, entry)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let entry_id = path_id("configuration entry", &entry)?;
    let record = load(&state, principal, id).await?;
    let entry = record
        .configuration
        .iter()
        .find(|e| e.id == entry_id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no configuration entry {entry_id} in instance {id}"
            ))
        })?;
    Ok(Json(entry_json(entry)).into_response())
}

async fn patch_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, entry)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let entry_id = path_id("configuration entry", &entry)?;
    let record = load(&state, principal, id).await?;
    let key = record
        .configuration
        .iter()
        .find(|e| e.id == entry_id)
        .map(|e| e.key.clone())
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no configuration entry {entry_id} in instance {id}"
            ))
        })?;
    let value = match body.get("propertyValue") {
        Some(value) if !value.is_null() => normalize_value(value),
        _ => None,
    };
    let Some(value) = value else {
        return Err(ApiError::BadRequest(
            "propertyValue is required (a string, number, boolean or object)".into(),
        ));
    };
    if let Some(given) = body.get("key").and_then(Value::as_str)
        && given != key
    {
        return Err(ApiError::BadRequest(format!(
            "key {given:?} does not match configuration entry {entry_id} ({key:?})"
        )));
    }
    let change = Change {
        name: None,
        tags: None,
        configuration: ConfigChange::Merge(vec![(key.clone(), Some(value))]),
        provider_data: None,
    };
    let record = update(&state, principal, id, change).await?;
    let entry = record
        .entry(&key)
        .ok_or_else(|| ApiError::internal(format!("entry {key} vanished from instance {id}")))?;
    Ok(Json(entry_json(entry)).into_response())
}
