//! The demo's tally and verdict: what the receiver got, what the simulator's state export says
//! happened, and whether every change is accounted for.
//!
//! - every record changed during the run has its latest version delivered, exactly once;
//! - no event arrives twice, and none names a record that did not change;
//! - a record never yields more events than it had changes (polling sees states, not edits: a
//!   record edited twice between two polls is one change to a poller, reported as *merged*);
//! - where the provider shows deletes, every record deleted during the run has exactly one
//!   `DELETED` event, no other record has one, and no delete history was lost;
//! - every signature verifies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::View;
use super::provider::Provider;

/// One event as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub resource: String,
    pub object_id: String,
    pub event_type: String,
    pub event_id: String,
    /// The record's updated date as the provider wrote it, from the notification's `raw` (a
    /// deletion's date for DELETED).
    pub updated: Option<String>,
}

/// One notification as the receiver got it.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub webhook_id: String,
    pub signature_ok: bool,
    pub events: Vec<Received>,
}

/// (resource, record id).
pub(crate) type RecordKey = (String, String);

/// What has arrived so far.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Changes made at the provider since the start, per resource.
    pub made: BTreeMap<String, u64>,
    pub notifications: u64,
    pub signatures_ok: u64,
    /// Per resource: (notifications, signatures verified).
    pub signed: BTreeMap<String, (u64, u64)>,
    pub webhook_ids: HashMap<String, u64>,
    pub event_ids: HashMap<String, u64>,
    /// Per record: the updated dates of its CREATED and UPDATED events, as the provider wrote
    /// them.
    pub per_record: HashMap<RecordKey, Vec<Option<String>>>,
    /// Per record: its DELETED events.
    pub deleted: HashMap<RecordKey, u64>,
    /// Deletes-lost reports (never expected).
    pub lost: Vec<String>,
    /// Distinct events per resource.
    pub events: BTreeMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, arrival: Arrival, view: &View) {
        self.notifications += 1;
        if arrival.signature_ok {
            self.signatures_ok += 1;
        }
        if let Some(first) = arrival.events.first() {
            let signed = self.signed.entry(first.resource.clone()).or_default();
            signed.0 += 1;
            signed.1 += u64::from(arrival.signature_ok);
        }
        *self.webhook_ids.entry(arrival.webhook_id).or_default() += 1;
        for event in arrival.events {
            let seen = self.event_ids.entry(event.event_id.clone()).or_default();
            *seen += 1;
            if *seen > 1 {
                view.line(format!(
                    "  duplicate event {} ({} #{})",
                    event.event_id, event.resource, event.object_id
                ));
                continue;
            }
            *self.events.entry(event.resource.clone()).or_default() += 1;
            view.line(format!(
                "  {}  {:<13} #{:<18} {:<8} {}  signature {}",
                jiff::Timestamp::now().strftime("%H:%M:%S"),
                event.resource,
                event.object_id,
                event.event_type,
                event.updated.as_deref().unwrap_or("(no date)"),
                if arrival.signature_ok {
                    "verified"
                } else {
                    "INVALID"
                },
            ));
            let key = (event.resource, event.object_id);
            match event.event_type.as_str() {
                "DELETED" => *self.deleted.entry(key).or_default() += 1,
                "DELETES_LOST" => self.lost.push(key.0),
                _ => self.per_record.entry(key).or_default().push(event.updated),
            }
        }
    }

    /// Whether the record's event with this updated date has arrived.
    pub fn has(&self, record: &RecordKey, updated: &Option<String>) -> bool {
        self.per_record
            .get(record)
            .is_some_and(|dates| dates.contains(updated))
    }

    /// Whether the record's deletion has arrived.
    pub fn has_deletion(&self, record: &RecordKey) -> bool {
        self.deleted.contains_key(record)
    }
}

