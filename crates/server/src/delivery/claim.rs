//! Claiming due notifications: as many as there are free slots, no more per callback URL than
//! its host can start (`TRIBUTARY_DELIVERY_PER_HOST` per host and port), so one slow receiver
//! holds at most its host's share and never stalls the others.
//!
//! The running worker also **claims ahead** for a busy host (issue 21): up to
//! [`AHEAD_PER_HOST`] times the host's share more than it can start, kept in this process under
//! their leases and started as the host's slots free, so a host that answers fast costs one
//! claim statement per batch rather than one per notification. What waits ahead is bounded
//! ([`AHEAD_PER_SLOT`] times the slots in all) and is started only while its lease has a
//! send's timeout and a margin (a quarter of the lease, 10 s at most) left; past that it is
//! dropped here and left to its lease, like a send in flight, since giving it back could race
//! the lease's end and clear another worker's claim. The worker gives back what still has
//! lease enough when it stops; a process that dies holding some leaves them to their leases.
//! With a lease too short to leave room after a send's timeout and the margin, nothing is
//! claimed ahead.
//!
//! Two kinds of claim: one of every URL's, when a slot is free and something may be due for
//! it (the store ranks the soonest due within their URLs, each up to its cap), and a
//! **refill**, once that claim has come back short, for the URLs being sent to whose
//! notifications waiting ahead run low (caps' default 0: each URL read through its own index
//! of queued notifications, issue 21). The running worker makes either in a task of its own,
//! one at a time (`worker`), so what waits ahead keeps starting while a claim waits for the
//! database.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::task::JoinSet;
use tributary_store::{CallbackCaps, NotificationRecord};

use super::worker::{Deliverer, Waiting};

/// Claimed ahead per URL, in host shares (`TRIBUTARY_DELIVERY_PER_HOST`).
pub const AHEAD_PER_HOST: usize = 8;
/// Claimed ahead in all, in slots (`TRIBUTARY_DELIVERY_CONCURRENCY`).
pub const AHEAD_PER_SLOT: usize = 4;
/// What a notification's lease must have left beyond a send's timeout for it to be started,
/// at most (a quarter of the lease when that is less).
const LEASE_MARGIN_MS: i64 = 10_000;
/// What a lease must have left for a notification to be given back rather than left to it.
const GIVE_BACK_MARGIN_MS: i64 = 5_000;

/// A claim to make: how many to take, what each URL may take, and when it was decided.
#[derive(Debug)]
pub(super) struct ClaimRequest {
    limit: usize,
    caps: CallbackCaps,
    now: i64,
    /// Only for the URLs being sent to, whose notifications waiting ahead run low (its caps'
    /// default is 0): a refill, which says nothing of what else may be due.
    refill: bool,
}

/// What a claim took, each with its lease's end, and whether it came back full: it took all
/// it asked for, so more may be due (for a refill: more of its URLs').
#[derive(Debug, Default)]
pub(super) struct Claimed {
    pub leased: Vec<Waiting>,
    pub full: bool,
    /// It was a refill, which tells nothing of what else may be due.
    pub refill: bool,
}

impl Deliverer {
    /// Claims as many due notifications as there are free slots (and their hosts can take) and
    /// starts sending them; a notification whose host turned out busy goes back, due again
    /// shortly — or, with `ahead`, waits here for a slot of its host (see the module docs).
    /// What waits ahead already starts first.
    ///
    /// Returns how many started, and whether a claim of every URL's was made and came back
    /// full (`Some(true)`: more may be due), short (`Some(false)`) or not made (`None`). The
    /// stepped worker (`send_due`) claims so; the running one makes the same claim in a task
    /// of its own, so sends keep starting while it is in flight (`run`).
    pub(super) async fn start_sends(
        &self,
        slots: &Arc<tokio::sync::Semaphore>,
        sends: &mut JoinSet<()>,
        ahead: bool,
        probe: bool,
    ) -> (usize, Option<bool>) {
        let now = self.state.now_ms();
        let mut started = self.start_waiting(slots, sends, now).await;
        let Some(request) = self.claim_request(slots, ahead, probe) else {
            return (started, None);
        };
        let claimed = self.claim(request).await;
        started += self
            .start_leased(claimed.leased, slots, sends, ahead, now)
            .await;
        (started, (!claimed.refill).then_some(claimed.full))
    }

