//! `/instances`: connect a provider account, read, change, enable, disable and remove it, and
//! its configuration entries — the Cloud Elements instance API
//! (`shared/research/cloud-elements.md` §3).
//!
//! This adapter reads request bodies into the typed inputs of [`crate::services::instances`]
//! (naming every field it cannot read) and renders instances as Cloud Elements shows them:
//! every configuration value a string, secrets masked, the token in clear to its owner (shown
//! as `********` only for an instance stored before tokens were kept readable), the owning
//! user's `id`, `emailAddress`, `firstName`, `lastName`, and the `providerData` given echoed
//! by the create response alone.
//!
//! The token-scoped forms act on the instance whose token the `Authorization` header names
//! (`User …, Organization …, Element <token>`): `GET /instances` (that instance, as a
//! one-element list), `PUT` and `PATCH /instances`, `GET /instances/configuration[/{entry}]`,
//! `PATCH /instances/configuration/{entry}`, `PUT` / `DELETE /instances/enabled`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Map, Value};
use tributary_domain::instance_config::normalize_value;
use tributary_elements::oauth::TokenSet;
use tributary_store::{ConfigEntry, InstanceRecord, UserProfile};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::extract::{Caller, JsonBody, Scoped, path_id};
use crate::api::openapi::ErrorBody;
use crate::configuration::{MASK, open_token, shown};
use crate::services::instances::{
    self, ChangeInstance, ConfigEntries, CreateInstance, ListInstances, ProviderData, SetEntry,
    tags_message,
};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create, replace_scoped, patch_scoped))
        .routes(routes!(list_configuration_scoped))
        .routes(routes!(
            show_configuration_scoped,
            patch_configuration_scoped
        ))
        .routes(routes!(enable_scoped, disable_scoped))
        .routes(routes!(show, replace, patch, remove))
        .routes(routes!(enable, disable))
        .routes(routes!(list_configuration))
        .routes(routes!(show_configuration, patch_configuration))
        .routes(routes!(list_for_element, create_for_element))
}

/// The body of a create, a full update (`PUT`) or a partial one (`PATCH`). Read field by field
/// ([`read_body`]), so a 400 names every field that is not of its type.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes what `read_body` reads; never built.
pub struct InstanceIn {
    /// The element, by key: `{"key": "infusionsoftrest"}` (required at create).
    element: Option<ElementKeyIn>,
    name: Option<String>,
    tags: Option<Vec<String>>,
    /// Configuration key → value; values may be strings or native JSON types (read as
    /// strings). In a `PATCH`, keys are merged and `null` removes one.
    #[schema(value_type = Option<Object>)]
    configuration: Option<Map<String, Value>>,
    /// An OAuth authorization code (`{"code": …}`), or tokens obtained elsewhere
    /// (`{"access_token", "refresh_token", "expires_in"}`).
    #[schema(value_type = Option<Object>)]
    provider_data: Option<Map<String, Value>>,
}

/// An element named by its key.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Describes what `read_body` reads; never built.
pub struct ElementKeyIn {
    key: String,
}

/// The body of a configuration entry's `PATCH`.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes what `patch_entry` reads; never built.
pub struct EntryIn {
    /// The entry's key, if given, must be its own.
    key: Option<String>,
    /// The new value (a string or a native JSON value, read as a string); null removes it.
    #[schema(value_type = Option<Object>)]
    property_value: Option<Value>,
}

/// An instance as Cloud Elements shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceOut {
    pub id: i64,
    pub name: String,
    pub created_date: String,
    pub updated_date: String,
    /// The instance token (`********` for an instance stored before tokens were sealed).
    pub token: String,
    pub element: ElementOut,
    pub element_id: Option<u64>,
    pub tags: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub provision_interactions: Vec<Value>,
    pub valid: bool,
    pub disabled: bool,
    pub max_cache_size: i64,
    pub cache_time_to_live: i64,
    /// Every value a string; secrets masked `********`.
    pub configuration: std::collections::BTreeMap<String, String>,
    pub events_enabled: bool,
    pub trace_logging_enabled: bool,
    pub caching_enabled: bool,
    pub external_authentication: String,
    pub user: UserOut,
    /// Why the instance is not valid (a refused refresh).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_reason: Option<String>,
    /// The create response alone: the `providerData` given, secrets masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub provider_data: Option<Map<String, Value>>,
    /// What was accepted but deserves a look.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The instance's element: its key, and what Cloud Elements shows of it while the element is
/// loaded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElementOut {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<AuthenticationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_oauth: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_account: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthenticationOut {
    #[serde(rename = "type")]
    pub kind: String,
}

