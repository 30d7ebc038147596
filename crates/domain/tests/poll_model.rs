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
//! (`crates/server/src/poller.rs`). What the model finds lost when the provider's clock steps
//! back, or forward across late indexing, is issue 16's bug: those properties are ignored below.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use tributary_domain::instance_config::{DatesConfiguration, PollerConfig};
use tributary_domain::poll::{CompiledPoller, EventType, PollState, decide, event_date};

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
    event_ids: HashSet<String>,
    changes: HashSet<(String, i64)>,
    first_seen: HashSet<String>,
}

/// Runs `steps` and a last poll once everything is indexed, checking every poll's events.
/// `at_once`: searches show every change as soon as it is made, whatever its own delay.
fn run(steps: Vec<Step>, skew_ms: i64, at_once: bool) -> Result<(), TestCaseError> {
    let index = |index_ms: i64| if at_once { 0 } else { index_ms };
    let poller = poller();
    let mut provider = Provider {
        real_ms: T0,
        offset_ms: skew_ms,
        records: BTreeMap::new(),
    };
    // The poller's first cursor: the moment events were enabled, in the provider's time as its
    // Date header (whole seconds) tells it, less a second (`crates/server/src/poller.rs`).
    let mut state = PollState {
        cursor_ms: T0 + skew_ms.div_euclid(1000) * 1000 - 1000,
        ..Default::default()
    };
    let mut emitted = Emitted::default();
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
                    page_size,
                    &between_pages,
                )?;
            }
            Step::SetClock { delta_ms } => provider.offset_ms += delta_ms,
        }
    }
    provider.real_ms += 10_000;
    poll(
        &poller,
        &mut provider,
        &mut state,
        &mut emitted,
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

/// One poll: pages read in turn (with `between_pages` happening between them), then `decide`.
fn poll(
    poller: &CompiledPoller,
    provider: &mut Provider,
    state: &mut PollState,
    emitted: &mut Emitted,
    page_size: usize,
    between_pages: &[Change],
) -> Result<(), TestCaseError> {
    let window = poller.window_start(state.cursor_ms);
    let poll_start = provider.now();
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
    let outcome = decide(poller, state, poll_start, 1, "tasks", records);
    for event in &outcome.events {
        let updated = event.updated_ms.unwrap();
        prop_assert!(
            emitted.event_ids.insert(event.event_id.clone()),
            "event id repeated: {event:?}"
        );
        prop_assert!(
            emitted.changes.insert((event.object_id.clone(), updated)),
            "change emitted twice: {event:?}"
        );
        let first = emitted.first_seen.insert(event.object_id.clone());
        let id: u8 = event.object_id.parse().unwrap();
        let created = provider.records[&id].created;
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
    /// they fall before the next poll's window (`since` = cursor − pollDelay) and are never
    /// read: the poller must notice the step (the provider's Date header going back) and move
    /// its window back with it. Kept here, unweakened, until the poller does.
    #[test]
    #[ignore = "issue 16: a provider clock that steps back loses changes"]
    fn no_change_is_lost_or_repeated_when_the_provider_clock_also_steps_back(
        steps in proptest::collection::vec(step(Clock::ForwardAndBack), 1..100),
        skew_ms in -600_000i64..600_000,
    ) {
        run(steps, skew_ms, true)?;
    }
}

/// The smallest case of issue 16's property above, spelled out: a change, a poll that emits it,
/// the provider's clock set back a minute, and a change after it, never read.
#[test]
#[ignore = "issue 16: a provider clock that steps back loses changes"]
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
