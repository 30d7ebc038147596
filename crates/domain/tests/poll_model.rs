//! The poll against a model provider: whatever the interleaving of changes and polls — ties at
//! the cursor, several changes of one record between polls, late indexing inside the overlap,
//! polls that read several pages while records change between them, a provider clock minutes
//! away from Tributary's that steps forward between polls — every change a poll could see is
//! emitted exactly once; CREATED never follows an earlier event of the record, and a record's
//! first event is UPDATED only when it was created before the poll's window (it existed,
//! unseen, at an earlier poll — the spec's rule).
//!
//! The model provider stamps each change with its own clock (Tributary's plus an offset, which
//! steps), indexes it some real time later — less than the overlap, in any order (until then a
//! search shows the record's previous version, or nothing; once shown, a version stays shown) —
//! and answers `since` (inclusive, on the updated date) ordered by id, a page at a time by
//! offset, as Infusionsoft does. A poll reads pages until the last, each at a moment of its
//! own, and hands all the records to `decide` at once, as the poller does
//! (`crates/server/src/poller/mod.rs`), reading from where the poller reads: the cursor, or —
//! when the provider's Date header puts the last poll behind the cursor, its clock having
//! stepped back — from the provider's new clock (`decide_since`). The clock steps only between
//! polls; what a step before the first poll, or two steps with no poll between them, hide from
//! any date-based poller is kept below as ignored examples, beside the follow-ups found here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use tributary_domain::instance_config::{DatesConfiguration, PollerConfig};
use tributary_domain::poll::{CompiledPoller, EventType, PollState, decide_since, event_date};

/// When events were enabled, on Tributary's clock.
const T0: i64 = 1_795_860_000_000;
const OVERLAP_SECS: u32 = 5;
const OVERLAP_MS: i64 = OVERLAP_SECS as i64 * 1000;

#[derive(Debug, Clone)]
enum Step {
    /// Record `id` changes (or is created) `advance_ms` after the last step; searches show the
    /// change `index_ms` later.
    Change {
        id: u8,
        advance_ms: i64,
        index_ms: i64,
    },
    /// A poll `advance_ms` later, reading pages of `page_size`. After each page but the last,
    /// the next of `between_pages` happens (a record changes while the poll pages).
    Poll {
        advance_ms: i64,
        page_size: usize,
        between_pages: Vec<Change>,
    },
    /// The provider's clock steps by `delta_ms` (NTP, a fixed VM clock), between polls.
    SetClock { delta_ms: i64 },
}

/// A change while a poll pages: record `id`, `advance_ms` after the page, shown `index_ms` later.
type Change = (u8, i64, i64);

/// How the provider's clock moves between polls.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// A constant offset from Tributary's.
    Steady,
    /// Steps forward, up to an hour.
    Forward,
    /// Steps either way, up to an hour.
    ForwardAndBack,
}

/// Steps of a run. The provider's clock steps as `clock` says.
fn step(clock: Clock) -> impl Strategy<Value = Step> {
    let deltas = match clock {
        Clock::Steady => 0i64..1,
        Clock::Forward => 1i64..3_600_000,
        Clock::ForwardAndBack => -3_600_000i64..3_600_000,
    };
    let step_weight = if matches!(clock, Clock::Steady) { 0 } else { 1 };
    // The overlap covers late indexing and the time a poll spends paging, together (with half
    // a second to spare): shown up to 3 s late, and pages spanning at most 6 × 250 ms.
    let index_ms = || prop_oneof![Just(0i64), 0i64..(OVERLAP_MS - 2_000)];
    prop_oneof![
        12 => (0u8..12, 0i64..1_500, index_ms())
            .prop_map(|(id, advance_ms, index_ms)| Step::Change { id, advance_ms, index_ms }),
        4 => (
            0i64..4_000,
            1usize..5,
            proptest::collection::vec((0u8..12, 0i64..250, index_ms()), 0..6),
        )
            .prop_map(|(advance_ms, page_size, between_pages)| Step::Poll {
                advance_ms,
                page_size,
                between_pages,
            }),
        step_weight => deltas.prop_map(|delta_ms| Step::SetClock { delta_ms }),
    ]
}

