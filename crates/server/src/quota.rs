//! The provider apps' quotas as this process's scheduler plans them: per app, what polls are
//! allowed a minute, what its pollers are projected to use, the stretch of their intervals,
//! and the admission bucket a poll passes before it starts (`tributary_domain::quota` does the
//! arithmetic; this module keeps the state and the clock's moments).
//!
//! An app is an element and the owner of its main budget as the instance's client names it
//! (`InstanceClient::quota_key`: Keap's OAuth client id, shared by every tenant; an instance of
//! its own where each tenant has its budget, as QuickBooks'). The client id is shown only as a
//! short fingerprint (`app` in the API, `/metrics` and the UI).
//!
//! What is learned lives in memory: each poller's requests per poll (counted as its recent
//! polls sent them, every attempt; its first poll's one-off requests left out),
//! when its resource last changed, and when it is due next. A poller appears with its first
//! claim and is forgotten when it has not been seen for [`FORGET_AFTER_INTERVALS`] effective
//! intervals (its instance deleted or disabled). A restarted process learns again within one
//! interval; until then an unknown poller is expected to cost one request. So the app's
//! stretch grows through a warm-up, and the polls admitted first plan their next ones with a
//! smaller one: a poll that comes due as such a plan said, more than a twentieth of its interval
//! before the interval as stretched now would end, waits until then ([`Quotas::admit`]), so the
//! early pollers do not come round again early and crowd out those still waiting.
//!
//! Several processes polling from one database each plan with the whole allowance: give each
//! its share with `TRIBUTARY_POLL_QUOTA` (say 40% each for two).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tributary_domain::quota::{self, Admission, Bucket};

use crate::settings::Settings;

/// A poll planned when the app's stretch was smaller waits for its interval as stretched now
/// when that is more than this fraction (1/N) of the interval away. The quota bench's longest
/// gap against the stretched interval: 1.88× with no re-planning, 1.25× at a tenth, 1.06× at a
/// twentieth (5,000 instance-resources, 480 minutes).
const REPLAN_SHARE: i64 = 20;
/// A poller not seen for this many of its effective intervals is forgotten.
pub const FORGET_AFTER_INTERVALS: i64 = 3;
const MINUTE_MS: i64 = 60_000;

/// One poller's learned load.
#[derive(Debug, Clone)]
struct Load {
    interval_ms: i64,
    per_poll: f64,
    learned: bool,
    last_change_ms: Option<i64>,
    due_ms: Option<i64>,
    /// When its last poll planned the next one (`Quotas::next_due`).
    planned_ms: Option<i64>,
    seen_ms: i64,
    /// The cost taken from the bucket when its poll was admitted, settled when it ends.
    in_flight: f64,
    /// When a poll put off may start, in line: it then goes before polls on their schedule.
    in_line_ms: Option<i64>,
}

impl Load {
    fn demand(&self) -> f64 {
        quota::demand_per_minute(self.per_poll, self.interval_ms)
    }
}

#[derive(Debug)]
struct AppQuota {
    allowed: f64,
    bucket: Bucket,
    pollers: HashMap<(i64, String), Load>,
    projected: f64,
    /// (moment, requests) of the polls that ended in the last minute.
    recent: VecDeque<(i64, u32)>,
    admitted: u64,
    deferred: u64,
    worst_lateness_ms: i64,
    pruned_ms: i64,
    /// The moments the last busy and idle polls put off will be tried again: the next one
    /// waits after it (an idle one after every busy one too).
    busy_queue_ms: i64,
    idle_queue_ms: i64,
}

impl AppQuota {
    fn stretch(&self) -> f64 {
        quota::stretch(self.projected, self.allowed)
    }

    fn set_load(&mut self, key: (i64, String), load: Load) {
        let old = self.pollers.insert(key, load.clone());
        self.projected += load.demand() - old.map_or(0.0, |o| o.demand());
    }

