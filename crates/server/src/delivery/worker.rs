//! The delivery worker of one process: its state, and its loop — a continuous pipeline that
//! queues new events and starts sends as slots free, with `run_once` for tests that step it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::callbacks::Callbacks;
use super::record::Recorder;
use super::sign::SigningCache;
use crate::guard::GuardedResolver;
use crate::state::AppState;

/// Sends answered and waiting for their attempt's commit, at most, in slots
/// (`TRIBUTARY_DELIVERY_CONCURRENCY`).
pub const UNSETTLED_PER_SLOT: usize = 4;

/// A leased notification (claimed, or leased as it was queued): its record and when its lease
/// ends.
pub(super) use super::handoff::Waiting;

/// The delivery worker of one process.
#[derive(Debug, Clone)]
pub struct Deliverer {
    pub(super) state: AppState,
    pub(super) owner: String,
    pub(super) http: reqwest::Client,
    concurrency: usize,
    /// Callback URLs parsed, with their host's slot: sends in flight per callback host.
    pub(super) callbacks: Arc<Callbacks>,
    /// Sends in flight per callback URL, so a claim takes no more than their hosts can start.
    pub(super) urls: Arc<Mutex<HashMap<String, usize>>>,
    /// Claimed ahead for busy hosts, waiting for their slots (`claim`).
    pub(super) ahead: Arc<Mutex<VecDeque<Waiting>>>,
    /// Instance id → (version, how its notifications are signed).
    pub(super) signing: Arc<SigningCache>,
    pub(super) recorder: Arc<Recorder>,
    /// Room among the sends answered and waiting for their attempt's commit
    /// ([`UNSETTLED_PER_SLOT`] times the slots): a send takes some to start and gives it back
    /// once recorded.
    pub(super) unsettled: Arc<tokio::sync::Semaphore>,
    /// Told when a send gives its host's slot back (the receiver answered), so the loop starts
    /// what waits for that host at once rather than when some send's commit is done.
    pub(super) freed: Arc<tokio::sync::Notify>,
    /// (instance, version) whose unreadable configuration was logged already.
    pub(super) unreadable: Arc<Mutex<HashSet<(i64, i64)>>>,
}

