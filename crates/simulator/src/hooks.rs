//! REST hooks (v1 only): subscriptions, the `X-Hook-Secret` handshake, and batched deliveries.
//!
//! Behaviour from `shared/research/infusionsoft.md` §6: a subscription is `Verified` only when
//! its URL answered the verification POST with 200 and echoed `X-Hook-Secret`; only verified
//! subscriptions get events; deliveries carry up to 1,000 ids of one event key, the first 30–60 s
//! after the change, retried 30–60 s, 5 min and 30 min after failures (4 attempts in all, every
//! delay multiplied by `hook_time_scale`); a 410 at any time, or four failures, make the
//! subscription `Inactive`.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::http::{Reject, json_body, message};
use crate::resources::{Kind, format_zulu};
use crate::sim::{Caller, Simulator};

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

/// The most ids one delivery carries.
pub const MAX_BATCH: usize = 1000;
/// Attempts before a subscription is given up on.
pub const MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HookStatus {
    Unverified,
    Verified,
    Inactive,
}

/// A subscription (`RestHook`).
#[derive(Debug, Clone)]
pub struct Hook {
    pub key: String,
    pub event_key: String,
    pub hook_url: String,
    pub status: HookStatus,
    /// The secret of the latest verification request, for `delayedVerify`.
    pub secret: Option<String>,
}

impl Hook {
    fn json(&self) -> Value {
        json!({"key": self.key, "eventKey": self.event_key, "hookUrl": self.hook_url,
               "status": self.status})
    }
}

#[derive(Debug, Clone)]
struct ObjectKey {
    id: i64,
    kind: Kind,
    timestamp_ms: i64,
}

/// Ids waiting to be delivered to one subscription.
#[derive(Debug, Clone)]
struct Batch {
    id: u64,
    tenant: usize,
    hook_key: String,
    event_key: String,
    object_type: &'static str,
    keys: Vec<ObjectKey>,
    due: Instant,
    attempts: u32,
    in_flight: bool,
}

/// Deliveries waiting or in flight.
#[derive(Debug)]
pub struct Outbox {
    batches: Vec<Batch>,
    next_id: u64,
    scale: f64,
}

impl Outbox {
    pub fn new(scale: f64) -> Self {
        Self {
            batches: Vec::new(),
            next_id: 1,
            scale: if scale.is_finite() && scale >= 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    fn scaled(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64((seconds * self.scale).max(0.0))
    }

    /// The wait before a new batch is first sent: 30–60 s, scaled.
    pub fn first_delay<R: Rng>(&self, rng: &mut R) -> Duration {
        self.scaled(rng.random_range(30.0..60.0))
    }

    /// The wait after failed attempt `attempts` (1-based): 30–60 s, 5 min, 30 min, scaled.
    fn retry_delay<R: Rng>(&self, attempts: u32, rng: &mut R) -> Duration {
        match attempts {
            1 => self.scaled(rng.random_range(30.0..60.0)),
            2 => self.scaled(300.0),
            _ => self.scaled(1800.0),
        }
    }

    /// Adds one changed id to the open batch of a subscription (or opens one).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        tenant: usize,
        hook_key: &str,
        event_key: &str,
        object_type: &'static str,
        kind: Kind,
        id: i64,
        now_ms: i64,
        delay: Duration,
    ) {
        let key = ObjectKey {
            id,
            kind,
            timestamp_ms: now_ms,
        };
        if let Some(open) = self.batches.iter_mut().find(|b| {
            b.tenant == tenant
                && b.hook_key == hook_key
                && !b.in_flight
                && b.attempts == 0
                && b.keys.len() < MAX_BATCH
        }) {
            open.keys.push(key);
            return;
        }
        self.batches.push(Batch {
            id: self.next_id,
            tenant,
            hook_key: hook_key.to_owned(),
            event_key: event_key.to_owned(),
            object_type,
            keys: vec![key],
            due: Instant::now() + delay,
            attempts: 0,
            in_flight: false,
        });
        self.next_id += 1;
    }

    fn forget_hook(&mut self, tenant: usize, hook_key: &str) {
        self.batches
            .retain(|b| !(b.tenant == tenant && b.hook_key == hook_key));
    }
}

/// Sends due batches until the simulator stops.
pub async fn run_deliveries(sim: Simulator) {
    loop {
        let (due, next) = {
            let mut state = sim.state();
            let now = Instant::now();
            let mut due = Vec::new();
            for batch in state.outbox.batches.iter_mut() {
                if !batch.in_flight && batch.due <= now {
                    batch.in_flight = true;
                    due.push(batch.clone());
                }
            }
            let next = state
                .outbox
                .batches
                .iter()
                .filter(|b| !b.in_flight)
                .map(|b| b.due)
                .min();
            (due, next)
        };
        for batch in due {
            tokio::spawn(deliver(sim.clone(), batch));
        }
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            _ = tokio::time::sleep_until(next.unwrap_or(far)) => {}
            _ = sim.shared.hook_wake.notified() => {}
            _ = sim.shared.shutdown.cancelled() => return,
        }
    }
}

/// What a delivery attempt came to.
enum Outcome {
    Delivered,
    Gone,
    Failed,
}

