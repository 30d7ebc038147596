//! The HubSpot provider's own state, beside the engine's: its settings and the search budget of
//! each account (the ten-secondly budget is the engine's tenant budget; search has its own,
//! §3.7). It sits behind its own lock, taken while the engine's may be held, so code holding it
//! never takes the engine's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::sim::Simulator;
use crate::engine::throttle::{Budget, BudgetSpec};
use crate::hubspot::config::Config;

/// The HubSpot provider.
#[derive(Debug)]
pub(crate) struct HubSpot {
    pub config: Config,
    inner: Mutex<Inner>,
}

/// A handle for the HubSpot routes: the engine and the provider.
#[derive(Debug, Clone)]
pub(crate) struct Hs {
    pub sim: Simulator,
    pub hs: Arc<HubSpot>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    /// Per account: the search requests of the last second.
    search: HashMap<usize, Budget>,
}

impl HubSpot {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn inner(&self) -> MutexGuard<'_, Inner> {
        // As with the engine's lock: a test double takes over a poisoned lock.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits one search of `account` at base time `now`, or says it is over the limit.
    pub fn admit_search(&self, account: usize, now: i64) -> bool {
        let per_second = self.config.search_per_second.max(1);
        let mut inner = self.inner();
        let budget = inner.search.entry(account).or_insert_with(|| {
            Budget::new(BudgetSpec {
                per_window: per_second,
                window_ms: 1_000,
                per_day: u32::MAX,
            })
        });
        if budget.wait_ms(now) > 0 {
            return false;
        }
        budget.admit(now);
        true
    }
}

impl Hs {
    /// How long after a write a record becomes searchable.
    pub fn index_lag_ms(&self) -> i64 {
        self.hs.config.index_lag_secs.saturating_mul(1000)
    }
}