/// The instance's owner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    pub id: i64,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
}

/// A configuration entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryOut {
    pub id: i64,
    pub key: String,
    /// The value, masked `********` if secret.
    pub property_value: String,
}

/// The answer to a delete: an empty object.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// What a request body says, read field by field; `problems` names every field that is not
/// of its type (the service checks the values).
#[derive(Default)]
struct InstanceBody {
    element_key: Option<String>,
    name: Option<String>,
    tags: Option<Vec<String>>,
    configuration: Option<ConfigEntries>,
    provider_data: Option<ProviderData>,
    problems: Vec<String>,
}

impl InstanceBody {
    fn into_create(self) -> CreateInstance {
        CreateInstance {
            element_key: self.element_key,
            name: self.name,
            tags: self.tags,
            configuration: self.configuration,
            provider_data: self.provider_data,
            problems: self.problems,
        }
    }

    fn into_change(self) -> ChangeInstance {
        ChangeInstance {
            element_key: self.element_key,
            name: self.name,
            tags: self.tags,
            configuration: self.configuration,
            provider_data: self.provider_data,
            problems: self.problems,
        }
    }
}

fn read_body(body: &Value) -> InstanceBody {
    let mut request = InstanceBody::default();
    let Value::Object(body) = body else {
        request
            .problems
            .push("the request body must be a JSON object".into());
        return request;
    };
    match body.get("element") {
        None | Some(Value::Null) => {}
        Some(Value::Object(element)) => match element.get("key") {
            Some(Value::String(key)) => request.element_key = Some(key.clone()),
            None if element.contains_key("id") => request
                .problems
                .push("element: give the element by key ({\"key\": \"infusionsoftrest\"})".into()),
            _ => request.problems.push("element.key must be a string".into()),
        },
        Some(_) => request
            .problems
            .push("element must be an object such as {\"key\": \"infusionsoftrest\"}".into()),
    }
    match body.get("name") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request.name = Some(name.clone()),
        Some(_) => request.problems.push("name must be a string".into()),
    }
    match body.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let tags: Option<Vec<String>> = items
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect();
            match tags {
                Some(tags) => request.tags = Some(tags),
                None => request.problems.push(tags_message()),
            }
        }
        Some(_) => request
            .problems
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
            .problems
            .push("configuration must be an object of key to value".into()),
    }
    match body.get("providerData") {
        None | Some(Value::Null) => {}
        Some(Value::Object(data)) => match read_provider_data(data) {
            Ok(data) => request.provider_data = Some(data),
            Err(message) => request.problems.push(message),
        },
        Some(_) => request.problems.push(
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
                connection: std::collections::BTreeMap::new(),
            },
            data.clone(),
        ));
    }
    Err("providerData needs a code (an OAuth authorization code) or an access_token".into())
}

#[utoipa::path(post, path = "/instances", tag = "instances", request_body(content = InstanceIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Create an instance: the provider's code is exchanged first; nothing is stored on failure.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<InstanceOut>, ApiError> {
    let input = read_body(&body).into_create();
    let created = instances::create(&state, principal, input).await?;
    created_json(&state, created).await
}

/// The create response: the instance with its `providerData` echoed, and any warnings.
async fn created_json(
    state: &AppState,
    created: instances::Created,
) -> Result<Json<InstanceOut>, ApiError> {
    let mut body = rendered(state, &created.record).await?;
    body.provider_data = Some(created.provider_data);
    body.warnings = created.warnings;
    Ok(Json(body))
}

#[utoipa::path(post, path = "/elements/{key}/instances", tag = "instances", params(("key" = String, Path, description = "The element key, such as infusionsoftrest.", example = "infusionsoftrest")), request_body(content = InstanceIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Create an instance of this element.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn create_for_element(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<InstanceOut>, ApiError> {
    if state.registry.get(&key).is_none() {
        return Err(ApiError::NotFound(format!("no element {key:?}")));
    }
    let mut input = read_body(&body).into_create();
    match &input.element_key {
        Some(given) if *given != key => {
            return Err(ApiError::BadRequest(format!(
                "element.key {given:?} does not match the element {key:?} of the URL"
            )));
        }
        _ => input.element_key = Some(key),
    }
    let created = instances::create(&state, principal, input).await?;
    created_json(&state, created).await
}

