//! `/hubs/{hub}/{resource}`: the element's normalized API — the HTTP face of
//! [`crate::services::hub`].
//!
//! Calls authenticate as `User <userSecret>, Element <instanceToken>` (an `Organization` part may
//! be added and must then match). The next page's token goes out as `Elements-Next-Page-Token`,
//! the count returned as `Elements-Returned-Count`, the parts of `where` evaluated by Tributary
//! as `Elements-Local-Filter`. Provider failures become the API's error body with the
//! provider's words in `providerMessage`: its 4xx keep their status, everything else is a 502;
//! an HTML page is never forwarded.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tributary_domain::auth_header::parse_authorization;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::openapi::ErrorBody;
use crate::services::hub::{self, HubCredentials};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
}

const EXPECTED: &str = "expected `Authorization: User <userSecret>, Element <instanceToken>`";

/// The secrets of a hub call's `Authorization` header.
fn credentials(headers: &HeaderMap) -> Result<HubCredentials, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized(format!("missing Authorization header; {EXPECTED}")))?
        .to_str()
        .map_err(|_| {
            ApiError::Unauthorized(format!("unreadable Authorization header; {EXPECTED}"))
        })?;
    let presented = parse_authorization(header)
        .map_err(|e| ApiError::Unauthorized(format!("{e}; {EXPECTED}")))?;
    let (Some(user), Some(element)) = (presented.user, presented.element) else {
        return Err(ApiError::Unauthorized(format!(
            "hub calls need both User and Element; {EXPECTED}"
        )));
    };
    Ok(HubCredentials {
        user,
        element,
        organization: presented.organization,
    })
}

/// `GET /hubs/{hub}/{resource}`: a page of the provider's records, one provider request.
#[utoipa::path(get, path = "/hubs/{hub}/{resource}", tag = "hub", security(("hub" = [])),
    params(
        ("hub" = String, Path, description = "The element's hub, such as crm.", example = "crm"),
        ("resource" = String, Path, description = "The hub's resource, such as contacts.", example = "appointments"),
        ("where" = Option<String>, Query, description = "A CEQL filter."),
        ("pageSize" = Option<u32>, Query, minimum = 1,
            description = "Records per page (default 200, at most the provider's largest)."),
        ("page" = Option<u32>, Query, minimum = 1, description = "A page number, from 1."),
        ("nextPage" = Option<String>, Query,
            description = "The previous answer's Elements-Next-Page-Token."),
        ("orderBy" = Option<String>, Query, description = "A field to order by."),
    ),
    responses(
        (status = 200, description = "The provider's records.", body = Vec<Object>,
            headers(
                ("elements-returned-count" = String, description = "Records returned."),
                ("elements-next-page-token" = String,
                    description = "Present while the provider's pages go on: send it back as nextPage."),
            )),
        (status = "default", description = "An error; a provider's own in providerMessage.",
            body = ErrorBody),
    ))]
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((hub, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let instance = hub::authenticate(&state, &credentials(&headers)?).await?;
    let page = hub::list(&state, &instance, &hub, &name, raw.as_deref().unwrap_or("")).await?;
    let mut response = Json(&page.records).into_response();
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("elements-returned-count", page.records.len().to_string());
    if let Some(token) = page.next_page {
        put("elements-next-page-token", token);
    }
    if let Some(local) = page.local_filter {
        put("elements-local-filter", local);
    }
    if let Some(count) = page.total {
        put("elements-total-count", count.to_string());
    }
    put("elements-element-instance-id", instance.id.to_string());
    Ok(response)
}

/// `GET /hubs/{hub}/{resource}/{id}`: one of the provider's records.
#[utoipa::path(get, path = "/hubs/{hub}/{resource}/{id}", tag = "hub", security(("hub" = [])),
    params(
        ("hub" = String, Path, description = "The element's hub, such as crm.", example = "crm"),
        ("resource" = String, Path, description = "The hub's resource, such as contacts.", example = "appointments"),
        ("id" = String, Path, description = "The record's id at the provider."),
    ),
    responses(
        (status = 200, description = "The provider's record.", body = Object),
        (status = "default", description = "An error; a provider's own in providerMessage.",
            body = ErrorBody),
    ))]
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((hub, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let instance = hub::authenticate(&state, &credentials(&headers)?).await?;
    let record = hub::get(&state, &instance, &hub, &name, &id).await?;
    let mut response = Json(record).into_response();
    if let Ok(value) = HeaderValue::from_str(&instance.id.to_string()) {
        response
            .headers_mut()
            .insert("elements-element-instance-id", value);
    }
    Ok(response)
}
