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

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use tributary_domain::instance_config::normalize_value;
use tributary_elements::oauth::TokenSet;
use tributary_store::{ConfigEntry, InstanceRecord, UserProfile};

use crate::api::error::ApiError;
use crate::api::extract::{Caller, JsonBody, Scoped, path_id};
use crate::configuration::{MASK, open_token, shown};
use crate::services::instances::{
    self, ChangeInstance, ConfigEntries, CreateInstance, ListInstances, ProviderData, SetEntry,
    tags_message,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/instances",
            get(list)
                .post(create)
                .put(replace_scoped)
                .patch(patch_scoped),
        )
        .route("/instances/configuration", get(list_configuration_scoped))
        .route(
            "/instances/configuration/{entry}",
            get(show_configuration_scoped).patch(patch_configuration_scoped),
        )
        .route(
            "/instances/enabled",
            put(enable_scoped).delete(disable_scoped),
        )
        .route(
            "/instances/{id}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/instances/{id}/enabled", put(enable).delete(disable))
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

async fn create(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let input = read_body(&body).into_create();
    let created = instances::create(&state, principal, input).await?;
    created_json(&state, created).await
}

/// The create response: the instance with its `providerData` echoed, and any warnings.
async fn created_json(state: &AppState, created: instances::Created) -> Result<Response, ApiError> {
    let mut body = rendered(state, &created.record).await?;
    if let Some(map) = body.as_object_mut() {
        map.insert("providerData".into(), Value::Object(created.provider_data));
    }
    add_warnings(&mut body, created.warnings);
    Ok(Json(body).into_response())
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

/// Adds `warnings` to an instance response when there are any.
fn add_warnings(body: &mut Value, warnings: Vec<String>) {
    if let (false, Some(map)) = (warnings.is_empty(), body.as_object_mut()) {
        map.insert("warnings".into(), json!(warnings));
    }
}

fn format_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The instance as Cloud Elements shows it: every configuration value a string, secrets masked;
/// the token in clear (its owner is asking), or masked for an instance whose token was stored
/// only as a hash; the owning user.
fn instance_json(state: &AppState, record: &InstanceRecord, user: &UserProfile) -> Value {
    let element = state.registry.get(&record.element_key);
    let configuration: Map<String, Value> = record
        .configuration
        .iter()
        .map(|entry| {
            let value = shown(element.as_deref(), entry).to_owned();
            (entry.key.clone(), Value::String(value))
        })
        .collect();
    let element_json = match &element {
        Some(e) => json!({
            "id": e.id, "key": e.key, "name": e.name, "hub": e.hub,
            "authentication": {"type": e.auth.kind}, "active": true, "deleted": false,
            "typeOauth": e.auth.kind.starts_with("oauth"), "trialAccount": false,
            "beta": false, "extended": false, "private": false, "protocolType": "http",
        }),
        None => json!({"key": record.element_key}),
    };
    let token = open_token(&state.vault, record).unwrap_or_else(|| MASK.to_owned());
    let text = |part: &Option<String>| part.clone().unwrap_or_default();
    let mut out = json!({
        "id": record.id,
        "name": record.name,
        "createdDate": format_date(record.created_ms),
        "updatedDate": format_date(record.updated_ms),
        "token": token,
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
        "user": {
            "id": record.user_id,
            "emailAddress": text(&user.email),
            "firstName": text(&user.first_name),
            "lastName": text(&user.last_name),
        },
    });
    if let (Some(reason), Some(map)) = (&record.invalid_reason, out.as_object_mut()) {
        map.insert("invalidReason".into(), Value::String(reason.clone()));
    }
    out
}

/// One instance rendered, with its owner read from the store.
async fn rendered(state: &AppState, record: &InstanceRecord) -> Result<Value, ApiError> {
    let user = instances::owner(state, record).await?;
    Ok(instance_json(state, record, &user))
}

/// Instances rendered, each owner read once.
async fn rendered_all(state: &AppState, records: &[InstanceRecord]) -> Result<Value, ApiError> {
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
    Ok(Value::Array(shown))
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

async fn show(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let record = instances::show(&state, principal, id).await?;
    Ok(Json(rendered(&state, &record).await?).into_response())
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
async fn list(
    State(state): State<AppState>,
    scoped: Scoped,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = list_query(None, raw.as_deref())?;
    let mut records = instances::list(&state, scoped.principal, &query).await?;
    if scoped.instance_token.is_some() {
        let only = scoped_instance(&state, &scoped).await?;
        records.retain(|r| r.id == only.id);
        if records.is_empty() {
            return Err(ApiError::NotFound("no instance matches the search".into()));
        }
    }
    Ok(Json(rendered_all(&state, &records).await?).into_response())
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
    let query = list_query(Some(key), raw.as_deref())?;
    let records = instances::list(&state, principal, &query).await?;
    Ok(Json(rendered_all(&state, &records).await?).into_response())
}

async fn replace(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let changed = instances::replace(&state, principal, id, read_body(&body).into_change()).await?;
    changed_json(&state, changed).await
}

/// A changed instance with its warnings.
async fn changed_json(state: &AppState, changed: instances::Changed) -> Result<Response, ApiError> {
    let mut body = rendered(state, &changed.record).await?;
    add_warnings(&mut body, changed.warnings);
    Ok(Json(body).into_response())
}

/// `PUT /instances`: the token-scoped full update.
async fn replace_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    let input = read_body(&body).into_change();
    let changed = instances::replace(&state, scoped.principal, id, input).await?;
    changed_json(&state, changed).await
}

/// `PATCH /instances`: the token-scoped partial update.
async fn patch_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
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
) -> Result<Response, ApiError> {
    let record = instances::set_enabled(state, principal, id, enabled).await?;
    Ok(Json(rendered(state, &record).await?).into_response())
}

async fn enable(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_enabled(&state, principal, path_id("instance", &id)?, true).await
}

async fn disable(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_enabled(&state, principal, path_id("instance", &id)?, false).await
}

async fn enable_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
) -> Result<Response, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    set_enabled(&state, scoped.principal, id, true).await
}