fn format_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The instance as Cloud Elements shows it: every configuration value a string, secrets masked;
/// the token in clear (its owner is asking), or masked for an instance whose token was stored
/// only as a hash; the owning user.
fn instance_json(state: &AppState, record: &InstanceRecord, user: &UserProfile) -> InstanceOut {
    let element = state.registry.get(&record.element_key);
    let configuration = record
        .configuration
        .iter()
        .map(|entry| {
            let value = shown(element.as_deref(), entry).to_owned();
            (entry.key.clone(), value)
        })
        .collect();
    let element_json = match &element {
        Some(e) => ElementOut {
            key: e.key.clone(),
            id: Some(e.id),
            name: Some(e.name.clone()),
            hub: Some(e.hub.clone()),
            authentication: Some(AuthenticationOut {
                kind: e.auth.kind.clone(),
            }),
            active: Some(true),
            deleted: Some(false),
            type_oauth: Some(e.auth.kind.starts_with("oauth")),
            trial_account: Some(false),
            beta: Some(false),
            extended: Some(false),
            private: Some(false),
            protocol_type: Some("http".into()),
        },
        None => ElementOut {
            key: record.element_key.clone(),
            id: None,
            name: None,
            hub: None,
            authentication: None,
            active: None,
            deleted: None,
            type_oauth: None,
            trial_account: None,
            beta: None,
            extended: None,
            private: None,
            protocol_type: None,
        },
    };
    let token = open_token(&state.vault, record).unwrap_or_else(|| MASK.to_owned());
    let text = |part: &Option<String>| part.clone().unwrap_or_default();
    InstanceOut {
        id: record.id,
        name: record.name.clone(),
        created_date: format_date(record.created_ms),
        updated_date: format_date(record.updated_ms),
        token,
        element: element_json,
        element_id: element.as_ref().map(|e| e.id),
        tags: record.tags.clone(),
        provision_interactions: Vec::new(),
        valid: record.valid,
        disabled: record.disabled,
        max_cache_size: 0,
        cache_time_to_live: 0,
        configuration,
        events_enabled: record.events_enabled,
        trace_logging_enabled: false,
        caching_enabled: false,
        external_authentication: "none".into(),
        user: UserOut {
            id: record.user_id,
            email_address: text(&user.email),
            first_name: text(&user.first_name),
            last_name: text(&user.last_name),
        },
        invalid_reason: record.invalid_reason.clone(),
        provider_data: None,
        warnings: Vec::new(),
    }
}

/// One instance rendered, with its owner read from the store.
async fn rendered(state: &AppState, record: &InstanceRecord) -> Result<InstanceOut, ApiError> {
    let user = instances::owner(state, record).await?;
    Ok(instance_json(state, record, &user))
}

/// Instances rendered, each owner read once.
async fn rendered_all(
    state: &AppState,
    records: &[InstanceRecord],
) -> Result<Vec<InstanceOut>, ApiError> {
    let mut owners: BTreeMap<i64, UserProfile> = BTreeMap::new();
    let mut shown = Vec::with_capacity(records.len());
    for record in records {
        let user = match owners.get(&record.user_id) {
            Some(user) => user.clone(),
            None => {
                let user = instances::owner(state, record).await?;
                owners.insert(record.user_id, user.clone());
                user
            }
        };
        shown.push(instance_json(state, record, &user));
    }
    Ok(shown)
}

/// The instance a token-scoped call names by the `Element` token of its header.
async fn scoped_instance(state: &AppState, scoped: &Scoped) -> Result<InstanceRecord, ApiError> {
    let Some(token) = &scoped.instance_token else {
        return Err(ApiError::BadRequest(
            "this call acts on the instance whose token the Authorization header names: send \
             `Authorization: User <userSecret>, Organization <organizationSecret>, Element \
             <instanceToken>`, or use the /instances/{id}/… form"
                .into(),
        ));
    };
    Ok(instances::by_token(state, scoped.principal, token).await?)
}

#[utoipa::path(get, path = "/instances/{id}", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "One instance.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let record = instances::show(&state, principal, id).await?;
    Ok(Json(rendered(&state, &record).await?))
}

/// `tags[]` (repeatable; an instance with any of them matches) and `searchText` (in the name,
/// case-insensitive).
fn list_query(element_key: Option<String>, raw: Option<&str>) -> Result<ListInstances, ApiError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    Ok(ListInstances {
        element_key,
        tags: params
            .iter()
            .filter(|(k, _)| k == "tags[]" || k == "tags")
            .map(|(_, v)| v.clone())
            .collect(),
        search: params
            .iter()
            .find(|(k, _)| k == "searchText")
            .map(|(_, v)| v.clone()),
    })
}

