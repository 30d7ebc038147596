//! Webhook sources' services: receiving a delivery (the handshake, or ids stored before the
//! answer) and showing an instance's subscriptions.

use serde_json::Value;
use tributary_store::hooks::{NewInbound, SubscriptionRecord};

use crate::secrets::hash_secret;
use crate::services::error::ServiceError;
use crate::state::AppState;
use tributary_store::Principal;

/// The largest delivery accepted (Keap's 1,000 ids with their URLs are about 150 KB).
pub const MAX_DELIVERY_BYTES: usize = 1024 * 1024;

/// What a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The verification handshake: answer 200 with this header and value.
    Handshake { header: String, value: String },
    /// Ids stored durably, to be processed.
    Stored { ids: usize },
}

/// Receives one POST to a hook URL: 410 for a URL that names no live subscription (the
/// provider should stop), 413 over the limit, 400 for a body that is not a delivery; a
/// delivery's ids are stored before this returns.
pub async fn receive(
    state: &AppState,
    element_key: &str,
    instance_id: i64,
    token: &str,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<Received, ServiceError> {
    if body.len() > MAX_DELIVERY_BYTES {
        return Err(ServiceError::TooLarge(format!(
            "a delivery may carry at most {MAX_DELIVERY_BYTES} bytes"
        )));
    }
    let gone = || ServiceError::Gone("this hook URL names no subscription; stop sending".into());
    let subscription = state
        .store
        .subscription_by_token(&hash_secret(token))
        .await?
        .filter(|s| s.instance_id == instance_id)
        .ok_or_else(gone)?;
    let instance = state
        .store
        .instance_by_id(instance_id)
        .await?
        .filter(|i| i.element_key == element_key)
        .ok_or_else(gone)?;
    let element = state.registry.get(&instance.element_key).ok_or_else(gone)?;
    let spec = element.hooks.as_ref().ok_or_else(gone)?;
    if let Some(value) = header(&spec.handshake.echo_header) {
        return Ok(Received::Handshake {
            header: spec.handshake.echo_header.clone(),
            value,
        });
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| ServiceError::BadInput(format!("the delivery is not JSON: {e}")))?;
    if let Some(Value::String(event)) = json.pointer(&spec.payload.event)
        && *event != subscription.event_key
    {
        return Err(ServiceError::BadInput(format!(
            "the delivery's event key {event:?} is not its subscription's ({})",
            subscription.event_key
        )));
    }
    let Some(Value::Array(objects)) = json.pointer(&spec.payload.ids) else {
        return Err(ServiceError::BadInput(format!(
            "the delivery has no {} array",
            spec.payload.ids
        )));
    };
    let ids: Vec<String> = objects
        .iter()
        .filter_map(|object| match object.pointer(&spec.payload.id) {
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Number(id)) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    let count = ids.len();
    if count > 0 {
        state
            .store
            .insert_inbound(NewInbound {
                instance_id,
                subscription_id: subscription.id,
                resource: subscription.resource.clone(),
                action: subscription.action.clone(),
                ids,
                now_ms: state.now_ms(),
            })
            .await?;
        state.hooks_nudge.notify_one();
    }
    Ok(Received::Stored { ids: count })
}

/// An instance's subscriptions (the caller's organization only).
pub async fn subscriptions(
    state: &AppState,
    principal: Principal,
    id: i64,
) -> Result<Vec<SubscriptionRecord>, ServiceError> {
    state
        .store
        .instance(principal.organization_id, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no instance {id}")))?;
    Ok(state.store.subscriptions(id).await?)
}