    /// The claim worth making now, if any: as many as the free `slots` (and, with `ahead`,
    /// the room ahead) can take.
    ///
    /// With `probe` false (the last claim came back short and nothing has been queued or come
    /// due since), it claims only for a callback URL whose notifications waiting ahead run low
    /// — not once per finished send for a free slot that no due notification could fill.
    pub(super) fn claim_request(
        &self,
        slots: &tokio::sync::Semaphore,
        ahead: bool,
        probe: bool,
    ) -> Option<ClaimRequest> {
        let free = slots.available_permits();
        let waiting = self.lock_ahead().len();
        let ahead = ahead && self.may_wait_ahead();
        let ahead_room = if ahead {
            (self.concurrency() * AHEAD_PER_SLOT).saturating_sub(waiting)
        } else {
            0
        };
        // Claim when a slot is free that nothing waiting could take (unless the last claim
        // showed there is nothing for it), or when what waits for a URL runs low: not once per
        // finished send.
        let low = self.runs_low();
        if free + ahead_room == 0 || (free == 0 && !low) || (!probe && !low) {
            return None;
        }
        // A free slot and maybe something due for it: a claim of every URL's. Else only what
        // waits ahead runs low: a refill of the URLs being sent to, each read by its own index.
        let refill = free == 0 || !probe;
        let mut caps = self.caps(ahead);
        if refill {
            caps.default = 0;
        }
        Some(ClaimRequest {
            limit: free + ahead_room,
            caps,
            now: self.state.now_ms(),
            refill,
        })
    }

