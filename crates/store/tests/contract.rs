//! The `Store` contract, run against SQLite (PostgreSQL joins with issue 10).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use tributary_store::{
    AttemptOutcome, AttemptRecord, CallbackCaps, Committed, InstanceData, NewEvent, NewInstance,
    NewNotification, NewOrganization, NewSession, PollCommit, Principal, Session, Store,
    StoredValue, Updated,
};

const NOW: i64 = 1_795_860_000_000;

async fn sqlite_file() -> (Arc<dyn Store>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "tributary-store-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("test.db").display());
    (tributary_store::open(&url, NOW).await.unwrap(), dir)
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn org(store: &dyn Store, tag: u8) -> Principal {
    store
        .create_organization(NewOrganization {
            name: format!("org {tag}"),
            organization_secret_hash: vec![tag; 32],
            user_secret_hash: vec![tag + 100; 32],
            now_ms: NOW,
        })
        .await
        .unwrap()
}

fn data(name: &str) -> InstanceData {
    InstanceData {
        name: name.into(),
        tags: vec!["a".into(), "b".into()],
        configuration: vec![
            (
                "event.poller.refresh_interval".into(),
                StoredValue::Plain("15".into()),
            ),
            (
                "oauth.api.secret".into(),
                StoredValue::Sealed(vec![1, 2, 3]),
            ),
        ],
        credentials: Some(vec![9, 9, 9]),
        valid: true,
        invalid_reason: None,
        disabled: false,
        events_enabled: true,
    }
}

async fn insert(
    store: &dyn Store,
    principal: Principal,
    token: u8,
    name: &str,
) -> tributary_store::InstanceRecord {
    store
        .insert_instance(NewInstance {
            principal,
            element_key: "infusionsoftrest".into(),
            token_hash: vec![token; 32],
            data: data(name),
            now_ms: NOW,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_opened_database_is_migrated_once_and_reopens_with_its_data() {
    let (store, dir) = sqlite_file().await;
    assert_eq!(store.organization_count().await.unwrap(), 0);
    org(store.as_ref(), 1).await;
    drop(store);
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let reopened = tributary_store::open(&url, NOW + 1).await.unwrap();
    assert_eq!(reopened.organization_count().await.unwrap(), 1);
    reopened.ping().await.unwrap();
}

#[tokio::test]
async fn a_principal_needs_both_secrets_of_the_same_organization() {
    let (store, _dir) = sqlite_file().await;
    let first = org(store.as_ref(), 1).await;
    let second = org(store.as_ref(), 2).await;
    assert_eq!(
        store.principal(&[1; 32], &[101; 32]).await.unwrap(),
        Some(first)
    );
    assert_eq!(
        store.principal(&[2; 32], &[102; 32]).await.unwrap(),
        Some(second)
    );
    assert_eq!(
        store.principal(&[1; 32], &[102; 32]).await.unwrap(),
        None,
        "user of another org"
    );
    assert_eq!(store.principal(&[7; 32], &[101; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn instances_round_trip_and_stay_inside_their_organization() {
    let (store, _dir) = sqlite_file().await;
    let mine = org(store.as_ref(), 1).await;
    let theirs = org(store.as_ref(), 2).await;
    let record = insert(store.as_ref(), mine, 50, "first").await;
    assert_eq!(record.name, "first");
    assert_eq!(record.tags, ["a", "b"]);
    assert_eq!(record.version, 1);
    assert_eq!(record.credentials, Some(vec![9, 9, 9]));
    assert_eq!(record.configuration.len(), 2);
    assert_eq!(
        record.entry("oauth.api.secret").unwrap().value,
        StoredValue::Sealed(vec![1, 2, 3])
    );
    assert_eq!(
        store
            .instance(mine.organization_id, record.id)
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store
            .instance(theirs.organization_id, record.id)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .instances(theirs.organization_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .delete_instance(theirs.organization_id, record.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store.instances(mine.organization_id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn an_update_keeps_entry_ids_removes_dropped_keys_and_bumps_the_version() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "first").await;
    let interval_id = record.entry("event.poller.refresh_interval").unwrap().id;
    let mut changed = data("renamed");
    changed.configuration = vec![
        (
            "event.poller.refresh_interval".into(),
            StoredValue::Plain("5".into()),
        ),
        (
            "event.notification.callback.url".into(),
            StoredValue::Plain("https://x.example/".into()),
        ),
    ];
    let Updated::Done(updated) = store
        .update_instance(
            principal.organization_id,
            record.id,
            1,
            changed.clone(),
            NOW + 5,
        )
        .await
        .unwrap()
    else {
        panic!("update failed")
    };
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.updated_ms, NOW + 5);
    let entry = updated.entry("event.poller.refresh_interval").unwrap();
    assert_eq!(
        (entry.id, &entry.value),
        (interval_id, &StoredValue::Plain("5".into()))
    );
    assert!(updated.entry("oauth.api.secret").is_none());

    // A writer that read version 1 lost the race.
    let stale = store
        .update_instance(
            principal.organization_id,
            record.id,
            1,
            changed.clone(),
            NOW + 6,
        )
        .await
        .unwrap();
    assert_eq!(stale, Updated::Conflict);
    let missing = store
        .update_instance(principal.organization_id, 999, 1, changed, NOW + 6)
        .await
        .unwrap();
    assert_eq!(missing, Updated::NotFound);
}

#[tokio::test]
async fn deleting_an_instance_deletes_its_configuration() {
    let (store, dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "doomed").await;
    assert!(
        store
            .delete_instance(principal.organization_id, record.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .instance(principal.organization_id, record.id)
            .await
            .unwrap(),
        None
    );
    // The configuration rows went with it (foreign keys are on).
    let again = insert(store.as_ref(), principal, 51, "next").await;
    assert_eq!(again.configuration.len(), 2);
    let _ = dir;
}

#[tokio::test]
async fn tokens_and_secrets_are_unique() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    insert(store.as_ref(), principal, 50, "one").await;
    let duplicate = store
        .insert_instance(NewInstance {
            principal,
            element_key: "infusionsoftrest".into(),
            token_hash: vec![50; 32],
            data: data("two"),
            now_ms: NOW,
        })
        .await;
    assert!(duplicate.is_err(), "a token hash is unique");
    assert_eq!(
        store
            .instances(principal.organization_id)
            .await
            .unwrap()
            .len(),
        1,
        "nothing half-written"
    );
}

#[tokio::test]
async fn memory_databases_work_and_unknown_schemes_are_refused() {
    let store = tributary_store::open("sqlite::memory:", NOW).await.unwrap();
    org(store.as_ref(), 1).await;
    assert_eq!(store.organization_count().await.unwrap(), 1);
    let error = tributary_store::open("mysql://localhost/x", NOW)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("unsupported database URL"),
        "{error}"
    );
}

#[tokio::test]
async fn hub_lookups_find_the_user_and_the_instance_by_token() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "hub").await;
    assert_eq!(
        store.principal_of_user(&[101; 32]).await.unwrap(),
        Some(principal)
    );
    assert_eq!(
        store.principal_of_user(&[1; 32]).await.unwrap(),
        None,
        "an org secret is not a user"
    );
    assert_eq!(
        store
            .instance_by_token(&[50; 32])
            .await
            .unwrap()
            .map(|r| r.id),
        Some(record.id)
    );
    assert_eq!(store.instance_by_token(&[51; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn credentials_rotate_and_invalidation_is_recorded_without_a_version_bump() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "hub").await;
    store
        .store_credentials(record.id, vec![7, 7], NOW + 1)
        .await
        .unwrap();
    store
        .mark_invalid(record.id, "the provider refused the refresh token", NOW + 2)
        .await
        .unwrap();
    let after = store
        .instance(principal.organization_id, record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.credentials, Some(vec![7, 7]));
    assert!(!after.valid);
    assert_eq!(
        after.invalid_reason.as_deref(),
        Some("the provider refused the refresh token")
    );
    assert_eq!(
        after.version, record.version,
        "a user's edit in flight still succeeds"
    );
    assert_eq!(after.updated_ms, NOW + 2);
}

fn event(id: &str) -> NewEvent {
    NewEvent {
        event_id: id.into(),
        object_id: "42".into(),
        event_type: "CREATED".into(),
        date_ms: NOW,
        poll_date_ms: NOW + 5,
        date_error: None,
        record: "{\"id\":42}".into(),
    }
}

fn commit(instance_id: i64, version: i64, events: Vec<NewEvent>, cursor_ms: i64) -> PollCommit {
    PollCommit {
        instance_id,
        resource: "contacts".into(),
        expected_version: version,
        events,
        cursor_ms,
        seen: "{\"42\":1}".into(),
        summary: "{}".into(),
        next_due_ms: NOW + 60_000,
        now_ms: NOW + 10,
    }
}

#[tokio::test]
async fn pollers_follow_the_configured_resources() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(
            record.id,
            &[("contacts".into(), NOW + 1), ("tasks".into(), NOW + 2)],
            NOW,
        )
        .await
        .unwrap();
    let pollers = store.pollers(record.id).await.unwrap();
    assert_eq!(
        pollers
            .iter()
            .map(|p| p.resource.as_str())
            .collect::<Vec<_>>(),
        ["contacts", "tasks"]
    );
    assert_eq!(
        (
            pollers[0].cursor_ms,
            pollers[0].enabled_ms,
            pollers[0].next_due_ms
        ),
        (None, NOW, NOW + 1)
    );
    // Re-syncing keeps an existing poller's state and drops what is no longer configured.
    store
        .commit_poll(commit(record.id, 1, vec![], NOW - 5))
        .await
        .unwrap();
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW + 9)], NOW + 100)
        .await
        .unwrap();
    let pollers = store.pollers(record.id).await.unwrap();
    assert_eq!(pollers.len(), 1);
    assert_eq!(
        (pollers[0].cursor_ms, pollers[0].enabled_ms),
        (Some(NOW - 5), NOW)
    );
}

#[tokio::test]
async fn a_poll_commits_events_and_cursor_together_once() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let done = store
        .commit_poll(commit(record.id, 1, vec![event("a"), event("b")], NOW + 1))
        .await
        .unwrap();
    assert_eq!(done, Committed::Done { inserted: 2 });
    // A poll that started from the same version lost the race: nothing of it is written.
    let lost = store
        .commit_poll(commit(record.id, 1, vec![event("c")], NOW + 2))
        .await
        .unwrap();
    assert_eq!(lost, Committed::Conflict);
    // A repeat of a stored event id is not stored again.
    let repeat = store
        .commit_poll(commit(record.id, 2, vec![event("b"), event("d")], NOW + 3))
        .await
        .unwrap();
    assert_eq!(repeat, Committed::Done { inserted: 1 });
    let events = store.events(record.id, 0, 100).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.event_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "d"]
    );
    assert_eq!(events[0].status, "NEW");
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (poller.cursor_ms, poller.events_emitted, poller.version),
        (Some(NOW + 3), 3, 3)
    );
    assert_eq!(
        store
            .events(record.id, events[1].id, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_failed_poll_keeps_the_cursor_and_counts_the_failure() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![], NOW + 1))
        .await
        .unwrap();
    store
        .record_poll_failure(
            record.id,
            "contacts",
            "provider failed (500)",
            NOW + 120_000,
            NOW + 60_000,
        )
        .await
        .unwrap();
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(poller.cursor_ms, Some(NOW + 1));
    assert_eq!(
        (poller.failures, poller.last_error.as_deref()),
        (1, Some("provider failed (500)"))
    );
    assert_eq!(poller.next_due_ms, NOW + 120_000);
    store
        .commit_poll(commit(record.id, 2, vec![], NOW + 2))
        .await
        .unwrap();
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (poller.failures, poller.last_error.clone()),
        (0, None),
        "a success resets them"
    );
}

