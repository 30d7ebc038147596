//! Deletes seen through polling, as a pure decision: which window a delete sweep reads, which
//! deletions become `DELETED` events, where the delete cursor goes next, and when deletes were
//! lost at the provider (`shared/research/providers.md` §2.6, §7.4).
//!
//! The rules, and why:
//! - A sweep has its **own cursor**, the first instant not yet read, beside the update cursor:
//!   a provider's delete log is a separate feed with its own retention.
//! - The **window** is `[cursor, now)` in the provider's time, both ends floored to the unit the
//!   provider reads them in (Salesforce ignores seconds). Flooring the start re-reads a little,
//!   which event ids make harmless; a sweep waits until a whole unit has passed, because the
//!   provider refuses an empty window.
//! - The **next cursor** is where the provider says its answer really ends (Salesforce's
//!   `latestDateCovered`, earlier than the end while long transactions are open), never before
//!   the window's start; the window's end when it says nothing.
//! - **Lost deletes are said loudly, never silently**: when the provider's oldest kept deletion
//!   (`earliestDateAvailable`) is later than the cursor, or the cursor is older than the
//!   provider's look-back, the deletes in between are gone. The outcome names the lost span;
//!   the caller stores a `DELETES_LOST` event, the poller's status and a metric. The cursor then
//!   moves past the loss, so one loss is reported once.
//! - A **DELETED event id** derives from (instance, resource, object id, deletion time): a
//!   deletion read twice (overlapping windows, a retried sweep) is one event.
//! - **The provider's clock may step back** (issue 18): a deletion after the step is dated on
//!   the new clock, before a cursor read on the old one, and a window starting at that cursor
//!   would never reach it — the deletion would be lost, not late. So the cursor is kept with
//!   the offset of the provider's clock it was read at ([`CursorClock`], the sweep's memory),
//!   and a sweep whose provider clock now runs more than
//!   [`STEP_BACK_TOLERANCE_MS`](crate::poll::STEP_BACK_TOLERANCE_MS) behind that starts from
//!   the cursor moved back by the step ([`rebase`]), as a poll of updates reads from its last
//!   moment on the provider's clock of today. A step forward keeps the cursor (nothing can be
//!   dated before it); re-reading is harmless. The rebased cursor and today's clock are kept
//!   by every sweep that saw the step, one whose request failed included ([`start`]): a step
//!   back forgotten by a failed sweep, then a step forward, left the deletions dated between
//!   the two before the cursor for good. A step back within the tolerance is not seen, as a
//!   poll of updates does not see it.

use serde_json::{Value, json};

use crate::poll::{STEP_BACK_TOLERANCE_MS, event_date, event_id};

/// The event type of a deletion.
pub const DELETED: &str = "DELETED";
/// The event type that reports deletes lost at the provider.
pub const DELETES_LOST: &str = "DELETES_LOST";

/// The window a sweep reads, and what was lost before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Deletes older than the provider keeps that the cursor still wanted.
    pub lost: Option<Lost>,
}

/// A span whose deletes the provider no longer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    pub from_ms: i64,
    pub until_ms: i64,
}

impl Lost {
    fn union(self, other: Option<Lost>) -> Lost {
        match other {
            None => self,
            Some(other) => Lost {
                from_ms: self.from_ms.min(other.from_ms),
                until_ms: self.until_ms.max(other.until_ms),
            },
        }
    }
}

fn floor(ms: i64, unit: i64) -> i64 {
    ms.div_euclid(unit.max(1)) * unit.max(1)
}

/// The window of the next sweep from `cursor_ms` at the provider's `now_ms`, or `None` while
/// less than one `granularity_ms` has passed. With a `lookback_ms`, a cursor older than the
/// provider keeps starts the window one unit inside the look-back instead, and names the loss.
pub fn window(
    cursor_ms: i64,
    now_ms: i64,
    lookback_ms: Option<i64>,
    granularity_ms: i64,
) -> Option<Window> {
    let unit = granularity_ms.max(1);
    let mut start = floor(cursor_ms, unit);
    let end = floor(now_ms, unit);
    let mut lost = None;
    if let Some(lookback) = lookback_ms {
        // One unit inside the look-back, so the provider's clock a little ahead of ours does
        // not make it refuse the start.
        let oldest = floor(now_ms - lookback, unit) + unit;
        if start < oldest {
            lost = Some(Lost {
                from_ms: cursor_ms,
                until_ms: oldest,
            });
            start = oldest;
        }
    }
    (end > start).then_some(Window {
        start_ms: start,
        end_ms: end,
        lost,
    })
}

