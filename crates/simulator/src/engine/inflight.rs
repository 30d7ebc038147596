//! Requests in flight: the per-tenant concurrency limit some providers keep (QuickBooks: 10 per
//! realm), and `/_sim/hold`, which keeps the next N admitted requests waiting until released so
//! that tests can have requests in flight at once without timing anything.
//!
//! A request takes an [`InFlight`] slot after authentication and gives it back when its answer is
//! done — or when the client hangs up and the request's future is dropped, which is why the slot
//! is a guard rather than a pair of calls. A held request waits after admission, while it holds
//! its slot, exactly where a slow provider would keep it.
//!
//! `POST /_sim/hold {"count": N}` holds the next N; `GET /_sim/hold` shows
//! `{"to_hold", "held", "in_flight"}`; `DELETE /_sim/hold` releases every held request and
//! forgets the rest.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::engine::http::{control_body, message};
use crate::engine::sim::Simulator;

pub(crate) fn router() -> Router<Simulator> {
    Router::new().route("/_sim/hold", get(show).post(hold).delete(release))
}

/// A request's place among its tenant's requests in flight; given back when dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    sim: Simulator,
    tenant: usize,
}

impl InFlight {
    /// Takes a slot of `tenant`, or `None` when the provider's concurrency limit is reached.
    pub fn enter(sim: &Simulator, tenant: usize) -> Option<InFlight> {
        let limit = sim.provider().concurrency_limit();
        let mut state = sim.state();
        let entry = state.tenants.get_mut(tenant)?;
        if limit.is_some_and(|limit| entry.in_flight >= limit) {
            return None;
        }
        entry.in_flight += 1;
        drop(state);
        Some(InFlight {
            sim: sim.clone(),
            tenant,
        })
    }

    /// Waits here when `/_sim/hold` asked for this request to be held, until released or until
    /// the simulator stops.
    pub async fn wait_if_held(&self) {
        let mut released = {
            let mut state = self.sim.state();
            if state.holds.to_hold == 0 {
                return;
            }
            state.holds.to_hold -= 1;
            state.holds.held += 1;
            // Subscribed under the lock, so a release right after it is still seen.
            state.holds.release.subscribe()
        };
        let _waiting = Held(&self.sim);
        tokio::select! {
            _ = released.changed() => {}
            _ = self.sim.shared.shutdown.cancelled() => {}
        }
    }
}

/// Counts a held request out when it goes on, or when the client gave up on it.
struct Held<'a>(&'a Simulator);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.holds.held = state.holds.held.saturating_sub(1);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.sim.state();
        if let Some(tenant) = state.tenants.get_mut(self.tenant) {
            tenant.in_flight = tenant.in_flight.saturating_sub(1);
        }
    }
}

fn holds_json(sim: &Simulator) -> serde_json::Value {
    let state = sim.state();
    let in_flight: u32 = state.tenants.iter().map(|tenant| tenant.in_flight).sum();
    json!({"to_hold": state.holds.to_hold, "held": state.holds.held, "in_flight": in_flight})
}

async fn show(State(sim): State<Simulator>) -> Response {
    axum::Json(holds_json(&sim)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldIn {
    count: u32,
}

/// `POST /_sim/hold {"count": N}`: the next N admitted API requests wait until released.
async fn hold(State(sim): State<Simulator>, body: Bytes) -> Response {
    let request: HoldIn = match control_body(&body) {
        Ok(request) => request,
        Err(bad) => return bad.into_response(),
    };
    if request.count == 0 || request.count > 10_000 {
        return message(StatusCode::BAD_REQUEST, "count must be between 1 and 10000");
    }
    sim.state().holds.to_hold = request.count;
    (StatusCode::CREATED, axum::Json(holds_json(&sim))).into_response()
}

/// `DELETE /_sim/hold`: every held request goes on; none more is held.
async fn release(State(sim): State<Simulator>) -> Response {
    let released = {
        let mut state = sim.state();
        let held = state.holds.held;
        state.holds.to_hold = 0;
        state
            .holds
            .release
            .send_modify(|generation| *generation += 1);
        held
    };
    axum::Json(json!({ "released": released })).into_response()
}