fn poller() -> CompiledPoller {
    let format = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'".to_owned();
    CompiledPoller::compile(&PollerConfig {
        url: "/hubs/crm/tasks".into(),
        id_field: "id".into(),
        dates: DatesConfiguration {
            updated_field: "modification_date".into(),
            updated_format: format.clone(),
            updated_timezone: Some("GMT".into()),
            created_field: "creation_date".into(),
            created_format: format,
            created_timezone: Some("GMT".into()),
        },
        page_size: None,
        poll_delay_secs: OVERLAP_SECS,
        created_check_tolerance_secs: 0,
        filter_by_updated_date: true,
        filter_by_current_date: false,
        detect_deletes: false,
        checksum: false,
    })
    .unwrap()
}

fn at(ms: i64) -> String {
    event_date(ms).replace('Z', &format!(".{:03}Z", ms.rem_euclid(1000)))
}

/// A record's versions, each (provider stamp, real moment searches show it from), oldest first.
#[derive(Debug)]
struct Record {
    created: i64,
    versions: Vec<(i64, i64)>,
}

/// The provider: its records and its clock.
#[derive(Debug)]
struct Provider {
    /// Tributary's clock.
    real_ms: i64,
    /// The provider's clock minus Tributary's.
    offset_ms: i64,
    records: BTreeMap<u8, Record>,
}

impl Provider {
    fn now(&self) -> i64 {
        self.real_ms + self.offset_ms
    }

    fn change(&mut self, id: u8, advance_ms: i64, index_ms: i64) {
        self.real_ms += advance_ms;
        let (stamp, shown) = (self.now(), self.real_ms + index_ms);
        let record = self.records.entry(id).or_insert(Record {
            created: stamp,
            versions: Vec::new(),
        });
        record.versions.push((stamp, shown));
    }

    /// A page of `GET ?since=…&offset=…&limit=…` now: each record as searches show it (its
    /// newest version indexed by now), if that version is at or after `since`, by id.
    fn page(&self, since: i64, offset: usize, size: usize) -> (Vec<Value>, bool) {
        let matching: Vec<Value> = self
            .records
            .iter()
            .filter_map(|(id, record)| {
                let (updated, _) = record
                    .versions
                    .iter()
                    .rev()
                    .find(|(_, shown)| *shown <= self.real_ms)?;
                (*updated >= since).then(|| {
                    json!({"id": id, "creation_date": at(record.created), "modification_date": at(*updated)})
                })
            })
            .collect();
        let page = matching.iter().skip(offset).take(size).cloned().collect();
        (page, offset + size < matching.len())
    }
}

/// What the test has seen the poller emit.
#[derive(Debug, Default)]
struct Emitted {
    /// Whether each event's type is checked (CREATED first, and only for records created in
    /// the window), or only that every change is emitted once.
    check_types: bool,
    event_ids: HashSet<String>,
    changes: HashSet<(String, i64)>,
    first_seen: HashSet<String>,
}

/// Runs `steps` and a last poll once everything is indexed, checking every poll's events.
/// `at_once`: searches show every change as soon as it is made, whatever its own delay.
fn run(steps: Vec<Step>, skew_ms: i64, at_once: bool) -> Result<(), TestCaseError> {
    run_with(steps, skew_ms, at_once, false, true)
}

/// [`run`], checking that every change is emitted once but not which type each event has.
fn run_without_types(steps: Vec<Step>, skew_ms: i64) -> Result<(), TestCaseError> {
    run_with(steps, skew_ms, true, false, false)
}

/// [`run`], every clock step applied where it falls (the examples of what polling cannot see).
fn run_stepping_freely(steps: Vec<Step>, skew_ms: i64) -> Result<(), TestCaseError> {
    run_with(steps, skew_ms, true, true, true)
}

