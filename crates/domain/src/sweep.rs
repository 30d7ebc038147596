//! A reconciliation sweep's decision (delete detection by `absence`, and checksum mode), pure:
//! the whole list of a resource compared with what the last complete sweep remembered.
//!
//! The rules, and why:
//! - Some providers never say that a record was deleted (Keap's v1 lists,
//!   `shared/research/infusionsoft.md` §"No delete visibility by polling"): the record simply
//!   stops being listed. A sweep reads the resource's list whole and compares the ids with its
//!   **memory** (object id → a token: the record's change date, or in checksum mode its content
//!   hash). An id remembered and no longer listed — and confirmed gone by the caller, who asks
//!   the provider for it, since an offset-paged list that moved under the sweep can skip a
//!   live record — is a `DELETED` event.
//! - **Checksum mode** (a resource without a change date, Keap's companies): the token is a
//!   hash of the record's content, a changed hash is an `UPDATED` event, an id not remembered
//!   a `CREATED` one.
//! - **The first sweep** (no memory yet) only remembers: it cannot tell a record it never saw
//!   from a new one, so it reports nothing (`shared/spec/product.md` §4: the first poll does
//!   not report what existed before).
//! - The caller feeds records page by page ([`Sweep::add`]) and keeps no page: a sweep of
//!   100,000 records holds their ids and tokens (and, in checksum mode, the changed records)
//!   only. The caller decides only after the list was read to its end: a sweep interrupted by
//!   a fault decides nothing and the memory stays as it was.
//! - Event ids derive from (instance, resource, object id, the token): a repeat of the same
//!   sweep (a crash between reading and committing) is the same events, stored once.
//! - The memory after a sweep is what it listed, plus what was missing but not confirmed gone
//!   (still there, or not asked yet); [`MAX_REMEMBERED`] bounds it: a resource listing more
//!   is refused by the caller rather than remembered in part (a part would report the rest as
//!   new, or miss its deletes).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::poll::{CompiledPoller, content_hash, event_id, field_text};

/// The most records a sweep remembers per resource (about 30 bytes each when stored).
pub const MAX_REMEMBERED: usize = 1_000_000;

pub const CREATED: &str = "CREATED";
pub const UPDATED: &str = "UPDATED";
pub const DELETED: &str = "DELETED";

/// Object id → token (the change date in epoch ms as text, or the content hash).
pub type Memory = BTreeMap<String, String>;

/// One event a sweep decided.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepEvent {
    pub event_id: String,
    pub object_id: String,
    /// [`CREATED`], [`UPDATED`] or [`DELETED`].
    pub event_type: &'static str,
    pub date_ms: i64,
    pub record: Value,
}

/// What a sweep decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub events: Vec<SweepEvent>,
    /// What the next sweep compares with.
    pub memory: Memory,
    /// Records remembered, missing from the list, and not confirmed gone (kept).
    pub kept_missing: usize,
}

/// A sweep in progress: the records listed so far, as ids and tokens.
#[derive(Debug)]
pub struct Sweep<'m> {
    memory: Option<&'m Memory>,
    checksum: bool,
    listed: Memory,
    /// Checksum mode: the records whose hash is not the remembered one.
    changed: BTreeMap<String, Value>,
    /// Records without a readable id.
    pub unreadable: usize,
    /// Missing ids are forgotten without an event (the resource's deletes are not wanted).
    forget_missing: bool,
    /// Ids the polls reported since the last sweep began (id → token): candidates for
    /// `DELETED` too, though no sweep has listed them yet.
    recent: Memory,
}