impl Deliverer {
    pub fn new(state: AppState, concurrency: usize) -> Result<Deliverer, reqwest::Error> {
        let per_host = state.settings.delivery_per_host;
        let http = reqwest::Client::builder()
            // Callbacks never go through a proxy from the environment (HTTP_PROXY,
            // HTTPS_PROXY, ALL_PROXY): through one, the guard would judge the proxy's address
            // and the proxy would connect to wherever the callback names — loopback included.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(state.settings.delivery_timeout)
            .connect_timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(GuardedResolver::system(
                state.settings.allow_private_callbacks,
                "callback host",
            )))
            .user_agent(concat!("tributary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            owner: format!("{}-{}", std::process::id(), crate::secrets::random_secret()),
            state,
            http,
            concurrency: concurrency.max(1),
            unsettled: Arc::new(tokio::sync::Semaphore::new(
                concurrency.max(1) * UNSETTLED_PER_SLOT,
            )),
            callbacks: Arc::new(Callbacks::new(per_host)),
            urls: Arc::default(),
            ahead: Arc::default(),
            signing: Arc::default(),
            recorder: Arc::default(),
            freed: Arc::default(),
            unreadable: Arc::default(),
        })
    }

    /// Sends at once at most.
    pub(super) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// One pass: queues what is unqueued, then sends what is due, to the end. Tests step it.
    pub async fn run_once(&self) -> (usize, usize) {
        let queued = self.queue().await;
        let sent = self.send_due().await;
        (queued, sent)
    }

    /// Deletes finished history older than the retention period; returns how many events went.
    pub async fn prune(&self) -> u64 {
        let retention =
            i64::try_from(self.state.settings.retention.as_millis()).unwrap_or(i64::MAX);
        match self
            .state
            .store
            .prune(self.state.now_ms().saturating_sub(retention))
            .await
        {
            Ok(pruned) => pruned,
            Err(error) => {
                tracing::error!(%error, "could not prune old events");
                0
            }
        }
    }

    /// Runs until shutdown: a continuous pipeline — sends run as tasks, so a slow receiver holds
    /// at most its host's share of the slots and never stalls the others; claims run as a task
    /// of their own, one at a time, so what waits ahead keeps starting as slots free while a
    /// claim waits for the database; new work is claimed as slots free, when polls store
    /// events, or every half second. Prunes old history hourly.
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        // While it is idle, polls' commits queue and lease to it what it can start at once
        // (`outbox`), and hand it over here.
        let plan = {
            let (this, slots) = (self.clone(), slots.clone());
            Box::new(move |notifications: &[tributary_store::NewNotification]| {
                this.to_lease(&slots, notifications)
            })
        };
        let handoff = Closing(self.state.handoff.clone());
        handoff.0.open(self.owner.clone(), self.lease_ms(), plan);
        let mut sends = JoinSet::new();
        let mut pruned_at: Option<Instant> = None;
        // Unnotified events appear when a poll stores them (it nudges), or on another node
        // (the timer finds them); a send finishing adds none, so it skips the look.
        let mut queue_due = true;
        // The last claim came back short and nothing was queued or woke the loop since: no
        // claim only to look for more (`claim_request`'s probe) until something may have come
        // due.
        let mut dry = false;
        // The last claim came back short: nothing was due beyond what it took, so what is
        // queued now may be leased and started at once (`queue_leasing`) without passing
        // anything due before it.
        let mut short = false;
        // The claim in flight, and whether something may have come due since it was made (so
        // that its coming back short proves nothing).
        let mut claiming = None;
        let mut woken = false;
        // No claim right after one that came back short with nothing woken since: only what
        // wakes the loop (a send done, a slot freed, a nudge, the timer) may make the next.
        let mut may_claim = true;
        loop {
            if pruned_at.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                let pruned = self.prune().await;
                if pruned > 0 {
                    tracing::info!(pruned, "pruned old events");
                }
                pruned_at = Some(Instant::now());
            }
            while sends.try_join_next().is_some() {}
            // What polls' commits leased to it while it was idle: nothing due came before.
            let handed = handoff.0.take();
            if !handed.is_empty() {
                let (ahead, now) = (self.may_wait_ahead(), self.state.now_ms());
                self.start_leased(handed, &slots, &mut sends, ahead, now)
                    .await;
            }
            let (queued, leased) = if queue_due {
                self.queue_leasing(short.then_some(slots.as_ref())).await
            } else {
                (0, Vec::new())
            };
            queue_due = queued > 0;
            // Queued and leased at once, nothing new is due for a claim to find.
            dry &= queued == leased.len();
            if queued > leased.len() {
                (woken, may_claim) = (true, true);
            }
            let (ahead, now) = (self.may_wait_ahead(), self.state.now_ms());
            self.start_leased(leased, &slots, &mut sends, ahead, now)
                .await;
            self.start_waiting(&slots, &mut sends, now).await;
            if claiming.is_none()
                && may_claim
                && let Some(request) = self.claim_request(&slots, true, !dry)
            {
                let this = self.clone();
                claiming = Some(tokio::spawn(async move { this.claim(request).await }));
                woken = false;
            }
            if queued > 0 {
                continue;
            }
            may_claim = true;
            tokio::select! {
                claimed = async { claiming.as_mut().expect("a claim in flight").await },
                    if claiming.is_some() =>
                {
                    claiming = None;
                    // A claim's task that panicked took nothing it could tell of: its leases
                    // protect what it may have taken.
                    let claimed = claimed.unwrap_or_default();
                    let (ahead, now) = (self.may_wait_ahead(), self.state.now_ms());
                    self.start_leased(claimed.leased, &slots, &mut sends, ahead, now)
                        .await;
                    // Around again at once while there may be more: a claim that came back
                    // short means nothing else was due (or every due one's receiver is busy) —
                    // unless something may have come due while it was in flight. A refill
                    // tells only of its URLs: around again only if it got all it asked for.
                    if claimed.refill {
                        may_claim = claimed.full;
                    } else {
                        dry = !claimed.full && !woken;
                        short = dry;
                        may_claim = !dry;
                        handoff.0.set_idle(short);
                    }
                    continue;
                }
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    (queue_due, dry, woken) = (true, false, true);
                }
                _ = self.state.delivery_nudge.notified() => {
                    (queue_due, dry, woken) = (true, false, true);
                }
                _ = self.freed.notified() => {}
                _ = handoff.0.ready.notified() => {}
                Some(_) = sends.join_next(), if !sends.is_empty() => {}
                _ = shutdown.cancelled() => break,
            }
        }
        // What waits ahead, was handed over and not started, or is being claimed goes back at
        // once; sends in flight finish (each is bounded by its timeout); their leases protect
        // the rest.
        if let Some(claim) = claiming
            && let Ok(claimed) = claim.await
        {
            self.lock_ahead().extend(claimed.leased);
        }
        let handed = handoff.0.close();
        self.lock_ahead().extend(handed);
        self.give_back_waiting().await;
        let _ = tokio::time::timeout(self.state.settings.delivery_timeout, async {
            while sends.join_next().await.is_some() {}
        })
        .await;
    }
}

/// Closes the handoff when the worker's loop ends, however it ends (its plan holds a clone of
/// the worker, which holds the state that holds the handoff).
struct Closing(Arc<super::handoff::Handoff>);

impl Drop for Closing {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Deliverer {
    /// Claims due notifications and sends them with the same global and per-host limits as
    /// [`Deliverer::run`], waiting for every send; returns how many started.
    pub async fn send_due(&self) -> usize {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.concurrency));
        let mut sends = JoinSet::new();
        let (started, _) = self.start_sends(&slots, &mut sends, false, true).await;
        while sends.join_next().await.is_some() {}
        started
    }
}
