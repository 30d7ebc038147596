//! REST hook routes (v1 only): subscriptions and the `X-Hook-Secret` handshake. A subscription
//! is `Verified` only when its URL answered the verification POST with 200 and echoed
//! `X-Hook-Secret` (`shared/research/infusionsoft.md` §6). The data is in `outbox`, deliveries
//! in `deliveries`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::engine::http::message;
use crate::engine::sim::Caller;
use crate::infusionsoft::http::{Reject, json_body};
use crate::infusionsoft::keap::Infusionsoft;
use crate::infusionsoft::outbox::{Hook, HookStatus};

type Keap = Arc<Infusionsoft>;

/// Event keys Keap lists at `GET /hooks/event_keys`.
pub const EVENT_KEYS: &[&str] = &[
    "appointment.add",
    "appointment.delete",
    "appointment.edit",
    "company.add",
    "company.delete",
    "company.edit",
    "contact.add",
    "contact.delete",
    "contact.edit",
    "contactGroup.add",
    "contactGroup.applied",
    "contactGroup.delete",
    "contactGroup.edit",
    "contactGroup.removed",
    "invoice.add",
    "invoice.delete",
    "invoice.edit",
    "invoice.payment.add",
    "invoice.payment.delete",
    "invoice.payment.edit",
    "leadsource.add",
    "leadsource.delete",
    "leadsource.edit",
    "note.add",
    "note.delete",
    "note.edit",
    "opportunity.add",
    "opportunity.delete",
    "opportunity.edit",
    "opportunity.stage_move",
    "order.add",
    "order.delete",
    "order.edit",
    "product.add",
    "product.delete",
    "product.edit",
    "subscription.add",
    "subscription.delete",
    "subscription.edit",
    "task.add",
    "task.complete",
    "task.delete",
    "task.edit",
    "task.incomplete",
    "user.activate",
    "user.add",
    "user.edit",
];

/// The `/hooks` routes, nested under `/crm/rest/v1` behind authentication.
pub fn router() -> Router<Keap> {
    Router::new()
        .route("/hooks", get(list).post(create))
        .route("/hooks/event_keys", get(event_keys))
        .route("/hooks/{key}", get(show).put(replace).delete(remove))
        .route("/hooks/{key}/verify", post(verify_now))
        .route("/hooks/{key}/delayedVerify", post(delayed_verify))
}

/// `POST /_sim/hooks/faults {"lose": N, "duplicate": M}`: the next N deliveries are lost (never
/// sent, never retried: the safety net's case), the next M are sent twice. `GET` shows what
/// is left, the deliveries waiting and their failed attempts so far, and every subscription
/// of every tenant.
pub fn control_router() -> Router<Keap> {
    Router::new().route("/_sim/hooks/faults", get(show_faults).post(set_faults))
}

async fn show_faults(State(keap): State<Keap>) -> Response {
    let hooks = keap.hooks();
    let subscriptions: Vec<Value> = hooks
        .tenants
        .iter()
        .flat_map(|t| t.hooks.values().map(Hook::json))
        .collect();
    axum::Json(serde_json::json!({
        "lose": hooks.lose,
        "duplicate": hooks.duplicate,
        "waiting": hooks.outbox.batches.len(),
        "attempts": hooks.outbox.batches.iter().map(|b| b.attempts).sum::<u32>(),
        "subscriptions": subscriptions,
    }))
    .into_response()
}

async fn set_faults(State(keap): State<Keap>, body: Bytes) -> Response {
    let value = match json_body(&body) {
        Ok(value) => value,
        Err(reject) => return reject.into_response(),
    };
    let count = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_u64)
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    };
    {
        let mut hooks = keap.hooks();
        if let Some(n) = count("lose") {
            hooks.lose = n;
        }
        if let Some(n) = count("duplicate") {
            hooks.duplicate = n;
        }
    }
    show_faults(State(keap)).await
}

async fn event_keys() -> Response {
    axum::Json(EVENT_KEYS).into_response()
}

async fn list(State(keap): State<Keap>, caller: axum::Extension<Caller>) -> Response {
    let hooks: Vec<Value> = keap
        .hooks()
        .tenants
        .get(caller.tenant)
        .map(|t| t.hooks.values().map(Hook::json).collect())
        .unwrap_or_default();
    axum::Json(hooks).into_response()
}

/// Reads `{"eventKey", "hookUrl"}`, or answers 400 naming the bad field.
fn hook_request(body: &Bytes) -> Result<(String, String), Reject> {
    let value = json_body(body)?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(event_key) = text("eventKey") else {
        return Err(Reject::bad_request("eventKey is required"));
    };
    if !EVENT_KEYS.contains(&event_key.as_str()) {
        return Err(Reject::bad_request(format!(
            "Invalid eventKey: {event_key}"
        )));
    }
    let Some(hook_url) = text("hookUrl") else {
        return Err(Reject::bad_request("hookUrl is required"));
    };
    match reqwest::Url::parse(&hook_url) {
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {}
        _ => {
            return Err(Reject::bad_request(format!("Invalid hookUrl: {hook_url}")));
        }
    }
    Ok((event_key, hook_url))
}

