//! What a round of the soak does to the provider, through the simulator's control API: faults
//! on its next requests, a step of its clock, its access tokens expired.

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Value, json};

use crate::demo::checked;
use crate::demo::provider::Provider;

/// Every way a provider request is made to fail: its status, or its kind with what it needs.
const FAULTS: [&str; 8] = [
    r#"{"status": 500}"#,
    r#"{"status": 503}"#,
    r#"{"status": 429}"#,
    r#"{"kind": "reset"}"#,
    r#"{"kind": "malformed"}"#,
    r#"{"kind": "html"}"#,
    r#"{"kind": "latency", "latency_ms": 1200}"#,
    r#"{"status": 502, "after": 1}"#,
];

/// Offsets of the provider's clock from the real one, in seconds; each step picks another, so
/// the clock goes back as often as forward.
const OFFSETS: [i64; 6] = [-300, -90, -30, 0, 30, 90];

/// The simulator's control API.
#[derive(Debug)]
pub(crate) struct Faults<'a> {
    http: &'a reqwest::Client,
    origin: &'a str,
    provider: &'a Provider,
    offset: std::sync::atomic::AtomicI64,
    /// The furthest ahead the provider's clock ran (seconds; it starts at 0).
    furthest: std::sync::atomic::AtomicI64,
}

impl<'a> Faults<'a> {
    pub fn new(http: &'a reqwest::Client, origin: &'a str, provider: &'a Provider) -> Self {
        Faults {
            http,
            origin,
            provider,
            offset: std::sync::atomic::AtomicI64::new(0),
            furthest: std::sync::atomic::AtomicI64::new(0),
        }
    }

    async fn post(&self, path: &str, body: Value, step: &str) -> anyhow::Result<Value> {
        checked(
            self.http
                .post(format!("{}/_sim/{path}", self.origin))
                .json(&body)
                .send()
                .await?,
            step,
        )
        .await
    }

    /// Queues one to three faults on the provider's next requests; returns how many.
    pub async fn inject(&self, rng: &mut SmallRng) -> anyhow::Result<u64> {
        let n = rng.random_range(1..=3u32);
        let mut fault: Value = serde_json::from_str(FAULTS[rng.random_range(0..FAULTS.len())])?;
        fault["count"] = json!(n);
        if rng.random_bool(0.5) {
            let resources = self.provider.sim_names;
            fault["resource"] = json!(resources[rng.random_range(0..resources.len())]);
        }
        self.post("faults", fault, "injecting a fault").await?;
        Ok(u64::from(n))
    }

    /// Slows the provider's next one to five answers by 0.2–1.5 s, so a poll is still reading
    /// pages when `serve` is killed.
    pub async fn slow_down(&self, rng: &mut SmallRng) -> anyhow::Result<u64> {
        let n = rng.random_range(1..=5u32);
        let fault = json!({"latency_ms": rng.random_range(200..1_500), "count": n});
        self.post("faults", fault, "slowing the provider").await?;
        Ok(u64::from(n))
    }

    /// Moves the provider's clock to another offset; false when it drew the same one.
    pub async fn step_clock(&self, rng: &mut SmallRng) -> anyhow::Result<bool> {
        use std::sync::atomic::Ordering;
        let offset = OFFSETS[rng.random_range(0..OFFSETS.len())];
        if offset == self.offset.swap(offset, Ordering::Relaxed) {
            return Ok(false);
        }
        self.furthest.fetch_max(offset, Ordering::Relaxed);
        self.post(
            "clock",
            json!({"offset_seconds": offset}),
            "stepping the provider's clock",
        )
        .await?;
        Ok(true)
    }

    /// Steps the provider's clock forward to the furthest ahead it ran, so every date the run
    /// wrote is in its past; false when it runs there already.
    pub async fn step_to_furthest_ahead(&self) -> anyhow::Result<bool> {
        use std::sync::atomic::Ordering;
        let furthest = self.furthest.load(Ordering::Relaxed);
        if self.offset.swap(furthest, Ordering::Relaxed) == furthest {
            return Ok(false);
        }
        self.post(
            "clock",
            json!({"offset_seconds": furthest}),
            "stepping the provider's clock to the furthest ahead it ran",
        )
        .await?;
        Ok(true)
    }

    /// Expires every access token: the next call is a 401 and a refresh.
    pub async fn expire_tokens(&self) -> anyhow::Result<()> {
        self.post("tokens/expire", json!({}), "expiring tokens")
            .await
            .map(|_| ())
    }

    /// Clears the faults still queued.
    pub async fn clear(&self) -> anyhow::Result<()> {
        let response = self
            .http
            .delete(format!("{}/_sim/faults", self.origin))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "clearing the faults answered {}",
            response.status()
        );
        Ok(())
    }
}