/// `GET /instances`: the organization's instances; with an `Element` token, that instance
/// alone (a list of one, so the answer keeps its shape).
#[utoipa::path(get, path = "/instances", tag = "instances", params(("tags[]" = Option<Vec<String>>, Query, description = "Instances with any of these tags."), ("searchText" = Option<String>, Query, description = "Text in the name (any case).")),
    responses(
        (status = 200, description = "List the organization's instances; with an Element token, that instance alone.", body = Vec<InstanceOut>),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    scoped: Scoped,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<InstanceOut>>, ApiError> {
    let query = list_query(None, raw.as_deref())?;
    let mut records = instances::list(&state, scoped.principal, &query).await?;
    if scoped.instance_token.is_some() {
        let only = scoped_instance(&state, &scoped).await?;
        records.retain(|r| r.id == only.id);
        if records.is_empty() {
            return Err(ApiError::NotFound("no instance matches the search".into()));
        }
    }
    Ok(Json(rendered_all(&state, &records).await?))
}

#[utoipa::path(get, path = "/elements/{key}/instances", tag = "instances", params(("key" = String, Path, description = "The element key, such as infusionsoftrest.", example = "infusionsoftrest"), ("tags[]" = Option<Vec<String>>, Query, description = "Instances with any of these tags."), ("searchText" = Option<String>, Query, description = "Text in the name (any case).")),
    responses(
        (status = 200, description = "The organization's instances of one element.", body = Vec<InstanceOut>),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn list_for_element(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<InstanceOut>>, ApiError> {
    if state.registry.get(&key).is_none() {
        return Err(ApiError::NotFound(format!("no element {key:?}")));
    }
    let query = list_query(Some(key), raw.as_deref())?;
    let records = instances::list(&state, principal, &query).await?;
    Ok(Json(rendered_all(&state, &records).await?))
}

#[utoipa::path(put, path = "/instances/{id}", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")), request_body(content = InstanceIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Replace an instance (name, configuration, tags; optionally a new code).", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn replace(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let changed = instances::replace(&state, principal, id, read_body(&body).into_change()).await?;
    changed_json(&state, changed).await
}

/// A changed instance with its warnings.
async fn changed_json(
    state: &AppState,
    changed: instances::Changed,
) -> Result<Json<InstanceOut>, ApiError> {
    let mut body = rendered(state, &changed.record).await?;
    body.warnings = changed.warnings;
    Ok(Json(body))
}

/// `PUT /instances`: the token-scoped full update.
#[utoipa::path(put, path = "/instances", tag = "instances", request_body(content = InstanceIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Replace the instance the Element token names.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn replace_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    JsonBody(body): JsonBody,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    let input = read_body(&body).into_change();
    let changed = instances::replace(&state, scoped.principal, id, input).await?;
    changed_json(&state, changed).await
}

/// `PATCH /instances`: the token-scoped partial update.
#[utoipa::path(patch, path = "/instances", tag = "instances", request_body(content = InstanceIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Change the instance the Element token names (configuration merged).", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn patch_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    JsonBody(body): JsonBody,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    let input = read_body(&body).into_change();
    let changed = instances::patch(&state, scoped.principal, id, input).await?;
    changed_json(&state, changed).await
}

/// `PUT` / `DELETE /instances/{id}/enabled`, and the token-scoped forms: answer with the
/// instance as it is now.
async fn set_enabled(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
    enabled: bool,
) -> Result<Json<InstanceOut>, ApiError> {
    let record = instances::set_enabled(state, principal, id, enabled).await?;
    Ok(Json(rendered(state, &record).await?))
}

#[utoipa::path(put, path = "/instances/{id}/enabled", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "Enable an instance: it polls at once from each cursor.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn enable(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<InstanceOut>, ApiError> {
    set_enabled(&state, principal, path_id("instance", &id)?, true).await
}

#[utoipa::path(delete, path = "/instances/{id}/enabled", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "Disable an instance: it polls nothing and sends nothing new.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn disable(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<InstanceOut>, ApiError> {
    set_enabled(&state, principal, path_id("instance", &id)?, false).await
}

#[utoipa::path(put, path = "/instances/enabled", tag = "instances",
    responses(
        (status = 200, description = "Enable the instance the Element token names.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn enable_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    set_enabled(&state, scoped.principal, id, true).await
}

#[utoipa::path(delete, path = "/instances/enabled", tag = "instances",
    responses(
        (status = 200, description = "Disable the instance the Element token names.", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn disable_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    set_enabled(&state, scoped.principal, id, false).await
}

#[utoipa::path(patch, path = "/instances/{id}", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")), request_body(content = InstanceIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Change an instance: name, tags replaced, configuration merged (null removes a key).", body = InstanceOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn patch(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<InstanceOut>, ApiError> {
    let id = path_id("instance", &id)?;
    let changed = instances::patch(&state, principal, id, read_body(&body).into_change()).await?;
    changed_json(&state, changed).await
}

#[utoipa::path(delete, path = "/instances/{id}", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "Remove an instance: polling stops, pending deliveries are cancelled.", body = Empty),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn remove(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Empty>, ApiError> {
    let id = path_id("instance", &id)?;
    instances::delete(&state, principal, id).await?;
    Ok(Json(Empty {}))
}

