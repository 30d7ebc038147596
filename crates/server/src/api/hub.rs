//! `/hubs/{hub}/{resource}`: the element's normalized API, for clients and for the poller.
//!
//! Calls authenticate as `User <userSecret>, Element <instanceToken>` (an `Organization` part may
//! be added and must then match). One hub request is one provider request: `pageSize` (at most
//! the element's largest page) records from where `page` or `nextPage` says, so no client can
//! make Tributary fetch a provider's whole data set in one call. The next page's token
//! (`Elements-Next-Page-Token`, opaque base64 of the pager's position) is sent only while the
//! element's pager says the provider's pages go on.
//! Provider failures become the API's error body with the provider's words in
//! `providerMessage`: its 4xx keep their status, everything else is a 502; an HTML page is
//! never forwarded.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tributary_domain::auth_header::parse_authorization;
use tributary_elements::client::ProviderError;
use tributary_elements::pager::Position;
use tributary_elements::query;
use tributary_store::InstanceRecord;

use crate::api::error::ApiError;
use crate::app::AppState;
use crate::secrets::hash_secret;

/// The page size when a call names none (Cloud Elements' default).
pub const DEFAULT_PAGE_SIZE: u32 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hubs/{hub}/{resource}", get(list))
        .route("/hubs/{hub}/{resource}/{id}", get(show))
}

const EXPECTED: &str = "expected `Authorization: User <userSecret>, Element <instanceToken>`";

/// The instance a hub call acts for, after checking every secret it presented.
async fn instance_of(state: &AppState, headers: &HeaderMap) -> Result<InstanceRecord, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized(format!("missing Authorization header; {EXPECTED}")))?
        .to_str()
        .map_err(|_| {
            ApiError::Unauthorized(format!("unreadable Authorization header; {EXPECTED}"))
        })?;
    let presented = parse_authorization(header)
        .map_err(|e| ApiError::Unauthorized(format!("{e}; {EXPECTED}")))?;
    let (Some(user), Some(token)) = (&presented.user, &presented.element) else {
        return Err(ApiError::Unauthorized(format!(
            "hub calls need both User and Element; {EXPECTED}"
        )));
    };
    let refused = || ApiError::Unauthorized("the User secret or the Element token is wrong".into());
    let principal = state
        .store
        .principal_of_user(&hash_secret(user))
        .await?
        .ok_or_else(refused)?;
    if let Some(organization) = &presented.organization {
        let both = state
            .store
            .principal(&hash_secret(organization), &hash_secret(user))
            .await?;
        if both != Some(principal) {
            return Err(ApiError::Unauthorized(
                "the Organization secret does not match the User".into(),
            ));
        }
    }
    let instance = state
        .store
        .instance_by_token(&hash_secret(token))
        .await?
        .filter(|i| i.organization_id == principal.organization_id)
        .ok_or_else(refused)?;
    if !instance.valid {
        return Err(ApiError::Provider {
            status: StatusCode::UNAUTHORIZED,
            message: format!(
                "instance {} must be authorized again (PATCH /instances/{} with a new providerData.code)",
                instance.id, instance.id
            ),
            provider: instance
                .invalid_reason
                .clone()
                .unwrap_or_else(|| "the provider authorization is no longer valid".into()),
        });
    }
    if instance.disabled {
        return Err(ApiError::Conflict(format!(
            "instance {} is disabled",
            instance.id
        )));
    }
    Ok(instance)
}

fn provider_error(state_name: &str, error: ProviderError) -> ApiError {
    let (status, message, provider) = match error {
        ProviderError::Invalid(reason) => (
            StatusCode::UNAUTHORIZED,
            "the instance must be authorized again (PATCH it with a new providerData.code)"
                .to_owned(),
            reason,
        ),
        ProviderError::Rejected { status, message } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{state_name} refused the request"),
            message,
        ),
        ProviderError::Failed { status, message } => (
            StatusCode::BAD_GATEWAY,
            format!("{state_name} failed (HTTP {status})"),
            message,
        ),
        ProviderError::Unreachable(message) => (
            StatusCode::BAD_GATEWAY,
            format!("{state_name} could not be reached"),
            message,
        ),
        ProviderError::Malformed(message) => (
            StatusCode::BAD_GATEWAY,
            format!("{state_name} answered something unreadable"),
            message,
        ),
    };
    ApiError::Provider {
        status,
        message,
        provider,
    }
}