    /// Makes a claim. A claim that fails is logged and takes nothing.
    pub(super) async fn claim(&self, request: ClaimRequest) -> Claimed {
        let lease_ms = self.lease_ms();
        let claimed = self
            .state
            .store
            .claim_due_notifications_capped(
                &self.owner,
                request.now,
                lease_ms,
                request.limit as i64,
                &request.caps,
            )
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "could not claim notifications");
                Vec::new()
            });
        // What it could take at most: its limit, and for a refill its URLs' caps too.
        let asked = if request.refill {
            let caps: i64 = request.caps.per_url.values().map(|&c| c.max(0)).sum();
            request
                .limit
                .min(usize::try_from(caps).unwrap_or(usize::MAX))
        } else {
            request.limit
        };
        let lease_until = request.now.saturating_add(lease_ms);
        Claimed {
            full: claimed.len() >= asked,
            refill: request.refill,
            leased: claimed.into_iter().map(|n| (n, lease_until)).collect(),
        }
    }

    /// Whether what cannot start at once may wait ahead here under its lease: the lease leaves
    /// room enough after a send's timeout and the margin.
    pub(super) fn may_wait_ahead(&self) -> bool {
        self.lease_room_ms() > 1_000
    }

    /// Whether a callback URL being sent to has fewer than half its window
    /// ([`AHEAD_PER_HOST`] host shares) waiting ahead, or nothing is sent or waits at all.
    fn runs_low(&self) -> bool {
        let half = (self.state.settings.delivery_per_host.max(1) * AHEAD_PER_HOST / 2).max(1);
        let ahead = self.lock_ahead();
        let waiting = waiting_by_url(&ahead);
        let urls = self.lock_urls();
        (urls.is_empty() && waiting.is_empty())
            || waiting.values().any(|&n| n < half)
            || urls
                .keys()
                .any(|url| waiting.get(url.as_str()).copied().unwrap_or(0) < half)
    }

    /// Starts what waits ahead, in claim order, as its hosts' slots free; gives back what has
    /// too little lease left to be sent under it. Returns how many started.
    pub(super) async fn start_waiting(
        &self,
        slots: &Arc<tokio::sync::Semaphore>,
        sends: &mut JoinSet<()>,
        now: i64,
    ) -> usize {
        let waiting = std::mem::take(&mut *self.lock_ahead());
        if waiting.is_empty() {
            return 0;
        }
        let needed = self.lease_ms() - self.lease_room_ms();
        let (mut started, mut keep, mut expiring) = (0, VecDeque::new(), 0);
        for (notification, lease_until) in waiting {
            if lease_until - now < needed {
                expiring += 1;
                continue;
            }
            if slots.available_permits() == 0 {
                keep.push_back((notification, lease_until));
                continue;
            }
            match self.try_start(notification, slots, sends) {
                None => started += 1,
                Some(notification) => keep.push_back((notification, lease_until)),
            }
        }
        // Claimed meanwhile by nobody else (the lease holds): in front of what comes later.
        {
            let mut ahead = self.lock_ahead();
            keep.append(&mut ahead);
            *ahead = keep;
        }
        if expiring > 0 {
            tracing::warn!(
                expiring,
                "notifications claimed ahead waited too long for their host; left to their leases"
            );
        }
        started
    }

    /// Starts sending `notification` if a slot, a slot of its host and room among the sends
    /// waiting for their attempt's commit are free (`None`); else hands it back.
    ///
    /// The two slots are given back when the receiver answers (a send is "at once" until
    /// then); the room among the unsettled when the attempt is written, so that a slow commit
    /// holds no receiver up, yet what is sent and not yet recorded stays bounded.
    fn try_start(
        &self,
        notification: NotificationRecord,
        slots: &Arc<tokio::sync::Semaphore>,
        sends: &mut JoinSet<()>,
    ) -> Option<NotificationRecord> {
        let host = self
            .host_slot(&notification.callback_url)
            .try_acquire_owned();
        let (Ok(slot), Ok(host), Ok(unsettled)) = (
            slots.clone().try_acquire_owned(),
            host,
            self.unsettled.clone().try_acquire_owned(),
        ) else {
            return Some(notification);
        };
        let this = self.clone();
        let url = notification.callback_url.clone();
        *self.lock_urls().entry(url.clone()).or_default() += 1;
        sends.spawn(async move {
            this.send(notification, (slot, host)).await;
            drop(unsettled);
            let mut urls = this.lock_urls();
            if let Some(count) = urls.get_mut(&url) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    urls.remove(&url);
                }
            }
        });
        None
    }

    /// Which of the notifications about to be queued to lease at once (their ids): as many as
    /// the free `slots` and their hosts' free slots can start now, in order, none to a URL
    /// with notifications waiting ahead (they go first). The rest are queued due, for a claim.
    pub(super) fn to_lease(
        &self,
        slots: &tokio::sync::Semaphore,
        notifications: &[tributary_store::NewNotification],
    ) -> std::collections::BTreeSet<String> {
        let mut free = slots.available_permits();
        let ahead = self.lock_ahead();
        let waiting = waiting_by_url(&ahead);
        let mut taken: std::collections::HashMap<&str, usize> = Default::default();
        let mut lease = std::collections::BTreeSet::new();
        for notification in notifications {
            if free == 0 {
                break;
            }
            let url = notification.callback_url.as_str();
            if waiting.contains_key(url) {
                continue;
            }
            let taken = taken.entry(url).or_default();
            if *taken < self.host_slot(url).available_permits() {
                *taken += 1;
                free -= 1;
                lease.insert(notification.id.clone());
            }
        }
        lease
    }

    /// Starts leased notifications (claimed, or leased as they were queued: `queue_leasing`),
    /// in order; one whose host turned out busy waits ahead for its slot under its lease where
    /// `ahead` allows, else goes back, due again shortly. Returns how many started.
    pub(super) async fn start_leased(
        &self,
        leased: impl IntoIterator<Item = Waiting>,
        slots: &Arc<tokio::sync::Semaphore>,
        sends: &mut JoinSet<()>,
        ahead: bool,
        now: i64,
    ) -> usize {
        let mut started = 0;
        for (notification, lease_until) in leased {
            match self.try_start(notification, slots, sends) {
                None => started += 1,
                Some(notification) if ahead => {
                    self.lock_ahead().push_back((notification, lease_until));
                }
                Some(notification) => self.give_back(&notification.id, now + 200).await,
            }
        }
        started
    }

    /// Gives a claimed, unsent notification back, due at `at_ms` (not an attempt).
    pub(super) async fn give_back(&self, notification_id: &str, at_ms: i64) {
        if let Err(error) = self
            .state
            .store
            .defer_notification(notification_id, at_ms)
            .await
        {
            tracing::error!(%error, "could not give back a notification");
        }
    }

    /// Gives back what was claimed ahead (the worker stops), due at once, where its lease
    /// has time enough left that no other worker can have taken it meanwhile.
    pub(super) async fn give_back_waiting(&self) {
        let waiting = std::mem::take(&mut *self.lock_ahead());
        let now = self.state.now_ms();
        for (notification, lease_until) in waiting {
            if lease_until - now >= GIVE_BACK_MARGIN_MS {
                self.give_back(&notification.id, now).await;
            }
        }
    }

    pub(super) fn lease_ms(&self) -> i64 {
        i64::try_from(self.state.settings.delivery_lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// How long a notification claimed ahead may wait for its host: its lease less a send's
    /// timeout and the margin (negative when the lease leaves no room).
    fn lease_room_ms(&self) -> i64 {
        let lease = self.lease_ms();
        let timeout =
            i64::try_from(self.state.settings.delivery_timeout.as_millis()).unwrap_or(i64::MAX);
        lease
            .saturating_sub(timeout)
            .saturating_sub(LEASE_MARGIN_MS.min(lease / 4))
    }

    pub(super) fn lock_urls(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, usize>> {
        self.urls.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn lock_ahead(&self) -> std::sync::MutexGuard<'_, VecDeque<Waiting>> {
        self.ahead.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What a claim may take per URL: for URLs being sent to, what their hosts can still start;
    /// for the rest, a host's share — and with `ahead`, [`AHEAD_PER_HOST`] shares more, less
    /// what waits ahead for the URL already.
    fn caps(&self, ahead: bool) -> CallbackCaps {
        let per_host = self.state.settings.delivery_per_host.max(1);
        let extra = if ahead { per_host * AHEAD_PER_HOST } else { 0 };
        let ahead = self.lock_ahead();
        let waiting = waiting_by_url(&ahead);
        let mut urls: Vec<String> = self.lock_urls().keys().cloned().collect();
        urls.extend(waiting.keys().map(|url| (*url).to_owned()));
        urls.sort();
        urls.dedup();
        CallbackCaps {
            per_url: urls
                .into_iter()
                .map(|url| {
                    let free = self.host_slot(&url).available_permits();
                    let cap = (free + extra)
                        .saturating_sub(waiting.get(url.as_str()).copied().unwrap_or(0));
                    (url, i64::try_from(cap).unwrap_or(i64::MAX))
                })
                .collect(),
            default: i64::try_from(per_host + extra).unwrap_or(i64::MAX),
        }
    }

    fn host_slot(&self, url: &str) -> Arc<tokio::sync::Semaphore> {
        self.callbacks.get(url).slot
    }
}

/// How many notifications wait ahead for each callback URL.
fn waiting_by_url(ahead: &VecDeque<Waiting>) -> std::collections::HashMap<&str, usize> {
    let mut waiting = std::collections::HashMap::new();
    for (notification, _) in ahead {
        *waiting
            .entry(notification.callback_url.as_str())
            .or_default() += 1;
    }
    waiting
}
