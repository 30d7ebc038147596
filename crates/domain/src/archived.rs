//! Deletes seen in a list of archived records that has no time filter (HubSpot's
//! `GET …?archived=true`, `shared/research/providers.md` §3.6), as a pure decision: which
//! archives are news, and what the sweep remembers for the next one.
//!
//! The rules, and why:
//! - HubSpot's deletes are archives: they leave search and do not move the modified time, so a
//!   poll never sees them. Only the archived list shows them — all of them, every time, with
//!   when each was archived. A sweep reads it whole and compares it with the **memory**: the
//!   archives it has already reported (object id → when archived).
//! - An archive is news when the memory does not hold it at that time: a record archived,
//!   restored and archived again is a second deletion, with its own event.
//! - Archives from before events were enabled (`since_ms`) are remembered without an event, as
//!   the first poll does not report what existed before.
//! - The memory after a sweep is exactly the list it read — an id no longer listed (restored,
//!   or purged from the recycle bin after 90 days) is forgotten — so it is as bounded as the
//!   provider's own list; [`MAX_REMEMBERED`] caps it besides, keeping the latest archives.
//! - A `DELETED` event's id derives from (instance, resource, object id, archive time), as a
//!   delete log's do ([`crate::deletes::deleted_event_id`]): the same archive is one event.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::deletes::{DELETED, DeleteEvent, deleted_event_id};

/// The most archives a memory keeps (the latest, by archive time). Past it, an older archive
/// still listed would be reported again — under the same event id, which the event log keeps
/// once while it holds the event.
pub const MAX_REMEMBERED: usize = 200_000;

/// One archived record as the provider lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    pub object_id: String,
    pub archived_ms: i64,
    /// The provider's entry, carried as the event's record.
    pub entry: Value,
}

/// What a sweep decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub events: Vec<DeleteEvent>,
    /// Object id → archive time: what the next sweep compares with.
    pub memory: BTreeMap<String, i64>,
}

/// Decides a sweep of the whole archived list `listed` (in the provider's order), given what
/// the last one remembered.
pub fn decide(
    instance_id: i64,
    resource: &str,
    since_ms: i64,
    memory: &BTreeMap<String, i64>,
    listed: Vec<Archive>,
) -> Outcome {
    let mut events = Vec::new();
    let mut next: BTreeMap<String, i64> = BTreeMap::new();
    for archive in listed {
        // Listed twice (the list moved while it was paged): the latest archive counts once.
        if next
            .get(&archive.object_id)
            .is_some_and(|at| *at >= archive.archived_ms)
        {
            continue;
        }
        next.insert(archive.object_id.clone(), archive.archived_ms);
        let known = memory.get(&archive.object_id) == Some(&archive.archived_ms);
        if known || archive.archived_ms < since_ms {
            continue;
        }
        events.push(DeleteEvent {
            event_id: deleted_event_id(
                instance_id,
                resource,
                &archive.object_id,
                archive.archived_ms,
            ),
            object_id: archive.object_id,
            event_type: DELETED,
            date_ms: archive.archived_ms,
            record: archive.entry,
        });
    }
    if next.len() > MAX_REMEMBERED {
        let mut times: Vec<i64> = next.values().copied().collect();
        times.sort_unstable();
        let oldest_kept = times[times.len() - MAX_REMEMBERED];
        next.retain(|_, at| *at >= oldest_kept);
    }
    Outcome {
        events,
        memory: next,
    }
}

/// The memory as stored (a JSON object).
pub fn memory_to_json(memory: &BTreeMap<String, i64>) -> String {
    let map: Map<String, Value> = memory
        .iter()
        .map(|(id, at)| (id.clone(), Value::from(*at)))
        .collect();
    Value::Object(map).to_string()
}

/// The memory as stored, read back; empty when there is none or it does not read.
pub fn memory_from_json(text: Option<&str>) -> BTreeMap<String, i64> {
    match text.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(map))) => map
            .into_iter()
            .filter_map(|(id, at)| Some((id, at.as_i64()?)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T0: i64 = 1_795_860_000_000;

    fn archive(id: &str, at: i64) -> Archive {
        Archive {
            object_id: id.into(),
            archived_ms: at,
            entry: json!({"id": id, "archived": true}),
        }
    }

    fn ids(outcome: &Outcome) -> Vec<&str> {
        outcome
            .events
            .iter()
            .map(|e| e.object_id.as_str())
            .collect()
    }

    #[test]
    fn archives_since_enabling_are_news_once_and_older_ones_are_remembered_silently() {
        let first = decide(
            7,
            "contacts",
            T0,
            &BTreeMap::new(),
            vec![archive("1", T0 - 5_000), archive("2", T0 + 1_000)],
        );
        assert_eq!(ids(&first), ["2"]);
        assert_eq!(first.events[0].event_type, DELETED);
        assert_eq!(first.events[0].date_ms, T0 + 1_000);
        assert_eq!(first.memory.len(), 2);
        let again = decide(
            7,
            "contacts",
            T0,
            &first.memory,
            vec![
                archive("1", T0 - 5_000),
                archive("2", T0 + 1_000),
                archive("3", T0 + 9),
            ],
        );
        assert_eq!(ids(&again), ["3"], "only the new archive");
        assert_eq!(
            again.events[0].event_id,
            deleted_event_id(7, "contacts", "3", T0 + 9)
        );
    }

    #[test]
    fn a_record_archived_again_is_a_second_deletion_and_one_no_longer_listed_is_forgotten() {
        let memory = BTreeMap::from([("1".to_owned(), T0), ("2".to_owned(), T0)]);
        let outcome = decide(1, "deals", T0, &memory, vec![archive("1", T0 + 60_000)]);
        assert_eq!(ids(&outcome), ["1"]);
        assert_ne!(
            outcome.events[0].event_id,
            deleted_event_id(1, "deals", "1", T0),
            "another archive time, another event"
        );
        assert_eq!(
            outcome.memory,
            BTreeMap::from([("1".to_owned(), T0 + 60_000)]),
            "2 was restored or purged: forgotten"
        );
    }

    #[test]
    fn an_id_listed_twice_is_one_archive_and_the_memory_round_trips() {
        let outcome = decide(
            1,
            "tickets",
            T0,
            &BTreeMap::new(),
            vec![archive("5", T0 + 1), archive("5", T0 + 1)],
        );
        assert_eq!(ids(&outcome), ["5"]);
        let text = memory_to_json(&outcome.memory);
        assert_eq!(memory_from_json(Some(&text)), outcome.memory);
        assert!(memory_from_json(Some("not json")).is_empty());
        assert!(memory_from_json(None).is_empty());
    }

    #[test]
    fn the_memory_keeps_the_latest_archives_when_the_list_is_longer_than_its_cap() {
        let listed: Vec<Archive> = (0..MAX_REMEMBERED + 10)
            .map(|i| archive(&i.to_string(), T0 + i as i64))
            .collect();
        let outcome = decide(1, "contacts", T0 + i64::MAX / 2, &BTreeMap::new(), listed);
        assert!(outcome.events.is_empty());
        assert_eq!(outcome.memory.len(), MAX_REMEMBERED);
        assert!(!outcome.memory.contains_key("0"), "the oldest go first");
        assert!(
            outcome
                .memory
                .contains_key(&(MAX_REMEMBERED + 9).to_string())
        );
    }
}
