//! The poll against a model provider: whatever the interleaving of changes and polls — ties at
//! the cursor, several changes of one record between polls, late indexing inside the overlap —
//! every change a poll could see is emitted exactly once; CREATED never follows an earlier event
//! of the record, and a record's first event is UPDATED only when it was created before the
//! poll's window (it existed, unseen, at an earlier poll — the spec's rule).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;
use serde_json::{Value, json};
use tributary_domain::instance_config::{DatesConfiguration, PollerConfig};
use tributary_domain::poll::{CompiledPoller, EventType, PollState, decide, event_date};

const T0: i64 = 1_795_860_000_000;
const OVERLAP_SECS: u32 = 5;

#[derive(Debug, Clone)]
enum Step {
    /// Record `id` changes (or is created) `advance_ms` after the last step.
    Change { id: u8, advance_ms: i64 },
    /// A poll `advance_ms` later; records changed within `lag_ms` before it are not indexed yet.
    Poll { advance_ms: i64, lag_ms: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..12, 0i64..1_500).prop_map(|(id, advance_ms)| Step::Change { id, advance_ms }),
        1 => (0i64..4_000, 0i64..(i64::from(OVERLAP_SECS) * 1000 - 500))
            .prop_map(|(advance_ms, lag_ms)| Step::Poll { advance_ms, lag_ms }),
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
    })
    .unwrap()
}

fn at(ms: i64) -> String {
    event_date(ms).replace('Z', &format!(".{:03}Z", ms.rem_euclid(1000)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_change_is_lost_or_repeated(steps in proptest::collection::vec(step(), 1..80)) {
        let poller = poller();
        let mut now = T0;
        // id → (created, updated): the provider's records.
        let mut records: BTreeMap<u8, (i64, i64)> = BTreeMap::new();
        let mut state = PollState { cursor_ms: T0 - 1, ..Default::default() };
        let mut emitted: HashSet<(String, i64)> = HashSet::new();
        let mut first_seen: HashSet<String> = HashSet::new();
        let mut ids = HashSet::new();
        let mut poll = |now: i64, lag_ms: i64, records: &BTreeMap<u8, (i64, i64)>, state: &mut PollState| {
            let window = poller.window_start(state.cursor_ms);
            // The provider's `since` is inclusive; records changed in the last `lag_ms` are
            // not indexed yet.
            let visible: Vec<Value> = records
                .iter()
                .filter(|(_, (_, updated))| *updated >= window && *updated <= now - lag_ms)
                .map(|(id, (created, updated))| json!({"id": id, "creation_date": at(*created), "modification_date": at(*updated)}))
                .collect();
            let outcome = decide(&poller, state, now, 1, "tasks", visible);
            for event in &outcome.events {
                let updated = event.updated_ms.unwrap();
                prop_assert!(ids.insert(event.event_id.clone()), "event id repeated: {event:?}");
                prop_assert!(emitted.insert((event.object_id.clone(), updated)), "change emitted twice: {event:?}");
                let first = first_seen.insert(event.object_id.clone());
                let id: u8 = event.object_id.parse().unwrap();
                let created = records[&id].0;
                match event.event_type {
                    EventType::Created => prop_assert!(first, "CREATED after an earlier event: {event:?}"),
                    EventType::Updated if first => prop_assert!(created < window, "a record created inside the window came first as UPDATED: {event:?}"),
                    EventType::Updated => {}
                }
            }
            *state = outcome.state;
            Ok(())
        };
        for step in steps {
            match step {
                Step::Change { id, advance_ms } => {
                    now += advance_ms;
                    let entry = records.entry(id).or_insert((now, now));
                    entry.1 = now;
                }
                Step::Poll { advance_ms, lag_ms } => {
                    now += advance_ms;
                    poll(now, lag_ms, &records, &mut state)?;
                }
            }
        }
        // A last poll once everything is indexed: every record's latest state was emitted.
        now += 10_000;
        poll(now, 0, &records, &mut state)?;
        for (id, (_, updated)) in &records {
            prop_assert!(emitted.contains(&(id.to_string(), *updated)), "record {id} at {updated} was never emitted");
        }
    }
}
