//! `/elements`: the provider connectors this server knows, and their OAuth consent URLs.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::extract::{Admin, Caller};
use crate::api::openapi::ErrorBody;
use crate::quota::AppQuotaView;
use crate::services::connect::{ConsentRequest, consent_url};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(quota))
        .routes(routes!(oauth_url))
        .routes(routes!(reload))
}

/// What a reload of the elements folder did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReloadedOut {
    /// The element keys now in use, built-in ones first.
    pub elements: Vec<String>,
    /// The folder's files that were refused, each naming its file and why.
    pub refused: Vec<String>,
}

/// `POST /elements/reload`: reads `TRIBUTARY_ELEMENTS_DIR` again, as `SIGHUP` does, for an
/// administrator (`Authorization: Admin <TRIBUTARY_ADMIN_SECRET>`).
#[utoipa::path(post, path = "/elements/reload", tag = "elements",
    responses(
        (status = 200, description = "The elements now in use, and the folder's refused files with why. New definitions serve new calls; instance clients are rebuilt on their next use.", body = ReloadedOut),
        (status = "default", description = "An error (401: not the administrator secret; 403: administrator calls are off, TRIBUTARY_ADMIN_SECRET unset; 503: the folder cannot be read, and the elements in use are unchanged).", body = ErrorBody),
    ))]
async fn reload(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<ReloadedOut>, ApiError> {
    let reloaded = crate::services::elements::reload(&state).map_err(|error| {
        ApiError::Unavailable(format!(
            "the elements folder cannot be read ({error}); the elements in use are unchanged"
        ))
    })?;
    tracing::info!(
        elements = reloaded.keys.len(),
        refused = reloaded.refused.len(),
        "elements reloaded by an administrator"
    );
    Ok(Json(ReloadedOut {
        elements: reloaded.keys,
        refused: reloaded.refused,
    }))
}

/// `GET /elements`: every element this server knows (built in and loaded), secrets of none;
/// `builtIn` tells the compiled-in ones from those of `TRIBUTARY_ELEMENTS_DIR`.
#[utoipa::path(get, path = "/elements", tag = "elements",
    responses(
        (status = 200, description = "The element definitions, as data, each with `builtIn`.", body = Vec<Object>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn list(State(state): State<AppState>, _caller: Caller) -> Json<Vec<Value>> {
    Json(
        state
            .registry
            .all()
            .iter()
            .map(|e| described(&state, e))
            .collect(),
    )
}

/// An element's public JSON with `builtIn`.
fn described(state: &AppState, element: &tributary_elements::Element) -> Value {
    let mut json = element.public_json();
    if let Some(object) = json.as_object_mut() {
        let built_in = state.registry.local_file(&element.key).is_none();
        object.insert("builtIn".into(), Value::Bool(built_in));
    }
    json
}

/// `GET /elements/{key}`: one element's definition.
#[utoipa::path(get, path = "/elements/{key}", tag = "elements", params(("key" = String, Path, description = "The element key, such as infusionsoftrest.", example = "infusionsoftrest")),
    responses(
        (status = 200, description = "The element's definition, as data, with `builtIn`.", body = Object),
        (status = "default", description = "An error (404: no such element).", body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let element = state
        .registry
        .get(&key)
        .ok_or_else(|| ApiError::NotFound(format!("no element {key:?}")))?;
    Ok(Json(described(&state, &element)))
}

/// `GET /elements/{key}/quota`: each provider app of the element that this process polls,
/// with the requests a minute its polls may use, the requests its pollers would use at their
/// configured intervals (learned from recent polls), the factor their intervals are stretched
/// by to fit, and what the last minute's polls used. An app is shown by a fingerprint, never
/// its client id; an element no instance polls yet has none.
#[utoipa::path(get, path = "/elements/{key}/quota", tag = "elements", params(("key" = String, Path, description = "The element key, such as infusionsoftrest.", example = "infusionsoftrest")),
    responses(
        (status = 200, description = "The element's apps' quotas as the scheduler plans them.", body = Vec<AppQuotaView>),
        (status = "default", description = "An error (404: no such element).", body = ErrorBody),
    ))]
async fn quota(
    State(state): State<AppState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Vec<AppQuotaView>>, ApiError> {
    Ok(Json(crate::services::elements::quota(&state, &key)?))
}

/// The consent URL of an element.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthUrlOut {
    /// The provider's consent page, to send the user's browser to.
    pub oauth_url: String,
    /// The element key.
    pub element: String,
}

/// `?apiKey=&apiSecret=&callbackUrl=&state=&scope=` → `{"oauthUrl", "element"}`. The secret is
/// accepted (Cloud Elements clients send it) but never used or echoed; other parameters are
/// configuration values (a login host), checked as a create would.
#[utoipa::path(get, path = "/elements/{key}/oauth/url", tag = "elements",
    params(("key" = String, Path, description = "The element key, such as infusionsoftrest.", example = "infusionsoftrest"),
        ("apiKey" = String, Query, description = "The provider app's client id."),
        ("apiSecret" = Option<String>, Query,
            description = "Accepted (Cloud Elements clients send it), never used or echoed."),
        ("callbackUrl" = String, Query,
            description = "The redirect URL registered with the provider app."),
        ("state" = Option<String>, Query, description = "The OAuth state (default: the key)."),
        ("scope" = Option<String>, Query, description = "The OAuth scope."),
    ),
    responses(
        (status = 200, description = "The provider's consent page.", body = OAuthUrlOut),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn oauth_url(
    State(state): State<AppState>,
    _caller: Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<OAuthUrlOut>, ApiError> {
    if state.registry.get(&key).is_none() {
        return Err(ApiError::NotFound(format!("no element {key:?}")));
    }
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let consent = consent_url(
        &state,
        &ConsentRequest {
            element_key: key,
            api_key: get("apiKey"),
            callback_url: get("callbackUrl"),
            state: get("state"),
            scope: get("scope"),
            // Any other parameter is a configuration value the consent URL may need (an
            // element's login host: `sfdc.login.url=sandbox`).
            configuration: params
                .iter()
                .filter(|(k, _)| {
                    !["apiKey", "apiSecret", "callbackUrl", "state", "scope"].contains(&k.as_str())
                })
                .cloned()
                .collect(),
        },
    )?;
    Ok(Json(OAuthUrlOut {
        oauth_url: consent.url,
        element: consent.element_key,
    }))
}
