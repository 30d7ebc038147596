//! The generic simulator's router: the consent page and token endpoint at the spec's paths,
//! `/_sim`, and every API request (`requests::serve_api`) behind the engine's gateway. Apart
//! from `provider` (the engine's hooks), which `requests` reads, so neither imports the other.

use std::sync::Arc;

use axum::Router;
use axum::middleware::from_fn_with_state;

use crate::engine::sim::{Serve, Simulator};
use crate::engine::{activity, control, gateway, oauth};
use crate::generic::provider::Generic;
use crate::generic::requests;

impl Serve for Generic {
    fn router(self: Arc<Self>, sim: &Simulator) -> Router {
        let api = Router::new()
            .fallback(requests::serve_api)
            .layer(from_fn_with_state(sim.clone(), gateway::authenticate))
            .with_state((sim.clone(), self.clone()));
        let provider = Router::new()
            .merge(oauth::token_router(self.style.token_path).with_state(sim.clone()))
            .fallback_service(api)
            .layer(from_fn_with_state(sim.clone(), gateway::gateway));
        Router::new()
            .merge(oauth::consent_router(self.style.authorize_path).with_state(sim.clone()))
            .merge(control::router().with_state(sim.clone()))
            .merge(activity::router().with_state(sim.clone()))
            .merge(provider)
    }
}
