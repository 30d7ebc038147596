//! The pacer: one token bucket per provider app, shared by every instance of that app.
//!
//! A provider's budget may belong to the OAuth app, across all the tenants that use it, so
//! instances must not pace themselves independently. The bucket starts from the element's
//! published rate and is corrected downward by the provider's own count of what is left (read
//! from the headers the element names, see `signals`): when another process spends the same
//! budget, the headers say so. A throttled answer blocks the app until `Retry-After` (capped)
//! or, without one, for an exponential back-off with jitter; a success resets the back-off. A
//! pause (a quota spent until a reset) blocks the app for a given time.
//!
//! A bucket's key is whatever owns the budget (`budgets`): the app's client id, or the app and
//! an instance where each tenant has its own. A key may also cap the requests it has in flight
//! at once ([`Pacer::slot`]: QuickBooks' 10 per realm).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest `Retry-After` honoured; a provider asking for more gets this and a retry.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// The longest pause of an app (a daily quota spent): a day.
pub const MAX_PAUSE: Duration = Duration::from_secs(86_400);

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    blocked_until: Option<Instant>,
    failures: u32,
}

/// Told of every provider request a client sends through a pacer: the element, the answer's
/// status (`None`: no answer — refused, reset, timed out) and how long it took. The server
/// feeds its request-duration histogram with it; this crate knows nothing of metrics.
pub type RequestObserver = std::sync::Arc<dyn Fn(&str, Option<u16>, Duration) + Send + Sync>;

/// Shared pacing state of every provider app this process calls.
pub struct Pacer {
    /// The element whose apps this pacer paces, and who is told of each request.
    observer: Option<(String, RequestObserver)>,
    per_minute: f64,
    burst: f64,
    apps: Mutex<HashMap<String, Bucket>>,
    /// Per key: the requests it may have in flight at once.
    slots: Mutex<HashMap<String, std::sync::Arc<Semaphore>>>,
    waited_ms: AtomicU64,
    waits: AtomicU64,
    throttled: AtomicU64,
}

impl Pacer {
    /// A pacer for apps allowed `per_minute` requests per minute.
    pub fn new(per_minute: u32) -> Pacer {
        Pacer::with_window(per_minute, Duration::from_secs(60))
    }