#[tokio::test]
async fn due_pollers_are_claimed_once_until_their_lease_ends() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(
            record.id,
            &[("contacts".into(), NOW), ("tasks".into(), NOW + 5_000)],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(store.next_due_ms(NOW).await.unwrap(), Some(NOW));
    let first = store.claim_due_pollers("a", NOW, 1_000, 10).await.unwrap();
    assert_eq!(
        first,
        [(record.id, "contacts".to_owned())],
        "only the due one"
    );
    assert!(
        store
            .claim_due_pollers("b", NOW + 500, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    assert_eq!(
        store.next_due_ms(NOW + 500).await.unwrap(),
        Some(NOW + 1_000),
        "the lease ends first"
    );
    // An expired lease (its worker died) is claimed again.
    let again = store
        .claim_due_pollers("b", NOW + 1_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(again, [(record.id, "contacts".to_owned())]);
    // A commit or a release frees the lease.
    store
        .commit_poll(commit(record.id, 1, vec![], NOW))
        .await
        .unwrap();
    store
        .release_poller(record.id, "tasks", NOW + 9_000)
        .await
        .unwrap();
    assert_eq!(
        store.next_due_ms(NOW + 1_000).await.unwrap(),
        Some(NOW + 9_000)
    );
    let both = store
        .claim_due_pollers("c", NOW + 60_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(
        store.instance_by_id(record.id).await.unwrap().map(|r| r.id),
        Some(record.id)
    );
}

#[tokio::test]
async fn events_are_queued_once_in_notifications_that_are_leased_and_finish() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(
            record.id,
            1,
            vec![event("a"), event("b"), event("c")],
            NOW,
        ))
        .await
        .unwrap();
    let pending = store.unnotified_events(10).await.unwrap();
    assert_eq!(pending.len(), 3);
    let notification = |id: &str, events: &[&str]| NewNotification {
        id: id.into(),
        instance_id: record.id,
        resource: "contacts".into(),
        callback_url: "https://r.example/".into(),
        body: b"{}".to_vec(),
        event_ids: events.iter().map(|e| (*e).to_owned()).collect(),
    };
    store
        .queue_notifications(
            vec![notification("n1", &["a", "b"]), notification("n2", &["c"])],
            NOW,
        )
        .await
        .unwrap();
    // Queuing again changes nothing.
    store
        .queue_notifications(vec![notification("n1", &["a", "b"])], NOW)
        .await
        .unwrap();
    assert!(store.unnotified_events(10).await.unwrap().is_empty());
    let claimed = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["n1", "n2"]
    );
    assert_eq!(
        store.notification_body("n1").await.unwrap().as_deref(),
        Some(&b"{}"[..])
    );
    assert_eq!(store.notification_body("nope").await.unwrap(), None);
    assert_eq!(
        store.in_flight_notifications(NOW + 999).await.unwrap(),
        ["n1", "n2"],
        "claimed and unsettled while the lease runs"
    );
    assert!(
        store
            .in_flight_notifications(NOW + 1_000)
            .await
            .unwrap()
            .is_empty(),
        "an ended lease is not in flight"
    );
    assert!(
        store
            .claim_due_notifications("x", NOW, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let attempt = |id: &str, outcome| AttemptRecord {
        notification_id: id.into(),
        at_ms: NOW + 1,
        status_code: Some(500),
        duration_ms: 3,
        excerpt: Some("oops".into()),
        error: None,
        outcome,
    };
    store
        .record_attempt(attempt("n1", AttemptOutcome::RetryAt(NOW + 100)))
        .await
        .unwrap();
    store
        .record_attempt(attempt("n2", AttemptOutcome::Failed))
        .await
        .unwrap();
    assert!(
        store
            .claim_due_notifications("x", NOW + 99, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retried = store
        .claim_due_notifications("x", NOW + 100, 1_000, 10)
        .await
        .unwrap();
    assert_eq!((retried.len(), retried[0].attempts), (1, 1));
    store
        .record_attempt(attempt("n1", AttemptOutcome::Delivered))
        .await
        .unwrap();
    let events = store.events(record.id, 0, 10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.status.as_str()).collect::<Vec<_>>(),
        ["NOTIFIED", "NOTIFIED", "FAILED"]
    );
    assert_eq!(store.attempts("n1").await.unwrap().len(), 2);

    // A batch settles together; an attempt whose notification is gone does not sink the rest.
    store
        .record_attempts(vec![
            attempt("gone", AttemptOutcome::Delivered),
            attempt("n2", AttemptOutcome::Delivered),
        ])
        .await
        .unwrap();
    assert_eq!(store.attempts("n2").await.unwrap().len(), 2);
    assert!(store.attempts("gone").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_gone_attempt_stops_its_url_until_the_instance_url_changes() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a"), event("b")], NOW))
        .await
        .unwrap();
    let notification = |id: &str, event: &str| NewNotification {
        id: id.into(),
        instance_id: record.id,
        resource: "contacts".into(),
        callback_url: "https://old.example/".into(),
        body: b"{}".to_vec(),
        event_ids: vec![event.to_owned()],
    };
    store
        .queue_notifications(vec![notification("n1", "a")], NOW)
        .await
        .unwrap();
    store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    store
        .record_attempt(AttemptRecord {
            notification_id: "n1".into(),
            at_ms: NOW,
            status_code: Some(410),
            duration_ms: 1,
            excerpt: None,
            error: None,
            outcome: AttemptOutcome::Gone,
        })
        .await
        .unwrap();
    store
        .queue_notifications(vec![notification("n2", "b")], NOW)
        .await
        .unwrap();
    assert!(
        store
            .claim_due_notifications("w", NOW, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing more goes to a URL that answered 410"
    );
    let mut changed = data("p");
    changed.configuration.push((
        "event.notification.callback.url".into(),
        StoredValue::Plain("https://new.example/".into()),
    ));
    store
        .update_instance(principal.organization_id, record.id, 1, changed, NOW)
        .await
        .unwrap();
    let claimed = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|n| (n.id.as_str(), n.callback_url.as_str()))
            .collect::<Vec<_>>(),
        [("n2", "https://new.example/")],
        "the waiting notification follows the new URL; the failed one stays failed"
    );
    assert!(store.requeue_notification("n1", NOW).await.unwrap());
    let again = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(
        again[0].callback_url, "https://new.example/",
        "redelivery too"
    );
}

#[tokio::test]
async fn a_capped_claim_takes_at_most_its_cap_per_url_and_reaches_past_a_full_one() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let ids: Vec<String> = (0..9).map(|i| format!("e{i}")).collect();
    store
        .commit_poll(commit(
            record.id,
            1,
            ids.iter().map(|id| event(id)).collect(),
            NOW,
        ))
        .await
        .unwrap();
    // Six to a busy receiver (due first), three to an idle one (due after them).
    let notifications = ids
        .iter()
        .enumerate()
        .map(|(i, id)| NewNotification {
            id: format!("n{i}"),
            instance_id: record.id,
            resource: "contacts".into(),
            callback_url: if i < 6 {
                "https://busy.example/"
            } else {
                "https://idle.example/"
            }
            .into(),
            body: b"{}".to_vec(),
            event_ids: vec![id.clone()],
        })
        .collect();
    store.queue_notifications(notifications, NOW).await.unwrap();
    let claim = |caps: CallbackCaps| {
        let store = store.clone();
        async move {
            let mut ids: Vec<String> = store
                .claim_due_notifications_capped("w", NOW, 1_000, 100, &caps)
                .await
                .unwrap()
                .into_iter()
                .map(|n| n.id)
                .collect();
            ids.sort();
            ids
        }
    };
    let busy_full = CallbackCaps {
        per_url: BTreeMap::from([("https://busy.example/".to_owned(), 0)]),
        default: 2,
    };
    assert_eq!(
        claim(busy_full).await,
        ["n6", "n7"],
        "the full receiver is skipped; the idle one gets its default cap"
    );
    let busy_one = CallbackCaps {
        per_url: BTreeMap::from([("https://busy.example/".to_owned(), 1)]),
        default: 0,
    };
    assert_eq!(
        claim(busy_one).await,
        ["n0"],
        "one free slot takes the soonest due"
    );
    assert_eq!(
        claim(CallbackCaps::none()).await,
        ["n1", "n2", "n3", "n4", "n5", "n8"],
        "uncapped takes everything not leased"
    );
}

#[tokio::test]
async fn pruning_drops_finished_history_and_keeps_what_still_waits() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a"), event("b")], NOW))
        .await
        .unwrap();
    let notification = |id: &str, events: &[&str]| NewNotification {
        id: id.into(),
        instance_id: record.id,
        resource: "contacts".into(),
        callback_url: "https://r.example/".into(),
        body: b"{}".to_vec(),
        event_ids: events.iter().map(|e| (*e).to_owned()).collect(),
    };
    store
        .queue_notifications(
            vec![notification("n1", &["a"]), notification("n2", &["b"])],
            NOW,
        )
        .await
        .unwrap();
    store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    store
        .record_attempt(AttemptRecord {
            notification_id: "n1".into(),
            at_ms: NOW,
            status_code: Some(200),
            duration_ms: 1,
            excerpt: None,
            error: None,
            outcome: AttemptOutcome::Delivered,
        })
        .await
        .unwrap();
    // The events were stored at NOW + 10, the poll's commit time.
    assert_eq!(
        store.prune(NOW + 10).await.unwrap(),
        0,
        "nothing is older than the cut"
    );
    assert_eq!(
        store.prune(NOW + 11).await.unwrap(),
        1,
        "the delivered event goes"
    );
    let left = store.events(record.id, 0, 10).await.unwrap();
    assert_eq!(
        left.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(),
        ["b"],
        "the queued one stays"
    );
    assert!(
        store.attempts("n1").await.unwrap().is_empty(),
        "attempts went with their notification"
    );
}

#[tokio::test]
async fn ui_sessions_are_found_by_token_hash_until_they_expire_or_end() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    let session = |hash: u8, expires_ms: i64| NewSession {
        token_hash: vec![hash; 32],
        principal,
        csrf: format!("csrf-{hash}"),
        now_ms: NOW,
        expires_ms,
    };
    store.create_session(session(1, NOW + 1_000)).await.unwrap();
    store.create_session(session(2, NOW + 10)).await.unwrap();
    let found = store.session(&[1; 32], NOW).await.unwrap().unwrap();
    assert_eq!(
        found,
        Session {
            principal,
            csrf: "csrf-1".into(),
            expires_ms: NOW + 1_000
        }
    );
    assert!(
        store.session(&[3; 32], NOW).await.unwrap().is_none(),
        "unknown"
    );
    assert!(
        store.session(&[2; 32], NOW + 10).await.unwrap().is_none(),
        "expired"
    );
    assert!(
        store.create_session(session(1, NOW + 5)).await.is_err(),
        "a token is unique"
    );
    store.end_session(&[1; 32], NOW + 11).await.unwrap();
    assert!(
        store.session(&[1; 32], NOW).await.unwrap().is_none(),
        "ended"
    );
    assert!(
        store.session(&[2; 32], NOW).await.unwrap().is_none(),
        "expired sessions are swept at the next sign-out"
    );
}

#[tokio::test]
async fn a_pending_connect_is_taken_once_by_its_own_session_before_it_expires() {
    let (store, _dir) = sqlite_file().await;
    let principal = org(store.as_ref(), 1).await;
    for hash in [1u8, 2] {
        store
            .create_session(NewSession {
                token_hash: vec![hash; 32],
                principal,
                csrf: "c".into(),
                now_ms: NOW,
                expires_ms: NOW + 1_000,
            })
            .await
            .unwrap();
    }
    store
        .put_connect(&[7; 32], &[1; 32], b"sealed".to_vec(), NOW + 100)
        .await
        .unwrap();
    store
        .put_connect(&[8; 32], &[1; 32], b"old".to_vec(), NOW + 10)
        .await
        .unwrap();
    assert_eq!(
        store.take_connect(&[7; 32], &[2; 32], NOW).await.unwrap(),
        None,
        "another session cannot finish it"
    );
    assert_eq!(
        store
            .take_connect(&[8; 32], &[1; 32], NOW + 10)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_connect(&[7; 32], &[1; 32], NOW).await.unwrap(),
        Some(b"sealed".to_vec())
    );
    assert_eq!(
        store.take_connect(&[7; 32], &[1; 32], NOW).await.unwrap(),
        None,
        "taken once"
    );
}