fn entry_json(state: &AppState, record: &InstanceRecord, entry: &ConfigEntry) -> EntryOut {
    let element = state.registry.get(&record.element_key);
    EntryOut {
        id: entry.id,
        key: entry.key.clone(),
        property_value: shown(element.as_deref(), entry).to_owned(),
    }
}

fn entries_json(state: &AppState, record: &InstanceRecord) -> Vec<EntryOut> {
    record
        .configuration
        .iter()
        .map(|entry| entry_json(state, record, entry))
        .collect()
}

#[utoipa::path(get, path = "/instances/{id}/configuration", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "An instance's configuration entries.", body = Vec<EntryOut>),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn list_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<EntryOut>>, ApiError> {
    let id = path_id("instance", &id)?;
    let record = instances::show(&state, principal, id).await?;
    Ok(Json(entries_json(&state, &record)))
}

/// `GET /instances/configuration`: the token-scoped form.
#[utoipa::path(get, path = "/instances/configuration", tag = "instances",
    responses(
        (status = 200, description = "The configuration entries of the instance the Element token names.", body = Vec<EntryOut>),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn list_configuration_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
) -> Result<Json<Vec<EntryOut>>, ApiError> {
    let record = scoped_instance(&state, &scoped).await?;
    Ok(Json(entries_json(&state, &record)))
}

async fn show_entry(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
    entry: &str,
) -> Result<Json<EntryOut>, ApiError> {
    let entry_id = path_id("configuration entry", entry)?;
    let record = instances::show(state, principal, id).await?;
    let entry = instances::configuration_entry(state, principal, id, entry_id).await?;
    Ok(Json(entry_json(state, &record, &entry)))
}

#[utoipa::path(get, path = "/instances/{id}/configuration/{entry}", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1"), ("entry" = String, Path, description = "The configuration entry's id.")),
    responses(
        (status = 200, description = "One configuration entry.", body = EntryOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn show_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, entry)): Path<(String, String)>,
) -> Result<Json<EntryOut>, ApiError> {
    let id = path_id("instance", &id)?;
    show_entry(&state, principal, id, &entry).await
}

#[utoipa::path(get, path = "/instances/configuration/{entry}", tag = "instances", params(("entry" = String, Path, description = "The configuration entry's id.")),
    responses(
        (status = 200, description = "One configuration entry of the instance the Element token names.", body = EntryOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn show_configuration_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    Path(entry): Path<String>,
) -> Result<Json<EntryOut>, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    show_entry(&state, scoped.principal, id, &entry).await
}

async fn patch_entry(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
    entry: &str,
    body: &Value,
) -> Result<Json<EntryOut>, ApiError> {
    let entry_id = path_id("configuration entry", entry)?;
    let input = SetEntry {
        key: body.get("key").and_then(Value::as_str).map(str::to_owned),
        value: body
            .get("propertyValue")
            .filter(|value| !value.is_null())
            .and_then(normalize_value),
    };
    let entry = instances::set_configuration_entry(state, principal, id, entry_id, input).await?;
    let record = instances::show(state, principal, id).await?;
    Ok(Json(entry_json(state, &record, &entry)))
}

#[utoipa::path(patch, path = "/instances/{id}/configuration/{entry}", tag = "instances", params(("id" = String, Path, description = "The instance id.", example = "1"), ("entry" = String, Path, description = "The configuration entry's id.")), request_body(content = EntryIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Change one configuration entry.", body = EntryOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn patch_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, entry)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<EntryOut>, ApiError> {
    let id = path_id("instance", &id)?;
    patch_entry(&state, principal, id, &entry, &body).await
}

#[utoipa::path(patch, path = "/instances/configuration/{entry}", tag = "instances", params(("entry" = String, Path, description = "The configuration entry's id.")), request_body(content = EntryIn, content_type = "application/json"),
    responses(
        (status = 200, description = "Change one configuration entry of the instance the Element token names.", body = EntryOut),
        (status = "default", description = "An error; every bad field named (400).", body = ErrorBody),
    ))]
async fn patch_configuration_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    Path(entry): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<EntryOut>, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    patch_entry(&state, scoped.principal, id, &entry, &body).await
}
