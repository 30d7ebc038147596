//! REST hook data (v1 only): the subscriptions of each tenant and the outbox of deliveries, kept
//! by the Infusionsoft provider behind its own lock (apart from the engine's state, which it
//! never takes while holding this one).
//!
//! Behaviour from `shared/research/infusionsoft.md` §6: only `Verified` subscriptions get
//! events; deliveries carry up to 1,000 ids of one event key, the first 30–60 s after the
//! change, retried 30–60 s, 5 min and 30 min after failures (4 attempts in all, every delay
//! multiplied by `hook_time_scale`).

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::engine::records::{Action, Change};
use crate::infusionsoft::resources::Kind;

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
    pub fn json(&self) -> Value {
        json!({"key": self.key, "eventKey": self.event_key, "hookUrl": self.hook_url,
               "status": self.status})
    }
}

/// One changed record in a delivery.
#[derive(Debug, Clone)]
pub struct ObjectKey {
    pub id: i64,
    pub kind: Kind,
    pub timestamp_ms: i64,
}

/// Ids waiting to be delivered to one subscription.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: u64,
    pub tenant: usize,
    pub hook_key: String,
    pub event_key: String,
    pub object_type: &'static str,
    pub keys: Vec<ObjectKey>,
    pub due: Instant,
    pub attempts: u32,
    pub in_flight: bool,
}

/// Deliveries waiting or in flight.
#[derive(Debug)]
pub struct Outbox {
    pub batches: Vec<Batch>,
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
    pub fn retry_delay<R: Rng>(&self, attempts: u32, rng: &mut R) -> Duration {
        match attempts {
            1 => self.scaled(rng.random_range(30.0..60.0)),
            2 => self.scaled(300.0),
            _ => self.scaled(1800.0),
        }
    }

    /// Adds one changed record to the open batch of a subscription (or opens one, due after
    /// `delay`).
    fn push(
        &mut self,
        tenant: usize,
        hook_key: &str,
        event_key: &str,
        object_type: &'static str,
        key: ObjectKey,
        delay: Duration,
    ) {
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

    pub fn forget_hook(&mut self, tenant: usize, hook_key: &str) {
        self.batches
            .retain(|b| !(b.tenant == tenant && b.hook_key == hook_key));
    }
}

/// One tenant's subscriptions.
#[derive(Debug, Default)]
pub struct TenantHooks {
    pub hooks: BTreeMap<String, Hook>,
    pub next_hook: u64,
}

/// Everything REST hooks keep: subscriptions per tenant, the outbox, and the random numbers for
/// secrets and delays.
#[derive(Debug)]
pub struct Hooks {
    pub tenants: Vec<TenantHooks>,
    pub outbox: Outbox,
    pub rng: StdRng,
    /// Faults asked for at `/_sim/hooks/faults`: the next deliveries lost (never sent, as a
    /// delivery Keap drops) and duplicated (sent twice, as at-least-once delivery allows).
    pub lose: u32,
    pub duplicate: u32,
}

impl Hooks {
    pub fn new(tenants: usize, scale: f64, random_seed: u64) -> Self {
        Self {
            tenants: (0..tenants.max(1))
                .map(|_| TenantHooks {
                    hooks: BTreeMap::new(),
                    next_hook: 1,
                })
                .collect(),
            outbox: Outbox::new(scale),
            // Its own generator, apart from the engine's, so hooks never take the engine's lock.
            rng: StdRng::seed_from_u64(random_seed ^ 0x486F_6F6B),
            lose: 0,
            duplicate: 0,
        }
    }

    /// A random secret of 28 letters and digits for the `X-Hook-Secret` handshake.
    pub fn random_secret(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..28)
            .map(|_| char::from(ALPHABET[self.rng.random_range(0..ALPHABET.len())]))
            .collect()
    }

    pub fn hook_mut(&mut self, tenant: usize, key: &str) -> Option<&mut Hook> {
        self.tenants.get_mut(tenant)?.hooks.get_mut(key)
    }

    /// Queues a delivery for every verified subscription to this change's event key.
    pub fn queue(&mut self, change: &Change) {
        let Some(kind) = Kind::from_path(change.resource) else {
            return;
        };
        let Some(object) = kind.hook_object() else {
            return;
        };
        let suffix = match change.action {
            Action::Add => "add",
            Action::Edit => "edit",
            Action::Delete => "delete",
        };
        let event_key = format!("{object}.{suffix}");
        let Some(tenant) = self.tenants.get(change.tenant) else {
            return;
        };
        let keys: Vec<String> = tenant
            .hooks
            .values()
            .filter(|hook| hook.status == HookStatus::Verified && hook.event_key == event_key)
            .map(|hook| hook.key.clone())
            .collect();
        for key in keys {
            let delay = self.outbox.first_delay(&mut self.rng);
            let object_key = ObjectKey {
                id: change.id,
                kind,
                timestamp_ms: change.at_ms,
            };
            self.outbox
                .push(change.tenant, &key, &event_key, object, object_key, delay);
        }
    }

    /// Gives up on a subscription: `Inactive`, its deliveries dropped.
    pub fn deactivate(&mut self, tenant: usize, hook_key: &str) {
        if let Some(hook) = self.hook_mut(tenant, hook_key) {
            hook.status = HookStatus::Inactive;
        }
        self.outbox.forget_hook(tenant, hook_key);
    }
}
