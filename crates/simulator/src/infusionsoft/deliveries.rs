//! The REST hook delivery worker: sends due batches `{"event_key", "object_type",
//! "object_keys": [{"id", "apiUrl", "timestamp"}]}`, retries failures on the outbox's schedule,
//! and makes a subscription `Inactive` on a 410 or after four failed attempts
//! (`shared/research/infusionsoft.md` §6).

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use crate::engine::dates::format_zulu;
use crate::engine::sim::Simulator;
use crate::infusionsoft::keap::Infusionsoft;
use crate::infusionsoft::outbox::{Batch, HookStatus, MAX_ATTEMPTS};

/// Sends due batches until the simulator stops.
pub async fn run_deliveries(sim: Simulator, keap: Arc<Infusionsoft>) {
    loop {
        let (due, next) = {
            let mut hooks = keap.hooks();
            let now = Instant::now();
            let mut due = Vec::new();
            for batch in hooks.outbox.batches.iter_mut() {
                if !batch.in_flight && batch.due <= now {
                    batch.in_flight = true;
                    due.push(batch.clone());
                }
            }
            let next = hooks
                .outbox
                .batches
                .iter()
                .filter(|b| !b.in_flight)
                .map(|b| b.due)
                .min();
            (due, next)
        };
        for batch in due {
            tokio::spawn(deliver(sim.origin(), keap.clone(), batch));
        }
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            _ = tokio::time::sleep_until(next.unwrap_or(far)) => {}
            _ = keap.wake.notified() => {}
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

async fn deliver(origin: String, keap: Arc<Infusionsoft>, batch: Batch) {
    // A delivery lost on the way (`/_sim/hooks/faults`): never sent, never retried.
    let (lost, twice) = {
        let mut hooks = keap.hooks();
        let lost = hooks.lose > 0;
        if lost {
            hooks.lose -= 1;
            hooks.outbox.batches.retain(|b| b.id != batch.id);
        }
        let twice = !lost && hooks.duplicate > 0;
        if twice {
            hooks.duplicate -= 1;
        }
        (lost, twice)
    };
    if lost {
        keap.wake.notify_one();
        return;
    }
    let target = keap
        .hooks()
        .tenants
        .get(batch.tenant)
        .and_then(|t| t.hooks.get(&batch.hook_key))
        .filter(|hook| hook.status == HookStatus::Verified)
        .map(|hook| hook.hook_url.clone());
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
            if twice {
                // The same delivery sent once more first; its answer is not looked at.
                let _ = keap.http.post(&url).json(&body).send().await;
            }
            match keap.http.post(&url).json(&body).send().await {
                Ok(response) if response.status() == StatusCode::GONE => Outcome::Gone,
                Ok(response) if response.status().is_success() => Outcome::Delivered,
                Ok(_) | Err(_) => Outcome::Failed,
            }
        }
    };
    {
        let mut hooks = keap.hooks();
        let hooks = &mut *hooks;
        let Some(index) = hooks.outbox.batches.iter().position(|b| b.id == batch.id) else {
            return;
        };
        match outcome {
            Outcome::Delivered => {
                hooks.outbox.batches.remove(index);
            }
            Outcome::Gone => hooks.deactivate(batch.tenant, &batch.hook_key),
            Outcome::Failed => {
                let attempts = batch.attempts + 1;
                if attempts >= MAX_ATTEMPTS {
                    hooks.deactivate(batch.tenant, &batch.hook_key);
                } else {
                    let delay = hooks.outbox.retry_delay(attempts, &mut hooks.rng);
                    let entry = &mut hooks.outbox.batches[index];
                    entry.attempts = attempts;
                    entry.in_flight = false;
                    entry.due = Instant::now() + delay;
                }
            }
        }
    }
    keap.wake.notify_one();
}
