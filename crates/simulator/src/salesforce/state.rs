//! The Salesforce provider's own state, beside the engine's: its settings, the open query
//! locators (server-side cursors), the delete-log purges, and its own random numbers (short page
//! sizes, token signatures). It sits behind its own lock, taken while the engine's may be held,
//! so code holding it never takes the engine's.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::engine::sim::Simulator;
use crate::salesforce::config::Config;
use crate::salesforce::ids;

/// A query locator and its results stay available this long (API v56.0 and later: two days).
pub const LOCATOR_TTL_MS: i64 = 2 * 86_400_000;
/// Open locators kept at most; the oldest is dropped past it (its URL then gets
/// `INVALID_QUERY_LOCATOR`, as an expired one does).
const MAX_LOCATORS: usize = 1_000;
/// How far back the delete log and the Recycle Bin reach.
pub const DELETE_RETENTION_MS: i64 = 15 * 86_400_000;

/// The Salesforce provider.
#[derive(Debug)]
pub(crate) struct Salesforce {
    pub config: Config,
    inner: Mutex<Inner>,
}

/// A handle for the Salesforce routes: the engine and the provider.
#[derive(Debug, Clone)]
pub(crate) struct Sf {
    pub sim: Simulator,
    pub sf: Arc<Salesforce>,
}

/// The results of a query, kept for its locator: records rendered when the query ran (a cursor
/// is a snapshot), so following `nextRecordsUrl` never loses or repeats one.
#[derive(Debug)]
pub struct Locator {
    pub org: usize,
    pub records: Vec<Value>,
    pub batch: usize,
    /// Base-clock time of the query.
    pub opened_ms: i64,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub rng: StdRng,
    locators: HashMap<String, Locator>,
    /// Locator ids, oldest first.
    opened: VecDeque<String>,
    next_locator: i64,
    /// Per org and object: deletions before this provider time are purged from the delete log
    /// and the Recycle Bin.
    purged: HashMap<(usize, &'static str), i64>,
}

impl Salesforce {
    pub fn new(config: Config) -> Self {
        let rng = StdRng::seed_from_u64(config.random_seed ^ 0x5F0C_E000);
        Self {
            config,
            inner: Mutex::new(Inner {
                rng,
                locators: HashMap::new(),
                opened: VecDeque::new(),
                next_locator: 1,
                purged: HashMap::new(),
            }),
        }
    }

    pub fn inner(&self) -> MutexGuard<'_, Inner> {
        // As with the engine's lock: a test double takes over a poisoned lock.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Keeps `locator` and returns its id (`01g…`).
    pub fn open(&mut self, locator: Locator) -> String {
        let id = ids::encode("01g", self.next_locator);
        self.next_locator += 1;
        self.locators.insert(id.clone(), locator);
        self.opened.push_back(id.clone());
        while self.opened.len() > MAX_LOCATORS {
            if let Some(oldest) = self.opened.pop_front() {
                self.locators.remove(&oldest);
            }
        }
        id
    }

    /// The locator `id` of `org`, unless unknown or expired at base time `now`.
    pub fn locator(&self, id: &str, org: usize, now: i64) -> Option<&Locator> {
        self.locators
            .get(id)
            .filter(|locator| locator.org == org && now - locator.opened_ms < LOCATOR_TTL_MS)
    }

    /// How many records the next page holds: the batch size, or — with short pages on, about
    /// one page in four — fewer, as Salesforce may return; never more than remain.
    pub fn page_size(&mut self, batch: usize, remaining: usize, short_pages: bool) -> usize {
        let size = if short_pages && batch > 1 && self.rng.random_bool(0.25) {
            self.rng.random_range(1..batch)
        } else {
            batch
        };
        size.min(remaining)
    }

    /// The provider time before which an object's deletions are gone (purged, or older than
    /// the retention at provider time `now`).
    pub fn delete_horizon(&self, org: usize, object: &'static str, now: i64) -> i64 {
        let retained = now - DELETE_RETENTION_MS;
        self.purged
            .get(&(org, object))
            .map_or(retained, |purged| (*purged).max(retained))
    }

    /// Purges an object's deletions before provider time `before`.
    pub fn purge(&mut self, org: usize, object: &'static str, before: i64) {
        let entry = self.purged.entry((org, object)).or_insert(before);
        *entry = (*entry).max(before);
    }

    /// The purge point of an object, when its delete log was purged.
    pub fn purged(&self, org: usize, object: &'static str) -> Option<i64> {
        self.purged.get(&(org, object)).copied()
    }

    /// A token response's `signature`: 32 random bytes in base64.
    pub fn signature(&mut self) -> String {
        let bytes: [u8; 32] = self.rng.random();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}
