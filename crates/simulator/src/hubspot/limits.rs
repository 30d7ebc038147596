//! Authentication and the two limits of `shared/research/providers.md` §3.7, in front of the
//! HubSpot API routes (in place of the engine's `authenticate`, because search has a budget of
//! its own and no headers).
//!
//! - Every call but search counts against the account's ten-secondly budget (the engine's tenant
//!   budget) and carries `X-HubSpot-RateLimit-Max`, `-Remaining` and `-Interval-Milliseconds`;
//!   OAuth calls get no `-Daily` pair (§3.7). Over it: 429 with
//!   `policyName: "TEN_SECONDLY_ROLLING"`.
//! - Search is exempt from that budget and has its own, 5 per second per account, with no
//!   headers at all; over it: 429 "You have reached your secondly limit.".
//! - A missing or unknown token is 401 `INVALID_AUTHENTICATION`; an expired one 401
//!   `EXPIRED_AUTHENTICATION` saying how many seconds ago it expired (§3.8).
//!
//! Choices where undocumented: a refused request (401 or 429) spends no budget; the 429 of the
//! ten-secondly limit carries the headers with `Remaining: 0`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::engine::dates::format_zulu;
use crate::engine::inflight::InFlight;
use crate::engine::provider::AuthFailure;
use crate::engine::sim::Caller;
use crate::engine::throttle::Usage;
use crate::hubspot::errors::{self, HsError};
use crate::hubspot::state::Hs;

/// Adds the `X-HubSpot-RateLimit-*` headers of a ten-secondly budget.
pub fn rate_limit_headers(headers: &mut HeaderMap, usage: &Usage) {
    let pairs = [
        ("x-hubspot-ratelimit-max", usage.window_limit.to_string()),
        (
            "x-hubspot-ratelimit-remaining",
            usage.window_available().to_string(),
        ),
        ("x-hubspot-ratelimit-interval-milliseconds", "10000".into()),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

/// The caller of a request, or the 401 HubSpot answers.
fn caller(hs: &Hs, headers: &HeaderMap, now: i64) -> Result<Caller, HsError> {
    let provider = hs.sim.provider();
    let Some(token) = provider.credential(headers) else {
        return Err(HsError::invalid_authentication(true));
    };
    let mut state = hs.sim.state();
    match state.authenticate(&token, now, hs.sim.settings()) {
        Ok(caller) => Ok(caller),
        Err(AuthFailure::Expired) => {
            let expired_ms = state
                .access_tokens
                .get(&token)
                .map_or(now, |grant| grant.expires_ms);
            Err(HsError::expired(now - expired_ms, &format_zulu(expired_ms)))
        }
        Err(AuthFailure::Missing | AuthFailure::Invalid) => {
            Err(HsError::invalid_authentication(false))
        }
    }
}

/// In front of every API route but search.
pub(crate) async fn api(State(hs): State<Hs>, mut request: Request, next: Next) -> Response {
    let now = hs.sim.base_now();
    let caller = match caller(&hs, request.headers(), now) {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    let Some(slot) = InFlight::enter(&hs.sim, caller.tenant) else {
        return errors::ten_secondly();
    };
    let admitted = hs.sim.state().admit(&caller, hs.sim.settings(), now);
    match admitted {
        Ok(admission) => {
            request.extensions_mut().insert(caller);
            slot.wait_if_held().await;
            let mut response = next.run(request).await;
            drop(slot);
            rate_limit_headers(response.headers_mut(), &admission.tenant);
            response
        }
        Err(admission) => {
            let mut response = errors::ten_secondly();
            rate_limit_headers(response.headers_mut(), &admission.tenant);
            response
        }
    }
}

/// In front of the search routes.
pub(crate) async fn search(State(hs): State<Hs>, mut request: Request, next: Next) -> Response {
    let now = hs.sim.base_now();
    let caller = match caller(&hs, request.headers(), now) {
        Ok(caller) => caller,
        Err(refused) => return refused.into_response(),
    };
    let Some(slot) = InFlight::enter(&hs.sim, caller.tenant) else {
        return errors::secondly();
    };
    if !hs.hs.admit_search(caller.tenant, now) {
        return errors::secondly();
    }
    request.extensions_mut().insert(caller);
    slot.wait_if_held().await;
    next.run(request).await
}