async fn disable_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
) -> Result<Response, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    set_enabled(&state, scoped.principal, id, false).await
}

async fn patch(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let changed = instances::patch(&state, principal, id, read_body(&body).into_change()).await?;
    changed_json(&state, changed).await
}

async fn remove(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    instances::delete(&state, principal, id).await?;
    Ok(Json(json!({})).into_response())
}

fn entry_json(state: &AppState, record: &InstanceRecord, entry: &ConfigEntry) -> Value {
    let element = state.registry.get(&record.element_key);
    json!({"id": entry.id, "key": entry.key, "propertyValue": shown(element.as_deref(), entry)})
}

fn entries_json(state: &AppState, record: &InstanceRecord) -> Value {
    Value::Array(
        record
            .configuration
            .iter()
            .map(|entry| entry_json(state, record, entry))
            .collect(),
    )
}

async fn list_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    let record = instances::show(&state, principal, id).await?;
    Ok(Json(entries_json(&state, &record)).into_response())
}

/// `GET /instances/configuration`: the token-scoped form.
async fn list_configuration_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
) -> Result<Response, ApiError> {
    let record = scoped_instance(&state, &scoped).await?;
    Ok(Json(entries_json(&state, &record)).into_response())
}

async fn show_entry(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
    entry: &str,
) -> Result<Response, ApiError> {
    let entry_id = path_id("configuration entry", entry)?;
    let record = instances::show(state, principal, id).await?;
    let entry = instances::configuration_entry(state, principal, id, entry_id).await?;
    Ok(Json(entry_json(state, &record, &entry)).into_response())
}

async fn show_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, entry)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    show_entry(&state, principal, id, &entry).await
}

async fn show_configuration_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    Path(entry): Path<String>,
) -> Result<Response, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    show_entry(&state, scoped.principal, id, &entry).await
}

async fn patch_entry(
    state: &AppState,
    principal: tributary_store::Principal,
    id: i64,
    entry: &str,
    body: &Value,
) -> Result<Response, ApiError> {
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
    Ok(Json(entry_json(state, &record, &entry)).into_response())
}

async fn patch_configuration(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path((id, entry)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = path_id("instance", &id)?;
    patch_entry(&state, principal, id, &entry, &body).await
}

async fn patch_configuration_scoped(
    State(state): State<AppState>,
    scoped: Scoped,
    Path(entry): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = scoped_instance(&state, &scoped).await?.id;
    patch_entry(&state, scoped.principal, id, &entry, &body).await
}
