//! `/elements`: the provider connectors this server knows, and their OAuth consent URLs.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api::error::ApiError;
use crate::api::extract::Caller;
use crate::services::connect::{ConsentRequest, consent_url};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/elements", get(list))
        .route("/elements/{key}", get(show))
        .route("/elements/{key}/oauth/url", get(oauth_url))
}

async fn list(State(state): State<AppState>, _caller: Caller) -> Response {
    let elements: Vec<Value> = state
        .registry
        .all()
        .iter()
        .map(|e| e.public_json())
        .collect();
    Json(elements).into_response()
}

async fn show(
    State(state): State<AppState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let element = state
        .registry
        .get(&key)
        .ok_or_else(|| ApiError::NotFound(format!("no element {key:?}")))?;
    Ok(Json(element.public_json()).into_response())
}

/// `?apiKey=&apiSecret=&callbackUrl=&state=&scope=` → `{"oauthUrl", "element"}`. The secret is
/// accepted (Cloud Elements clients send it) but never used or echoed; other parameters are
/// configuration values (a login host), checked as a create would.
async fn oauth_url(
    State(state): State<AppState>,
    _caller: Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
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
    Ok(Json(json!({"oauthUrl": consent.url, "element": consent.element_key})).into_response())
}
