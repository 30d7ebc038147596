//! Webhook sources over HTTP: the hook URL a provider delivers to
//! (`POST /events/{elementKey}/{instanceId}/{token}`: the handshake echoed, or a delivery
//! stored before the 200) and an instance's subscriptions
//! (`GET /instances/{id}/subscriptions`) — the JSON face of [`crate::services::hooks`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use tributary_domain::poll::event_date;
use tributary_store::hooks::SubscriptionRecord;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::error::ApiError;
use crate::api::extract::{Caller, path_id};
use crate::api::openapi::ErrorBody;
use crate::services::hooks::{self, Received};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .routes(routes!(subscriptions))
}

/// What a delivery came to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedOut {
    /// Ids stored for processing (0 for the handshake).
    pub stored: usize,
}

/// One subscription to the provider's webhooks.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionOut {
    pub resource: String,
    /// The provider's event key (`contact.add`).
    pub event_key: String,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    /// The subscription's key at the provider, once it answered.
    pub key: Option<String>,
    /// The provider's word (`Verified`, `Unverified`, `Inactive`), or `Pending` (not yet
    /// asked), `Failed` (refused: see `lastError`).
    pub status: String,
    pub last_error: Option<String>,
    pub last_delivery_date: Option<String>,
    /// Deliveries stored.
    pub deliveries: i64,
    pub updated_date: String,
}

impl From<SubscriptionRecord> for SubscriptionOut {
    fn from(s: SubscriptionRecord) -> Self {
        SubscriptionOut {
            resource: s.resource,
            event_key: s.event_key,
            action: s.action,
            key: s.provider_key,
            status: s.status,
            last_error: s.last_error,
            last_delivery_date: s.last_delivery_ms.map(event_date),
            deliveries: s.deliveries,
            updated_date: event_date(s.updated_ms),
        }
    }
}

/// `POST /events/{elementKey}/{instanceId}/{token}`: a provider's webhook. The handshake
/// (the element's header, Keap's `X-Hook-Secret`) is echoed with 200; a delivery's ids are
/// stored durably before the 200. A URL naming no live subscription answers 410, so the
/// provider stops; over 1 MiB, 413.
#[utoipa::path(post, path = "/events/{element_key}/{instance_id}/{token}", tag = "events",
    params(
        ("element_key" = String, Path, description = "The element's key.", example = "infusionsoftrest"),
        ("instance_id" = String, Path, description = "The instance id.", example = "1"),
        ("token" = String, Path, description = "The subscription's secret token."),
    ),
    request_body(content = String, description = "The provider's delivery (JSON).", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored (or the handshake echoed).", body = ReceivedOut),
        (status = 410, description = "No such subscription: stop sending.", body = ErrorBody),
        (status = 413, description = "Over the size limit.", body = ErrorBody),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn receive(
    State(state): State<AppState>,
    Path((element_key, instance_id, token)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(HeaderMap, Json<ReceivedOut>), ApiError> {
    let gone = || ApiError::Gone("this hook URL names no subscription; stop sending".into());
    let instance_id: i64 = instance_id.parse().map_err(|_| gone())?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match hooks::receive(&state, &element_key, instance_id, &token, header, &body).await? {
        Received::Handshake { header, value } => {
            let mut echo = HeaderMap::new();
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                echo.insert(name, value);
            }
            Ok((echo, Json(ReceivedOut { stored: 0 })))
        }
        Received::Stored { ids } => Ok((HeaderMap::new(), Json(ReceivedOut { stored: ids }))),
    }
}

/// `GET /instances/{id}/subscriptions`: the instance's subscriptions to the provider's
/// webhooks (`event.vendor.type: webhooks`), with their status, last delivery and last error.
#[utoipa::path(get, path = "/instances/{id}/subscriptions", tag = "events",
    params(("id" = String, Path, description = "The instance id.", example = "1")),
    responses(
        (status = 200, description = "Each subscription.", body = Vec<SubscriptionOut>),
        (status = "default", description = "An error.", body = ErrorBody),
    ))]
async fn subscriptions(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<SubscriptionOut>>, ApiError> {
    let id = path_id("instance", &id)?;
    let subscriptions = hooks::subscriptions(&state, principal, id).await?;
    Ok(Json(subscriptions.into_iter().map(Into::into).collect()))
}