fn run_with(
    steps: Vec<Step>,
    skew_ms: i64,
    at_once: bool,
    free_steps: bool,
    check_types: bool,
) -> Result<(), TestCaseError> {
    let index = |index_ms: i64| if at_once { 0 } else { index_ms };
    let poller = poller();
    let mut provider = Provider {
        real_ms: T0,
        offset_ms: skew_ms,
        records: BTreeMap::new(),
    };
    // The poller's first cursor is set at its first poll (below): the moment events were
    // enabled, in the provider's time as its Date header (whole seconds) tells it then, less a
    // second (`crates/server/src/poller/mod.rs`).
    let mut state = PollState::default();
    let mut emitted = Emitted {
        check_types,
        ..Emitted::default()
    };
    // When the last poll began, on Tributary's clock (the poller keeps it in its summary).
    let mut last_poll: Option<i64> = None;
    let mut polled_since_step = true;
    for step in steps {
        match step {
            Step::Change {
                id,
                advance_ms,
                index_ms,
            } => provider.change(id, advance_ms, index(index_ms)),
            Step::Poll {
                advance_ms,
                page_size,
                between_pages,
            } => {
                provider.real_ms += advance_ms;
                let between_pages: Vec<Change> = between_pages
                    .into_iter()
                    .map(|(id, advance, index_ms)| (id, advance, index(index_ms)))
                    .collect();
                poll(
                    &poller,
                    &mut provider,
                    &mut state,
                    &mut emitted,
                    &mut last_poll,
                    page_size,
                    &between_pages,
                )?;
                polled_since_step = true;
            }
            // A step is seen by a poll, or by nobody: the provider's clock steps only once a
            // poll has read it since its last step. (Two steps with no poll between them — a
            // step back and forward again — leave changes dated behind a cursor no later Date
            // header reveals; a step before the first poll moves the clock the first cursor is
            // read from. Neither is visible to a date-based poller; each is an example below.)
            Step::SetClock { delta_ms } => {
                if free_steps || (last_poll.is_some() && polled_since_step) {
                    provider.offset_ms += delta_ms;
                    polled_since_step = false;
                }
            }
        }
    }
    provider.real_ms += 10_000;
    poll(
        &poller,
        &mut provider,
        &mut state,
        &mut emitted,
        &mut last_poll,
        usize::MAX,
        &[],
    )?;
    for (id, record) in &provider.records {
        let (latest, _) = record.versions.last().unwrap();
        prop_assert!(
            emitted.changes.contains(&(id.to_string(), *latest)),
            "record {id} at {latest} was never emitted"
        );
    }
    Ok(())
}