async fn deliver(sim: Simulator, batch: Batch) {
    let origin = sim.origin();
    let target = {
        let state = sim.state();
        state
            .tenants
            .get(batch.tenant)
            .and_then(|t| t.hooks.get(&batch.hook_key))
            .filter(|hook| hook.status == HookStatus::Verified)
            .map(|hook| hook.hook_url.clone())
    };
    let outcome = match target {
        None => Outcome::Gone,
        Some(url) => {
            let body = json!({
                "event_key": batch.event_key,
                "object_type": batch.object_type,
                "object_keys": batch.keys.iter().map(|key| json!({
                    "id": key.id,
                    "apiUrl": format!("{origin}/crm/rest/v1/{}/{}", key.kind.path(), key.id),
                    "timestamp": format_zulu(key.timestamp_ms),
                })).collect::<Vec<_>>(),
            });
            match sim.shared.http.post(&url).json(&body).send().await {
                Ok(response) if response.status() == StatusCode::GONE => Outcome::Gone,
                Ok(response) if response.status().is_success() => Outcome::Delivered,
                Ok(_) | Err(_) => Outcome::Failed,
            }
        }
    };
    {
        let mut state = sim.state();
        let state = &mut *state;
        let Some(index) = state.outbox.batches.iter().position(|b| b.id == batch.id) else {
            return;
        };
        match outcome {
            Outcome::Delivered => {
                state.outbox.batches.remove(index);
            }
            Outcome::Gone => {
                deactivate(state, batch.tenant, &batch.hook_key);
            }
            Outcome::Failed => {
                let attempts = batch.attempts + 1;
                if attempts >= MAX_ATTEMPTS {
                    deactivate(state, batch.tenant, &batch.hook_key);
                } else {
                    let delay = state.outbox.retry_delay(attempts, &mut state.rng);
                    let entry = &mut state.outbox.batches[index];
                    entry.attempts = attempts;
                    entry.in_flight = false;
                    entry.due = Instant::now() + delay;
                }
            }
        }
    }
    sim.shared.hook_wake.notify_one();
}

fn deactivate(state: &mut crate::sim::State, tenant: usize, hook_key: &str) {
    if let Some(hook) = state
        .tenants
        .get_mut(tenant)
        .and_then(|t| t.hooks.get_mut(hook_key))
    {
        hook.status = HookStatus::Inactive;
    }
    state.outbox.forget_hook(tenant, hook_key);
}

/// The `/hooks` routes, nested under `/crm/rest/v1` behind authentication.
pub fn router() -> Router<Simulator> {
    Router::new()
        .route("/hooks", get(list).post(create))
        .route("/hooks/event_keys", get(event_keys))
        .route("/hooks/{key}", get(show).put(replace).delete(remove))
        .route("/hooks/{key}/verify", post(verify_now))
        .route("/hooks/{key}/delayedVerify", post(delayed_verify))
}

async fn event_keys() -> Response {
    axum::Json(EVENT_KEYS).into_response()
}

async fn list(State(sim): State<Simulator>, caller: axum::Extension<Caller>) -> Response {
    let state = sim.state();
    let hooks: Vec<Value> = state
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
    State(sim): State<Simulator>,
    caller: axum::Extension<Caller>,
    body: Bytes,
) -> Response {
    let (event_key, hook_url) = match hook_request(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    let key = {
        let mut state = sim.state();
        let Some(tenant) = state.tenants.get_mut(caller.tenant) else {
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
    respond_with(verify(&sim, caller.tenant, &key).await)
}

fn respond_with(hook: Option<Hook>) -> Response {
    match hook {
        Some(hook) => axum::Json(hook.json()).into_response(),
        None => message(StatusCode::NOT_FOUND, "Unable to find this RestHook"),
    }
}

fn find(sim: &Simulator, tenant: usize, key: &str) -> Option<Hook> {
    sim.state()
        .tenants
        .get(tenant)
        .and_then(|t| t.hooks.get(key))
        .cloned()
}

async fn show(
    State(sim): State<Simulator>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
) -> Response {
    respond_with(find(&sim, caller.tenant, &key))
}

async fn replace(
    State(sim): State<Simulator>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let (event_key, hook_url) = match hook_request(&body) {
        Ok(request) => request,
        Err(reject) => return reject.into_response(),
    };
    {
        let mut state = sim.state();
        let state = &mut *state;
        let Some(hook) = state
            .tenants
            .get_mut(caller.tenant)
            .and_then(|t| t.hooks.get_mut(&key))
        else {
            return respond_with(None);
        };
        hook.event_key = event_key;
        hook.hook_url = hook_url;
        hook.status = HookStatus::Unverified;
        state.outbox.forget_hook(caller.tenant, &key);
    }
    respond_with(verify(&sim, caller.tenant, &key).await)
}

async fn remove(
    State(sim): State<Simulator>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
) -> Response {
    let mut state = sim.state();
    let state = &mut *state;
    let removed = state
        .tenants
        .get_mut(caller.tenant)
        .and_then(|t| t.hooks.remove(&key));
    match removed {
        Some(_) => {
            state.outbox.forget_hook(caller.tenant, &key);
            StatusCode::NO_CONTENT.into_response()
        }
        None => respond_with(None),
    }
}

async fn verify_now(
    State(sim): State<Simulator>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
) -> Response {
    respond_with(verify(&sim, caller.tenant, &key).await)
}

async fn delayed_verify(
    State(sim): State<Simulator>,
    caller: axum::Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let given = headers
        .get("x-hook-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut state = sim.state();
    let Some(hook) = state
        .tenants
        .get_mut(caller.tenant)
        .and_then(|t| t.hooks.get_mut(&key))
    else {
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
async fn verify(sim: &Simulator, tenant: usize, key: &str) -> Option<Hook> {
    let (url, secret) = {
        let mut state = sim.state();
        let secret = state.random_token();
        let hook = state.tenants.get_mut(tenant)?.hooks.get_mut(key)?;
        hook.secret = Some(secret.clone());
        (hook.hook_url.clone(), secret)
    };
    let verified = match sim
        .shared
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
    let mut state = sim.state();
    let hook = state.tenants.get_mut(tenant)?.hooks.get_mut(key)?;
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