    /// A pacer for apps allowed `limit` requests per `window` (tests shorten the minute).
    pub fn with_window(limit: u32, window: Duration) -> Pacer {
        let limit = f64::from(limit.max(1));
        let per_minute = limit * 60.0 / window.as_secs_f64().max(0.001);
        Pacer {
            observer: None,
            per_minute,
            // Up to a tenth of the window's budget at once (at least one request), so a burst
            // never exceeds what the provider's rolling window allows.
            burst: (limit / 10.0).max(1.0),
            apps: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            waited_ms: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    fn with_bucket<T>(&self, app: &str, f: impl FnOnce(&mut Bucket, f64, f64) -> T) -> T {
        let mut apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = apps.entry(app.to_owned()).or_insert_with(|| Bucket {
            tokens: self.burst,
            refilled: Instant::now(),
            blocked_until: None,
            failures: 0,
        });
        f(bucket, self.per_minute / 60.0, self.burst)
    }

    /// Waits until `app` may send one request; returns how long it waited.
    pub async fn acquire(&self, app: &str) -> Duration {
        let started = Instant::now();
        loop {
            let wait = self.with_bucket(app, |bucket, rate, burst| {
                let now = Instant::now();
                if let Some(until) = bucket.blocked_until {
                    if until > now {
                        return until - now;
                    }
                    bucket.blocked_until = None;
                }
                let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
                bucket.refilled = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    Duration::ZERO
                } else {
                    Duration::from_secs_f64((1.0 - bucket.tokens) / rate)
                }
            });
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        let waited = started.elapsed();
        if !waited.is_zero() {
            self.waits.fetch_add(1, Ordering::Relaxed);
            self.waited_ms.fetch_add(
                u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
        waited
    }

    /// Waits until `key` has fewer than `limit` requests in flight; the permit holds one place
    /// until it is dropped (after the answer is read).
    pub async fn slot(&self, key: &str, limit: u32) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry(key.to_owned())
                .or_insert_with(|| {
                    std::sync::Arc::new(Semaphore::new(usize::try_from(limit.max(1)).unwrap_or(1)))
                })
                .clone()
        };
        // A semaphore is never closed here; `None` would only mean no limit.
        semaphore.acquire_owned().await.ok()
    }

    /// Takes the provider's count of requests left (when a response said), and a success
    /// resets back-off.
    pub fn observe(&self, app: &str, remaining: Option<f64>, success: bool) {
        self.with_bucket(app, |bucket, _, _| {
            if let Some(available) = remaining
                && available < bucket.tokens
            {
                bucket.tokens = available;
            }
            if success {
                bucket.failures = 0;
            }
        });
    }

    /// Blocks the app for `wait` (capped at [`MAX_PAUSE`]): a quota spent until its reset.
    pub fn pause(&self, app: &str, wait: Duration) -> Duration {
        let wait = wait.min(MAX_PAUSE);
        self.with_bucket(app, |bucket, _, _| {
            let until = Instant::now() + wait;
            bucket.tokens = 0.0;
            if bucket.blocked_until.is_none_or(|at| at < until) {
                bucket.blocked_until = Some(until);
            }
        });
        wait
    }

    /// A 429: block the app for `retry_after` (capped), or back off exponentially with jitter.
    pub fn throttled(&self, app: &str, retry_after: Option<Duration>) -> Duration {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        self.with_bucket(app, |bucket, _, _| {
            bucket.failures = bucket.failures.saturating_add(1);
            let wait = match retry_after {
                Some(wait) => wait.min(MAX_RETRY_AFTER),
                None => {
                    let base =
                        Duration::from_secs(1) * 2u32.saturating_pow(bucket.failures.min(6) - 1);
                    let jitter = rand::rng().random_range(0.8..1.2);
                    base.mul_f64(jitter).min(MAX_RETRY_AFTER)
                }
            };
            bucket.tokens = 0.0;
            bucket.blocked_until = Some(Instant::now() + wait);
            wait
        })
    }

    /// Tells the observer (if any) of a request sent: its status (`None`: no answer) and how
    /// long it took.
    pub fn record(&self, status: Option<u16>, took: Duration) {
        if let Some((element, observer)) = &self.observer {
            observer(element, status, took);
        }
    }

    /// (waits, total milliseconds waited, 429s seen) since start, for metrics.
    pub fn stats(&self) -> (u64, u64, u64) {
        (
            self.waits.load(Ordering::Relaxed),
            self.waited_ms.load(Ordering::Relaxed),
            self.throttled.load(Ordering::Relaxed),
        )
    }
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("per_minute", &self.per_minute)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

/// Every pacer, one per element key (elements have different budgets).
#[derive(Default)]
pub struct Pacers {
    by_element: Mutex<HashMap<String, std::sync::Arc<Pacer>>>,
    observer: Option<RequestObserver>,
}

impl std::fmt::Debug for Pacers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacers")
            .field("by_element", &self.by_element)
            .finish_non_exhaustive()
    }
}

impl Pacers {
    /// Pacers whose requests are each told to `observer` (element, status, duration).
    pub fn with_observer(observer: RequestObserver) -> Pacers {
        Pacers {
            by_element: Mutex::default(),
            observer: Some(observer),
        }
    }

    pub fn for_element(&self, key: &str, limit: u32, window: Duration) -> std::sync::Arc<Pacer> {
        let mut map = self.by_element.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_owned())
            .or_insert_with(|| {
                let mut pacer = Pacer::with_window(limit, window);
                pacer.observer = self.observer.clone().map(|o| (key.to_owned(), o));
                std::sync::Arc::new(pacer)
            })
            .clone()
    }