/// One poll as the poller runs it (`crates/server/src/poller/mod.rs`): `since` is the last
/// poll's moment on the provider's clock of today (or its now), the window starts from the
/// cursor — or from `since` when the provider's clock has stepped back behind the cursor —
/// pages are read in turn (with `between_pages` happening between them), then `decide_since`.
// The poll's whole context, as the poller has it, passed explicitly.
#[allow(clippy::too_many_arguments)]
fn poll(
    poller: &CompiledPoller,
    provider: &mut Provider,
    state: &mut PollState,
    emitted: &mut Emitted,
    last_poll: &mut Option<i64>,
    page_size: usize,
    between_pages: &[Change],
) -> Result<(), TestCaseError> {
    let poll_start = provider.now();
    if last_poll.is_none() {
        state.cursor_ms = T0 + provider.offset_ms.div_euclid(1000) * 1000 - 1000;
    }
    let since = last_poll.map_or(poll_start, |at| (at + provider.offset_ms).min(poll_start));
    let window = poller.read_from(state.cursor_ms, since);
    *last_poll = Some(provider.real_ms);
    let mut records = Vec::new();
    let mut between = between_pages.iter();
    loop {
        let (page, more) = provider.page(window, records.len(), page_size);
        records.extend(page);
        if !more {
            break;
        }
        if let Some(&(id, advance_ms, index_ms)) = between.next() {
            provider.change(id, advance_ms, index_ms);
        }
    }
    let outcome = decide_since(poller, state, since, poll_start, 1, "tasks", records);
    for event in &outcome.events {
        let updated = event.updated_ms.unwrap();
        // The store keeps an event id once (a unique key): a repeat of one is dropped there,
        // as re-reads after the provider's clock steps back are (issue 16).
        if !emitted.event_ids.insert(event.event_id.clone()) {
            continue;
        }
        prop_assert!(
            emitted.changes.insert((event.object_id.clone(), updated)),
            "change emitted twice: {event:?}"
        );
        let first = emitted.first_seen.insert(event.object_id.clone());
        let id: u8 = event.object_id.parse().unwrap();
        let created = provider.records[&id].created;
        if !emitted.check_types {
            continue;
        }
        match event.event_type {
            EventType::Created => prop_assert!(first, "CREATED after an earlier event: {event:?}"),
            EventType::Updated if first => prop_assert!(
                created < window,
                "a record created inside the window came first as UPDATED: {event:?}"
            ),
            EventType::Updated => {}
        }
    }
    *state = outcome.state;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Late indexing in any order, a steady provider clock minutes away from Tributary's.
    #[test]
    fn no_change_is_lost_or_repeated(
        steps in proptest::collection::vec(step(Clock::Steady), 1..100),
        skew_ms in -600_000i64..600_000,
    ) {
        run(steps, skew_ms, false)?;
    }

    /// The provider's clock steps forward between polls (searches show changes at once: with
    /// late indexing, see the ignored property below).
    #[test]
    fn no_change_is_lost_or_repeated_when_the_provider_clock_steps_forward(
        steps in proptest::collection::vec(step(Clock::Forward), 1..100),
        skew_ms in -600_000i64..600_000,
    ) {
        run(steps, skew_ms, true)?;
    }

    /// Found by this model, and issue 16's bug (below) run forward: the overlap covers late
    /// indexing measured on the provider's clock, and a forward step stretches that measure. A
    /// change made just before the step and shown late — after the first page of the next
    /// poll, or after that poll — is stamped more than the overlap before a change made after
    /// the step that the poll did read, which becomes the cursor; no later window reaches it.
    /// Example (overlap 5 s): record 0 changes at T, shown 2.9 s later; the clock steps 4.4 s
    /// forward; record 3 changes 0.6 s after T, stamped T + 5.0 s; a poll reads record 0's page
    /// before its change is shown and record 3's after, and the next window starts past T. The
    /// fix for both: the poller moves its window by the step that the provider's Date header
    /// shows between polls.
    #[test]
    #[ignore = "issue 16: a provider clock that steps forward loses a change indexed late across the step"]
    fn no_change_is_lost_or_repeated_when_the_clock_steps_forward_and_changes_are_indexed_late(
        steps in proptest::collection::vec(step(Clock::Forward), 1..100),
        skew_ms in -600_000i64..600_000,
    ) {
        run(steps, skew_ms, false)?;
    }

    /// Issue 16, point 2: when the provider's clock steps back between polls, changes made
    /// after the step carry dates before the cursor. Once the step is larger than the overlap,
    /// they fall before a window of cursor − pollDelay; the poller notices the step (the
    /// provider's Date header, against when it last polled) and reads from the provider's new
    /// clock: every change is emitted once. (Their types: the property below.)
    #[test]
    fn no_change_is_lost_or_repeated_when_the_provider_clock_also_steps_back(
        steps in proptest::collection::vec(step(Clock::ForwardAndBack), 1..100),
        skew_ms in -600_000i64..600_000,
    ) {
        run_without_types(steps, skew_ms)?;
    }

    /// After a step back larger than the overlap, a record emitted before the step, whose
    /// memory the window has let go, and changed after it may be created on the old clock
    /// after the new clock's window start: nothing in the poll tells it from a record created
    /// after the step, and it is reported CREATED a second time (its change still once). The
    /// event log knows it was emitted; asking it is the follow-up.
    #[test]
    #[ignore = "follow-up of issue 16: after a large step back, a record emitted before it may come again as CREATED"]
    fn event_types_stay_right_when_the_provider_clock_also_steps_back(
        steps in proptest::collection::vec(step(Clock::ForwardAndBack), 1..100),
        skew_ms in -600_000i64..600_000,
    ) {
        run(steps, skew_ms, true)?;
    }
}