impl<'m> Sweep<'m> {
    /// A sweep compared with `memory` (`None` before the first complete sweep).
    pub fn new(memory: Option<&'m Memory>, checksum: bool) -> Sweep<'m> {
        Sweep {
            memory,
            checksum,
            listed: Memory::new(),
            changed: BTreeMap::new(),
            unreadable: 0,
            forget_missing: false,
            recent: Memory::new(),
        }
    }

    /// Adds the ids the polls reported since the last sweep began (with their change dates):
    /// a record created and deleted between two sweeps was never listed by one, yet its
    /// `CREATED` event went out, so its deletion is news too. On a first sweep these are the
    /// only candidates: a record reported and gone is no record "never seen".
    pub fn with_recent(mut self, recent: Memory) -> Self {
        self.recent = recent;
        self
    }

    /// The remembered and recently reported ids, the remembered token first.
    fn candidates(&self) -> impl Iterator<Item = (&String, &String)> {
        let memory = self.memory.into_iter().flatten();
        let recent = self
            .recent
            .iter()
            .filter(|(id, _)| self.memory.is_none_or(|m| !m.contains_key(*id)));
        memory.chain(recent)
    }

    /// A sweep that reports no deletes (checksum mode with `detectDeletes` off): ids no longer
    /// listed are forgotten without an event, and none is asked for.
    pub fn without_deletes(mut self) -> Self {
        self.forget_missing = true;
        self
    }

    /// Takes one listed record: its id (the poller's `idField`) and its token (its change
    /// date as the poller reads it, or in checksum mode its content hash).
    pub fn add(&mut self, poller: &CompiledPoller, record: Value) {
        let Some(id) = field_text(&record, &poller.config.id_field) else {
            self.unreadable += 1;
            return;
        };
        let token = if self.checksum {
            content_hash(&record)
        } else {
            // A date that does not read still lists the id; its token is then empty.
            poller
                .read_updated(&record)
                .map(|ms| ms.to_string())
                .unwrap_or_default()
        };
        if self.checksum
            && let Some(memory) = self.memory
            && memory.get(&id) != Some(&token)
        {
            self.changed.insert(id.clone(), record);
        }
        self.listed.insert(id, token);
    }

    /// Distinct ids listed so far.
    pub fn len(&self) -> usize {
        self.listed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The ids remembered and not listed: the candidates for `DELETED`, which the caller
    /// confirms with the provider before [`Sweep::finish`].
    pub fn missing(&self) -> Vec<String> {
        if self.forget_missing {
            return Vec::new();
        }
        self.candidates()
            .filter(|(id, _)| !self.listed.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Decides the sweep, once the whole list was read: `gone` are the missing ids the
    /// provider confirmed deleted; `date_ms` is the sweep's moment on the provider's clock
    /// (the date of its events, none of which has a date of its own); `id_field` places the
    /// id in a `DELETED` event's record.
    pub fn finish(
        self,
        instance_id: i64,
        resource: &str,
        id_field: &str,
        gone: &BTreeSet<String>,
        date_ms: i64,
    ) -> Outcome {
        let missing: Vec<(String, String)> = if self.forget_missing {
            Vec::new()
        } else {
            self.candidates()
                .filter(|(id, _)| !self.listed.contains_key(*id))
                .map(|(id, token)| (id.clone(), token.clone()))
                .collect()
        };
        let Sweep {
            memory,
            checksum,
            mut listed,
            mut changed,
            ..
        } = self;
        let mut events = Vec::new();
        let mut kept_missing = 0;
        for (id, token) in &missing {
            if gone.contains(id) {
                events.push(SweepEvent {
                    event_id: event_id(instance_id, resource, id, &format!("absent:{token}")),
                    object_id: id.clone(),
                    event_type: DELETED,
                    date_ms,
                    record: stub(id_field, id),
                });
            } else {
                kept_missing += 1;
                listed.insert(id.clone(), token.clone());
            }
        }
        if checksum && let Some(memory) = memory {
            for (id, token) in &listed {
                let Some(record) = changed.remove(id) else {
                    continue;
                };
                let (event_type, change) = match memory.get(id) {
                    None => (CREATED, format!("created:{token}")),
                    Some(before) => (UPDATED, format!("content:{before}:{token}")),
                };
                events.push(SweepEvent {
                    event_id: event_id(instance_id, resource, id, &change),
                    object_id: id.clone(),
                    event_type,
                    date_ms,
                    record,
                });
            }
        }
        Outcome {
            events,
            memory: listed,
            kept_missing,
        }
    }
}

/// A deleted record's stand-in: its id at `id_field` (a dotted path).
pub fn stub(id_field: &str, id: &str) -> Value {
    let mut value = Value::String(id.to_owned());
    for part in id_field.rsplit('.') {
        let mut map = Map::new();
        map.insert(part.to_owned(), value);
        value = Value::Object(map);
    }
    value
}

/// The memory as stored (a JSON object).
pub fn memory_to_json(memory: &Memory) -> String {
    let map: Map<String, Value> = memory
        .iter()
        .map(|(id, token)| (id.clone(), Value::String(token.clone())))
        .collect();
    Value::Object(map).to_string()
}

/// The memory as stored, read back; `None` when it does not read (then the next sweep seeds
/// again rather than reporting every record).
pub fn memory_from_json(text: &str) -> Option<Memory> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Some(
            map.into_iter()
                .filter_map(|(id, token)| Some((id, token.as_str()?.to_owned())))
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance_config::{DatesConfiguration, PollerConfig};
    use serde_json::json;

    const T0: i64 = 1_795_860_000_000;

    fn poller(checksum: bool) -> CompiledPoller {
        CompiledPoller::compile(&PollerConfig {
            url: "/hubs/crm/contacts".into(),
            id_field: "id".into(),
            dates: DatesConfiguration {
                updated_field: "updated".into(),
                updated_format: "milliseconds".into(),
                updated_timezone: None,
                created_field: "created".into(),
                created_format: "milliseconds".into(),
                created_timezone: None,
            },
            page_size: None,
            poll_delay_secs: 60,
            created_check_tolerance_secs: 0,
            filter_by_updated_date: true,
            filter_by_current_date: false,
            detect_deletes: true,
            checksum,
        })
        .unwrap()
    }

    fn record(id: i64, updated: i64, name: &str) -> Value {
        json!({"id": id, "updated": updated, "name": name})
    }

    fn sweep(memory: Option<&Memory>, checksum: bool, records: &[Value], gone: &[&str]) -> Outcome {
        let compiled = poller(checksum);
        let mut sweep = Sweep::new(memory, checksum);
        for r in records {
            sweep.add(&compiled, r.clone());
        }
        let gone = gone.iter().map(|g| (*g).to_owned()).collect();
        sweep.finish(7, "contacts", "id", &gone, T0)
    }

    fn kinds(outcome: &Outcome) -> Vec<(&str, &str)> {
        outcome
            .events
            .iter()
            .map(|e| (e.object_id.as_str(), e.event_type))
            .collect()
    }

    #[test]
    fn the_first_sweep_only_remembers() {
        let records = [record(1, T0, "a"), record(2, T0, "b")];
        for checksum in [false, true] {
            let first = sweep(None, checksum, &records, &["1"]);
            assert!(first.events.is_empty(), "checksum {checksum}: {first:?}");
            assert_eq!(first.memory.len(), 2);
        }
    }

    #[test]
    fn an_id_gone_and_confirmed_is_one_deleted_event_and_is_forgotten() {
        let first = sweep(None, false, &[record(1, T0, "a"), record(2, T0, "b")], &[]);
        let second = sweep(Some(&first.memory), false, &[record(1, T0, "a")], &["2"]);
        assert_eq!(kinds(&second), [("2", DELETED)]);
        assert_eq!(second.events[0].record, json!({"id": "2"}));
        assert_eq!(second.events[0].date_ms, T0);
        assert_eq!(
            second.memory.keys().collect::<Vec<_>>(),
            ["1"],
            "forgotten once reported"
        );
        // The same sweep repeated (nothing committed) decides the same event id.
        let again = sweep(Some(&first.memory), false, &[record(1, T0, "a")], &["2"]);
        assert_eq!(again.events[0].event_id, second.events[0].event_id);
        let third = sweep(Some(&second.memory), false, &[record(1, T0, "a")], &[]);
        assert!(third.events.is_empty(), "a second sweep: nothing new");
    }

    #[test]
    fn an_id_missing_but_not_confirmed_gone_is_kept_without_an_event() {
        let first = sweep(None, false, &[record(1, T0, "a"), record(2, T0, "b")], &[]);
        let second = sweep(Some(&first.memory), false, &[record(1, T0, "a")], &[]);
        assert!(second.events.is_empty());
        assert_eq!(second.kept_missing, 1);
        assert_eq!(second.memory, first.memory, "2 is still remembered");
    }

    #[test]
    fn without_checksums_new_and_changed_records_are_the_polls_business() {
        let first = sweep(None, false, &[record(1, T0, "a")], &[]);
        let second = sweep(
            Some(&first.memory),
            false,
            &[record(1, T0 + 5, "a2"), record(3, T0, "c")],
            &[],
        );
        assert!(second.events.is_empty());
        assert_eq!(second.memory["1"], (T0 + 5).to_string());
        assert_eq!(second.memory["3"], T0.to_string());
    }

    #[test]
    fn in_checksum_mode_a_changed_hash_is_updated_and_a_new_id_created() {
        let first = sweep(
            None,
            true,
            &[record(1, 0, "a"), record(2, 0, "b"), record(3, 0, "c")],
            &[],
        );
        let second = sweep(
            Some(&first.memory),
            true,
            &[
                record(1, 0, "a"),
                record(2, 0, "b, edited"),
                record(4, 0, "d"),
            ],
            &["3"],
        );
        let mut got = kinds(&second);
        got.sort();
        assert_eq!(got, [("2", UPDATED), ("3", DELETED), ("4", CREATED)]);
        let updated = second.events.iter().find(|e| e.object_id == "2").unwrap();
        assert_eq!(updated.record["name"], "b, edited");
        let third = sweep(
            Some(&second.memory),
            true,
            &[
                record(1, 0, "a"),
                record(2, 0, "b, edited"),
                record(4, 0, "d"),
            ],
            &[],
        );
        assert!(third.events.is_empty(), "unchanged: nothing");
        // Edited back: another change, another event id than the first edit's.
        let fourth = sweep(
            Some(&third.memory),
            true,
            &[record(1, 0, "a"), record(2, 0, "b"), record(4, 0, "d")],
            &[],
        );
        assert_eq!(kinds(&fourth), [("2", UPDATED)]);
        assert_ne!(fourth.events[0].event_id, updated.event_id);
    }

    #[test]
    fn a_record_reported_by_a_poll_and_gone_before_any_sweep_listed_it_is_deleted() {
        let compiled = poller(false);
        let recent = Memory::from([("9".into(), (T0 + 7).to_string())]);
        // On a first sweep: the only candidates are what the polls reported.
        let mut first = Sweep::new(None, false).with_recent(recent.clone());
        first.add(&compiled, record(1, T0, "a"));
        assert_eq!(first.missing(), ["9"]);
        let gone = BTreeSet::from(["9".to_owned()]);
        let outcome = first.finish(7, "contacts", "id", &gone, T0 + 60_000);
        assert_eq!(kinds(&outcome), [("9", DELETED)]);
        assert_eq!(
            outcome.events[0].event_id,
            event_id(7, "contacts", "9", &format!("absent:{}", T0 + 7))
        );
        assert_eq!(outcome.memory.keys().collect::<Vec<_>>(), ["1"]);
        // Between two sweeps, beside the memory; one still there is remembered from now on.
        let memory = outcome.memory;
        let mut next = Sweep::new(Some(&memory), false).with_recent(recent);
        next.add(&compiled, record(1, T0, "a"));
        assert_eq!(next.missing(), ["9"]);
        let outcome = next.finish(7, "contacts", "id", &BTreeSet::new(), T0);
        assert!(outcome.events.is_empty());
        assert_eq!(outcome.kept_missing, 1);
        assert!(outcome.memory.contains_key("9"));
    }

    #[test]
    fn a_sweep_without_deletes_forgets_missing_ids_silently() {
        let compiled = poller(true);
        let memory = Memory::from([("1".into(), "x".into()), ("2".into(), "y".into())]);
        let mut sweep = Sweep::new(Some(&memory), true).without_deletes();
        sweep.add(&compiled, record(1, 0, "a"));
        assert!(sweep.missing().is_empty(), "nothing to ask for");
        let gone = BTreeSet::from(["2".to_owned()]);
        let outcome = sweep.finish(7, "companies", "id", &gone, T0);
        assert_eq!(kinds(&outcome), [("1", UPDATED)]);
        assert_eq!(outcome.memory.keys().collect::<Vec<_>>(), ["1"]);
    }

    #[test]
    fn records_without_an_id_are_counted_and_an_id_listed_twice_is_one() {
        let compiled = poller(false);
        let mut sweep = Sweep::new(None, false);
        sweep.add(&compiled, json!({"name": "no id"}));
        sweep.add(&compiled, record(1, T0, "a"));
        sweep.add(&compiled, record(1, T0, "a"));
        assert_eq!(sweep.unreadable, 1);
        assert_eq!(sweep.len(), 1);
        assert!(sweep.missing().is_empty());
    }

    #[test]
    fn a_stub_places_the_id_at_a_dotted_path_and_the_memory_round_trips() {
        assert_eq!(stub("data.id", "9"), json!({"data": {"id": "9"}}));
        let memory = Memory::from([("1".into(), "x".into()), ("2".into(), String::new())]);
        assert_eq!(memory_from_json(&memory_to_json(&memory)), Some(memory));
        assert_eq!(memory_from_json("not json"), None);
    }
}
