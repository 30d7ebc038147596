//! Quota-aware scheduling's arithmetic: how much of a provider app's request budget its pollers
//! will use, how far their intervals must stretch to fit, and whether a poll may start now.
//!
//! Many instances of one provider app share its budget (Keap: 1,500 requests a minute and
//! 150,000 a day per OAuth app, across every tenant — `shared/research/infusionsoft.md` §4.1;
//! the caller gives the allowance, the day's budget spread over its minutes where less). Each poller of the
//! app costs `requests per poll × polls per minute`; requests per poll are learned from recent
//! polls ([`learn`]: an idle poll is about one request, a busy one pages, a sweep reads the
//! whole list). Their sum is the app's **projected** use. When it exceeds what polls are
//! **allowed** to use, every poller's interval is multiplied by the same **stretch** factor
//! ([`stretch`]), so none starves and the projection fits the allowance.
//!
//! The projection is a plan; [`Bucket`] is the check at the moment a poll would start, a token
//! bucket on the scheduler's clock refilled at the allowed rate: a poll starts when the bucket
//! holds its expected cost, and what it really spent is settled afterwards. Pollers whose
//! resource changed recently may dip into a reserve that idle ones may not ([`Bucket::admit`]),
//! so when the budget is tight, changes are read before silence is confirmed.
//!
//! Nothing here reads a clock: every moment is given (epoch milliseconds).

/// The weight of the newest poll in the learned requests per poll (an exponential average).
pub const LEARNING_WEIGHT: f64 = 0.3;
/// A resource counts as busy while its last change is this many effective intervals old or
/// less.
pub const BUSY_INTERVALS: i64 = 3;
/// The share of a bucket's burst that only busy pollers may spend.
pub const BUSY_RESERVE: f64 = 0.25;
/// The share of the allowance the stretched intervals are planned to fill: the rest leaves the
/// admission bucket tokens between polls, so polls are rarely put off and a busy poller finds
/// room at once.
pub const PLAN_SHARE: f64 = 0.9;
/// The largest stretch: an interval never grows beyond this many times its configured length,
/// however over-subscribed the app (a day for a minute's interval would be no polling at all).
pub const MAX_STRETCH: f64 = 1_440.0;

/// Requests a minute one poller costs: `requests_per_poll` every `interval_ms`.
pub fn demand_per_minute(requests_per_poll: f64, interval_ms: i64) -> f64 {
    if interval_ms <= 0 {
        return requests_per_poll.max(0.0) * 60_000.0;
    }
    requests_per_poll.max(0.0) * 60_000.0 / interval_ms as f64
}

/// The factor every interval of an app is multiplied by so that `projected` requests a minute
/// fit in [`PLAN_SHARE`] of `allowed`: 1 when they fit, never below 1, at most [`MAX_STRETCH`].
pub fn stretch(projected_per_minute: f64, allowed_per_minute: f64) -> f64 {
    if !projected_per_minute.is_finite() || projected_per_minute <= 0.0 {
        return 1.0;
    }
    if allowed_per_minute <= 0.0 {
        return MAX_STRETCH;
    }
    (projected_per_minute / (allowed_per_minute * PLAN_SHARE)).clamp(1.0, MAX_STRETCH)
}

/// A configured interval stretched by `factor` (rounded up to the millisecond).
pub fn stretched_interval(interval_ms: i64, factor: f64) -> i64 {
    let factor = if factor.is_finite() {
        factor.clamp(1.0, MAX_STRETCH)
    } else {
        MAX_STRETCH
    };
    (interval_ms as f64 * factor).ceil() as i64
}

/// Requests per poll learned from the previous estimate and the requests the last poll made:
/// the first poll's count as it is, then an exponential average, never below one request.
pub fn learn(previous: Option<f64>, observed: u32) -> f64 {
    let observed = f64::from(observed.max(1));
    match previous {
        Some(previous) if previous.is_finite() => {
            (previous * (1.0 - LEARNING_WEIGHT) + observed * LEARNING_WEIGHT).max(1.0)
        }
        _ => observed,
    }
}

/// Whether a resource that last changed at `last_change_ms` counts as busy at `now_ms`: it
/// changed within the last [`BUSY_INTERVALS`] effective intervals.
pub fn is_busy(last_change_ms: Option<i64>, now_ms: i64, effective_interval_ms: i64) -> bool {
    last_change_ms.is_some_and(|at| {
        now_ms.saturating_sub(at) <= effective_interval_ms.max(1).saturating_mul(BUSY_INTERVALS)
    })
}

/// Whether a poll may start now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    /// Start it; its expected cost was taken from the bucket.
    Now,
    /// Try again at this moment (epoch ms), when the bucket will hold its cost.
    Later(i64),
}