/// What a delete sweep remembers beside its cursor: how far the provider's clock ran from
/// Tributary's when the cursor was read (kept as JSON in the poller's delete memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorClock {
    pub skew_ms: i64,
}

impl CursorClock {
    /// As stored: `{"skewMs": …}`.
    pub fn to_json(self) -> String {
        json!({"skewMs": self.skew_ms}).to_string()
    }

    /// As stored, read back; `None` for nothing stored or another shape (a cursor kept before
    /// this memory existed: it is used as it stands).
    pub fn from_json(text: Option<&str>) -> Option<CursorClock> {
        let value: Value = serde_json::from_str(text?).ok()?;
        Some(CursorClock {
            skew_ms: value.get("skewMs")?.as_i64()?,
        })
    }
}

/// The delete cursor on the provider's clock of today: `cursor_ms` as read when the clock ran
/// `then` from Tributary's, now that it runs `skew_ms` from it. Moved back by the step when the
/// clock stepped back by more than the tolerance; otherwise the cursor as it is.
pub fn rebase(cursor_ms: i64, then: Option<CursorClock>, skew_ms: i64) -> i64 {
    match then {
        Some(then) if skew_ms < then.skew_ms - STEP_BACK_TOLERANCE_MS => {
            cursor_ms - (then.skew_ms - skew_ms)
        }
        _ => cursor_ms,
    }
}

/// Where a sweep reads from, and the clock that cursor is on: what it commits whatever it then
/// reads — even when its request fails (issue 21, the Salesforce soak's lost deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub cursor_ms: i64,
    pub clock: CursorClock,
}

/// The start of a sweep at a moment the provider's clock runs `skew_ms` from Tributary's: the
/// `stored` cursor rebased on that clock (read on the clock `then`), or the moment events were
/// enabled (`enabled_ms`, Tributary's clock) on it before the first sweep, a second early for
/// the `Date` header's resolution.
///
/// A sweep commits this start even when it reads nothing (too soon for a window, or the
/// provider failed): the step is then remembered from the first poll that saw it. A sweep that
/// kept its old cursor and old clock on a failure forgot the step; if the clock stepped forward
/// again before the next sweep, no rebase was due any more, and a deletion dated between the
/// steps fell before a cursor no window would ever start behind again.
pub fn start(
    stored: Option<i64>,
    then: Option<CursorClock>,
    enabled_ms: i64,
    skew_ms: i64,
) -> Start {
    let cursor_ms = match stored {
        Some(stored) => rebase(stored, then, skew_ms),
        None => enabled_ms + skew_ms - 1_000,
    };
    Start {
        cursor_ms,
        clock: CursorClock { skew_ms },
    }
}

/// One deletion the provider reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub object_id: String,
    pub deleted_ms: i64,
    /// The provider's entry, carried as the event's record.
    pub entry: Value,
}

/// What the provider answered for a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub deletions: Vec<Deletion>,
    pub covered_ms: Option<i64>,
    pub earliest_ms: Option<i64>,
}

/// An event a sweep produces.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteEvent {
    pub event_id: String,
    pub object_id: String,
    /// [`DELETED`] or [`DELETES_LOST`].
    pub event_type: &'static str,
    pub date_ms: i64,
    pub record: Value,
}

/// What a sweep decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub events: Vec<DeleteEvent>,
    pub cursor_ms: i64,
    pub lost: Option<Lost>,
}

/// The id of a deletion's event.
pub fn deleted_event_id(
    instance_id: i64,
    resource: &str,
    object_id: &str,
    deleted_ms: i64,
) -> String {
    event_id(
        instance_id,
        resource,
        object_id,
        &format!("deleted:{deleted_ms}"),
    )
}