    /// Forgets pollers not seen lately; recomputes the projection from scratch (no drift).
    fn prune(&mut self, now_ms: i64) {
        if now_ms - self.pruned_ms < MINUTE_MS {
            return;
        }
        self.pruned_ms = now_ms;
        let factor = self.stretch();
        self.pollers.retain(|_, load| {
            let effective = quota::stretched_interval(load.interval_ms, factor);
            now_ms - load.seen_ms <= effective.saturating_mul(FORGET_AFTER_INTERVALS)
        });
        self.projected = self.pollers.values().map(Load::demand).sum();
    }

    /// An idle poll's place in line: after every poll already in line, busy ones first.
    fn idle_slot(&mut self, ready_ms: i64, spacing: i64) -> i64 {
        let at = ready_ms.max(self.idle_queue_ms).max(self.busy_queue_ms);
        self.idle_queue_ms = at.saturating_add(spacing);
        at
    }

    fn used_last_minute(&mut self, now_ms: i64) -> u64 {
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| *at <= now_ms - MINUTE_MS)
        {
            self.recent.pop_front();
        }
        self.recent.iter().map(|(_, n)| u64::from(*n)).sum()
    }
}

/// What a poll of a poller is, to the quotas.
#[derive(Debug, Clone, Copy)]
pub struct PollerRef<'a> {
    pub element: &'a str,
    /// The owner of the app's budget (a client id): never shown, only its fingerprint.
    pub budget_owner: &'a str,
    pub instance_id: i64,
    pub resource: &'a str,
    /// The configured interval.
    pub interval_ms: i64,
}

/// What a poll that ended made and found.
#[derive(Debug, Clone, Copy)]
pub struct Polled {
    /// Provider requests it made (every attempt).
    pub requests: u32,
    /// It found changes (stored events).
    pub changed: bool,
    /// It was the poller's first poll ever.
    pub first: bool,
}

/// Every app's quota as this process plans it.
#[derive(Debug, Default)]
pub struct Quotas {
    apps: Mutex<HashMap<(String, String), AppQuota>>,
}

/// One app's quota, as the API, `/metrics` and the UI show it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppQuotaView {
    /// The element key.
    pub element: String,
    /// A fingerprint of the app (the owner of its budget), not the client id itself.
    pub app: String,
    /// Requests a minute polls of this app may use (`TRIBUTARY_POLL_QUOTA` of its budget).
    pub allowed_per_minute: f64,
    /// Requests a minute its pollers would use at their configured intervals.
    pub projected_per_minute: f64,
    /// What they are planned to use: the projection over the stretch (at most 90 % of the
    /// allowance, leaving the admission bucket room).
    pub planned_per_minute: f64,
    /// The factor every interval is multiplied by (1: nothing stretched).
    pub stretch: f64,
    /// Requests the polls that ended in the last minute made.
    pub used_last_minute: u64,
    /// Pollers known (seen within their last few intervals).
    pub pollers: usize,
    /// Those whose resource changed within their last three effective intervals.
    pub busy_pollers: usize,
    /// Polls started since this process started.
    pub admitted: u64,
    /// Polls put off since then because the app's bucket was short.
    pub deferred: u64,
    /// The latest a poll started after its planned moment, in milliseconds.
    pub worst_lateness_ms: i64,
}

/// Requests a minute scheduled polls of an `element`'s app may use: `TRIBUTARY_POLL_QUOTA` of
/// its budget — the element's published one used evenly all day (the minute's, or the day's
/// over 1,440 minutes where less: Keap's 104), or `TRIBUTARY_PROVIDER_REQUESTS_PER_MINUTE`
/// (per its window) where set, which replaces every published budget.
pub fn allowed_per_minute(settings: &Settings, element: &tributary_elements::Element) -> f64 {
    let budget = match settings.provider_requests_per_minute {
        Some(n) => f64::from(n) * 60.0 / settings.provider_rate_window.as_secs_f64().max(0.001),
        None => element.sustained_requests_per_minute(),
    };
    settings.poll_quota.allowed(budget)
}