/// An app's admission bucket: tokens (requests) refilled at the allowed rate up to a burst of
/// a tenth of a minute's allowance, so that over any rolling minute the polls of an app start
/// at most 1.1 × their allowance of requests — below the provider's budget when the allowance
/// is the default 80 % of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at_ms: i64,
}

impl Bucket {
    /// A full bucket at `now_ms`.
    pub fn new(allowed_per_minute: f64, now_ms: i64) -> Bucket {
        Bucket {
            tokens: burst(allowed_per_minute),
            at_ms: now_ms,
        }
    }

    /// The tokens held now (negative after polls that cost more than expected).
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    fn refill(&mut self, allowed_per_minute: f64, now_ms: i64) {
        let elapsed = now_ms.saturating_sub(self.at_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * allowed_per_minute.max(0.0) / 60_000.0)
            .min(burst(allowed_per_minute));
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Takes `cost` requests for a poll starting at `now_ms` if the bucket holds them — or, for
    /// a poll costing more than the burst, holds the whole burst (it then goes below zero) —
    /// keeping [`BUSY_RESERVE`] of the burst for busy pollers; otherwise says when to try again.
    pub fn admit(
        &mut self,
        allowed_per_minute: f64,
        now_ms: i64,
        cost: f64,
        busy: bool,
    ) -> Admission {
        self.refill(allowed_per_minute, now_ms);
        let burst = burst(allowed_per_minute);
        let reserve = if busy { 0.0 } else { burst * BUSY_RESERVE };
        let needed = cost.max(0.0).min(burst) + reserve;
        let needed = needed.min(burst);
        if self.tokens >= needed {
            self.tokens -= cost.max(0.0);
            return Admission::Now;
        }
        let rate = allowed_per_minute.max(f64::MIN_POSITIVE) / 60_000.0;
        let wait = ((needed - self.tokens) / rate).ceil();
        let wait = if wait.is_finite() {
            wait.min(86_400_000.0) as i64
        } else {
            86_400_000
        };
        Admission::Later(now_ms.saturating_add(wait.max(1)))
    }

    /// Admits at `now_ms` a poll that was put off and has waited in line for this moment. It
    /// needs no reserve, so it goes before idle polls on their schedule; a `busy` one may also
    /// borrow up to one burst (the bucket may go that far below zero, and the others wait).
    /// Otherwise it says when the bucket will hold what it needs.
    pub fn admit_in_line(
        &mut self,
        allowed_per_minute: f64,
        now_ms: i64,
        cost: f64,
        busy: bool,
    ) -> Admission {
        self.refill(allowed_per_minute, now_ms);
        let burst = burst(allowed_per_minute);
        let needed = cost.max(0.0).min(burst) - if busy { burst } else { 0.0 };
        if self.tokens >= needed {
            self.tokens -= cost.max(0.0);
            return Admission::Now;
        }
        let rate = allowed_per_minute.max(f64::MIN_POSITIVE) / 60_000.0;
        let wait = ((needed - self.tokens) / rate).ceil();
        let wait = if wait.is_finite() {
            wait.min(86_400_000.0) as i64
        } else {
            86_400_000
        };
        Admission::Later(now_ms.saturating_add(wait.max(1)))
    }

    /// Settles a poll that expected `expected` requests and made `made`.
    pub fn settle(&mut self, expected: f64, made: u32) {
        self.tokens += expected - f64::from(made);
    }
}

/// A bucket's burst: a tenth of a minute's allowance, at least one request.
pub fn burst(allowed_per_minute: f64) -> f64 {
    (allowed_per_minute / 10.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demand_is_requests_per_poll_times_polls_per_minute() {
        assert_eq!(demand_per_minute(1.0, 60_000), 1.0);
        assert_eq!(demand_per_minute(3.0, 15 * 60_000), 0.2);
        // 5,000 idle pollers of one Keap app on a minute's interval: 5,000 a minute.
        let total: f64 = (0..5_000).map(|_| demand_per_minute(1.0, 60_000)).sum();
        assert!((total - 5_000.0).abs() < 1e-6);
    }

    #[test]
    fn an_over_subscribed_app_stretches_every_interval_by_one_factor() {
        // 5,000 a minute projected, 1,200 allowed (80 % of a 1,500 a minute budget), 1,080
        // planned.
        let factor = stretch(5_000.0, 1_200.0);
        assert!((factor - 5_000.0 / 1_080.0).abs() < 1e-9, "{factor}");
        // Every poller's interval grows by the same factor, so the demand fits the plan.
        let stretched: f64 = (0..5_000)
            .map(|_| demand_per_minute(1.0, stretched_interval(60_000, factor)))
            .sum();
        assert!(stretched <= 1_080.0 + 1e-6, "{stretched}");
        assert!(stretched > 1_079.0, "and uses what it may: {stretched}");
        assert_eq!(stretch(1_000.0, 1_200.0), 1.0, "what fits is not stretched");
        assert_eq!(stretch(0.0, 0.0), 1.0);
        assert_eq!(stretch(10.0, 0.0), MAX_STRETCH);
        assert_eq!(stretch(1e12, 1.0), MAX_STRETCH, "never a day for a minute");
        assert_eq!(stretched_interval(60_000, 0.5), 60_000, "never shorter");
        assert_eq!(stretched_interval(60_000, f64::NAN), 60_000 * 1_440);
    }

    #[test]
    fn requests_per_poll_follow_recent_polls() {
        assert_eq!(learn(None, 0), 1.0, "a poll costs at least a request");
        assert_eq!(learn(None, 4), 4.0);
        let mut estimate = learn(None, 1);
        estimate = learn(Some(estimate), 11);
        assert!((estimate - 4.0).abs() < 1e-9, "{estimate}");
        for _ in 0..30 {
            estimate = learn(Some(estimate), 1);
        }
        assert!(estimate < 1.01, "idle again: {estimate}");
    }

    #[test]
    fn a_resource_is_busy_for_three_effective_intervals_after_a_change() {
        assert!(!is_busy(None, 1_000_000, 60_000));
        assert!(is_busy(Some(1_000_000 - 180_000), 1_000_000, 60_000));
        assert!(!is_busy(Some(1_000_000 - 180_001), 1_000_000, 60_000));
    }

    #[test]
    fn the_bucket_admits_at_the_allowed_rate_and_keeps_a_reserve_for_busy_pollers() {
        // 600 a minute: a burst of 60, ten a second.
        let mut bucket = Bucket::new(600.0, 0);
        let mut admitted = 0;
        while bucket.admit(600.0, 0, 1.0, true) == Admission::Now {
            admitted += 1;
        }
        assert_eq!(admitted, 60, "a busy poller may take the whole burst");
        assert_eq!(bucket.admit(600.0, 0, 1.0, true), Admission::Later(100));
        // A second later: ten requests more. Idle polls leave a quarter of the burst (15).
        let mut idle = 0;
        while bucket.admit(600.0, 1_000, 1.0, false) == Admission::Now {
            idle += 1;
        }
        assert_eq!(idle, 0, "10 tokens is under the reserve of 15");
        assert_eq!(bucket.admit(600.0, 1_000, 1.0, true), Admission::Now);
        // Over a minute from empty, starts never exceed the allowance.
        let mut bucket = Bucket::new(600.0, 0);
        let mut started = 0;
        let mut now = 0;
        while now <= 60_000 {
            match bucket.admit(600.0, now, 2.0, false) {
                Admission::Now => started += 2,
                Admission::Later(at) => now = at,
            }
        }
        assert!(started <= 600 + 60, "{started}");
        assert!(started >= 600 - 60, "{started}");
    }

    #[test]
    fn a_poll_that_waited_in_line_goes_first_a_busy_one_borrowing_at_most_a_burst() {
        let mut bucket = Bucket::new(600.0, 0); // a burst of 60, a reserve of 15
        for _ in 0..50 {
            assert_eq!(bucket.admit(600.0, 0, 1.0, true), Admission::Now);
        }
        // Ten left: an idle poll on its schedule waits for the reserve, one in line goes.
        assert_eq!(bucket.admit(600.0, 0, 1.0, false), Admission::Later(600));
        for _ in 0..10 {
            assert_eq!(bucket.admit_in_line(600.0, 0, 1.0, false), Admission::Now);
        }
        // Empty: an idle one in line waits for a token; a busy one in line borrows.
        assert_eq!(
            bucket.admit_in_line(600.0, 0, 1.0, false),
            Admission::Later(100)
        );
        for _ in 0..60 {
            assert_eq!(bucket.admit_in_line(600.0, 0, 1.0, true), Admission::Now);
        }
        assert_eq!(
            bucket.tokens(),
            -60.0,
            "one burst below zero, and no further"
        );
        assert_eq!(
            bucket.admit_in_line(600.0, 0, 1.0, true),
            Admission::Later(100)
        );
        assert_eq!(bucket.admit_in_line(600.0, 100, 1.0, true), Admission::Now);
    }

    #[test]
    fn a_poll_costing_more_than_the_burst_goes_below_zero_and_later_ones_wait() {
        let mut bucket = Bucket::new(60.0, 0); // a burst of 6
        assert_eq!(bucket.admit(60.0, 0, 20.0, true), Admission::Now);
        assert_eq!(bucket.tokens(), -14.0);
        assert_eq!(bucket.admit(60.0, 0, 1.0, true), Admission::Later(15_000));
        // A poll that cost less than expected gives back the difference.
        bucket.settle(20.0, 5);
        assert_eq!(bucket.tokens(), 1.0);
    }
}