/// Record → its version count, from a state export (first tenant: the demo's).
pub(crate) fn versions(state: &Value, provider: &Provider) -> HashMap<RecordKey, u64> {
    let mut versions = HashMap::new();
    for (resource, sim_name) in provider.resources.iter().zip(provider.sim_names) {
        let records = &state["tenants"][0]["resources"][sim_name]["records"];
        for record in records.as_array().into_iter().flatten() {
            versions.insert(
                ((*resource).to_owned(), provider.id_of(record)),
                record["versions"].as_u64().unwrap_or(0),
            );
        }
    }
    versions
}

/// Every deletion a state export lists (first tenant). A deactivation (QuickBooks' list
/// entities) is not one: the record stays, changed, and its event is an update.
pub(crate) fn deletions(state: &Value, provider: &Provider) -> BTreeSet<RecordKey> {
    let mut deleted = BTreeSet::new();
    for (resource, sim_name) in provider.resources.iter().zip(provider.sim_names) {
        let entries = &state["tenants"][0]["resources"][sim_name]["deleted"];
        for entry in entries.as_array().into_iter().flatten() {
            if entry["kind"] == "deactivated" {
                continue;
            }
            deleted.insert(((*resource).to_owned(), provider.id_of(entry)));
        }
    }
    deleted
}

/// Changes per resource between two version maps.
pub(crate) fn changes_since(
    baseline: &HashMap<RecordKey, u64>,
    now: &HashMap<RecordKey, u64>,
) -> BTreeMap<String, u64> {
    let mut made = BTreeMap::new();
    for (key, versions) in now {
        let before = baseline.get(key).copied().unwrap_or(0);
        if *versions > before {
            *made.entry(key.0.clone()).or_default() += versions - before;
        }
    }
    made
}

/// Each record changed during the run → its latest updated date, as the provider writes it.
pub(crate) fn latest_versions(
    state: &Value,
    provider: &Provider,
    updated_fields: &HashMap<String, String>,
    baseline: &HashMap<RecordKey, u64>,
    finals: &HashMap<RecordKey, u64>,
) -> BTreeMap<RecordKey, Option<String>> {
    let mut latest = BTreeMap::new();
    for (resource, sim_name) in provider.resources.iter().zip(provider.sim_names) {
        let records = &state["tenants"][0]["resources"][sim_name]["records"];
        for record in records.as_array().into_iter().flatten() {
            let key = ((*resource).to_owned(), provider.id_of(record));
            if finals.get(&key) > baseline.get(&key) {
                let updated = provider
                    .export_updated
                    .or_else(|| updated_fields.get(*resource).map(String::as_str))
                    .and_then(|field| record[field].as_str())
                    .map(str::to_owned);
                latest.insert(key, updated);
            }
        }
    }
    latest
}

/// What the run was expected to deliver.
pub(crate) struct Expected {
    /// Each record changed during the run → its latest updated date.
    pub latest: BTreeMap<RecordKey, Option<String>>,
    pub baseline: HashMap<RecordKey, u64>,
    pub finals: HashMap<RecordKey, u64>,
    /// The records deleted during the run.
    pub deleted: BTreeSet<RecordKey>,
}

impl Expected {
    /// Whether `record`'s deletion is owed a `DELETED` event. Every one is, except where the
    /// provider's deletes show only by absence to a sweep (Keap): there a record created during
    /// the run none of whose changes arrived was created and deleted while no poll of it
    /// committed (faults, kills) — Tributary never knew it, and nothing it never saw is
    /// reported deleted (README, "Reconciliation sweeps"). Its `DELETED`, should a sweep have
    /// listed it, is still counted once; its absence is no loss.
    pub fn owes_deletion(&self, record: &RecordKey, tally: &Tally, provider: &Provider) -> bool {
        !provider.sweeps
            || self.baseline.contains_key(record)
            || tally.per_record.contains_key(record)
    }

    /// The deletions owed (see [`Expected::owes_deletion`]) whose `DELETED` has not arrived.
    pub fn deletions_missing(&self, tally: &Tally, provider: &Provider) -> usize {
        self.deleted
            .iter()
            .filter(|r| !tally.has_deletion(r) && self.owes_deletion(r, tally, provider))
            .count()
    }
}

