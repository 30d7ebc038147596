//! `/elements`: the provider connectors this server knows, and their OAuth consent URLs.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tributary_domain::instance_config::check_http_url;

use crate::api::error::ApiError;
use crate::api::extract::Caller;
use crate::app::AppState;

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
/// accepted (Cloud Elements clients send it) but never used or echoed.
async fn oauth_url(
    State(state): State<AppState>,
    _caller: Caller,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let element = state
        .registry
        .get(&key)
        .ok_or_else(|| ApiError::NotFound(format!("no element {key:?}")))?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut errors = Vec::new();
    let api_key = get("apiKey");
    if api_key.is_none() {
        errors.push("apiKey is required (the provider app's client id)".to_owned());
    }
    let callback = get("callbackUrl");
    match &callback {
        None => errors.push("callbackUrl is required (the app's registered redirect URL)".into()),
        Some(url) => {
            if let Err(message) = check_http_url(url) {
                errors.push(format!("callbackUrl {message}"));
            }
        }
    }
    let (Some(api_key), Some(callback), true) = (api_key, callback, errors.is_empty()) else {
        return Err(ApiError::BadRequest(errors.join("; ")));
    };
    let state_param = get("state").unwrap_or_else(|| element.key.clone());
    let url = element
        .authorize_url(&api_key, &callback, &state_param, get("scope").as_deref())
        .map_err(ApiError::internal)?;
    Ok(Json(json!({"oauthUrl": url, "element": element.key})).into_response())
}