/// A short fingerprint of a budget's owner: enough to tell apps apart, nothing to use.
pub fn fingerprint(owner: &str) -> String {
    let digest = Sha256::digest(owner.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

impl Quotas {
    fn with_app<T>(
        &self,
        poller: &PollerRef<'_>,
        allowed: f64,
        now_ms: i64,
        f: impl FnOnce(&mut AppQuota, (i64, String)) -> T,
    ) -> T {
        let mut apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        let app = apps
            .entry((poller.element.to_owned(), fingerprint(poller.budget_owner)))
            .or_insert_with(|| AppQuota {
                allowed,
                bucket: Bucket::new(allowed, now_ms),
                pollers: HashMap::new(),
                projected: 0.0,
                recent: VecDeque::new(),
                admitted: 0,
                deferred: 0,
                worst_lateness_ms: 0,
                pruned_ms: now_ms,
                busy_queue_ms: now_ms,
                idle_queue_ms: now_ms,
            });
        if allowed.is_finite() && allowed > 0.0 {
            app.allowed = allowed;
        }
        app.prune(now_ms);
        let key = (poller.instance_id, poller.resource.to_owned());
        f(app, key)
    }

    /// Whether `poller`'s poll may start at `now_ms` within its app's `allowed` requests a
    /// minute; registers the poller (and a new interval) on the way.
    pub fn admit(&self, poller: &PollerRef<'_>, allowed: f64, now_ms: i64) -> Admission {
        self.with_app(poller, allowed, now_ms, |app, key| {
            let mut load = app.pollers.get(&key).cloned().unwrap_or(Load {
                interval_ms: poller.interval_ms,
                per_poll: 1.0,
                learned: false,
                last_change_ms: None,
                due_ms: None,
                planned_ms: None,
                seen_ms: now_ms,
                in_flight: 0.0,
                in_line_ms: None,
            });
            load.interval_ms = poller.interval_ms;
            load.seen_ms = now_ms;
            let factor = app.stretch();
            let effective = quota::stretched_interval(load.interval_ms, factor);
            let busy = quota::is_busy(load.last_change_ms, now_ms, effective);
            let spacing = (load.per_poll * MINUTE_MS as f64 / app.allowed.max(0.001))
                .ceil()
                .clamp(1.0, MINUTE_MS as f64) as i64;
            // Come due as planned while the app's stretch was much smaller — its projection
            // grows as its pollers first appear and their costs are learned, so the polls of a
            // warm-up plan their next ones too soon: the poll waits for its interval as
            // stretched now, or those early pollers come round again early and crowd the later
            // ones out (the quota bench's longest gaps). A poller made due before its planned
            // moment (everything due at once, say) is not held back.
            if load.in_line_ms.is_none()
                && load.due_ms.is_some_and(|due| due <= now_ms)
                && let Some(planned) = load.planned_ms
            {
                let replanned = planned.saturating_add(effective);
                if replanned - now_ms > effective / REPLAN_SHARE {
                    load.due_ms = Some(replanned);
                    app.set_load(key, load);
                    return Admission::Later(replanned);
                }
            }
            if load.in_line_ms.is_some_and(|at| at <= now_ms) {
                // Its turn in line: before the idle polls on their schedule.
                let admission = app
                    .bucket
                    .admit_in_line(app.allowed, now_ms, load.per_poll, busy);
                let admission = match admission {
                    Admission::Now => {
                        app.admitted += 1;
                        load.in_flight = load.per_poll;
                        load.in_line_ms = None;
                        if let Some(due) = load.due_ms {
                            app.worst_lateness_ms = app.worst_lateness_ms.max(now_ms - due);
                        }
                        Admission::Now
                    }
                    // A busy one keeps its place; an idle one goes behind every busy one.
                    Admission::Later(at) => {
                        app.deferred += 1;
                        let at = if busy { at } else { app.idle_slot(at, spacing) };
                        load.in_line_ms = Some(at);
                        Admission::Later(at)
                    }
                };
                app.set_load(key, load);
                return admission;
            }
            let admission = app.bucket.admit(app.allowed, now_ms, load.per_poll, busy);
            match admission {
                Admission::Now => {
                    app.admitted += 1;
                    load.in_flight = load.per_poll;
                    if let Some(due) = load.due_ms {
                        app.worst_lateness_ms = app.worst_lateness_ms.max(now_ms - due);
                    }
                }
                Admission::Later(at) => {
                    // Polls put off wait in line, each its cost's worth of the allowance after
                    // the one before, rather than all trying again at the same moment; busy
                    // ones in a line of their own, ahead of every idle one.
                    app.deferred += 1;
                    let at = if busy {
                        let at = at.max(app.busy_queue_ms);
                        app.busy_queue_ms = at.saturating_add(spacing);
                        app.idle_queue_ms = app.idle_queue_ms.max(app.busy_queue_ms);
                        at
                    } else {
                        app.idle_slot(at, spacing)
                    };
                    load.in_line_ms = Some(at);
                    app.set_load(key, load);
                    return Admission::Later(at);
                }
            }
            app.set_load(key, load);
            admission
        })
    }

    /// When `poller`, polled at `now_ms`, is due next: its interval stretched by its app's
    /// factor. Remembered, to measure how late its next poll starts.
    pub fn next_due(&self, poller: &PollerRef<'_>, allowed: f64, now_ms: i64) -> i64 {
        self.with_app(poller, allowed, now_ms, |app, key| {
            let factor = app.stretch();
            let due = now_ms + quota::stretched_interval(poller.interval_ms, factor);
            let mut load = app.pollers.get(&key).cloned().unwrap_or(Load {
                interval_ms: poller.interval_ms,
                per_poll: 1.0,
                learned: false,
                last_change_ms: None,
                due_ms: None,
                planned_ms: None,
                seen_ms: now_ms,
                in_flight: 0.0,
                in_line_ms: None,
            });
            load.due_ms = Some(due);
            load.planned_ms = Some(now_ms);
            load.seen_ms = now_ms;
            app.set_load(key, load);
            due
        })
    }

    /// A poll of `poller` ended at `now_ms` having made `requests` provider requests; `changed`
    /// when it found changes. Settles the bucket, and learns the poller's cost unless the poll
    /// was its first ever (`first`: its one-off requests — the provider's clock read for the
    /// first cursor, the first sweep — say nothing of the polls to come).
    pub fn polled(&self, poller: &PollerRef<'_>, allowed: f64, now_ms: i64, poll: Polled) {
        let Polled {
            requests,
            changed,
            first,
        } = poll;
        self.with_app(poller, allowed, now_ms, |app, key| {
            let Some(mut load) = app.pollers.get(&key).cloned() else {
                return;
            };
            app.bucket.settle(load.in_flight, requests);
            load.in_flight = 0.0;
            if !first {
                load.per_poll = quota::learn(load.learned.then_some(load.per_poll), requests);
                load.learned = true;
            }
            if changed {
                load.last_change_ms = Some(now_ms);
            }
            app.recent.push_back((now_ms, requests));
            // Kept to a minute here too, not only when read: nobody may read it for days.
            app.used_last_minute(now_ms);
            app.set_load(key, load);
        });
    }

    /// Every app's quota at `now_ms`, by element and app.
    pub fn snapshot(&self, now_ms: i64) -> Vec<AppQuotaView> {
        let mut apps = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        let mut views: Vec<AppQuotaView> = apps
            .iter_mut()
            .map(|((element, app_id), app)| {
                let factor = app.stretch();
                let busy = app
                    .pollers
                    .values()
                    .filter(|load| {
                        let effective = quota::stretched_interval(load.interval_ms, factor);
                        quota::is_busy(load.last_change_ms, now_ms, effective)
                    })
                    .count();
                AppQuotaView {
                    element: element.clone(),
                    app: app_id.clone(),
                    allowed_per_minute: app.allowed,
                    projected_per_minute: app.projected.max(0.0),
                    planned_per_minute: app.projected.max(0.0) / factor,
                    stretch: factor,
                    used_last_minute: app.used_last_minute(now_ms),
                    pollers: app.pollers.len(),
                    busy_pollers: busy,
                    admitted: app.admitted,
                    deferred: app.deferred,
                    worst_lateness_ms: app.worst_lateness_ms,
                }
            })
            .collect();
        views.sort_by(|a, b| (&a.element, &a.app).cmp(&(&b.element, &b.app)));
        views
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poller(instance_id: i64) -> PollerRef<'static> {
        PollerRef {
            element: "infusionsoftrest",
            budget_owner: "client-id",
            instance_id,
            resource: "contacts",
            interval_ms: 60_000,
        }
    }

    #[test]
    fn pollers_of_one_app_share_its_projection_and_the_client_id_is_not_shown() {
        let quotas = Quotas::default();
        for id in 0..30 {
            quotas.admit(&poller(id), 12.0, 0);
        }
        let view = quotas.snapshot(0)[0].clone();
        assert_eq!(view.pollers, 30);
        assert_eq!(view.projected_per_minute, 30.0);
        assert!(
            (view.stretch - 30.0 / 10.8).abs() < 1e-9,
            "30 a minute projected, 12 allowed, 10.8 planned"
        );
        assert!((view.planned_per_minute - 10.8).abs() < 1e-9);
        assert_eq!(view.admitted + view.deferred, 30);
        assert_eq!(
            view.admitted, 1,
            "a burst of 1.2: one at once, the rest wait"
        );
        assert_ne!(view.app, "client-id");
        assert_eq!(view.app.len(), 8);

        // Polled now: due again after its interval, stretched.
        assert_eq!(quotas.next_due(&poller(0), 12.0, 0), 166_667);
        // It found changes in 5 requests: it costs more, and is busy.
        quotas.polled(
            &poller(0),
            12.0,
            1_000,
            Polled {
                requests: 5,
                changed: true,
                first: false,
            },
        );
        let view = quotas.snapshot(1_000)[0].clone();
        assert_eq!(view.projected_per_minute, 34.0);
        assert_eq!(view.busy_pollers, 1);
        assert_eq!(view.used_last_minute, 5);
        assert_eq!(quotas.snapshot(61_000)[0].used_last_minute, 0);
        // Another app of the same element has its own quota.
        let other = PollerRef {
            budget_owner: "another-client",
            ..poller(0)
        };
        quotas.admit(&other, 12.0, 0);
        assert_eq!(quotas.snapshot(1_000).len(), 2);
    }

    #[test]
    fn the_polls_of_the_last_minute_are_all_that_is_kept_of_them() {
        let quotas = Quotas::default();
        let ended = Polled {
            requests: 1,
            changed: false,
            first: false,
        };
        // An hour of polls, one a second, and nobody reading the quota meanwhile.
        for second in 0..3_600 {
            let now = second * 1_000;
            quotas.admit(&poller(1), 1_000_000.0, now);
            quotas.polled(&poller(1), 1_000_000.0, now, ended);
        }
        let apps = quotas.apps.lock().unwrap();
        let recent = apps.values().next().unwrap().recent.len();
        assert_eq!(recent, 60, "the last minute's polls, not the hour's");
    }

    #[test]
    fn a_poller_not_seen_for_three_effective_intervals_is_forgotten() {
        let quotas = Quotas::default();
        quotas.admit(&poller(1), 1_200.0, 0);
        quotas.admit(&poller(2), 1_200.0, 0);
        for minute in 1..=4 {
            quotas.admit(&poller(1), 1_200.0, minute * 60_000);
        }
        let view = quotas.snapshot(240_000)[0].clone();
        assert_eq!(view.pollers, 1, "poller 2 is gone");
        assert_eq!(view.projected_per_minute, 1.0);
    }
}