/// The verdict and the summary table.
pub(crate) struct Report {
    pub passed: bool,
    pub text: String,
}

/// What the run had shown of a deleted record before its deletion: whether it existed before
/// the run, and how many of its changes arrived (a lost deletion's first clue).
fn seen_before(tally: &Tally, baseline: &HashMap<RecordKey, u64>, key: &RecordKey) -> String {
    let arrived = tally.per_record.get(key).map_or(0, Vec::len);
    let origin = if baseline.contains_key(key) {
        "it existed before the run"
    } else {
        "created during the run"
    };
    format!("{origin}; {arrived} of its changes arrived")
}

pub(crate) fn check(tally: &Tally, expected: &Expected, provider: &Provider) -> Report {
    let Expected {
        latest: wanted,
        baseline,
        finals,
        deleted,
    } = expected;
    let mut problems: Vec<String> = Vec::new();
    let mut rows = String::new();
    let (mut made_total, mut events_total, mut merged_total, mut records_total) = (0, 0, 0, 0);
    let (mut latest_total, mut deleted_total, mut deletions_total) = (0, 0, 0);
    let mut unseen: Vec<String> = Vec::new();
    for resource in provider.resources {
        let made = tally.made.get(*resource).copied().unwrap_or(0);
        let mut events = 0u64;
        let mut records = 0u64;
        let mut latest = 0u64;
        let mut merged = 0u64;
        for (key, updated) in wanted.iter().filter(|(k, _)| k.0 == *resource) {
            records += 1;
            let changes =
                finals.get(key).copied().unwrap_or(0) - baseline.get(key).copied().unwrap_or(0);
            let got = tally.per_record.get(key).map(Vec::as_slice).unwrap_or(&[]);
            events += got.len() as u64;
            match got.iter().filter(|d| *d == updated).count() {
                1 => latest += 1,
                0 => problems.push(format!(
                    "{resource} #{}: its latest change ({}) never arrived",
                    key.1,
                    updated.as_deref().unwrap_or("no date")
                )),
                n => problems.push(format!(
                    "{resource} #{}: its latest change arrived {n} times",
                    key.1
                )),
            }
            match changes.checked_sub(got.len() as u64) {
                Some(fewer) => merged += fewer,
                None => problems.push(format!(
                    "{resource} #{}: {} events for {changes} changes",
                    key.1,
                    got.len()
                )),
            }
        }
        // A record deleted during the run may have had events before; any other record that
        // did not change must have none.
        for (key, _) in tally.per_record.iter().filter(|(k, _)| k.0 == *resource) {
            if !wanted.contains_key(key) && !deleted.contains(key) {
                problems.push(format!(
                    "{resource} #{}: an event for a record that did not change",
                    key.1
                ));
            }
        }
        let mut gone = 0u64;
        let mut arrived = 0u64;
        for key in deleted.iter().filter(|k| k.0 == *resource) {
            let times = tally.deleted.get(key).copied().unwrap_or(0);
            if times == 0 && !expected.owes_deletion(key, tally, provider) {
                unseen.push(format!("{resource} #{}", key.1));
                continue;
            }
            gone += 1;
            match times {
                1 => arrived += 1,
                0 => problems.push(format!(
                    "{resource} #{}: its deletion never arrived ({})",
                    key.1,
                    seen_before(tally, baseline, key)
                )),
                n => problems.push(format!(
                    "{resource} #{}: its deletion arrived {n} times",
                    key.1
                )),
            }
        }
        for key in tally.deleted.keys().filter(|k| k.0 == *resource) {
            if !deleted.contains(key) {
                problems.push(format!(
                    "{resource} #{}: a DELETED event for a record that was not deleted",
                    key.1
                ));
            }
        }
        let (notifications, verified) = tally.signed.get(*resource).copied().unwrap_or_default();
        let deleted_column = if provider.deletes {
            format!("{:>10}", format!("{arrived}/{gone}"))
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "  {resource:<14}{made:>9}{records:>9}{events:>9}{merged:>9}{:>12}{deleted_column}{:>12}\n",
            format!("{latest}/{records}"),
            format!("{verified}/{notifications}")
        ));
        made_total += made;
        events_total += events;
        merged_total += merged;
        records_total += records;
        latest_total += latest;
        deleted_total += gone;
        deletions_total += arrived;
    }
    for resource in &tally.lost {
        problems.push(format!(
            "{resource}: the provider lost delete history (a DELETES_LOST event)"
        ));
    }
    let duplicate_events: u64 = tally.event_ids.values().map(|n| n - 1).sum();
    let duplicate_notifications: u64 = tally.webhook_ids.values().map(|n| n - 1).sum();
    if duplicate_events > 0 || duplicate_notifications > 0 {
        problems.push(format!(
            "{duplicate_events} events and {duplicate_notifications} notifications arrived more \
             than once"
        ));
    }
    if tally.signatures_ok != tally.notifications {
        problems.push(format!(
            "{} of {} signatures did not verify",
            tally.notifications - tally.signatures_ok,
            tally.notifications
        ));
    }
    if made_total == 0 {
        problems.push("the simulator made no changes".into());
    }
    let (deleted_head, deleted_total_column) = if provider.deletes {
        (
            format!("{:>10}", "deleted"),
            format!("{:>10}", format!("{deletions_total}/{deleted_total}")),
        )
    } else {
        (String::new(), String::new())
    };
    let mut text = format!(
        "\nSummary\n  {:<14}{:>9}{:>9}{:>9}{:>9}{:>12}{deleted_head}{:>12}\n{rows}  {:<14}\
         {made_total:>9}{records_total:>9}{events_total:>9}{merged_total:>9}{:>12}\
         {deleted_total_column}{:>12}\n\n",
        "resource",
        "changes",
        "records",
        "events",
        "merged",
        "latest",
        "signatures",
        "total",
        format!("{latest_total}/{records_total}"),
        format!("{}/{}", tally.signatures_ok, tally.notifications),
    );
    let passed = problems.is_empty();
    if passed {
        let deletions = if provider.deletes {
            let never_seen = if unseen.is_empty() {
                String::new()
            } else {
                format!(
                    " + {} never seen ({}: created and deleted while no poll of them committed; \
                     deletes that show only to a sweep cannot be reported for them)",
                    unseen.len(),
                    unseen.join(", ")
                )
            };
            format!(
                "{} records deleted at the provider = {deletions_total} DELETED events, each \
                 once{never_seen}; ",
                deleted_total + unseen.len() as u64
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            "OK: {made_total} changes made at the provider = {events_total} events delivered, \
             each once + {merged_total} merged (a record changed again before a poll saw it); \
             {deletions}signatures verified {}/{}; every changed record's latest version \
             delivered ({latest_total}/{records_total}).",
            tally.signatures_ok, tally.notifications
        ));
    } else {
        text.push_str(&format!("FAILED: {} problems\n", problems.len()));
        for problem in problems.iter().take(20) {
            text.push_str(&format!("  - {problem}\n"));
        }
        if !unseen.is_empty() {
            text.push_str(&format!(
                "  (deleted but never seen, so owed no DELETED: {})\n",
                unseen.join(", ")
            ));
        }
    }
    Report { passed, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(resource: &str, id: u64) -> RecordKey {
        (resource.to_owned(), id.to_string())
    }

    fn event(resource: &str, id: u64, updated: &str, event_id: &str) -> Received {
        Received {
            resource: resource.into(),
            object_id: id.to_string(),
            event_type: "UPDATED".into(),
            event_id: event_id.into(),
            updated: Some(updated.into()),
        }
    }

    fn deletion(resource: &str, id: u64, event_id: &str) -> Received {
        Received {
            event_type: "DELETED".into(),
            ..event(resource, id, "t9", event_id)
        }
    }

    fn arrival(webhook_id: &str, signature_ok: bool, events: Vec<Received>) -> Arrival {
        Arrival {
            webhook_id: webhook_id.into(),
            signature_ok,
            events,
        }
    }

    fn keap() -> Provider {
        Provider::of("infusionsoftrest").unwrap()
    }

    /// Contacts #1 changed twice (seen by two polls), #2 twice (merged into one poll), #3 was
    /// created; the receiver got the right events.
    fn run() -> (Tally, Expected) {
        let baseline = HashMap::from([(key("contacts", 1), 1), (key("contacts", 2), 3)]);
        let finals = HashMap::from([
            (key("contacts", 1), 3),
            (key("contacts", 2), 5),
            (key("contacts", 3), 1),
        ]);
        let latest = BTreeMap::from([
            (key("contacts", 1), Some("t2".to_owned())),
            (key("contacts", 2), Some("t3".to_owned())),
            (key("contacts", 3), Some("t1".to_owned())),
        ]);
        let view = View::new(false, &[]);
        let mut tally = Tally {
            made: BTreeMap::from([("contacts".to_owned(), 5)]),
            ..Tally::default()
        };
        tally.add(
            arrival(
                "n1",
                true,
                vec![
                    event("contacts", 1, "t1", "e1"),
                    event("contacts", 3, "t1", "e3"),
                ],
            ),
            &view,
        );
        tally.add(
            arrival(
                "n2",
                true,
                vec![
                    event("contacts", 1, "t2", "e2"),
                    event("contacts", 2, "t3", "e4"),
                ],
            ),
            &view,
        );
        let expected = Expected {
            latest,
            baseline,
            finals,
            deleted: BTreeSet::new(),
        };
        (tally, expected)
    }

    #[test]
    fn every_change_accounted_for_passes_and_counts_the_merged_edit() {
        let (tally, expected) = run();
        let report = check(&tally, &expected, &keap());
        assert!(report.passed, "{}", report.text);
        assert!(
            report.text.contains(
                "OK: 5 changes made at the provider = 4 events delivered, each once + 1 merged"
            ),
            "{}",
            report.text
        );
        assert!(report.text.contains("2/2"), "{}", report.text);
        // Keap's deletes are seen by sweeps: none were made here, and none is owed.
        assert!(
            report
                .text
                .contains("0 records deleted at the provider = 0 DELETED events"),
            "{}",
            report.text
        );
    }

    #[test]
    fn a_missing_latest_version_fails_naming_the_record() {
        let (mut tally, expected) = run();
        tally.per_record.remove(&key("contacts", 2));
        let report = check(&tally, &expected, &keap());
        assert!(!report.passed);
        assert!(
            report
                .text
                .contains("contacts #2: its latest change (t3) never arrived"),
            "{}",
            report.text
        );
    }

    #[test]
    fn a_duplicate_a_bad_signature_or_an_unexplained_event_fails() {
        let view = View::new(false, &[]);
        let (mut tally, expected) = run();
        tally.add(
            arrival("n2", true, vec![event("contacts", 1, "t2", "e2")]),
            &view,
        );
        let report = check(&tally, &expected, &keap());
        assert!(!report.passed);
        assert!(
            report
                .text
                .contains("1 events and 1 notifications arrived more than once"),
            "{}",
            report.text
        );

        let (mut tally, expected) = run();
        tally.add(
            arrival("n3", false, vec![event("contacts", 9, "t9", "e9")]),
            &view,
        );
        let report = check(&tally, &expected, &keap());
        assert!(!report.passed);
        assert!(
            report.text.contains("1 of 3 signatures did not verify"),
            "{}",
            report.text
        );
        assert!(
            report
                .text
                .contains("contacts #9: an event for a record that did not change"),
            "{}",
            report.text
        );

        let (mut tally, expected) = run();
        tally.add(
            arrival("n4", true, vec![event("contacts", 3, "t0", "e5")]),
            &view,
        );
        let report = check(&tally, &expected, &keap());
        assert!(!report.passed);
        assert!(
            report.text.contains("contacts #3: 2 events for 1 changes"),
            "{}",
            report.text
        );
    }

    #[test]
    fn each_deletion_must_arrive_once_and_only_for_records_deleted() {
        let salesforce = Provider::of("sfdc").unwrap();
        let view = View::new(false, &[]);
        let (mut tally, mut expected) = run();
        // #7 was created (one event), then deleted; #8 was deleted before any poll saw it.
        expected.deleted = BTreeSet::from([key("contacts", 7), key("contacts", 8)]);
        tally.add(
            arrival(
                "n5",
                true,
                vec![
                    Received {
                        event_type: "CREATED".into(),
                        ..event("contacts", 7, "t4", "e7")
                    },
                    deletion("contacts", 7, "d7"),
                    deletion("contacts", 8, "d8"),
                ],
            ),
            &view,
        );
        let report = check(&tally, &expected, &salesforce);
        assert!(report.passed, "{}", report.text);
        assert!(
            report.text.contains(
                "2 records deleted at the provider = 2 DELETED events, each once; signatures"
            ),
            "{}",
            report.text
        );

        let (mut tally, mut expected) = run();
        expected.deleted = BTreeSet::from([key("contacts", 7)]);
        tally.add(
            arrival("n6", true, vec![deletion("contacts", 8, "d8")]),
            &view,
        );
        let report = check(&tally, &expected, &salesforce);
        assert!(!report.passed);
        assert!(
            report
                .text
                .contains("contacts #7: its deletion never arrived")
                && report
                    .text
                    .contains("contacts #8: a DELETED event for a record that was not deleted"),
            "{}",
            report.text
        );
    }
    #[test]
    fn where_only_a_sweep_sees_deletes_one_of_a_record_never_seen_is_not_owed() {
        let view = View::new(false, &[]);
        let created = |id| Received {
            event_type: "CREATED".into(),
            ..event("contacts", id, "t4", &format!("c{id}"))
        };
        // Keap: #7 was reported created, then deleted; #8 was created and deleted while no
        // poll of it committed (none of its changes arrived): Tributary never knew it.
        let (mut tally, mut expected) = run();
        expected.deleted = BTreeSet::from([key("contacts", 7), key("contacts", 8)]);
        tally.add(arrival("n5", true, vec![created(7)]), &view);
        assert_eq!(
            expected.deletions_missing(&tally, &keap()),
            1,
            "#7's is owed"
        );
        tally.add(
            arrival("n6", true, vec![deletion("contacts", 7, "d7")]),
            &view,
        );
        assert_eq!(expected.deletions_missing(&tally, &keap()), 0);
        let report = check(&tally, &expected, &keap());
        assert!(report.passed, "{}", report.text);
        assert!(
            report.text.contains(
                "2 records deleted at the provider = 1 DELETED events, each once + 1 never seen \
                 (contacts #8: created and deleted while no poll of them committed"
            ),
            "{}",
            report.text
        );
        // One that existed before the run is owed, seen or not…
        let (tally, mut expected) = run();
        expected.deleted = BTreeSet::from([key("contacts", 2)]);
        let report = check(&tally, &expected, &keap());
        assert!(
            report.text.contains(
                "contacts #2: its deletion never arrived (it existed before the run; 1 of its \
                 changes arrived)"
            ),
            "{}",
            report.text
        );
        // …and so is one whose creation arrived, and at Salesforce, whose delete log lists
        // every deletion, even one never seen.
        let (mut tally, mut expected) = run();
        expected.deleted = BTreeSet::from([key("contacts", 7)]);
        tally.add(arrival("n7", true, vec![created(7)]), &view);
        let report = check(&tally, &expected, &keap());
        assert!(
            report.text.contains(
                "contacts #7: its deletion never arrived (created during the run; 1 of its \
                 changes arrived)"
            ),
            "{}",
            report.text
        );
        let (tally, mut expected) = run();
        expected.deleted = BTreeSet::from([key("contacts", 8)]);
        let salesforce = Provider::of("sfdc").unwrap();
        assert_eq!(expected.deletions_missing(&tally, &salesforce), 1);
        assert!(!check(&tally, &expected, &salesforce).passed);
    }
}
