//! Budgets: a rolling window (a "minute", or Salesforce's rolling 24 hours) plus a per-UTC-day
//! quota.
//!
//! Providers choose the numbers: Keap gives each OAuth app a per-minute throttle (1,500) and a
//! daily quota (150,000, reset at 00:00 UTC), and each tenant its own (10,000 and 250,000);
//! Salesforce gives each org one rolling 24-hour allocation. Budgets are measured on the
//! simulator's base clock (not the offset provider clock, which tests move backwards), so a test
//! with a manual clock can roll a window forward.
//!
//! Beside the budgets, the [`Holds`] of `/_sim/hold`: requests kept in flight on purpose, so tests
//! of a concurrency limit (QuickBooks' 10 per realm) need no timing.

use std::collections::VecDeque;

const DAY_MS: i64 = 86_400_000;

/// Requests held in flight on purpose (`/_sim/hold`): how many of the next admitted requests to
/// hold, how many wait now, and the signal that releases them (its value changes on release).
#[derive(Debug)]
pub(crate) struct Holds {
    pub to_hold: u32,
    pub held: u32,
    pub release: tokio::sync::watch::Sender<u64>,
}

impl Default for Holds {
    fn default() -> Self {
        Holds {
            to_hold: 0,
            held: 0,
            release: tokio::sync::watch::Sender::new(0),
        }
    }
}

/// The numbers of a [`Budget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetSpec {
    /// Requests admitted per rolling window.
    pub per_window: u32,
    /// The rolling window: 60 s for a per-minute throttle (tests shorten it), 24 h for a rolling
    /// daily allocation.
    pub window_ms: i64,
    /// Requests admitted per UTC day (`u32::MAX` for none).
    pub per_day: u32,
}

/// A rolling window plus a per-UTC-day quota.
#[derive(Debug)]
pub struct Budget {
    per_window: u32,
    window_ms: i64,
    per_day: u32,
    /// Times (epoch ms) of the requests admitted within the window.
    recent: VecDeque<i64>,
    day_start_ms: i64,
    day_used: u32,
}

/// A snapshot of a budget, for the providers' usage headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub window_limit: u32,
    pub window_used: u32,
    pub day_limit: u32,
    pub day_used: u32,
    /// Epoch ms of the next 00:00 UTC, when the daily quota resets.
    pub day_expiry_ms: i64,
}

impl Usage {
    pub fn window_available(&self) -> u32 {
        self.window_limit.saturating_sub(self.window_used)
    }

    pub fn day_available(&self) -> u32 {
        self.day_limit.saturating_sub(self.day_used)
    }
}

impl Budget {
    pub fn new(spec: BudgetSpec) -> Self {
        Self {
            per_window: spec.per_window,
            window_ms: spec.window_ms.max(1),
            per_day: spec.per_day,
            recent: VecDeque::new(),
            day_start_ms: 0,
            day_used: 0,
        }
    }

    fn roll(&mut self, now_ms: i64) {
        while self
            .recent
            .front()
            .is_some_and(|&at| at <= now_ms - self.window_ms)
        {
            self.recent.pop_front();
        }
        let day_start = now_ms.div_euclid(DAY_MS) * DAY_MS;
        if day_start != self.day_start_ms {
            self.day_start_ms = day_start;
            self.day_used = 0;
        }
    }

    /// Milliseconds until this budget admits one more request; 0 when it admits one now.
    pub fn wait_ms(&mut self, now_ms: i64) -> i64 {
        self.roll(now_ms);
        if self.day_used >= self.per_day {
            return self.day_start_ms + DAY_MS - now_ms;
        }
        if self.recent.len() >= self.per_window as usize {
            let oldest = self.recent.front().copied().unwrap_or(now_ms);
            return (oldest + self.window_ms - now_ms).max(1);
        }
        0
    }

    /// Records one admitted request.
    pub fn admit(&mut self, now_ms: i64) {
        self.roll(now_ms);
        self.recent.push_back(now_ms);
        self.day_used = self.day_used.saturating_add(1);
    }

    /// A new allowance per window (a control call raises or lowers a quota).
    pub fn set_window_limit(&mut self, per_window: u32) {
        self.per_window = per_window;
    }

    /// Forgets every admitted request, as if the window and the day had just begun.
    pub fn reset(&mut self) {
        self.recent.clear();
        self.day_used = 0;
    }

    pub fn usage(&mut self, now_ms: i64) -> Usage {
        self.roll(now_ms);
        Usage {
            window_limit: self.per_window,
            window_used: u32::try_from(self.recent.len()).unwrap_or(u32::MAX),
            day_limit: self.per_day,
            day_used: self.day_used,
            day_expiry_ms: self.day_start_ms + DAY_MS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minute_window_rolls_and_the_day_quota_resets_at_midnight_utc() {
        let midnight = 1_731_024_000_000; // 2024-11-08T00:00:00Z
        let mut budget = Budget::new(BudgetSpec {
            per_window: 2,
            window_ms: 60_000,
            per_day: 3,
        });
        let t0 = midnight - 90_000;
        assert_eq!(budget.wait_ms(t0), 0);
        budget.admit(t0);
        budget.admit(t0 + 10_000);
        assert_eq!(
            budget.wait_ms(t0 + 20_000),
            40_000,
            "the oldest leaves the window at t0+60s"
        );
        assert_eq!(budget.wait_ms(t0 + 60_000), 0);
        budget.admit(t0 + 60_000);
        // Three admitted today: the day quota is spent until midnight.
        assert_eq!(budget.wait_ms(t0 + 80_000), 10_000);
        let usage = budget.usage(t0 + 80_000);
        assert_eq!((usage.day_used, usage.day_available()), (3, 0));
        assert_eq!(usage.day_expiry_ms, midnight);
        assert_eq!(
            budget.wait_ms(midnight),
            0,
            "a new UTC day starts a new quota"
        );
    }
}
