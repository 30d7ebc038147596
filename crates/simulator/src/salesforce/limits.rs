//! The daily API allocation of each org (`shared/research/providers.md` §2.7): every API
//! response carries `Sforce-Limit-Info: api-usage=n/m`, and a request past the allocation gets
//! 403 `REQUEST_LIMIT_EXCEEDED` (not 429). The engine counts the requests (a rolling 24 hours
//! per org); this module words the header and adds the control knob `/_sim/limits`, which
//! shows, raises or lowers, and resets the allocation.
//!
//! Choices where undocumented: requests refused for their token (401) or their quota (403) do
//! not count, and carry no header; the token endpoint does not count.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::http::{BadRequest, control_body};
use crate::engine::throttle::Usage;
use crate::salesforce::state::Sf;

/// Adds `Sforce-Limit-Info` for an org's usage.
pub fn limit_info(headers: &mut HeaderMap, usage: &Usage) {
    let value = format!("api-usage={}/{}", usage.window_used, usage.window_limit);
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert("sforce-limit-info", value);
    }
}

pub(crate) fn control_router() -> Router<Sf> {
    Router::new().route("/_sim/limits", get(show).post(change))
}

fn limits_json(sf: &Sf) -> Value {
    let now = sf.sim.base_now();
    let mut state = sf.sim.state();
    let orgs: Vec<Value> = state
        .tenants
        .iter_mut()
        .map(|tenant| {
            let usage = tenant.budget.usage(now);
            json!({"name": tenant.name, "daily_quota": usage.window_limit,
                   "used": usage.window_used})
        })
        .collect();
    json!({ "orgs": orgs })
}

async fn show(State(sf): State<Sf>) -> Response {
    axum::Json(limits_json(&sf)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsIn {
    /// A new allocation per rolling 24 hours.
    daily_quota: Option<u32>,
    /// Forget the requests counted so far.
    reset: Option<bool>,
    /// Only this org (all when absent).
    tenant: Option<String>,
}

/// `POST /_sim/limits {"daily_quota"?: N, "reset"?: true, "tenant"?: org}`.
async fn change(State(sf): State<Sf>, body: Bytes) -> Response {
    match apply(&sf, &body) {
        Ok(()) => axum::Json(limits_json(&sf)).into_response(),
        Err(bad) => bad.into_response(),
    }
}

fn apply(sf: &Sf, body: &Bytes) -> Result<(), BadRequest> {
    let request: LimitsIn = control_body(body)?;
    if request.daily_quota.is_none() && request.reset.is_none() {
        return Err(BadRequest("give daily_quota, reset or both".into()));
    }
    if request.daily_quota == Some(0) {
        return Err(BadRequest("daily_quota must be at least 1".into()));
    }
    let only = match &request.tenant {
        None => None,
        Some(name) => Some(
            sf.sim
                .tenant_index(name)
                .ok_or_else(|| BadRequest(format!("unknown tenant {name:?}")))?,
        ),
    };
    let mut state = sf.sim.state();
    for (index, tenant) in state.tenants.iter_mut().enumerate() {
        if only.is_some_and(|only| only != index) {
            continue;
        }
        if let Some(quota) = request.daily_quota {
            tenant.budget.set_window_limit(quota);
        }
        if request.reset == Some(true) {
            tenant.budget.reset();
        }
    }
    Ok(())
}