/// The smallest case of issue 16's property above, spelled out: a change, a poll that emits it,
/// the provider's clock set back a minute, and a change after it, read from the step back.
#[test]
fn a_change_after_the_provider_clock_steps_back_a_minute_is_emitted() {
    let steps = vec![
        Step::Change {
            id: 1,
            advance_ms: 1_000,
            index_ms: 0,
        },
        Step::Poll {
            advance_ms: 1_000,
            page_size: 10,
            between_pages: vec![],
        },
        Step::SetClock { delta_ms: -60_000 },
        Step::Change {
            id: 2,
            advance_ms: 1_000,
            index_ms: 0,
        },
    ];
    run(steps, 0, true).unwrap();
}

/// What no date-based poller sees, kept as a record of the limit (README, *Reliability*): the
/// provider's clock steps back a minute, a record changes, and the clock steps forward again,
/// all between two polls. The change is dated behind the cursor, and no poll ever saw the
/// provider's clock behind it.
#[test]
#[ignore = "a limit of polling by date: two opposite clock steps with no poll between them hide the changes made in between"]
fn a_change_between_two_opposite_clock_steps_with_no_poll_between_them_is_emitted() {
    let steps = vec![
        Step::Change {
            id: 1,
            advance_ms: 1_000,
            index_ms: 0,
        },
        Step::Poll {
            advance_ms: 1_000,
            page_size: 10,
            between_pages: vec![],
        },
        Step::SetClock { delta_ms: -60_000 },
        Step::Change {
            id: 2,
            advance_ms: 1_000,
            index_ms: 0,
        },
        Step::SetClock { delta_ms: 60_000 },
    ];
    run_stepping_freely(steps, 0).unwrap();
}

/// The poller learns the provider's clock at its first poll, so a forward step between
/// enabling events and that poll moves the first cursor past changes made before the step.
#[test]
#[ignore = "follow-up of issue 16: the first cursor is read on the provider's clock of the first poll, not of the moment events were enabled"]
fn a_change_before_a_forward_step_ahead_of_the_first_poll_is_emitted() {
    let steps = vec![
        Step::Change {
            id: 1,
            advance_ms: 1_000,
            index_ms: 0,
        },
        Step::SetClock { delta_ms: 60_000 },
    ];
    run_stepping_freely(steps, 0).unwrap();
}

/// Found by `no_change_is_lost_or_repeated_when_the_provider_clock_also_steps_back` on
/// 2026-11-30, its first failure in many runs. The provider's clock steps forward 125 s; an
/// empty poll leaves the cursor where it was; the record changes; the clock steps back 7.6 s,
/// which the next poll cannot tell (the cursor is far behind its clock) and which reads the
/// record dated 7.6 s in the provider's future. The record changes again, dated at the
/// provider's now, and the clock steps forward 5.001 s. A cursor moved to the future record's
/// date put the last change 1 ms behind the next window; the cursor now stops at the poll's
/// start on the provider's clock.
#[test]
fn a_change_between_a_step_back_and_a_forward_step_just_over_the_overlap_is_emitted() {
    let poll = |advance_ms| Step::Poll {
        advance_ms,
        page_size: 1,
        between_pages: vec![],
    };
    let change = Step::Change {
        id: 0,
        advance_ms: 0,
        index_ms: 0,
    };
    let steps = vec![
        poll(0),
        Step::SetClock { delta_ms: 125_003 },
        poll(3_174),
        change.clone(),
        Step::SetClock { delta_ms: -7_634 },
        poll(0),
        change,
        Step::SetClock { delta_ms: 5_001 },
    ];
    run_without_types(steps, 0).unwrap();
}