async fn create(
    State(keap): State<Keap>,
    caller: axum::Extension<Caller>,
    body: Bytes,
) -> Response {
    let (event_key, hook_url) = match hook_request(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    let key = {
        let mut hooks = keap.hooks();
        let Some(tenant) = hooks.tenants.get_mut(caller.tenant) else {
            return message(StatusCode::NOT_FOUND, "Unknown tenant");
        };
        let key = tenant.next_hook.to_string();
        tenant.next_hook += 1;
        tenant.hooks.insert(
            key.clone(),
            Hook {
                key: key.clone(),
                event_key,
                hook_url,
                status: HookStatus::Unverified,
                secret: None,
            },
        );
        key
    };
    respond_with(verify(&keap, caller.tenant, &key).await)
}

fn respond_with(hook: Option<Hook>) -> Response {
    match hook {
        Some(hook) => axum::Json(hook.json()).into_response(),
        None => message(StatusCode::NOT_FOUND, "Unable to find this RestHook"),
    }
}

fn find(keap: &Infusionsoft, tenant: usize, key: &str) -> Option<Hook> {
    keap.hooks()
        .tenants
        .get(tenant)
        .and_then(|t| t.hooks.get(key))
        .cloned()
}

async fn show(
    State(keap): State<Keap>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
) -> Response {
    respond_with(find(&keap, caller.tenant, &key))
}

async fn replace(
    State(keap): State<Keap>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let (event_key, hook_url) = match hook_request(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    {
        let mut hooks = keap.hooks();
        let Some(hook) = hooks.hook_mut(caller.tenant, &key) else {
            return respond_with(None);
        };
        hook.event_key = event_key;
        hook.hook_url = hook_url;
        hook.status = HookStatus::Unverified;
        hooks.outbox.forget_hook(caller.tenant, &key);
    }
    respond_with(verify(&keap, caller.tenant, &key).await)
}

async fn remove(
    State(keap): State<Keap>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
) -> Response {
    let mut hooks = keap.hooks();
    let removed = hooks
        .tenants
        .get_mut(caller.tenant)
        .and_then(|t| t.hooks.remove(&key));
    match removed {
        Some(_) => {
            hooks.outbox.forget_hook(caller.tenant, &key);
            StatusCode::NO_CONTENT.into_response()
        }
        None => respond_with(None),
    }
}

async fn verify_now(
    State(keap): State<Keap>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
) -> Response {
    respond_with(verify(&keap, caller.tenant, &key).await)
}

async fn delayed_verify(
    State(keap): State<Keap>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let given = headers
        .get("x-hook-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut hooks = keap.hooks();
    let Some(hook) = hooks.hook_mut(caller.tenant, &key) else {
        return respond_with(None);
    };
    match given {
        Some(secret) if hook.secret.as_deref() == Some(secret.as_str()) => {
            hook.status = HookStatus::Verified;
            axum::Json(hook.json()).into_response()
        }
        Some(_) => message(StatusCode::BAD_REQUEST, "Invalid X-Hook-Secret"),
        None => message(StatusCode::BAD_REQUEST, "X-Hook-Secret header is required"),
    }
}

/// Runs the handshake: POSTs to the hook URL with a fresh `X-Hook-Secret`; the subscription is
/// `Verified` only on a 200 that echoes it, `Unverified` otherwise.
async fn verify(keap: &Infusionsoft, tenant: usize, key: &str) -> Option<Hook> {
    let (url, secret) = {
        let mut hooks = keap.hooks();
        let secret = hooks.random_secret();
        let hook = hooks.hook_mut(tenant, key)?;
        hook.secret = Some(secret.clone());
        (hook.hook_url.clone(), secret)
    };
    let verified = match keap
        .http
        .post(&url)
        .header("X-Hook-Secret", &secret)
        .send()
        .await
    {
        Ok(response) => {
            response.status() == StatusCode::OK
                && response
                    .headers()
                    .get("x-hook-secret")
                    .is_some_and(|echo| echo.as_bytes() == secret.as_bytes())
        }
        Err(_) => false,
    };
    let mut hooks = keap.hooks();
    let hook = hooks.hook_mut(tenant, key)?;
    // A newer verification may have started meanwhile; only the latest secret decides.
    if hook.secret.as_deref() == Some(secret.as_str()) {
        hook.status = if verified {
            HookStatus::Verified
        } else {
            HookStatus::Unverified
        };
    }
    Some(hook.clone())
}