/// The element's resource a hub path names.
fn resource<'a>(
    element: &'a tributary_elements::Element,
    hub: &str,
    name: &str,
) -> Result<&'a tributary_elements::Resource, ApiError> {
    if hub != element.hub {
        return Err(ApiError::NotFound(format!(
            "no hub {hub:?} for this instance: its element {} is in hub {:?}",
            element.key, element.hub
        )));
    }
    element.resource(name).ok_or_else(|| {
        let names: Vec<&str> = element.resources.iter().map(|r| r.name.as_str()).collect();
        ApiError::NotFound(format!(
            "no resource {name:?} in hub {hub}; it has {}",
            names.join(", ")
        ))
    })
}

fn page_token(position: &Position) -> String {
    URL_SAFE_NO_PAD.encode(position.encode())
}

fn read_page_token(token: &str) -> Option<Position> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    Position::decode(&String::from_utf8(bytes).ok()?)
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((hub, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let instance = instance_of(&state, &headers).await?;
    let client = state.clients.client(&state, &instance)?;
    let element = client.element();
    let resource = resource(element, &hub, &name)?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::BadRequest("the query string is malformed".into()))?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let max = element.api.max_page_size;
    let page_size = match get("pageSize") {
        None => DEFAULT_PAGE_SIZE.min(max),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(size) if size >= 1 => size.min(max),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "pageSize must be a whole number from 1 to {max}, got {text:?}"
                )));
            }
        },
    };
    let kind = element.list_request(resource).pager.kind;
    let at = match (get("nextPage"), get("page")) {
        (Some(token), _) => read_page_token(token).ok_or_else(|| {
            ApiError::BadRequest("nextPage is not a token this server gave out".into())
        })?,
        (None, Some(page)) => match page.trim().parse::<u64>() {
            Ok(page) if page >= 1 => Position::of_page(kind, page, page_size).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "page {page}: {} cannot jump to a page; follow nextPage instead",
                    element.name
                ))
            })?,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "page must be a whole number from 1, got {page:?}"
                )));
            }
        },
        (None, None) => Position::Start,
    };
    let translated = query::hub_query(element, resource, &params)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let page = client
        .list(resource, &translated, &at, page_size)
        .await
        .map_err(|e| provider_error(&element.name, e))?;
    let records: Vec<Value> = page
        .records
        .into_iter()
        .filter(|record| translated.keeps(record))
        .collect();
    let mut response = Json(&records).into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("elements-returned-count", records.len().to_string());
    if let Some(next) = &page.next {
        put("elements-next-page-token", page_token(next));
    }
    match translated.local_text() {
        Some(local) => put("elements-local-filter", local),
        None => {
            if let Some(total) = page.total {
                put("elements-total-count", total.to_string());
            }
        }
    }
    put("elements-element-instance-id", instance.id.to_string());
    Ok(response)
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((hub, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let instance = instance_of(&state, &headers).await?;
    let client = state.clients.client(&state, &instance)?;
    let element = client.element();
    let resource = resource(element, &hub, &name)?;
    let record = client
        .get(resource, &id)
        .await
        .map_err(|e| provider_error(&element.name, e))?;
    let mut response = Json(record).into_response();
    if let Ok(value) = HeaderValue::from_str(&instance.id.to_string()) {
        response
            .headers_mut()
            .insert("elements-element-instance-id", value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_are_opaque_and_round_trip() {
        for offset in [0, 7, 2_500, u64::MAX] {
            let position = Position::Offset(offset);
            assert_eq!(read_page_token(&page_token(&position)), Some(position));
        }
        let cursor = Position::Cursor("after:200".into());
        assert_eq!(read_page_token(&page_token(&cursor)), Some(cursor));
        assert_eq!(read_page_token("not a token"), None);
        assert_eq!(read_page_token(&URL_SAFE_NO_PAD.encode("o:x")), None);
    }
}