/// Decides a sweep of `window` from `cursor_ms`: an event per deletion (in the provider's
/// order), a `DELETES_LOST` event when deletes were lost, and the next cursor.
pub fn decide(
    instance_id: i64,
    resource: &str,
    cursor_ms: i64,
    window: &Window,
    answer: Answer,
) -> Outcome {
    let mut events: Vec<DeleteEvent> = answer
        .deletions
        .into_iter()
        .map(|d| DeleteEvent {
            event_id: deleted_event_id(instance_id, resource, &d.object_id, d.deleted_ms),
            object_id: d.object_id,
            event_type: DELETED,
            date_ms: d.deleted_ms,
            record: d.entry,
        })
        .collect();
    let purged = answer
        .earliest_ms
        .filter(|earliest| *earliest > cursor_ms)
        .map(|earliest| Lost {
            from_ms: cursor_ms,
            until_ms: earliest,
        });
    let lost = match (purged, window.lost) {
        (Some(purged), other) => Some(purged.union(other)),
        (None, other) => other,
    };
    let covered = answer
        .covered_ms
        .unwrap_or(window.end_ms)
        .clamp(window.start_ms, window.end_ms.max(window.start_ms));
    let mut next = covered.max(cursor_ms);
    if let Some(lost) = lost {
        // Nothing older than the loss's end can still be read: move past it, so the same loss
        // is not reported again by the next sweep.
        next = next.max(lost.until_ms);
        events.push(DeleteEvent {
            event_id: event_id(
                instance_id,
                resource,
                "",
                &format!("deletes-lost:{}:{}", lost.from_ms, lost.until_ms),
            ),
            object_id: String::new(),
            event_type: DELETES_LOST,
            date_ms: lost.until_ms,
            record: json!({
                "objectType": resource,
                "lostFrom": event_date(lost.from_ms),
                "lostUntil": event_date(lost.until_ms),
                "message": format!(
                    "the provider no longer has the {resource} deleted between {} and {}; \
                     records deleted then will never be reported as DELETED (resynchronize \
                     through the hub to find them)",
                    event_date(lost.from_ms),
                    event_date(lost.until_ms)
                ),
            }),
        });
    }
    Outcome {
        events,
        cursor_ms: next,
        lost,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_795_860_000_000; // 2026-11-28T10:00:00Z
    const MINUTE: i64 = 60_000;
    const DAY: i64 = 86_400_000;

    fn deletion(id: &str, at: i64) -> Deletion {
        Deletion {
            object_id: id.into(),
            deleted_ms: at,
            entry: json!({"id": id}),
        }
    }

    #[test]
    fn a_cursor_read_before_the_provider_clock_stepped_back_moves_back_by_the_step() {
        let then = Some(CursorClock { skew_ms: 90_000 });
        // Stepped back 390 s: a deletion just after the step is dated 390 s before the
        // cursor, inside the window from the rebased cursor.
        let cursor = rebase(T0, then, -300_000);
        assert_eq!(cursor, T0 - 390_000);
        let deleted_at = T0 - 390_000 + 5_000;
        let w = window(cursor, T0 - 390_000 + 2 * MINUTE, None, MINUTE).unwrap();
        assert!(w.start_ms <= deleted_at && deleted_at < w.end_ms, "{w:?}");
        // A step forward, no step, or one within the Date header's resolution: as it is.
        assert_eq!(rebase(T0, then, 120_000), T0);
        assert_eq!(rebase(T0, then, 90_000), T0);
        assert_eq!(rebase(T0, then, 88_500), T0);
        assert_eq!(rebase(T0, None, -300_000), T0, "nothing remembered");
    }

    #[test]
    fn the_cursor_clock_round_trips_and_anything_else_reads_as_none() {
        let clock = CursorClock { skew_ms: -300_000 };
        assert_eq!(CursorClock::from_json(Some(&clock.to_json())), Some(clock));
        for other in [
            None,
            Some("not json"),
            Some("{}"),
            Some(r#"{"skewMs": "x"}"#),
        ] {
            assert_eq!(CursorClock::from_json(other), None, "{other:?}");
        }
    }

    #[test]
    fn a_window_is_whole_units_from_the_cursor_to_now_and_waits_for_one_to_pass() {
        let w = window(T0 + 30_000, T0 + 3 * MINUTE + 5_000, None, MINUTE).unwrap();
        assert_eq!((w.start_ms, w.end_ms, w.lost), (T0, T0 + 3 * MINUTE, None));
        assert_eq!(
            window(T0 + 30_000, T0 + 59_000, None, MINUTE),
            None,
            "not a whole minute yet"
        );
    }

    #[test]
    fn a_cursor_older_than_the_look_back_starts_inside_it_and_names_the_loss() {
        let w = window(T0 - 20 * DAY, T0, Some(15 * DAY), MINUTE).unwrap();
        assert_eq!(w.start_ms, T0 - 15 * DAY + MINUTE);
        assert_eq!(
            w.lost,
            Some(Lost {
                from_ms: T0 - 20 * DAY,
                until_ms: T0 - 15 * DAY + MINUTE
            })
        );
        let outcome = decide(7, "contacts", T0 - 20 * DAY, &w, Answer::default());
        assert_eq!(outcome.events.len(), 1);
        assert_eq!(outcome.events[0].event_type, DELETES_LOST);
    }

    #[test]
    fn deletions_become_events_with_stable_ids_and_the_cursor_follows_the_covered_date() {
        let w = window(T0, T0 + 10 * MINUTE, None, MINUTE).unwrap();
        let answer = Answer {
            deletions: vec![deletion("a", T0 + 1_000), deletion("b", T0 + 1_000)],
            covered_ms: Some(T0 + 8 * MINUTE),
            earliest_ms: Some(T0 - DAY),
        };
        let outcome = decide(7, "contacts", T0, &w, answer.clone());
        assert_eq!(
            outcome.cursor_ms,
            T0 + 8 * MINUTE,
            "latestDateCovered is the next start"
        );
        assert_eq!(outcome.lost, None);
        let types: Vec<&str> = outcome.events.iter().map(|e| e.event_type).collect();
        assert_eq!(types, [DELETED, DELETED]);
        assert_eq!(outcome.events[0].date_ms, T0 + 1_000);
        let again = decide(7, "contacts", T0, &w, answer);
        assert_eq!(outcome.events, again.events, "a repeat is the same events");
        assert_ne!(
            outcome.events[0].event_id,
            deleted_event_id(7, "contacts", "a", T0 + 2_000),
            "another deletion time is another event"
        );
        assert_ne!(
            outcome.events[0].event_id,
            crate::poll::event_id(7, "contacts", "a", &(T0 + 1_000).to_string()),
            "never the id of an update at the same time"
        );
    }

    #[test]
    fn a_covered_date_outside_the_window_is_held_inside_it() {
        let w = window(T0, T0 + 10 * MINUTE, None, MINUTE).unwrap();
        let before = Answer {
            covered_ms: Some(T0 - MINUTE),
            ..Answer::default()
        };
        assert_eq!(decide(1, "r", T0, &w, before).cursor_ms, T0);
        let after = Answer {
            covered_ms: Some(T0 + DAY),
            ..Answer::default()
        };
        assert_eq!(decide(1, "r", T0, &w, after).cursor_ms, T0 + 10 * MINUTE);
        assert_eq!(
            decide(1, "r", T0, &w, Answer::default()).cursor_ms,
            T0 + 10 * MINUTE
        );
    }

    #[test]
    fn a_purged_history_is_reported_once_and_the_cursor_moves_past_it() {
        let cursor = T0 + 30_000;
        let w = window(cursor, T0 + 5 * MINUTE, None, MINUTE).unwrap();
        let purged_at = T0 + 7 * MINUTE + 12_000;
        let answer = Answer {
            deletions: Vec::new(),
            covered_ms: Some(T0 + 5 * MINUTE),
            earliest_ms: Some(purged_at),
        };
        let first = decide(3, "accounts", cursor, &w, answer.clone());
        assert_eq!(
            first.lost,
            Some(Lost {
                from_ms: cursor,
                until_ms: purged_at
            })
        );
        assert_eq!(first.cursor_ms, purged_at);
        let lost = first.events.last().unwrap();
        assert_eq!(
            (lost.event_type, lost.object_id.as_str()),
            (DELETES_LOST, "")
        );
        assert!(
            lost.record["message"]
                .as_str()
                .unwrap()
                .contains("2026-11-28T10:00:30Z and 2026-11-28T10:07:12Z"),
            "{}",
            lost.record
        );
        // The next sweep starts after the loss: the same earliest date is not news.
        let w = window(first.cursor_ms, T0 + 20 * MINUTE, None, MINUTE).unwrap();
        let second = decide(3, "accounts", first.cursor_ms, &w, answer);
        assert_eq!(second.lost, None);
        assert!(second.events.is_empty());
    }

    /// A Salesforce-like delete log on a clock that steps, and a poller sweeping it as the
    /// server does (`start`, `window`, `decide`, and the start committed when a sweep fails),
    /// on Tributary's clock `t` (real time, ms).
    struct Model {
        t: i64,
        /// The provider's clock minus Tributary's, ms.
        skew: i64,
        /// Deletions as the log keeps them: (id, date on the provider's clock at the time).
        log: Vec<(usize, i64)>,
        read: std::collections::BTreeSet<usize>,
        enabled_ms: i64,
        cursor: Option<i64>,
        clock: Option<CursorClock>,
    }

    impl Model {
        fn new() -> Model {
            Model {
                t: T0 + 17_321,
                skew: 0,
                log: Vec::new(),
                read: Default::default(),
                enabled_ms: T0 + 17_321,
                cursor: None,
                clock: None,
            }
        }

        fn delete(&mut self) {
            // Dated to the second, as the provider answers them.
            let dated = floor(self.t + self.skew, 1_000);
            self.log.push((self.log.len(), dated));
        }

        /// One sweep: the skew as a `Date` header shows it (whole seconds), the delete request
        /// failing or answered as the simulator answers it (up to the provider's whole minute).
        fn sweep(&mut self, fails: bool) {
            let observed = floor(self.t + self.skew, 1_000) - self.t;
            let start = start(self.cursor, self.clock, self.enabled_ms, observed);
            let (cursor, clock) = (start.cursor_ms, start.clock);
            let next = match window(cursor, self.t + observed, Some(15 * DAY), MINUTE) {
                Some(w) if !fails => {
                    let latest = w.end_ms.min(floor(self.t + self.skew, MINUTE));
                    let answer = Answer {
                        deletions: self
                            .log
                            .iter()
                            .filter(|(_, at)| (w.start_ms..latest).contains(at))
                            .map(|(id, at)| deletion(&id.to_string(), *at))
                            .collect(),
                        covered_ms: Some(latest),
                        earliest_ms: None,
                    };
                    let outcome = decide(1, "accounts", cursor, &w, answer);
                    assert_eq!(outcome.lost, None);
                    for event in &outcome.events {
                        self.read.insert(event.object_id.parse().unwrap());
                    }
                    outcome.cursor_ms
                }
                // Too soon for a window, or the request failed: the start is kept.
                _ => cursor,
            };
            self.cursor = Some(next);
            self.clock = Some(clock);
        }
    }

    /// Offsets of the provider's clock, seconds: the soak's, and others; any two differ by more
    /// than the tolerance and the `Date` header's second (a smaller step back is not seen).
    const OFFSETS: [i64; 11] = [-600, -300, -90, -35, -30, -5, 0, 5, 30, 90, 300];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the steps of the provider's clock, back and forth, one at a time between
        /// polls, with deletions between them and delete requests failing at random: every
        /// deletion is read — none falls before a cursor no window starts behind again.
        #[test]
        fn no_deletion_is_skipped_whatever_the_clock_steps_and_failed_sweeps(
            rounds in prop::collection::vec(
                (
                    prop::sample::select(&OFFSETS[..]),
                    0..3usize,
                    0..10_000i64,
                    prop::bool::weighted(0.3),
                    1_000..300_000i64,
                ),
                1..25,
            ),
        ) {
            let mut model = Model::new();
            model.t += 1_000;
            model.sweep(false);
            for (offset, deletions, before, fails, gap) in rounds {
                model.skew = offset * 1_000;
                for _ in 0..deletions {
                    model.t += before;
                    model.delete();
                }
                model.t += gap;
                model.sweep(fails);
            }
            // No more steps: the provider's clock passes every date within twenty minutes.
            for _ in 0..20 {
                model.t += MINUTE;
                model.sweep(false);
            }
            let missed: Vec<_> = model
                .log
                .iter()
                .filter(|(id, _)| !model.read.contains(id))
                .collect();
            prop_assert!(missed.is_empty(), "never read: {missed:?}");
        }

        /// A rebase never moves a cursor forward, and moves it back by exactly the step when the
        /// clock stepped back by more than the tolerance.
        #[test]
        fn a_rebase_moves_back_by_a_step_back_and_never_forward(
            cursor in T0 - DAY..T0 + DAY,
            then in -3_600_000..3_600_000i64,
            now in -3_600_000..3_600_000i64,
        ) {
            let rebased = rebase(cursor, Some(CursorClock { skew_ms: then }), now);
            prop_assert!(rebased <= cursor);
            if now < then - STEP_BACK_TOLERANCE_MS {
                prop_assert_eq!(rebased, cursor - (then - now));
            } else {
                prop_assert_eq!(rebased, cursor);
            }
        }
    }

    #[test]
    fn a_step_back_seen_only_by_a_failed_sweep_is_kept_for_the_next_one() {
        // The soak's loss: 90 s behind, read; 300 s behind, a deletion, the sweep fails; 90 s
        // ahead. The deletion is dated 390 s before the provider's now, and 210 s before the
        // cursor read 90 s behind.
        let mut model = Model::new();
        model.t += 1_000;
        model.sweep(false);
        model.skew = -90_000;
        model.t += 120_000;
        model.sweep(false);
        let read_behind = model.cursor.unwrap();
        model.skew = -300_000;
        model.t += 5_000;
        model.delete();
        model.t += 120_000;
        model.sweep(true);
        assert_eq!(
            model.cursor,
            Some(read_behind - 210_000),
            "the failed sweep kept the cursor moved back by the step"
        );
        let kept = model.clock.unwrap().skew_ms;
        assert!(
            (-300_999..=-300_000).contains(&kept),
            "{kept}: today's clock"
        );
        model.skew = 90_000;
        model.t += 120_000;
        model.sweep(false);
        assert!(model.read.contains(&0), "{:?}", model.log);
    }
}