    /// The pacers of an element's extra budgets (`[[api.rate_limit.budgets]]`), in their order;
    /// `rate` replaces each one's published rate with `(requests, window)` (an app with a raised
    /// quota, or tests).
    pub fn for_budgets(
        &self,
        element: &crate::Element,
        rate: Option<(u32, Duration)>,
    ) -> Vec<std::sync::Arc<Pacer>> {
        element
            .api
            .rate_limit
            .budgets
            .iter()
            .map(|budget| {
                // `per` was validated when the definition loaded; a second if it were not.
                let per = crate::signals::parse_duration(&budget.per)
                    .ok()
                    .filter(|d| !d.is_zero())
                    .unwrap_or(Duration::from_secs(1));
                let (limit, window) = rate.unwrap_or((budget.requests, per));
                self.for_element(&format!("{}#{}", element.key, budget.name), limit, window)
            })
            .collect()
    }

    /// (element key, waits, ms waited, 429s) of every pacer, for metrics.
    pub fn stats(&self) -> Vec<(String, u64, u64, u64)> {
        let map = self.by_element.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<_> = map
            .iter()
            .map(|(key, pacer)| {
                let (waits, ms, throttled) = pacer.stats();
                (key.clone(), waits, ms, throttled)
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_paced_to_the_budget_per_app() {
        let pacer = Pacer::new(60); // one a second, bursts of 6
        let started = Instant::now();
        for _ in 0..6 {
            assert_eq!(pacer.acquire("app").await, Duration::ZERO);
        }
        pacer.acquire("app").await;
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(1),
            "the seventh waits a second"
        );
        assert_eq!(
            pacer.acquire("other").await,
            Duration::ZERO,
            "apps do not share a bucket"
        );
        assert_eq!(pacer.stats().0, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_providers_count_corrects_the_bucket_and_a_429_blocks_the_app() {
        let pacer = Pacer::new(600);
        pacer.observe("app", Some(0.0), true);
        let waited = pacer.acquire("app").await;
        assert_eq!(
            waited,
            Duration::from_millis(100),
            "no token left: wait for one"
        );
        assert_eq!(
            pacer.throttled("app", Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        let started = Instant::now();
        pacer.acquire("app").await;
        assert!(started.elapsed() >= Duration::from_secs(7));
        assert_eq!(
            pacer.throttled("app", Some(Duration::from_secs(3600))),
            MAX_RETRY_AFTER
        );
        let backoff = pacer.throttled("other", None);
        assert!(backoff >= Duration::from_millis(800) && backoff <= Duration::from_millis(1200));
        let second = pacer.throttled("other", None);
        assert!(second >= Duration::from_millis(1600), "{second:?} doubles");
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_has_at_most_its_limit_of_requests_in_flight() {
        let pacer = Pacer::new(600);
        let first = pacer.slot("app/realm", 2).await;
        let _second = pacer.slot("app/realm", 2).await;
        let other = tokio::time::timeout(Duration::from_secs(1), pacer.slot("app/other", 2)).await;
        assert!(other.is_ok(), "another key has its own places");
        let third = tokio::time::timeout(Duration::from_secs(1), pacer.slot("app/realm", 2)).await;
        assert!(third.is_err(), "the third waits while two are in flight");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(1), pacer.slot("app/realm", 2)).await;
        assert!(third.is_ok(), "a place freed is taken");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_blocks_the_app_for_its_wait_and_no_shorter_pause_cuts_it() {
        let pacer = Pacer::new(600);
        assert_eq!(
            pacer.pause("app", Duration::from_secs(60)),
            Duration::from_secs(60)
        );
        pacer.pause("app", Duration::from_secs(5));
        let started = Instant::now();
        pacer.acquire("app").await;
        assert!(started.elapsed() >= Duration::from_secs(60));
        assert_eq!(
            pacer.pause("app", Duration::from_secs(7 * 86_400)),
            MAX_PAUSE
        );
    }
}
