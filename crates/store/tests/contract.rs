//! The `Store` contract, run against SQLite and PostgreSQL.
//!
//! Each test is written once: an async fn taking a freshly opened store, or (for tests that open
//! stores themselves: reopening, several processes at once) the URL of a fresh database.
//! [`contract!`] runs each in `sqlite::` and in `postgres::`; a few run only in `postgres::`
//! (what SQLite has no counterpart of).
//!
//! The PostgreSQL runs need `TEST_POSTGRES_URL`, a URL whose user may create databases (for
//! example `postgres://postgres@127.0.0.1:5432/postgres`): each run creates its own database and
//! drops it afterwards. Every test that needs PostgreSQL has `postgres::` in its name: that is
//! how `.config/nextest.toml` tells them apart. The default nextest profile leaves them out (the
//! summary counts them as skipped); `--profile postgres` runs them, and `scripts/test` picks
//! that profile when it finds a server. Run without `TEST_POSTGRES_URL`, a PostgreSQL test
//! fails and says how to provide it: it never passes without having run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use sqlx::AssertSqlSafe;
use tributary_store::{
    Activity, ActivityFilter, Attempt, AttemptOutcome, AttemptRecord, CallbackCaps, Committed,
    CountFilter, DeleteCommit, EventCount, EventFilter, EventStatus, InstanceData, LatencyCount,
    NewEvent, NewInstance, NewNotification, NewOrganization, NewSession, NotificationStatus,
    Outbox, OutboxQueued, OutcomeCount, PollCommit, PollerRecord, Principal, QueueLease,
    ResourceCount, Session, Store, StoredValue, SweepCommit, SweepRecord, Updated, UserProfile,
};

const NOW: i64 = 1_795_860_000_000;

/// Generates, for each test, `sqlite::NAME` and `postgres::NAME`. `stores:` tests take an opened
/// store, `urls:` tests the URL of a fresh, unopened database; `postgres_urls:` tests run on
/// PostgreSQL only.
macro_rules! contract {
    (
        stores: [$($store_test:ident),* $(,)?],
        urls: [$($url_test:ident),* $(,)?],
        postgres_urls: [$($postgres_test:ident),* $(,)?] $(,)?
    ) => {
        contract!(@backend sqlite, [$($store_test),*], [$($url_test),*]);
        contract!(@backend postgres, [$($store_test),*], [$($url_test),* $(, $postgres_test)*]);
    };
    (@backend $backend:ident, [$($store_test:ident),*], [$($url_test:ident),*]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $store_test() {
                    crate::fresh::$backend(stringify!($store_test), |url| {
                        crate::fresh::opened(url, super::$store_test)
                    })
                    .await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $url_test() {
                    crate::fresh::$backend(stringify!($url_test), super::$url_test).await;
                }
            )*
        }
    };
}

contract! {
    stores: [
        a_notifications_body_is_kept_apart_claimed_shown_and_goes_with_it,
        a_principal_needs_both_secrets_of_the_same_organization,
        instances_round_trip_and_stay_inside_their_organization,
        an_update_keeps_entry_ids_removes_dropped_keys_and_bumps_the_version,
        deleting_an_instance_deletes_its_configuration,
        tokens_and_secrets_are_unique,
        hub_lookups_find_the_user_and_the_instance_by_token,
        credentials_rotate_and_invalidation_is_recorded_without_a_version_bump,
        pollers_follow_the_configured_resources,
        a_poll_commits_events_and_cursor_together_once,
        a_backfill_of_more_events_than_one_insert_holds_stores_each_once_in_order,
        an_idle_commit_moves_the_poller_alone_and_a_stale_one_changes_nothing,
        idle_commits_at_once_each_get_their_own_outcome,
        a_claim_returns_each_pollers_row_leased_with_its_last_sweep,
        a_claim_returns_the_instances_version_and_whether_it_polls_as_they_stand,
        a_failed_poll_keeps_the_cursor_and_counts_the_failure,
        a_delete_sweep_commits_with_its_poll_and_a_loss_is_counted,
        a_delete_sweeps_memory_is_written_with_its_poll_and_kept_by_one_without,
        a_reconciliation_sweeps_memory_commits_with_its_poll_and_goes_with_its_poller,
        a_pause_is_not_a_failure_and_the_next_commit_ends_it,
        due_pollers_are_claimed_once_until_their_lease_ends,
        claims_come_soonest_due_first,
        events_are_queued_once_in_notifications_that_are_leased_and_finish,
        a_gone_attempt_stops_its_url_until_the_instance_url_changes,
        notifications_leased_as_they_are_queued_are_no_one_elses_until_the_lease_ends,
        a_poll_commit_queues_its_outbox_only_where_its_events_are_new_and_the_instance_held,
        a_capped_claim_takes_at_most_its_cap_per_url_and_reaches_past_a_full_one,
        a_claim_for_named_urls_takes_only_theirs_due_in_order_past_leases_and_stops,
        pruning_drops_finished_history_and_keeps_what_still_waits,
        ui_sessions_are_found_by_token_hash_until_they_expire_or_end,
        a_pending_connect_is_taken_once_by_its_own_session_before_it_expires,
        configuration_keys_and_resources_sort_bytewise,
        a_nul_in_an_attempts_excerpt_does_not_sink_the_batch,
        a_notification_sharing_an_event_with_one_queued_before_is_not_stored,
        a_value_the_backend_cannot_hold_is_the_callers_error_not_a_broken_database,
        a_redelivery_during_a_send_keeps_its_lease_so_nothing_is_sent_twice_at_once,
        a_poll_on_request_takes_the_lease_only_when_it_is_free,
        every_poller_is_made_due_at_once_and_counted_once_it_has_polled,
        events_are_found_by_each_filter_and_read_back_with_their_status,
        an_instance_keeps_its_sealed_token_and_a_user_its_profile,
        a_notification_is_found_by_its_id_or_its_number_with_its_events,
        a_disabled_instance_s_events_wait_unqueued_and_its_pollers_can_be_made_due,
        events_are_counted_per_bucket_and_instance_with_their_outcomes,
        activity_counts_events_outcomes_and_latency_per_bucket_of_one_organization,
        a_polls_memory_and_cursor_are_kept_by_its_commit_and_untouched_by_a_conflict_or_a_failure,
        another_organization_finds_reads_and_changes_nothing_of_this_one,
        hook_subscriptions_are_found_by_token_hash_and_replaced_with_a_new_one,
        a_stored_delivery_is_claimed_once_per_lease_and_leaves_with_its_events,
    ],
    urls: [
        an_opened_database_is_migrated_once_and_reopens_with_its_data,
        processes_opening_a_new_database_at_once_migrate_it_once,
        two_processes_claiming_due_pollers_never_claim_the_same_one,
        two_processes_claiming_notifications_never_claim_the_same_one,
        of_concurrent_polls_from_one_version_exactly_one_commits,
        of_concurrent_edits_from_one_version_exactly_one_wins,
        a_pending_connect_taken_at_once_by_two_processes_is_taken_once,
        a_reader_paging_by_id_misses_no_event_committed_meanwhile,
        a_url_asking_for_tls_is_served_over_tls_where_the_backend_speaks_it,
        processes_bootstrapping_at_once_create_one_first_organization,
        an_older_database_is_brought_to_the_newest_migration_on_disk_when_opened,
    ],
    postgres_urls: [
        another_process_is_woken_when_work_appears,
        a_wake_up_listener_nobody_reads_any_more_lets_its_connection_go,
    ],
}

/// Fresh databases for one test each, removed afterwards (also when the test fails).
mod fresh {
    use std::future::Future;
    use std::hash::{BuildHasher, RandomState};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
    use tributary_store::Store;

    use super::NOW;

    /// A name no other test (in this process or another) is using.
    fn unique_suffix() -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let random = RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed));
        format!("{}_{random:016x}", std::process::id())
    }

    /// Runs `test` on its own task, so a failure still reaches the cleanup; then fails as it did.
    async fn isolated<Fut>(test: Fut, cleanup: impl AsyncFnOnce())
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let outcome = tokio::spawn(test).await;
        cleanup().await;
        if let Err(error) = outcome {
            std::panic::resume_unwind(error.into_panic());
        }
    }

    /// Opens the store `url` names and runs `test` with it.
    pub async fn opened<Fut>(url: String, test: impl FnOnce(Arc<dyn Store>) -> Fut)
    where
        Fut: Future<Output = ()>,
    {
        test(tributary_store::open(&url, NOW).await.unwrap()).await;
    }

    /// A SQLite file in a directory of its own.
    pub async fn sqlite<Fut>(_name: &str, test: impl FnOnce(String) -> Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let dir = std::env::temp_dir().join(format!("tributary-store-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("test.db").display());
        isolated(test(url), async || {
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await;
    }

    /// A PostgreSQL database of its own on the `TEST_POSTGRES_URL` server.
    pub async fn postgres<Fut>(name: &str, test: impl FnOnce(String) -> Fut)
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Ok(admin_url) = std::env::var("TEST_POSTGRES_URL") else {
            panic!(
                "postgres::{name} needs PostgreSQL and TEST_POSTGRES_URL is not set. Set it to a \
                 server whose user may create databases, e.g. \
                 TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres, or run \
                 scripts/test, which finds one on 127.0.0.1:5432; plain `cargo nextest run` \
                 skips the PostgreSQL tests"
            );
        };
        let database = format!("tributary_test_{}", unique_suffix());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("TEST_POSTGRES_URL does not connect");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .await
            .unwrap();
        let url = with_database(&admin_url, &database);
        isolated(test(url), async || {
            // FORCE: a pool the test dropped may not have closed its connections yet.
            admin
                .execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                )))
                .await
                .unwrap();
        })
        .await;
    }

    /// `url` naming `database` instead of its own.
    fn with_database(url: &str, database: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (url, String::new()),
        };
        let (scheme, rest) = base.split_once("://").expect("a URL with a scheme");
        let authority = rest
            .split_once('/')
            .map_or(rest, |(authority, _)| authority);
        format!("{scheme}://{authority}/{database}{query}")
    }
}

/// What `open` recorded in a database's migrations table: its versions, in order.
async fn migrations_applied(url: &str) -> Vec<i64> {
    let sql = "SELECT version FROM _tributary_migrations ORDER BY version";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap()
    }
}

/// The migration files of the backend `url` names, as the crate ships them in
/// `migrations/<backend>/NNNN_name.sql`: (version, name, SQL), oldest first. Read from disk, not
/// from the list the binary embeds, so a file the list forgets (or a runner that skips one)
/// shows.
fn migrations_on_disk(url: &str) -> Vec<(i64, String, String)> {
    let backend = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<(i64, String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let (version, name) = stem
                .split_once('_')
                .unwrap_or_else(|| panic!("{} is not NNNN_name.sql", path.display()));
            let version = version
                .parse()
                .unwrap_or_else(|_| panic!("{} is not NNNN_name.sql", path.display()));
            (
                version,
                name.to_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in {}", dir.display());
    files
}

/// The versions of [`migrations_on_disk`].
fn versions_on_disk(url: &str) -> Vec<i64> {
    migrations_on_disk(url).into_iter().map(|m| m.0).collect()
}

/// Opens `count` stores on `url` at once, as `count` processes starting together would.
async fn open_at_once(url: &str, count: usize) -> Vec<Arc<dyn Store>> {
    let opening: Vec<_> = (0..count)
        .map(|i| {
            let url = url.to_owned();
            tokio::spawn(async move { tributary_store::open(&url, NOW + i as i64).await })
        })
        .collect();
    let mut stores = Vec::new();
    for open in opening {
        stores.push(open.await.unwrap().unwrap());
    }
    stores
}

/// Runs `work` on `tasks` tasks at once (several per store), each released at the same moment.
async fn at_once<T, Fut>(
    stores: &[Arc<dyn Store>],
    tasks: usize,
    work: impl Fn(usize, Arc<dyn Store>) -> Fut,
) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(tasks));
    let running: Vec<_> = (0..tasks)
        .map(|i| {
            let start = start.clone();
            let work = work(i, stores[i % stores.len()].clone());
            tokio::spawn(async move {
                start.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in running {
        results.push(task.await.unwrap());
    }
    results
}

async fn org(store: &dyn Store, tag: u8) -> Principal {
    store
        .create_organization(NewOrganization {
            name: format!("org {tag}"),
            organization_secret_hash: vec![tag; 32],
            user_secret_hash: vec![tag + 100; 32],
            user: UserProfile::default(),
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
            token_sealed: vec![token; 8],
            data: data(name),
            now_ms: NOW,
        })
        .await
        .unwrap()
}

async fn an_opened_database_is_migrated_once_and_reopens_with_its_data(url: String) {
    let store = tributary_store::open(&url, NOW).await.unwrap();
    assert_eq!(store.organization_count().await.unwrap(), 0);
    org(store.as_ref(), 1).await;
    drop(store);
    let reopened = tributary_store::open(&url, NOW + 1).await.unwrap();
    assert_eq!(reopened.organization_count().await.unwrap(), 1);
    reopened.ping().await.unwrap();
    assert_eq!(migrations_applied(&url).await, versions_on_disk(&url));
}

async fn a_principal_needs_both_secrets_of_the_same_organization(store: Arc<dyn Store>) {
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

async fn instances_round_trip_and_stay_inside_their_organization(store: Arc<dyn Store>) {
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

async fn an_update_keeps_entry_ids_removes_dropped_keys_and_bumps_the_version(
    store: Arc<dyn Store>,
) {
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

async fn deleting_an_instance_deletes_its_configuration(store: Arc<dyn Store>) {
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
}

async fn tokens_and_secrets_are_unique(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    insert(store.as_ref(), principal, 50, "one").await;
    let duplicate = store
        .insert_instance(NewInstance {
            principal,
            element_key: "infusionsoftrest".into(),
            token_hash: vec![50; 32],
            token_sealed: vec![50; 8],
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

// SQLite only: the memory database, and a scheme no backend takes.
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

async fn hub_lookups_find_the_user_and_the_instance_by_token(store: Arc<dyn Store>) {
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

async fn credentials_rotate_and_invalidation_is_recorded_without_a_version_bump(
    store: Arc<dyn Store>,
) {
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

async fn pollers_follow_the_configured_resources(store: Arc<dyn Store>) {
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

async fn a_poll_commits_events_and_cursor_together_once(store: Arc<dyn Store>) {
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
    assert_eq!(events[0].status, EventStatus::New);
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

/// A backfill's events go in several multi-row statements: every one is stored once, in the
/// order decided, a repeat inside the commit or of an event stored before included.
async fn a_backfill_of_more_events_than_one_insert_holds_stores_each_once_in_order(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("e0007")], NOW))
        .await
        .unwrap();
    let mut events: Vec<NewEvent> = (0..700).map(|i| event(&format!("e{i:04}"))).collect();
    // A repeat inside the commit (across two statements' rows) and one stored before.
    events.push(event("e0003"));
    events[300].record = "{\"id\":300}".into();
    let done = store
        .commit_poll(commit(record.id, 2, events, NOW + 1))
        .await
        .unwrap();
    assert_eq!(done, Committed::Done { inserted: 699 });
    let stored = store.events(record.id, 0, 1_000).await.unwrap();
    assert_eq!(stored.len(), 700);
    let ids: Vec<&str> = stored.iter().map(|e| e.event_id.as_str()).collect();
    let mut expected: Vec<String> = vec!["e0007".to_owned()];
    expected.extend((0..700).filter(|i| *i != 7).map(|i| format!("e{i:04}")));
    assert_eq!(ids, expected, "stored once each, in the order decided");
    let row = stored.iter().find(|e| e.event_id == "e0300").unwrap();
    assert_eq!(
        (row.record.as_str(), row.poll_date_ms, row.status),
        ("{\"id\":300}", NOW + 5, EventStatus::New),
        "each row's own values, not a neighbour's"
    );
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!((poller.events_emitted, poller.version), (700, 3));
}

/// A poll that found nothing writes its poller's row alone (one statement): the cursor, the
/// memory, the due time and the lease move, the version guards it as it guards any commit.
async fn an_idle_commit_moves_the_poller_alone_and_a_stale_one_changes_nothing(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let claimed = store.claim_due_pollers("w", NOW, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let idle = store
        .commit_poll(commit(record.id, 1, vec![], NOW - 7))
        .await
        .unwrap();
    assert_eq!(idle, Committed::Done { inserted: 0 });
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (
            poller.cursor_ms,
            poller.seen.as_str(),
            poller.next_due_ms,
            poller.version,
            poller.last_poll_ms,
            poller.events_emitted,
        ),
        (
            Some(NOW - 7),
            "{\"42\":1}",
            NOW + 60_000,
            2,
            Some(NOW + 10),
            0
        )
    );
    // The lease is free again: the poller is claimed when due.
    assert_eq!(
        store
            .claim_due_pollers("w2", NOW + 60_000, 60_000, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // A late idle commit from the version before changes nothing.
    let mut late = commit(record.id, 1, vec![], NOW + 99);
    late.seen = "{}".into();
    assert_eq!(store.commit_poll(late).await.unwrap(), Committed::Conflict);
    let after = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (after.cursor_ms, after.seen.as_str(), after.version),
        (Some(NOW - 7), "{\"42\":1}", 2)
    );
    assert!(store.events(record.id, 0, 10).await.unwrap().is_empty());
}

/// Idle commits finishing at once are written together (a group commit): each still gets its
/// own outcome — its poller's row moved on with its cursor, or a conflict for a stale version
/// or for the second of two commits from one version — and a delete sweep's cursor, loss and
/// memory go with the poll that swept.
async fn idle_commits_at_once_each_get_their_own_outcome(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let mut instances = Vec::new();
    for tag in 0..6 {
        let record = insert(store.as_ref(), principal, 60 + tag, "i").await;
        store
            .sync_pollers(
                record.id,
                &[("contacts".into(), NOW), ("tasks".into(), NOW)],
                NOW,
            )
            .await
            .unwrap();
        instances.push(record.id);
    }
    // Each poller's commit from version 1 (its cursor names it), twice for the first
    // instance's contacts, and once from a stale version for every tasks poller.
    let idle = |id: i64, resource: &str, version: i64, cursor: i64| PollCommit {
        resource: resource.into(),
        ..commit(id, version, vec![], cursor)
    };
    let mut commits = Vec::new();
    for (n, &id) in instances.iter().enumerate() {
        let n = n as i64;
        // The first instance's contacts: one of its two commits wins (checked below).
        let won = (n > 0).then_some(true);
        commits.push((idle(id, "contacts", 1, NOW - n), won));
        commits.push((idle(id, "tasks", 0, NOW - 100 - n), Some(false)));
    }
    commits.push((idle(instances[0], "contacts", 1, NOW - 50), None));
    let deletes = DeleteCommit {
        cursor_ms: NOW - 5,
        lost: Some((NOW - 30, NOW - 20)),
        memory: Some("{\"7\":1}".into()),
    };
    let swept_id = instances[1];
    let tasks: Vec<_> = commits
        .iter()
        .map(|(commit, _)| {
            let (store, commit, deletes) = (store.clone(), commit.clone(), deletes.clone());
            tokio::spawn(async move {
                if commit.resource == "contacts" && commit.instance_id == swept_id {
                    store.commit_poll_with_deletes(commit, deletes).await
                } else {
                    store.commit_poll(commit).await
                }
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }
    let done = Committed::Done { inserted: 0 };
    for ((commit, expected), outcome) in commits.iter().zip(&outcomes) {
        if let Some(won) = expected {
            let want = if *won { &done } else { &Committed::Conflict };
            assert_eq!(outcome, want, "{} {}", commit.instance_id, commit.resource);
        }
    }
    // Of the two commits of one version, exactly one won, and the row is that one's.
    let twins = [&outcomes[0], &outcomes[outcomes.len() - 1]];
    assert_eq!(
        twins.iter().filter(|o| ***o == done).count(),
        1,
        "{twins:?}"
    );
    let winner = if *twins[0] == done { NOW } else { NOW - 50 };
    for (n, &id) in instances.iter().enumerate() {
        let pollers = store.pollers(id).await.unwrap();
        let (contacts, tasks) = (&pollers[0], &pollers[1]);
        let cursor = if n == 0 { winner } else { NOW - n as i64 };
        assert_eq!(
            (contacts.cursor_ms, contacts.version, contacts.next_due_ms),
            (Some(cursor), 2, NOW + 60_000)
        );
        assert_eq!(
            (tasks.cursor_ms, tasks.version),
            (None, 1),
            "stale: untouched"
        );
        let swept = n == 1;
        assert_eq!(
            (
                contacts.delete_cursor_ms,
                contacts.deletes_lost,
                contacts.deletes_lost_from_ms,
                contacts.deletes_lost_until_ms,
                contacts.deletes_lost_at_ms,
                contacts.delete_memory.as_deref(),
            ),
            if swept {
                (
                    Some(NOW - 5),
                    1,
                    Some(NOW - 30),
                    Some(NOW - 20),
                    Some(NOW + 10),
                    Some("{\"7\":1}"),
                )
            } else {
                (None, 0, None, None, None, None)
            }
        );
    }
}

/// The scheduler polls from the rows its claim returns, so they are the rows as they stand:
/// leased, with the cursor, memory and version of the last commit and the last sweep's moment.
async fn a_claim_returns_each_pollers_row_leased_with_its_last_sweep(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(
            record.id,
            &[("contacts".into(), NOW), ("tasks".into(), NOW + 1)],
            NOW,
        )
        .await
        .unwrap();
    store
        .commit_poll_with_sweep(
            commit(record.id, 1, vec![], NOW - 3),
            None,
            SweepCommit {
                memory: "{}".into(),
                records: 0,
                swept_ms: NOW - 50,
            },
        )
        .await
        .unwrap();
    let claimed = store
        .claim_due_poller_records("w", NOW + 60_000, 1_000, 10)
        .await
        .unwrap();
    let got: Vec<_> = claimed
        .iter()
        .map(|p| {
            (
                p.resource.as_str(),
                p.cursor_ms,
                p.version,
                p.seen.as_str(),
                p.swept_ms,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("tasks", None, 1, "{}", None),
            ("contacts", Some(NOW - 3), 2, "{\"42\":1}", Some(NOW - 50)),
        ],
        "soonest due first (tasks at NOW + 1, contacts at NOW + 60,000)"
    );
    // The same rows as a read gives them; and leased: nobody else claims them now.
    for poller in &claimed {
        let read = store
            .poller(record.id, &poller.resource)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&read, poller);
    }
    assert!(
        store
            .claim_due_poller_records("x", NOW + 60_000, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The scheduler polls with the client and settings it made for the instance's version, and
/// reads the instance again only when the claim names another version; so the claim (and every
/// read of a poller row) says the instance's version as it stands, and whether it polls —
/// which changes without a new version when an authorization dies.
async fn a_claim_returns_the_instances_version_and_whether_it_polls_as_they_stand(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 52, "v").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    // Claims at ever later times, each lease ended by the next claim's time.
    let mut at = NOW;
    let mut claim = async || {
        at += 10_000;
        let claimed = store
            .claim_due_poller_records("w", at, 1_000, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "the poller is due and its lease ended");
        let read = store.poller(record.id, "contacts").await.unwrap().unwrap();
        assert_eq!(read, claimed[0], "a read says the same");
        (claimed[0].instance_version, claimed[0].instance_polls)
    };
    assert_eq!(claim().await, (Some(record.version), true));

    // A dead authorization: the same version, and no longer polling.
    store
        .mark_invalid(record.id, "the provider refused the refresh token", NOW + 1)
        .await
        .unwrap();
    assert_eq!(claim().await, (Some(record.version), false));

    // A user's edit (a new authorization) moves the version on; disabling too.
    let edited = store
        .update_instance(principal.organization_id, record.id, 1, data("v2"), NOW + 2)
        .await
        .unwrap();
    assert!(matches!(edited, Updated::Done(ref r) if r.version == 2));
    assert_eq!(claim().await, (Some(2), true));
    let disabled = InstanceData {
        disabled: true,
        ..data("v2")
    };
    store
        .update_instance(principal.organization_id, record.id, 2, disabled, NOW + 3)
        .await
        .unwrap();
    assert_eq!(claim().await, (Some(3), false));

    // A rotated token is not an edit: the version stays.
    store
        .update_instance(principal.organization_id, record.id, 3, data("v2"), NOW + 4)
        .await
        .unwrap();
    store
        .store_credentials(record.id, vec![7, 7], NOW + 5)
        .await
        .unwrap();
    assert_eq!(claim().await, (Some(4), true));

    // A poll on request is claimed the same way.
    let now = store
        .claim_poller(record.id, "contacts", "now", at + 10_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.instance_version, now.instance_polls), (Some(4), true));
}

async fn a_delete_sweeps_memory_is_written_with_its_poll_and_kept_by_one_without(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 51, "m").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    assert_eq!(
        store.pollers(record.id).await.unwrap()[0].delete_memory,
        None
    );
    let remembering = DeleteCommit {
        cursor_ms: NOW,
        lost: None,
        memory: Some(r#"{"17":1795860000000}"#.into()),
    };
    store
        .commit_poll_with_deletes(commit(record.id, 1, vec![], NOW + 1), remembering.clone())
        .await
        .unwrap();
    let memory = |poller: &PollerRecord| poller.delete_memory.clone();
    assert_eq!(
        memory(&store.pollers(record.id).await.unwrap()[0]).as_deref(),
        Some(r#"{"17":1795860000000}"#)
    );
    // A late commit from the same version writes no memory either.
    let late = DeleteCommit {
        memory: Some("{}".into()),
        ..remembering.clone()
    };
    assert_eq!(
        store
            .commit_poll_with_deletes(commit(record.id, 1, vec![], NOW + 2), late)
            .await
            .unwrap(),
        Committed::Conflict
    );
    // A sweep that keeps no memory, and a poll with no sweep, leave it as it is.
    let forgetful = DeleteCommit {
        memory: None,
        ..remembering
    };
    store
        .commit_poll_with_deletes(commit(record.id, 2, vec![], NOW + 3), forgetful)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 3, vec![], NOW + 4))
        .await
        .unwrap();
    assert_eq!(
        memory(&store.pollers(record.id).await.unwrap()[0]).as_deref(),
        Some(r#"{"17":1795860000000}"#)
    );
}

async fn a_reconciliation_sweeps_memory_commits_with_its_poll_and_goes_with_its_poller(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 52, "s").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    assert_eq!(store.last_sweep(record.id, "contacts").await.unwrap(), None);
    assert_eq!(
        store.sweep_memory(record.id, "contacts").await.unwrap(),
        None
    );
    let sweep = |memory: &str, swept_ms| SweepCommit {
        memory: memory.into(),
        records: 1,
        swept_ms,
    };
    let committed = store
        .commit_poll_with_sweep(
            commit(record.id, 1, vec![event("gone-1")], NOW + 1),
            None,
            sweep(r#"{"1":"a"}"#, NOW),
        )
        .await
        .unwrap();
    assert_eq!(committed, Committed::Done { inserted: 1 });
    assert_eq!(
        store.last_sweep(record.id, "contacts").await.unwrap(),
        Some(SweepRecord {
            records: 1,
            swept_ms: NOW
        })
    );
    // A late commit from the same version writes neither its events nor its memory.
    assert_eq!(
        store
            .commit_poll_with_sweep(
                commit(record.id, 1, vec![event("gone-2")], NOW + 2),
                None,
                sweep("{}", NOW + 2),
            )
            .await
            .unwrap(),
        Committed::Conflict
    );
    // The next one replaces it; a poll without a sweep keeps it.
    store
        .commit_poll_with_sweep(
            commit(record.id, 2, vec![], NOW + 3),
            None,
            sweep(r#"{"2":"b"}"#, NOW + 3),
        )
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 3, vec![], NOW + 4))
        .await
        .unwrap();
    assert_eq!(
        store
            .sweep_memory(record.id, "contacts")
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"2":"b"}"#)
    );
    assert_eq!(store.events(record.id, 0, 10).await.unwrap().len(), 1);
    // What the polls reported since a moment, by id with its latest change date.
    let reported = |id: &str, kind: &str, date_ms| NewEvent {
        object_id: id.into(),
        event_type: kind.into(),
        date_ms,
        ..event(&format!("{id}-{kind}-{date_ms}"))
    };
    store
        .commit_poll(PollCommit {
            now_ms: NOW + 20,
            ..commit(
                record.id,
                4,
                vec![
                    reported("7", "CREATED", NOW),
                    reported("7", "UPDATED", NOW + 9),
                    reported("8", "DELETED", NOW),
                    // Reported and its deletion told in one commit: no candidate.
                    reported("9", "CREATED", NOW),
                    reported("9", "DELETED", NOW + 1),
                ],
                NOW + 5,
            )
        })
        .await
        .unwrap();
    let since = store
        .reported_since(record.id, "contacts", NOW + 15)
        .await
        .unwrap();
    assert_eq!(since, [("7".to_owned(), NOW + 9)], "not 42 (stored before)");
    assert!(
        store
            .reported_since(record.id, "contacts", NOW + 21)
            .await
            .unwrap()
            .is_empty()
    );
    // A resource no longer polled forgets its sweeps.
    store.sync_pollers(record.id, &[], NOW).await.unwrap();
    assert_eq!(
        store.sweep_memory(record.id, "contacts").await.unwrap(),
        None
    );
}

async fn a_delete_sweep_commits_with_its_poll_and_a_loss_is_counted(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let fresh = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!((fresh.delete_cursor_ms, fresh.deletes_lost), (None, 0));
    let deleted = NewEvent {
        event_type: "DELETED".into(),
        ..event("gone")
    };
    let sweep = DeleteCommit {
        cursor_ms: NOW + 60_000,
        lost: None,
        memory: None,
    };
    let done = store
        .commit_poll_with_deletes(
            commit(record.id, 1, vec![event("a"), deleted], NOW + 1),
            sweep.clone(),
        )
        .await
        .unwrap();
    assert_eq!(done, Committed::Done { inserted: 2 });
    // A late sweep from the same version writes nothing, its cursor included.
    let late = DeleteCommit {
        cursor_ms: NOW + 999_000,
        lost: Some((NOW, NOW + 5)),
        memory: None,
    };
    let lost = store
        .commit_poll_with_deletes(commit(record.id, 1, vec![], NOW + 2), late)
        .await
        .unwrap();
    assert_eq!(lost, Committed::Conflict);
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (poller.delete_cursor_ms, poller.deletes_lost),
        (Some(NOW + 60_000), 0)
    );
    let purged = DeleteCommit {
        cursor_ms: NOW + 120_000,
        lost: Some((NOW + 60_000, NOW + 90_000)),
        memory: None,
    };
    store
        .commit_poll_with_deletes(commit(record.id, 2, vec![], NOW + 3), purged)
        .await
        .unwrap();
    // A sweep without a loss keeps the last one on show.
    store
        .commit_poll_with_deletes(commit(record.id, 3, vec![], NOW + 4), sweep)
        .await
        .unwrap();
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (
            poller.delete_cursor_ms,
            poller.deletes_lost,
            poller.deletes_lost_from_ms,
            poller.deletes_lost_until_ms,
            poller.deletes_lost_at_ms,
        ),
        (
            Some(NOW + 60_000),
            1,
            Some(NOW + 60_000),
            Some(NOW + 90_000),
            Some(NOW + 10)
        )
    );
    assert_eq!(store.deletes_lost_total().await.unwrap(), 1);
    // A commit without a sweep leaves the delete cursor alone.
    store
        .commit_poll(commit(record.id, 4, vec![], NOW + 5))
        .await
        .unwrap();
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(poller.delete_cursor_ms, Some(NOW + 60_000));
    let types: Vec<String> = store
        .events(record.id, 0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["CREATED", "DELETED"]);
}

async fn a_pause_is_not_a_failure_and_the_next_commit_ends_it(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    assert!(
        store
            .claim_poller(record.id, "contacts", "me", NOW, 60_000)
            .await
            .unwrap()
            .is_some()
    );
    store
        .record_poll_pause(record.id, "contacts", "quota spent", NOW + 900_000, NOW + 1)
        .await
        .unwrap();
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (
            poller.paused_until_ms,
            poller.next_due_ms,
            poller.failures,
            poller.last_error.as_deref()
        ),
        (Some(NOW + 900_000), NOW + 900_000, 0, Some("quota spent"))
    );
    assert!(
        store
            .claim_poller(record.id, "contacts", "other", NOW + 2, 60_000)
            .await
            .unwrap()
            .is_some(),
        "the pause gave the lease back"
    );
    store
        .commit_poll(commit(record.id, 1, vec![], NOW + 3))
        .await
        .unwrap();
    let poller = &store.pollers(record.id).await.unwrap()[0];
    assert_eq!(
        (poller.paused_until_ms, poller.last_error.clone()),
        (None, None)
    );
}

async fn a_failed_poll_keeps_the_cursor_and_counts_the_failure(store: Arc<dyn Store>) {
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

async fn due_pollers_are_claimed_once_until_their_lease_ends(store: Arc<dyn Store>) {
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

async fn events_are_queued_once_in_notifications_that_are_leased_and_finish(store: Arc<dyn Store>) {
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
    assert!(
        pending.iter().all(|e| e.instance_version == record.version),
        "each with its instance's version: {pending:?}"
    );
    store
        .update_instance(principal.organization_id, record.id, 1, data("p"), NOW)
        .await
        .unwrap();
    assert!(
        store
            .unnotified_events(10)
            .await
            .unwrap()
            .iter()
            .all(|e| e.instance_version == record.version + 1),
        "the version as it is now"
    );
    let notification = |id: &str, events: &[&str]| NewNotification {
        id: id.into(),
        instance_id: record.id,
        resource: "contacts".into(),
        callback_url: "https://r.example/".into(),
        body: b"{}".to_vec(),
        event_ids: events.iter().map(|e| (*e).to_owned()).collect(),
        poll_date_ms: None,
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
        url: "https://r.example/".into(),
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

    // One notification twice in a batch (one worker's group commit never makes it): each
    // attempt is recorded.
    store
        .record_attempts(vec![
            attempt("n2", AttemptOutcome::Delivered),
            attempt("n2", AttemptOutcome::Delivered),
        ])
        .await
        .unwrap();
    assert_eq!(store.attempts("n2").await.unwrap().len(), 4);
}

async fn a_gone_attempt_stops_its_url_until_the_instance_url_changes(store: Arc<dyn Store>) {
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
        poll_date_ms: None,
    };
    answered_gone(store.as_ref(), notification("n1", "a")).await;
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
    // A send to the old URL still in flight when the URL changed answers 410 late: it stops
    // the old URL, not the new one.
    store
        .record_attempt(gone("n1", "https://old.example/"))
        .await
        .unwrap();
    assert!(store.requeue_notification("n2", NOW).await.unwrap());
    // (Claimed once its send's lease has ended: a redelivery leaves a send in flight alone.)
    let claimed = store
        .claim_due_notifications("w", NOW + 1_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["n2"],
        "the new URL is not stopped"
    );
    assert_eq!(
        store.resume_callbacks(record.id).await.unwrap(),
        1,
        "the old one is"
    );
}

async fn a_poll_commit_queues_its_outbox_only_where_its_events_are_new_and_the_instance_held(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    // A commit from the poller's `version` of `events`, its outbox one notification `id` of
    // them built at `instance_version`, leased to a worker.
    let commit_queuing = async |version: i64, events: &[&str], instance_version: i64, id: &str| {
        let outbox = Outbox {
            instance_version,
            notifications: vec![notification_to(
                id,
                record.id,
                "https://ok.example/",
                events,
            )],
            lease: QueueLease {
                owner: "worker".into(),
                until_ms: NOW + 60_000,
                ids: BTreeSet::from([id.to_owned()]),
            },
        };
        let events = events.iter().map(|e| event(e)).collect();
        store
            .commit_poll_queuing(commit(record.id, version, events, NOW), None, None, outbox)
            .await
            .unwrap()
    };
    let unnotified = async || unnotified_ids(store.as_ref(), 10).await;
    let stored = async |id: &str| store.notification_body(id).await.unwrap().is_some();
    let left = |inserted| (Committed::Done { inserted }, OutboxQueued::Left);

    // Every event new, the instance as the poll read it: queued with them, and leased.
    assert_eq!(
        commit_queuing(1, &["a", "b"], record.version, "first").await,
        (
            Committed::Done { inserted: 2 },
            OutboxQueued::Queued {
                leased: vec!["first".into()]
            }
        )
    );
    assert!(unnotified().await.is_empty(), "its events are queued");
    assert_eq!(
        store.in_flight_notifications(NOW + 10).await.unwrap(),
        ["first"],
        "leased as a claim leases"
    );
    assert!(stored("first").await, "with its body");

    // An event stored before: the commit's events are stored, the outbox is not.
    assert_eq!(
        commit_queuing(2, &["b", "c"], record.version, "repeats").await,
        left(1)
    );
    assert!(!stored("repeats").await);
    assert_eq!(
        unnotified().await,
        ["c"],
        "the new event waits for a queue pass"
    );

    // The instance changed since the poll read it: its notification may be built wrong.
    let edited = store
        .update_instance(principal.organization_id, record.id, 1, data("p2"), NOW + 1)
        .await
        .unwrap();
    let Updated::Done(edited) = edited else {
        panic!("not edited: {edited:?}")
    };
    assert_eq!(
        commit_queuing(3, &["d"], record.version, "stale").await,
        left(1)
    );
    assert!(!stored("stale").await);
    assert_eq!(unnotified().await, ["c", "d"]);

    // Disabled: its events wait unqueued, whatever the version.
    let disabled = InstanceData {
        disabled: true,
        ..data("p2")
    };
    let Updated::Done(disabled) = store
        .update_instance(
            principal.organization_id,
            record.id,
            edited.version,
            disabled,
            NOW + 2,
        )
        .await
        .unwrap()
    else {
        panic!("not disabled")
    };
    assert_eq!(
        commit_queuing(4, &["e"], disabled.version, "off").await,
        left(1)
    );
    assert!(!stored("off").await);

    // A conflict writes nothing, the outbox included.
    assert_eq!(
        commit_queuing(4, &["f"], disabled.version, "lost").await,
        (Committed::Conflict, OutboxQueued::Left)
    );
    assert!(!stored("lost").await);
    assert_eq!(
        store.in_flight_notifications(NOW + 10).await.unwrap(),
        ["first"]
    );
}

async fn notifications_leased_as_they_are_queued_are_no_one_elses_until_the_lease_ends(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let events = ["a", "b", "c", "d"].map(event).to_vec();
    store
        .commit_poll(commit(record.id, 1, events, NOW))
        .await
        .unwrap();
    // A URL stopped by a 410 for this instance: nothing to it is leased.
    answered_gone(
        store.as_ref(),
        notification_to("gone", record.id, "https://stopped.example/", &["a"]),
    )
    .await;
    let lease = QueueLease {
        owner: "queuer".into(),
        until_ms: NOW + 1_000,
        ids: ["leased", "to-stopped", "again"]
            .map(str::to_owned)
            .into_iter()
            .collect(),
    };
    let leased = store
        .queue_and_lease(
            vec![
                notification_to("leased", record.id, "https://ok.example/", &["b"]),
                notification_to("due", record.id, "https://ok.example/", &["c"]),
                notification_to("to-stopped", record.id, "https://stopped.example/", &["d"]),
            ],
            NOW,
            &lease,
        )
        .await
        .unwrap();
    assert_eq!(
        leased,
        ["leased"],
        "only the named ones are leased, and not to a stopped URL"
    );
    assert_eq!(
        store.in_flight_notifications(NOW).await.unwrap(),
        ["leased"],
        "the lease is stored, as a claim's is"
    );
    let claimed = store
        .claim_due_notifications("other", NOW, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["due"],
        "another worker claims the unleased one, not the leased one nor the stopped URL's"
    );
    // Queued again (the same events, the same id): stored before, so not leased again.
    let again = store
        .queue_and_lease(
            vec![notification_to(
                "again",
                record.id,
                "https://ok.example/",
                &["b"],
            )],
            NOW,
            &lease,
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "a notification not stored is not leased");
    // The lease ends like a claim's: then anyone's claim takes it.
    let claimed = store
        .claim_due_notifications("other", NOW + 1_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["leased"],
        "its lease ended"
    );
    assert_eq!(claimed[0].body, b"{}", "claimed with its body");
}

async fn a_capped_claim_takes_at_most_its_cap_per_url_and_reaches_past_a_full_one(
    store: Arc<dyn Store>,
) {
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
            poll_date_ms: None,
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

async fn a_claim_for_named_urls_takes_only_theirs_due_in_order_past_leases_and_stops(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let ids: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
    store
        .commit_poll(commit(
            record.id,
            1,
            ids.iter().map(|id| event(id)).collect(),
            NOW,
        ))
        .await
        .unwrap();
    let (a, b) = ("https://a.example/", "https://b.example/");
    // n0..n6 to A (ids out of their due order), n7..n9 to B.
    let names = ["n5", "n1", "n4", "n0", "n6", "n2", "n3", "n7", "n8", "n9"];
    let notifications = names
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (name, event))| {
            notification_to(name, record.id, if i < 7 { a } else { b }, &[event])
        })
        .collect();
    store.queue_notifications(notifications, NOW).await.unwrap();
    // n0 is due later; n1 is leased by another worker.
    store.defer_notification("n0", NOW + 500).await.unwrap();
    let only = |caps: &[(&str, i64)]| CallbackCaps {
        per_url: caps.iter().map(|(u, c)| ((*u).to_owned(), *c)).collect(),
        default: 0,
    };
    let claim = |owner: &'static str, caps: CallbackCaps, limit: i64| {
        let store = store.clone();
        async move {
            store
                .claim_due_notifications_capped(owner, NOW, 1_000, limit, &caps)
                .await
                .unwrap()
                .into_iter()
                .map(|n| (n.id, n.callback_url))
                .collect::<Vec<_>>()
        }
    };
    let first = store
        .claim_due_notifications_capped("other", NOW, 1_000, 10, &only(&[(a, 1)]))
        .await
        .unwrap();
    assert_eq!(
        first
            .iter()
            .map(|n| (n.id.as_str(), n.callback_url.as_str(), n.poll_date_ms))
            .collect::<Vec<_>>(),
        [("n1", a, Some(NOW - 5))],
        "the first due of A, by id, with its poll's date"
    );
    assert_eq!(
        claim("w", only(&[(a, 2)]), 10).await,
        [
            ("n2".to_owned(), a.to_owned()),
            ("n3".to_owned(), a.to_owned())
        ],
        "A's next two in due order: n0 is not due yet, n1 is leased"
    );
    let both = claim("w", only(&[(a, 5), (b, 5)]), 3).await;
    assert_eq!(both.len(), 3, "the limit holds across URLs: {both:?}");
    assert_eq!(
        both.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["n4", "n5", "n6"],
        "URL after URL, each in due order"
    );
    assert_eq!(
        claim("w", only(&[]), 10).await,
        [],
        "no URL named, nothing claimed: B's wait for a claim of theirs"
    );
    // B answers 410 Gone for n7: B is stopped for the instance, and its claim takes nothing.
    let n7 = claim("w", only(&[(b, 1)]), 10).await;
    assert_eq!(n7, [("n7".to_owned(), b.to_owned())]);
    store.record_attempt(gone("n7", b)).await.unwrap();
    assert_eq!(claim("w", only(&[(b, 5)]), 10).await, [], "B is stopped");
    assert_eq!(
        store
            .claim_due_notifications("w", NOW + 500, 1_000, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        ["n0"],
        "n0 once due; the rest leased, or stopped"
    );
}

async fn pruning_drops_finished_history_and_keeps_what_still_waits(store: Arc<dyn Store>) {
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
        poll_date_ms: None,
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
            url: "https://r.example/".into(),
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

/// Bodies live in a table of their own (issue 21: claims and settles touch small rows): what
/// was queued is what a claim returns, what `notification_body` and the notification's page
/// show, byte for byte, and a body goes with its notification when it is pruned or its instance
/// deleted.
async fn a_notifications_body_is_kept_apart_claimed_shown_and_goes_with_it(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "b").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a"), event("b")], NOW))
        .await
        .unwrap();
    let bodies: [(&str, Vec<u8>); 2] = [
        ("n1", br#"{"message":{"events":[1]}}"#.to_vec()),
        ("n2", vec![0xff, 0x00, 0x7b, 0x80]),
    ];
    let queued = bodies
        .iter()
        .zip(["a", "b"])
        .map(|((id, body), event)| NewNotification {
            body: body.clone(),
            ..notification_to(id, record.id, "https://r.example/", &[event])
        })
        .collect();
    store.queue_notifications(queued, NOW).await.unwrap();
    let claimed = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    let mut claimed: Vec<(String, Vec<u8>)> = claimed.into_iter().map(|n| (n.id, n.body)).collect();
    claimed.sort();
    assert_eq!(
        claimed,
        bodies
            .iter()
            .map(|(id, body)| ((*id).to_owned(), body.clone()))
            .collect::<Vec<_>>(),
        "a claim returns each body as queued"
    );
    for (id, body) in &bodies {
        assert_eq!(
            store.notification_body(id).await.unwrap().as_ref(),
            Some(body)
        );
        let shown = store
            .find_notification(principal.organization_id, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&shown.body, body, "{id}'s page shows its body");
    }
    store
        .record_attempt(AttemptRecord {
            url: "https://r.example/".into(),
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
    assert_eq!(
        store.notification_body("n1").await.unwrap().as_ref(),
        Some(&bodies[0].1),
        "a settle leaves the body alone"
    );
    assert_eq!(store.prune(NOW + 11).await.unwrap(), 1);
    assert_eq!(
        store.notification_body("n1").await.unwrap(),
        None,
        "a pruned notification's body goes with it"
    );
    assert!(store.notification_body("n2").await.unwrap().is_some());
    assert!(
        store
            .delete_instance(principal.organization_id, record.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store.notification_body("n2").await.unwrap(),
        None,
        "a deleted instance's bodies go with its notifications"
    );
}

async fn ui_sessions_are_found_by_token_hash_until_they_expire_or_end(store: Arc<dyn Store>) {
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

async fn a_pending_connect_is_taken_once_by_its_own_session_before_it_expires(
    store: Arc<dyn Store>,
) {
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

/// Queues `notification`, claims it and records a `410 Gone` from its URL: that URL is then
/// stopped for its instance.
async fn answered_gone(store: &dyn Store, notification: NewNotification) {
    let (id, url) = (notification.id.clone(), notification.callback_url.clone());
    store
        .queue_notifications(vec![notification], NOW)
        .await
        .unwrap();
    store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    store.record_attempt(gone(&id, &url)).await.unwrap();
}

/// A `410 Gone` answered to the notification `notification_id` sent to `url`, at `NOW`.
fn gone(notification_id: &str, url: &str) -> AttemptRecord {
    AttemptRecord {
        url: url.into(),
        notification_id: notification_id.into(),
        at_ms: NOW,
        status_code: Some(410),
        duration_ms: 1,
        excerpt: None,
        error: None,
        outcome: AttemptOutcome::Gone,
    }
}

/// The ids of the first `limit` events no notification carries yet, oldest first.
async fn unnotified_ids(store: &dyn Store, limit: i64) -> Vec<String> {
    store
        .unnotified_events(limit)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event_id)
        .collect()
}

fn notification_to(id: &str, instance_id: i64, url: &str, event_ids: &[&str]) -> NewNotification {
    NewNotification {
        id: id.into(),
        instance_id,
        resource: "contacts".into(),
        callback_url: url.into(),
        body: b"{}".to_vec(),
        event_ids: event_ids.iter().map(|e| (*e).to_owned()).collect(),
        poll_date_ms: Some(NOW - 5),
    }
}

async fn claims_come_soonest_due_first(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(
            record.id,
            &[
                ("a".into(), NOW - 1),
                ("b".into(), NOW - 3),
                ("c".into(), NOW - 2),
                // Not due: the poller whose commit stores the events queued below.
                ("contacts".into(), NOW + 60_000),
            ],
            NOW,
        )
        .await
        .unwrap();
    let claimed = store.claim_due_pollers("w", NOW, 1_000, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>(),
        ["b", "c", "a"]
    );
    store
        .commit_poll(commit(record.id, 1, vec![event("x"), event("y")], NOW))
        .await
        .unwrap();
    let url = "https://r.example/";
    store
        .queue_notifications(vec![notification_to("n1", record.id, url, &["x"])], NOW)
        .await
        .unwrap();
    store
        .queue_notifications(vec![notification_to("n2", record.id, url, &["y"])], NOW - 5)
        .await
        .unwrap();
    let claimed = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        ["n2", "n1"]
    );
}

async fn configuration_keys_and_resources_sort_bytewise(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let mut unsorted = data("p");
    unsorted.configuration = ["b", "B", "_x", "a", "a.b", "a-b"]
        .iter()
        .map(|k| ((*k).to_owned(), StoredValue::Plain("v".into())))
        .collect();
    let record = store
        .insert_instance(NewInstance {
            principal,
            element_key: "infusionsoftrest".into(),
            token_hash: vec![50; 32],
            token_sealed: vec![50; 8],
            data: unsorted,
            now_ms: NOW,
        })
        .await
        .unwrap();
    assert_eq!(
        record
            .configuration
            .iter()
            .map(|e| e.key.as_str())
            .collect::<Vec<_>>(),
        ["B", "_x", "a", "a-b", "a.b", "b"],
        "byte order, whatever the database's collation"
    );
    let resources = ["tasks", "Contacts", "_notes", "contacts"];
    store
        .sync_pollers(record.id, &resources.map(|r| (r.to_owned(), NOW + 1)), NOW)
        .await
        .unwrap();
    assert_eq!(
        store
            .pollers(record.id)
            .await
            .unwrap()
            .iter()
            .map(|p| p.resource.as_str())
            .collect::<Vec<_>>(),
        ["Contacts", "_notes", "contacts", "tasks"]
    );
}

async fn a_nul_in_an_attempts_excerpt_does_not_sink_the_batch(store: Arc<dyn Store>) {
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
    let url = "https://r.example/";
    store
        .queue_notifications(
            vec![
                notification_to("n1", record.id, url, &["a"]),
                notification_to("n2", record.id, url, &["b"]),
            ],
            NOW,
        )
        .await
        .unwrap();
    store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    let attempt = |id: &str, excerpt: &str| AttemptRecord {
        url: "https://r.example/".into(),
        notification_id: id.into(),
        at_ms: NOW,
        status_code: Some(200),
        duration_ms: 1,
        excerpt: Some(excerpt.into()),
        error: Some(format!("{excerpt} again")),
        outcome: AttemptOutcome::Delivered,
    };
    store
        .record_attempts(vec![attempt("n1", "bin\0ary"), attempt("n2", "ok")])
        .await
        .unwrap();
    let Attempt { excerpt, error, .. } = store.attempts("n1").await.unwrap().remove(0);
    // SQLite keeps the NUL; PostgreSQL text cannot hold one and has U+FFFD in its place.
    let excerpt = excerpt.unwrap().replace('\u{FFFD}', "\0");
    assert_eq!(excerpt, "bin\0ary");
    assert_eq!(error.unwrap().replace('\u{FFFD}', "\0"), "bin\0ary again");
    assert_eq!(store.attempts("n2").await.unwrap().len(), 1);
    assert_eq!(store.queued_notifications().await.unwrap(), 0);
}

async fn processes_opening_a_new_database_at_once_migrate_it_once(url: String) {
    // Each open would fail (a table created twice) if two applied the same migration.
    let stores = open_at_once(&url, 4).await;
    for store in &stores {
        store.ping().await.unwrap();
        assert_eq!(store.organization_count().await.unwrap(), 0);
    }
    assert_eq!(migrations_applied(&url).await, versions_on_disk(&url));
}

async fn two_processes_claiming_due_pollers_never_claim_the_same_one(url: String) {
    let stores = open_at_once(&url, 2).await;
    let store = stores[0].clone();
    let principal = org(store.as_ref(), 1).await;
    let mut due = BTreeSet::new();
    for token in 50..53 {
        let record = insert(store.as_ref(), principal, token, "p").await;
        let resources: Vec<(String, i64)> =
            (0..20).map(|i| (format!("r{i:02}"), NOW - i)).collect();
        store
            .sync_pollers(record.id, &resources, NOW - 100)
            .await
            .unwrap();
        due.extend(resources.into_iter().map(|(r, _)| (record.id, r)));
    }
    let claims = at_once(&stores, 8, |worker, store| async move {
        let mut mine = Vec::new();
        loop {
            let claimed = store
                .claim_due_pollers(&format!("w{worker}"), NOW, 60_000, 3)
                .await
                .unwrap();
            if claimed.is_empty() {
                return mine;
            }
            mine.extend(claimed);
        }
    })
    .await;
    let all: Vec<(i64, String)> = claims.into_iter().flatten().collect();
    let unique: BTreeSet<(i64, String)> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a poller claimed twice");
    assert_eq!(unique, due, "every due poller claimed");
    for store in &stores {
        assert!(
            store
                .claim_due_pollers("late", NOW, 60_000, 100)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

async fn two_processes_claiming_notifications_never_claim_the_same_one(url: String) {
    let stores = open_at_once(&url, 2).await;
    let store = stores[0].clone();
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let ids: Vec<String> = (0..60).map(|i| format!("e{i:02}")).collect();
    store
        .commit_poll(commit(
            record.id,
            1,
            ids.iter().map(|id| event(id)).collect(),
            NOW,
        ))
        .await
        .unwrap();
    let notifications = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let url = format!("https://r{}.example/", i % 3);
            notification_to(&format!("n{i:02}"), record.id, &url, &[id.as_str()])
        })
        .collect();
    store
        .queue_notifications(notifications, NOW - 100)
        .await
        .unwrap();
    let claims = at_once(&stores, 8, |worker, store| async move {
        // Half the workers claim with caps, half without.
        let caps = if worker % 2 == 0 {
            CallbackCaps {
                per_url: BTreeMap::from([("https://r0.example/".to_owned(), 1)]),
                default: 2,
            }
        } else {
            CallbackCaps::none()
        };
        let mut mine = Vec::new();
        loop {
            let claimed = store
                .claim_due_notifications_capped(&format!("w{worker}"), NOW, 60_000, 4, &caps)
                .await
                .unwrap();
            if claimed.is_empty() {
                return mine;
            }
            mine.extend(claimed.into_iter().map(|n| n.id));
        }
    })
    .await;
    let all: Vec<String> = claims.into_iter().flatten().collect();
    let unique: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), unique.len(), "a notification claimed twice");
    assert_eq!(unique.len(), 60, "every due notification claimed");
    assert_eq!(
        stores[1].in_flight_notifications(NOW).await.unwrap().len(),
        60
    );
}

async fn of_concurrent_polls_from_one_version_exactly_one_commits(url: String) {
    let stores = open_at_once(&url, 2).await;
    let store = stores[0].clone();
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let outcomes = at_once(&stores, 8, |worker, store| async move {
        let events = vec![
            event(&format!("w{worker}-a")),
            event(&format!("w{worker}-b")),
        ];
        let outcome = store
            .commit_poll(commit(record.id, 1, events, NOW + worker as i64))
            .await
            .unwrap();
        (worker, outcome)
    })
    .await;
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome == Committed::Done { inserted: 2 })
        .map(|(worker, _)| *worker)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|(w, o)| *w == winners[0] || *o == Committed::Conflict)
    );
    let stored: Vec<String> = store
        .events(record.id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    let winner = winners[0];
    assert_eq!(stored, [format!("w{winner}-a"), format!("w{winner}-b")]);
    let poller = store.poller(record.id, "contacts").await.unwrap().unwrap();
    assert_eq!(
        (poller.version, poller.events_emitted, poller.cursor_ms),
        (2, 2, Some(NOW + winner as i64))
    );
}

async fn of_concurrent_edits_from_one_version_exactly_one_wins(url: String) {
    let stores = open_at_once(&url, 2).await;
    let store = stores[0].clone();
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    let outcomes = at_once(&stores, 8, |worker, store| async move {
        let mut edit = data(&format!("edit {worker}"));
        edit.configuration.push((
            "event.notification.callback.url".into(),
            StoredValue::Plain(format!("https://w{worker}.example/")),
        ));
        let outcome = store
            .update_instance(principal.organization_id, record.id, 1, edit, NOW + 1)
            .await
            .unwrap();
        (worker, outcome)
    })
    .await;
    let winners: Vec<tributary_store::InstanceRecord> = outcomes
        .iter()
        .filter_map(|(_, outcome)| match outcome {
            Updated::Done(record) => Some((**record).clone()),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|(_, o)| matches!(o, Updated::Done(_) | Updated::Conflict))
    );
    let now = store
        .instance(principal.organization_id, record.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now, winners[0], "the winner's edit, whole");
    assert_eq!(now.version, 2);
    assert_eq!(now.configuration.len(), 3);
}

async fn a_pending_connect_taken_at_once_by_two_processes_is_taken_once(url: String) {
    let stores = open_at_once(&url, 2).await;
    let store = stores[0].clone();
    let principal = org(store.as_ref(), 1).await;
    store
        .create_session(NewSession {
            token_hash: vec![1; 32],
            principal,
            csrf: "c".into(),
            now_ms: NOW,
            expires_ms: NOW + 1_000,
        })
        .await
        .unwrap();
    store
        .put_connect(&[7; 32], &[1; 32], b"sealed".to_vec(), NOW + 100)
        .await
        .unwrap();
    let taken = at_once(&stores, 8, |_, store| async move {
        store.take_connect(&[7; 32], &[1; 32], NOW).await.unwrap()
    })
    .await;
    let forms: Vec<Vec<u8>> = taken.into_iter().flatten().collect();
    assert_eq!(forms, [b"sealed".to_vec()]);
}

async fn a_reader_paging_by_id_misses_no_event_committed_meanwhile(url: String) {
    let stores = open_at_once(&url, 2).await;
    let store = stores[0].clone();
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    let resources: Vec<(String, i64)> = (0..6).map(|i| (format!("r{i}"), NOW)).collect();
    store
        .sync_pollers(record.id, &resources, NOW)
        .await
        .unwrap();
    let (rounds, per_round) = (8, 5);
    let writing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = {
        let store = stores[1].clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            let (mut seen, mut cursor) = (BTreeSet::new(), 0);
            loop {
                // Read after the writers stopped once more, to collect what remains.
                let last = !writing.load(std::sync::atomic::Ordering::SeqCst);
                loop {
                    let page = store.events(record.id, cursor, 7).await.unwrap();
                    let Some(newest) = page.last() else { break };
                    cursor = newest.id;
                    seen.extend(page.into_iter().map(|e| e.event_id));
                }
                if last {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    at_once(&stores, resources.len(), |worker, store| async move {
        for round in 0..rounds {
            let events = (0..per_round)
                .map(|i| event(&format!("r{worker}-{round}-{i}")))
                .collect();
            let mut commit = commit(record.id, round + 1, events, NOW);
            commit.resource = format!("r{worker}");
            assert_eq!(
                store.commit_poll(commit).await.unwrap(),
                Committed::Done {
                    inserted: per_round as u64
                }
            );
        }
    })
    .await;
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    assert_eq!(
        seen.len(),
        resources.len() * rounds as usize * per_round,
        "a reader paging by id skipped events that committed after a higher id"
    );
}

/// Two queue passes that read different windows group the same event differently: only the
/// notification that takes all of its events is stored, so no event is sent twice.
async fn a_notification_sharing_an_event_with_one_queued_before_is_not_stored(
    store: Arc<dyn Store>,
) {
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
    let notification = |id: &str, events: &[&str]| NewNotification {
        id: id.into(),
        instance_id: record.id,
        resource: "contacts".into(),
        callback_url: "https://r.example/".into(),
        body: b"{}".to_vec(),
        event_ids: events.iter().map(|e| (*e).to_owned()).collect(),
        poll_date_ms: None,
    };
    store
        .queue_notifications(vec![notification("n1", &["a", "b"])], NOW)
        .await
        .unwrap();
    store
        .queue_notifications(vec![notification("n2", &["b", "c"])], NOW)
        .await
        .unwrap();
    assert_eq!(store.notification_body("n2").await.unwrap(), None);
    let waiting = unnotified_ids(store.as_ref(), 10).await;
    assert_eq!(waiting, ["c"], "c waits for the next pass, b stays in n1");
    let claimed: Vec<String> = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(claimed, ["n1"]);
}

/// A database left at an older schema (the first half of the migration files applied, as an
/// older binary would have left it; none on a backend with one file) is brought to the newest
/// file when opened, with the data it held.
async fn an_older_database_is_brought_to_the_newest_migration_on_disk_when_opened(url: String) {
    let files = migrations_on_disk(&url);
    let embedded = if url.starts_with("sqlite:") {
        tributary_store::migrate::SQLITE
    } else {
        tributary_store::migrate::POSTGRES
    };
    assert_eq!(
        embedded
            .iter()
            .map(|m| (m.version, m.name, m.sql))
            .collect::<Vec<_>>(),
        files
            .iter()
            .map(|(version, name, sql)| (*version, name.as_str(), sql.as_str()))
            .collect::<Vec<_>>(),
        "the binary embeds every migration file, in order"
    );
    let older = &files[..files.len() / 2];
    migrate_by_hand(&url, older).await;
    assert_eq!(
        migrations_applied(&url).await,
        older.iter().map(|m| m.0).collect::<Vec<_>>()
    );

    let store = tributary_store::open(&url, NOW).await.unwrap();
    let newest = files.last().unwrap().0;
    assert_eq!(store.schema_version().await.unwrap(), (newest, newest));
    assert_eq!(migrations_applied(&url).await, versions_on_disk(&url));
    // The newest schema works: a poll's commit touches the later migrations' tables.
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a")], NOW))
        .await
        .unwrap();
    let url_of_receiver = "https://r.example/";
    store
        .queue_notifications(
            vec![notification_to("n1", record.id, url_of_receiver, &["a"])],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(store.queued_notifications().await.unwrap(), 1);
    drop(store);
    let reopened = tributary_store::open(&url, NOW + 1).await.unwrap();
    assert_eq!(reopened.schema_version().await.unwrap(), (newest, newest));
    assert_eq!(reopened.organization_count().await.unwrap(), 1);
}

/// Applies `migrations` to the database `url` names the way the runner records them, creating
/// the database file if it is SQLite.
async fn migrate_by_hand(url: &str, migrations: &[(i64, String, String)]) {
    let ledger = "CREATE TABLE _tributary_migrations (
                      version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";
    let record =
        "INSERT INTO _tributary_migrations (version, name, applied_ms) VALUES ($1, $2, $3)";
    if url.starts_with("sqlite:") {
        use std::str::FromStr;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::raw_sql(ledger).execute(&pool).await.unwrap();
        for (version, name, sql) in migrations {
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(record)
                .bind(version)
                .bind(name)
                .bind(NOW)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::raw_sql(ledger).execute(&pool).await.unwrap();
        for (version, name, sql) in migrations {
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query(record)
                .bind(version)
                .bind(name)
                .bind(NOW)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
}

/// PostgreSQL carries wake-ups between processes (LISTEN/NOTIFY). SQLite has none to carry: one
/// process per database file, which nudges itself, and timers are the fallback everywhere.
async fn another_process_is_woken_when_work_appears(url: String) {
    let stores = open_at_once(&url, 2).await;
    let mut wake_ups = stores[1]
        .wake_ups()
        .await
        .unwrap()
        .expect("PostgreSQL listens");
    stores[0]
        .wake_others(tributary_store::WAKE_DELIVERY)
        .await
        .unwrap();
    stores[0]
        .wake_others(tributary_store::WAKE_SCHEDULER)
        .await
        .unwrap();
    let mut heard = Vec::new();
    for _ in 0..2 {
        let topic = tokio::time::timeout(std::time::Duration::from_secs(10), wake_ups.recv())
            .await
            .expect("a wake-up within 10 s")
            .expect("the listener runs");
        heard.push(topic);
    }
    assert_eq!(heard, ["delivery", "scheduler"]);
}

/// A process that stops listening (its app stopped, the store kept) closes the listener's
/// connection: it does not hold it, nor retry it against a database dropped meanwhile.
async fn a_wake_up_listener_nobody_reads_any_more_lets_its_connection_go(url: String) {
    use sqlx::Connection;
    let stores = open_at_once(&url, 1).await;
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut listening = async || -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap()
    };
    let wake_ups = stores[0]
        .wake_ups()
        .await
        .unwrap()
        .expect("PostgreSQL listens");
    assert_eq!(listening().await, 1, "one connection listens");
    drop(wake_ups);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while listening().await > 0 {
        assert!(
            std::time::Instant::now() < until,
            "the listener's connection is still open 10 s after nobody listens"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(stores);
}

/// The dedupe memory (`seen`) and the cursor are the poll's state between polls: a commit
/// stores both exactly as given, and a poll that lost the race (its version is stale) or that
/// failed leaves both as the last commit wrote them — else the next poll would emit changes
/// twice, or skip them.
async fn a_polls_memory_and_cursor_are_kept_by_its_commit_and_untouched_by_a_conflict_or_a_failure(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    let state = |store: Arc<dyn Store>| async move {
        let poller = store.poller(record.id, "contacts").await.unwrap().unwrap();
        (poller.cursor_ms, poller.seen, poller.version)
    };
    let (cursor, _, version) = state(store.clone()).await;
    assert_eq!(
        (cursor, version),
        (None, 1),
        "a new poller has no cursor yet"
    );

    let memory = r#"{"42":1795860000123,"43":"content:abc","\u00e9\"":1}"#;
    let first = PollCommit {
        seen: memory.into(),
        ..commit(record.id, 1, vec![event("a")], NOW + 123)
    };
    assert_eq!(
        store.commit_poll(first).await.unwrap(),
        Committed::Done { inserted: 1 }
    );
    let committed = (Some(NOW + 123), memory.to_owned(), 2);
    assert_eq!(
        state(store.clone()).await,
        committed,
        "read back as written"
    );

    let stale = PollCommit {
        seen: r#"{"99":1}"#.into(),
        ..commit(record.id, 1, vec![event("b")], NOW + 999)
    };
    assert_eq!(store.commit_poll(stale).await.unwrap(), Committed::Conflict);
    assert_eq!(
        state(store.clone()).await,
        committed,
        "a conflicting commit changes neither"
    );

    store
        .record_poll_failure(
            record.id,
            "contacts",
            "provider failed (500)",
            NOW + 60_000,
            NOW + 50,
        )
        .await
        .unwrap();
    assert_eq!(
        state(store.clone()).await,
        committed,
        "a failed poll changes neither (nor the version a running poll holds)"
    );

    let emptied = PollCommit {
        seen: "{}".into(),
        ..commit(record.id, 2, vec![], NOW + 123)
    };
    store.commit_poll(emptied).await.unwrap();
    assert_eq!(
        state(store).await,
        (Some(NOW + 123), "{}".to_owned(), 3),
        "the next commit replaces the memory whole"
    );
}

async fn a_poll_on_request_takes_the_lease_only_when_it_is_free(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(
            record.id,
            &[("contacts".into(), NOW), ("tasks".into(), NOW + 60_000)],
            NOW,
        )
        .await
        .unwrap();
    let scheduled = store
        .claim_due_pollers("scheduler", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(scheduled.len(), 1, "contacts is due");
    assert!(
        store
            .claim_poller(record.id, "contacts", "now", NOW + 500, 1_000)
            .await
            .unwrap()
            .is_none(),
        "a scheduled poll holds it"
    );
    let tasks = store
        .claim_poller(record.id, "tasks", "now", NOW + 500, 1_000)
        .await
        .unwrap()
        .expect("not due, but free");
    assert_eq!(tasks.resource, "tasks");
    assert!(
        store
            .claim_poller(record.id, "tasks", "other", NOW + 600, 1_000)
            .await
            .unwrap()
            .is_none(),
        "taken once"
    );
    assert!(
        store
            .claim_poller(record.id, "contacts", "now", NOW + 1_000, 1_000)
            .await
            .unwrap()
            .is_some(),
        "free again when the lease ends"
    );
    assert!(
        store
            .claim_poller(record.id, "nope", "now", NOW, 1_000)
            .await
            .unwrap()
            .is_none()
    );
}

/// A SQLite store copies its WAL back into the database file itself, beside its writers: no
/// commit does it (`wal_autocheckpoint` is off, so a commit never waits for the copy and the
/// file's sync), yet what was written reaches the file while the store stays open. Two MiB are
/// written, half of what would have made a commit checkpoint before; the file grows past them
/// only if the store's own checkpoints run.
#[tokio::test]
async fn sqlite_checkpoints_its_wal_beside_the_writers_while_it_stays_open() {
    let dir = std::env::temp_dir().join(format!("tributary-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("test.db");
    let store = tributary_store::open(&format!("sqlite://{}", file.display()), NOW)
        .await
        .unwrap();
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 50, "p").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    // Records of 4 KiB each: 512 of them, 2 MiB.
    let events = (0..512)
        .map(|i| NewEvent {
            record: format!(
                "{{\"id\":{i},\"blob\":\"{}\"}}",
                format!("{i:08}").repeat(512)
            ),
            ..event(&format!("e{i}"))
        })
        .collect();
    let done = store
        .commit_poll(commit(record.id, 1, events, NOW + 1))
        .await
        .unwrap();
    assert_eq!(done, Committed::Done { inserted: 512 });
    let written = 2 * 1024 * 1024;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut size = 0;
    while std::time::Instant::now() < deadline {
        size = std::fs::metadata(&file).unwrap().len();
        if size > written {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        size > written,
        "the database file stayed at {size} bytes: the WAL was not checkpointed while open"
    );
}

/// The statements both backends share number their parameters `$n`: that holds only because
/// sqlx-sqlite binds `$n` to the n-th bound value, as PostgreSQL does, whatever order the
/// numbers stand in and however often one is used.
#[tokio::test]
async fn sqlite_binds_a_numbered_parameter_to_the_value_of_its_number() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    let row = sqlx::query("SELECT $2 AS second, $1 AS first, $2 AS again, $3 AS third")
        .bind("one")
        .bind("two")
        .bind(3_i64)
        .fetch_one(&pool)
        .await
        .unwrap();
    use sqlx::Row;
    assert_eq!(row.get::<String, _>("first"), "one");
    assert_eq!(row.get::<String, _>("second"), "two");
    assert_eq!(row.get::<String, _>("again"), "two");
    assert_eq!(row.get::<i64, _>("third"), 3);
    let nulls: Option<i64> = sqlx::query_scalar("SELECT CASE WHEN $1 IS NULL THEN $2 END")
        .bind(None::<i64>)
        .bind(7_i64)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(nulls, Some(7), "a NULL binds as NULL, by number too");
}

async fn every_poller_is_made_due_at_once_and_counted_once_it_has_polled(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let first = insert(store.as_ref(), principal, 50, "p").await;
    let second = insert(store.as_ref(), principal, 51, "q").await;
    let later = NOW + 600_000;
    store
        .sync_pollers(
            first.id,
            &[("contacts".into(), later), ("tasks".into(), later)],
            NOW,
        )
        .await
        .unwrap();
    store
        .sync_pollers(second.id, &[("contacts".into(), later)], NOW)
        .await
        .unwrap();
    // Polled on request meanwhile: its lease is left alone.
    store
        .claim_poller(first.id, "tasks", "now", NOW, 60_000)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(store.set_all_pollers_due(NOW + 1).await.unwrap(), 3);
    for id in [first.id, second.id] {
        for poller in store.pollers(id).await.unwrap() {
            assert_eq!(poller.next_due_ms, NOW + 1, "{id} {}", poller.resource);
        }
    }
    let mut claimed = store
        .claim_due_pollers("w", NOW + 1, 1_000, 10)
        .await
        .unwrap();
    claimed.sort();
    assert_eq!(
        claimed,
        [
            (first.id, "contacts".to_owned()),
            (second.id, "contacts".to_owned())
        ],
        "the leased one is still leased"
    );
    assert_eq!(store.count_polled_since(NOW).await.unwrap(), 0);

    // A success at NOW + 10 (the commit's time) and a failure at NOW + 20 both count.
    store
        .commit_poll(commit(first.id, 1, vec![], NOW))
        .await
        .unwrap();
    store
        .record_poll_failure(second.id, "contacts", "boom", later, NOW + 20)
        .await
        .unwrap();
    assert_eq!(store.count_polled_since(NOW).await.unwrap(), 2);
    assert_eq!(
        store.count_polled_since(NOW + 20).await.unwrap(),
        1,
        "at or after"
    );
    assert_eq!(store.count_polled_since(NOW + 21).await.unwrap(), 0);
}

async fn events_are_found_by_each_filter_and_read_back_with_their_status(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let other = org(store.as_ref(), 2).await;
    let first = insert(store.as_ref(), principal, 50, "p").await;
    let second = insert(store.as_ref(), principal, 51, "q").await;
    let foreign = insert(store.as_ref(), other, 52, "x").await;
    let typed = |id: &str, event_type: &str| NewEvent {
        event_type: event_type.into(),
        ..event(id)
    };
    // a and b on the first instance's contacts, stored at NOW + 10; c and d on the second's
    // tasks, stored at NOW + 20; z in another organization.
    store
        .sync_pollers(first.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(
            first.id,
            1,
            vec![typed("a", "CREATED"), typed("b", "UPDATED")],
            NOW,
        ))
        .await
        .unwrap();
    store
        .sync_pollers(second.id, &[("tasks".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(PollCommit {
            resource: "tasks".into(),
            now_ms: NOW + 20,
            ..commit(
                second.id,
                1,
                vec![typed("c", "CREATED"), typed("d", "DELETED")],
                NOW,
            )
        })
        .await
        .unwrap();
    store
        .sync_pollers(foreign.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(foreign.id, 1, vec![event("z")], NOW))
        .await
        .unwrap();

    // a is delivered, b failed, c waits in its notification, d in none yet.
    let url = "https://r.example/";
    store
        .queue_notifications(
            vec![
                notification_to("n1", first.id, url, &["a"]),
                notification_to("n2", first.id, url, &["b"]),
                notification_to("n3", second.id, url, &["c"]),
            ],
            NOW,
        )
        .await
        .unwrap();
    let claimed = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        claimed
            .iter()
            .all(|n| n.status == NotificationStatus::Queued)
    );
    let settled = |id: &str, outcome| AttemptRecord {
        url: url.into(),
        notification_id: id.into(),
        at_ms: NOW + 30,
        status_code: Some(500),
        duration_ms: 1,
        excerpt: None,
        error: None,
        outcome,
    };
    store
        .record_attempts(vec![
            settled("n1", AttemptOutcome::Delivered),
            settled("n2", AttemptOutcome::Failed),
        ])
        .await
        .unwrap();

    let found = |organization_id: i64, filter: EventFilter| {
        let store = store.clone();
        async move {
            store
                .find_events(organization_id, &filter)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.event_id, e.status))
                .collect::<Vec<_>>()
        }
    };
    let ids = |found: Vec<(String, EventStatus)>| -> Vec<String> {
        found.into_iter().map(|(id, _)| id).collect()
    };
    let org = principal.organization_id;
    let all = EventFilter {
        limit: 100,
        ..EventFilter::default()
    };
    assert_eq!(
        found(org, all.clone()).await,
        [
            ("a".to_owned(), EventStatus::Notified),
            ("b".to_owned(), EventStatus::Failed),
            ("c".to_owned(), EventStatus::Queued),
            ("d".to_owned(), EventStatus::New),
        ],
        "every status reads back as it was stored"
    );
    for (status, wanted) in [
        (EventStatus::New, "d"),
        (EventStatus::Queued, "c"),
        (EventStatus::Notified, "a"),
        (EventStatus::Failed, "b"),
    ] {
        let filter = EventFilter {
            status: Some(status),
            ..all.clone()
        };
        assert_eq!(ids(found(org, filter).await), [wanted], "{status}");
    }
    let cases = [
        (
            EventFilter {
                instance_id: Some(second.id),
                ..all.clone()
            },
            vec!["c", "d"],
        ),
        (
            EventFilter {
                resource: Some("contacts".into()),
                ..all.clone()
            },
            vec!["a", "b"],
        ),
        (
            EventFilter {
                event_type: Some("UPDATED".into()),
                ..all.clone()
            },
            vec!["b"],
        ),
        (
            EventFilter {
                from_ms: Some(NOW + 20),
                ..all.clone()
            },
            vec!["c", "d"],
        ),
        (
            EventFilter {
                to_ms: Some(NOW + 20),
                ..all.clone()
            },
            vec!["a", "b"],
        ),
        (
            EventFilter {
                instance_id: Some(second.id),
                status: Some(EventStatus::New),
                ..all.clone()
            },
            vec!["d"],
        ),
        (
            EventFilter {
                limit: 1,
                ..all.clone()
            },
            vec!["a"],
        ),
        (
            EventFilter {
                limit: -1,
                ..all.clone()
            },
            vec!["a", "b", "c", "d"],
        ),
        (
            EventFilter {
                limit: 2,
                newest_first: true,
                ..all.clone()
            },
            vec!["d", "c"],
        ),
        (
            EventFilter {
                instance_id: Some(foreign.id),
                ..all.clone()
            },
            vec![],
        ),
    ];
    for (filter, wanted) in cases {
        assert_eq!(ids(found(org, filter.clone()).await), wanted, "{filter:?}");
    }
    let after_b = store.event(org, "b").await.unwrap().unwrap();
    assert_eq!(after_b.status, EventStatus::Failed);
    let filter = EventFilter {
        after_id: after_b.id,
        ..all.clone()
    };
    assert_eq!(ids(found(org, filter).await), ["c", "d"]);
    // Paging back through the log newest first: the page before c.
    let c = store.event(org, "c").await.unwrap().unwrap();
    let filter = EventFilter {
        before_id: Some(c.id),
        newest_first: true,
        ..all.clone()
    };
    assert_eq!(ids(found(org, filter).await), ["b", "a"]);
    let filter = EventFilter {
        before_id: Some(c.id),
        after_id: store.event(org, "a").await.unwrap().unwrap().id,
        ..all.clone()
    };
    assert_eq!(ids(found(org, filter).await), ["b"]);
    assert_eq!(ids(found(other.organization_id, all).await), ["z"]);
    assert_eq!(store.event(org, "z").await.unwrap(), None);
}

async fn an_instance_keeps_its_sealed_token_and_a_user_its_profile(store: Arc<dyn Store>) {
    let principal = store
        .create_organization(NewOrganization {
            name: "profiled".into(),
            organization_secret_hash: vec![1; 32],
            user_secret_hash: vec![101; 32],
            user: UserProfile {
                email: Some("ada@example.com".into()),
                first_name: Some("Ada".into()),
                last_name: None,
            },
            now_ms: NOW,
        })
        .await
        .unwrap();
    let other = org(store.as_ref(), 2).await;
    let record = insert(store.as_ref(), principal, 50, "sealed").await;
    assert_eq!(record.token_sealed, Some(vec![50; 8]));
    let user = store
        .user(principal.organization_id, principal.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, principal.user_id);
    assert_eq!(
        user.profile,
        UserProfile {
            email: Some("ada@example.com".into()),
            first_name: Some("Ada".into()),
            last_name: None,
        }
    );
    assert_eq!(
        store
            .user(other.organization_id, principal.user_id)
            .await
            .unwrap(),
        None,
        "another organization's user is not found"
    );
    let plain = store
        .user(other.organization_id, other.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain.profile, UserProfile::default());
}

async fn a_notification_is_found_by_its_id_or_its_number_with_its_events(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let other = org(store.as_ref(), 2).await;
    let record = insert(store.as_ref(), principal, 50, "n").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a"), event("b")], NOW))
        .await
        .unwrap();
    store
        .queue_notifications(
            vec![notification_to(
                "n1",
                record.id,
                "https://r.example/",
                &["a", "b"],
            )],
            NOW + 20,
        )
        .await
        .unwrap();
    let number = tributary_domain::delivery::notification_number("n1");
    let org_id = principal.organization_id;
    let by_id = store
        .find_notification(org_id, "n1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.id, "n1");
    assert_eq!(by_id.number, Some(number));
    assert_eq!(
        (by_id.instance_id, by_id.resource.as_str(), by_id.status),
        (record.id, "contacts", NotificationStatus::Queued)
    );
    assert_eq!((by_id.attempts, by_id.created_ms), (0, NOW + 20));
    assert_eq!(by_id.delivered_ms, None);
    assert_eq!(
        store
            .find_notification(org_id, &number.to_string())
            .await
            .unwrap(),
        Some(by_id.clone()),
        "its number finds it too"
    );
    for missing in ["n2", "12345", "-1", ""] {
        assert_eq!(
            store.find_notification(org_id, missing).await.unwrap(),
            None,
            "{missing:?}"
        );
    }
    assert_eq!(
        store
            .find_notification(other.organization_id, "n1")
            .await
            .unwrap(),
        None,
        "another organization's notification is not found"
    );
    let carried = store
        .find_events(
            org_id,
            &EventFilter {
                notification_id: Some("n1".into()),
                limit: 100,
                ..EventFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        carried
            .iter()
            .map(|e| (e.event_id.as_str(), e.created_ms))
            .collect::<Vec<_>>(),
        [("a", NOW + 10), ("b", NOW + 10)],
        "its events, with when they were stored"
    );
}

async fn a_disabled_instance_s_events_wait_unqueued_and_its_pollers_can_be_made_due(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let quiet = insert(store.as_ref(), principal, 50, "quiet").await;
    let busy = insert(store.as_ref(), principal, 51, "busy").await;
    for record in [&quiet, &busy] {
        store
            .sync_pollers(
                record.id,
                &[("contacts".into(), NOW + 3_600_000), ("tasks".into(), NOW)],
                NOW,
            )
            .await
            .unwrap();
    }
    store
        .commit_poll(commit(quiet.id, 1, vec![event("q")], NOW))
        .await
        .unwrap();
    store
        .commit_poll(commit(busy.id, 1, vec![event("b")], NOW))
        .await
        .unwrap();
    let disabled = InstanceData {
        disabled: true,
        ..data("quiet")
    };
    let updated = store
        .update_instance(principal.organization_id, quiet.id, 1, disabled, NOW + 1)
        .await
        .unwrap();
    assert!(matches!(updated, Updated::Done(ref r) if r.disabled));
    let waiting = |store: Arc<dyn Store>| async move { unnotified_ids(store.as_ref(), 1).await };
    assert_eq!(
        waiting(store.clone()).await,
        ["b"],
        "the disabled instance's older event neither goes out nor holds the other back"
    );
    store
        .update_instance(
            principal.organization_id,
            quiet.id,
            2,
            data("quiet"),
            NOW + 2,
        )
        .await
        .unwrap();
    assert_eq!(waiting(store.clone()).await, ["q"], "enabled: it goes out");

    // Due at NOW + 1 at the latest: the later poller (contacts, due in a minute after its
    // poll) moves, the earlier (tasks, due at NOW) stays.
    assert_eq!(store.make_pollers_due(quiet.id, NOW + 1).await.unwrap(), 1);
    let due: Vec<(String, i64)> = store
        .pollers(quiet.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.resource, p.next_due_ms))
        .collect();
    assert_eq!(
        due,
        [("contacts".to_owned(), NOW + 1), ("tasks".to_owned(), NOW)]
    );
    assert_eq!(store.make_pollers_due(quiet.id, NOW + 5).await.unwrap(), 0);
    let untouched: Vec<i64> = store
        .pollers(busy.id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.next_due_ms)
        .collect();
    assert_eq!(untouched, [NOW + 60_000, NOW], "another instance's stay");
}

async fn events_are_counted_per_bucket_and_instance_with_their_outcomes(store: Arc<dyn Store>) {
    let principal = org(store.as_ref(), 1).await;
    let other = org(store.as_ref(), 2).await;
    let first = insert(store.as_ref(), principal, 50, "first").await;
    let second = insert(store.as_ref(), principal, 51, "second").await;
    let foreign = insert(store.as_ref(), other, 52, "foreign").await;
    // first: a, b stored at NOW + 10 and c at NOW + 70_010; second: d at NOW + 10.
    for record in [&first, &second, &foreign] {
        store
            .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
            .await
            .unwrap();
    }
    store
        .commit_poll(commit(first.id, 1, vec![event("a"), event("b")], NOW))
        .await
        .unwrap();
    store
        .commit_poll(PollCommit {
            now_ms: NOW + 70_010,
            ..commit(first.id, 2, vec![event("c")], NOW)
        })
        .await
        .unwrap();
    store
        .commit_poll(commit(second.id, 1, vec![event("d")], NOW))
        .await
        .unwrap();
    store
        .commit_poll(commit(foreign.id, 1, vec![event("z")], NOW))
        .await
        .unwrap();
    let url = "https://r.example/";
    store
        .queue_notifications(
            vec![
                notification_to("n1", first.id, url, &["a"]),
                notification_to("n2", first.id, url, &["b"]),
            ],
            NOW,
        )
        .await
        .unwrap();
    store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    let settled = |id: &str, outcome| AttemptRecord {
        url: url.into(),
        notification_id: id.into(),
        at_ms: NOW + 30,
        status_code: Some(200),
        duration_ms: 1,
        excerpt: None,
        error: None,
        outcome,
    };
    store
        .record_attempts(vec![
            settled("n1", AttemptOutcome::Delivered),
            settled("n2", AttemptOutcome::Failed),
        ])
        .await
        .unwrap();
    let minute = 60_000;
    let count = |bucket_ms, instance_id, count, notified, failed| EventCount {
        bucket_ms,
        instance_id,
        count,
        notified,
        failed,
    };
    let all = CountFilter {
        instance_id: None,
        from_ms: NOW,
        to_ms: NOW + 3 * minute,
        bucket_ms: minute,
    };
    assert_eq!(
        store
            .count_events(principal.organization_id, &all)
            .await
            .unwrap(),
        [
            count(NOW, first.id, 2, 1, 1),
            count(NOW, second.id, 1, 0, 0),
            count(NOW + minute, first.id, 1, 0, 0),
        ]
    );
    let one = CountFilter {
        instance_id: Some(second.id),
        ..all
    };
    assert_eq!(
        store
            .count_events(principal.organization_id, &one)
            .await
            .unwrap(),
        [count(NOW, second.id, 1, 0, 0)]
    );
    let narrow = CountFilter {
        from_ms: NOW + 11,
        to_ms: NOW + 70_010,
        ..all
    };
    assert!(
        store
            .count_events(principal.organization_id, &narrow)
            .await
            .unwrap()
            .is_empty(),
        "from is inclusive, to exclusive"
    );
    assert_eq!(
        store
            .count_events(other.organization_id, &all)
            .await
            .unwrap(),
        [count(NOW, foreign.id, 1, 0, 0)]
    );
}

/// A NUL in text: SQLite stores it, PostgreSQL refuses it — as `InvalidInput` (the caller's
/// 400), never a bare database error (an opaque 500). The API refuses NUL before it gets here.
async fn a_value_the_backend_cannot_hold_is_the_callers_error_not_a_broken_database(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let stored = store
        .insert_instance(NewInstance {
            principal,
            element_key: "infusionsoftrest".into(),
            token_hash: vec![7; 32],
            token_sealed: vec![7; 8],
            data: data("evil\u{0}name"),
            now_ms: NOW,
        })
        .await;
    match stored {
        Ok(record) => assert_eq!(record.name, "evil\u{0}name"),
        Err(tributary_store::StoreError::InvalidInput(_)) => {}
        Err(other) => panic!("a NUL is the caller's error, not {other:?}"),
    }
    let found = store.event(principal.organization_id, "a\u{0}b").await;
    assert!(
        matches!(
            found,
            Ok(None) | Err(tributary_store::StoreError::InvalidInput(_))
        ),
        "{found:?}"
    );
}

/// `sslmode=require` in a PostgreSQL URL opens the store over TLS (the test server has TLS on;
/// a build without a TLS feature could not open it at all). SQLite has no connection to encrypt.
async fn a_url_asking_for_tls_is_served_over_tls_where_the_backend_speaks_it(url: String) {
    if url.starts_with("sqlite:") {
        return;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}sslmode=require");
    let store = tributary_store::open(&url, NOW).await.unwrap();
    store.ping().await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ssl, "the connection is encrypted");
}

/// Processes starting together on an empty database create one first organization between
/// them; the others are told one exists.
async fn processes_bootstrapping_at_once_create_one_first_organization(url: String) {
    let stores = open_at_once(&url, 3).await;
    let created = at_once(&stores, 9, |i, store| async move {
        store
            .create_first_organization(NewOrganization {
                name: format!("first {i}"),
                organization_secret_hash: vec![i as u8; 32],
                user_secret_hash: vec![100 + i as u8; 32],
                user: UserProfile::default(),
                now_ms: NOW,
            })
            .await
            .unwrap()
    })
    .await;
    assert_eq!(created.iter().flatten().count(), 1, "{created:?}");
    assert_eq!(stores[0].organization_count().await.unwrap(), 1);
}

/// A redelivery asked while the notification's send is in flight leaves that send's lease
/// alone: no other claim sends it meanwhile; once the lease ends it is sent again.
async fn a_redelivery_during_a_send_keeps_its_lease_so_nothing_is_sent_twice_at_once(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let record = insert(store.as_ref(), principal, 60, "r").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a")], NOW))
        .await
        .unwrap();
    store
        .queue_notifications(
            vec![NewNotification {
                id: "n1".into(),
                instance_id: record.id,
                resource: "contacts".into(),
                callback_url: "https://receiver.example/".into(),
                body: b"{}".to_vec(),
                event_ids: vec!["a".into()],
                poll_date_ms: None,
            }],
            NOW,
        )
        .await
        .unwrap();
    let sending = store
        .claim_due_notifications("w", NOW, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(sending.len(), 1);
    assert!(store.requeue_notification("n1", NOW + 10).await.unwrap());
    assert!(
        store
            .claim_due_notifications("x", NOW + 20, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "the send in flight still holds it"
    );
    let again = store
        .claim_due_notifications("x", NOW + 1_000, 1_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "sent again once the lease ends");
    assert_eq!(again[0].attempts, 0, "with a fresh schedule");
}

async fn activity_counts_events_outcomes_and_latency_per_bucket_of_one_organization(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let other = org(store.as_ref(), 2).await;
    let first = insert(store.as_ref(), principal, 50, "p").await;
    let second = insert(store.as_ref(), principal, 51, "q").await;
    let foreign = insert(store.as_ref(), other, 52, "x").await;
    // Buckets of a second from NOW. Every event was found by the poll of NOW + 5.
    let stored =
        |instance_id: i64, resource: &str, version: i64, at: i64, ids: &[&str]| PollCommit {
            resource: resource.into(),
            now_ms: at,
            ..commit(
                instance_id,
                version,
                ids.iter().map(|id| event(id)).collect(),
                NOW,
            )
        };
    store
        .sync_pollers(
            first.id,
            &[("contacts".into(), NOW), ("tasks".into(), NOW)],
            NOW,
        )
        .await
        .unwrap();
    store
        .sync_pollers(second.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .sync_pollers(foreign.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    for commit in [
        stored(first.id, "contacts", 1, NOW + 10, &["a", "b"]),
        stored(first.id, "tasks", 1, NOW + 1_500, &["c"]),
        stored(second.id, "contacts", 1, NOW + 2_500, &["d", "f"]),
        // Outside the stretch asked for, and in another organization.
        stored(second.id, "contacts", 2, NOW + 3_000, &["e"]),
        stored(foreign.id, "contacts", 1, NOW + 10, &["z"]),
    ] {
        store.commit_poll(commit).await.unwrap();
    }
    let url = "https://r.example/";
    for (at, notifications) in [
        (
            NOW + 20,
            vec![
                notification_to("n1", first.id, url, &["a"]),
                notification_to("n2", first.id, url, &["b"]),
                notification_to("nz", foreign.id, url, &["z"]),
            ],
        ),
        (
            NOW + 1_600,
            vec![notification_to("n3", first.id, url, &["c"])],
        ),
        (
            NOW + 2_600,
            vec![
                notification_to("n4", second.id, url, &["d"]),
                notification_to("n5", second.id, url, &["f"]),
            ],
        ),
    ] {
        store.queue_notifications(notifications, at).await.unwrap();
    }
    let attempt = |id: &str, at_ms: i64, outcome| AttemptRecord {
        url: url.into(),
        notification_id: id.into(),
        at_ms,
        status_code: Some(200),
        duration_ms: 1,
        excerpt: None,
        error: None,
        outcome,
    };
    // n1 delivered 395 ms after its poll, n2 retrying, n3 failed, n4 delivered 2,895 ms after
    // its poll, n5 not tried yet; nz is another organization's.
    store
        .record_attempts(vec![
            attempt("n1", NOW + 400, AttemptOutcome::Delivered),
            attempt("n2", NOW + 400, AttemptOutcome::RetryAt(NOW + 5_000)),
            attempt("n3", NOW + 1_700, AttemptOutcome::Failed),
            attempt("n4", NOW + 2_900, AttemptOutcome::Delivered),
            attempt("nz", NOW + 400, AttemptOutcome::Delivered),
        ])
        .await
        .unwrap();

    let filter = ActivityFilter {
        instance_id: None,
        from_ms: NOW,
        to_ms: NOW + 3_000,
        bucket_ms: 1_000,
    };
    let activity = store
        .activity(principal.organization_id, &filter)
        .await
        .unwrap();
    let resource = |bucket, resource: &str, count| ResourceCount {
        bucket,
        resource: resource.into(),
        count,
    };
    assert_eq!(
        activity.events,
        [
            resource(0, "contacts", 2),
            resource(1, "tasks", 1),
            resource(2, "contacts", 2),
        ]
    );
    let outcome = |bucket, status, tried, count| OutcomeCount {
        bucket,
        status,
        tried,
        count,
    };
    let mut notifications = activity.notifications.clone();
    notifications.sort_by_key(|o| (o.bucket, o.status, o.tried));
    assert_eq!(
        notifications,
        [
            outcome(0, NotificationStatus::Queued, true, 1),
            outcome(0, NotificationStatus::Notified, true, 1),
            outcome(1, NotificationStatus::Failed, true, 1),
            outcome(2, NotificationStatus::Queued, false, 1),
            outcome(2, NotificationStatus::Notified, true, 1),
        ]
    );
    // 395 ms is in the bin up to 500 ms (index 2); 2,895 ms in the one up to 5 s (index 5).
    assert_eq!(
        activity.latency,
        [
            LatencyCount {
                bucket: 0,
                bin: 2,
                count: 1
            },
            LatencyCount {
                bucket: 2,
                bin: 5,
                count: 1
            },
        ]
    );

    // One instance's alone.
    let second_only = store
        .activity(
            principal.organization_id,
            &ActivityFilter {
                instance_id: Some(second.id),
                ..filter
            },
        )
        .await
        .unwrap();
    assert_eq!(second_only.events, [resource(2, "contacts", 2)]);
    assert_eq!(second_only.latency.len(), 1);
    // Another organization's instance is nothing here.
    let foreign_only = store
        .activity(
            principal.organization_id,
            &ActivityFilter {
                instance_id: Some(foreign.id),
                ..filter
            },
        )
        .await
        .unwrap();
    assert_eq!(foreign_only, Activity::default());
    // A stretch with nothing in it.
    let empty = store
        .activity(
            principal.organization_id,
            &ActivityFilter {
                from_ms: NOW + 10_000,
                to_ms: NOW + 20_000,
                ..filter
            },
        )
        .await
        .unwrap();
    assert_eq!(empty, Activity::default());
    let nonsense = store
        .activity(
            principal.organization_id,
            &ActivityFilter {
                bucket_ms: 0,
                ..filter
            },
        )
        .await;
    assert!(
        matches!(nonsense, Err(tributary_store::StoreError::InvalidInput(_))),
        "{nonsense:?}"
    );
}

/// Tenancy at the store (issue 17): every call that takes an organization id answers for that
/// organization alone. Another organization's id finds none of this one's events (listed, by
/// instance, by id, by notification), reads neither its instance nor its notification, and an
/// update or a delete through it changes nothing.
async fn another_organization_finds_reads_and_changes_nothing_of_this_one(store: Arc<dyn Store>) {
    let mine = org(store.as_ref(), 1).await;
    let other = org(store.as_ref(), 2).await;
    let record = insert(store.as_ref(), mine, 50, "mine").await;
    store
        .sync_pollers(record.id, &[("contacts".into(), NOW)], NOW)
        .await
        .unwrap();
    store
        .commit_poll(commit(record.id, 1, vec![event("a"), event("b")], NOW))
        .await
        .unwrap();
    store
        .queue_notifications(
            vec![notification_to(
                "n1",
                record.id,
                "https://r.example/",
                &["a"],
            )],
            NOW,
        )
        .await
        .unwrap();
    let all = EventFilter {
        limit: 100,
        ..EventFilter::default()
    };
    let ids = |found: Vec<tributary_store::EventRecord>| -> Vec<String> {
        found.into_iter().map(|e| e.event_id).collect()
    };
    // The owner sees them: the checks below are not empty for want of data.
    let owner = mine.organization_id;
    assert_eq!(
        ids(store.find_events(owner, &all).await.unwrap()),
        ["a", "b"]
    );
    assert!(store.event(owner, "a").await.unwrap().is_some());
    assert!(
        store
            .find_notification(owner, "n1")
            .await
            .unwrap()
            .is_some()
    );

    let foreign = other.organization_id;
    for filter in [
        all.clone(),
        EventFilter {
            instance_id: Some(record.id),
            ..all.clone()
        },
        EventFilter {
            notification_id: Some("n1".into()),
            ..all.clone()
        },
        EventFilter {
            limit: 100,
            newest_first: true,
            ..EventFilter::default()
        },
    ] {
        assert_eq!(
            ids(store.find_events(foreign, &filter).await.unwrap()),
            Vec::<String>::new(),
            "{filter:?}"
        );
    }
    for key in ["a", "b"] {
        assert_eq!(store.event(foreign, key).await.unwrap(), None, "{key}");
    }
    assert_eq!(store.find_notification(foreign, "n1").await.unwrap(), None);
    assert_eq!(store.instance(foreign, record.id).await.unwrap(), None);
    assert!(store.instances(foreign).await.unwrap().is_empty());

    let stolen = store
        .update_instance(foreign, record.id, record.version, data("stolen"), NOW + 1)
        .await
        .unwrap();
    assert_eq!(stolen, Updated::NotFound);
    assert!(
        !store.delete_instance(foreign, record.id).await.unwrap(),
        "nothing deleted"
    );
    let kept = store.instance(owner, record.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.name.as_str(), kept.version, kept.updated_ms),
        ("mine", record.version, record.updated_ms),
        "untouched"
    );
    assert_eq!(
        ids(store.find_events(owner, &all).await.unwrap()),
        ["a", "b"]
    );
}

fn subscription(
    instance_id: i64,
    event_key: &str,
    token: u8,
) -> tributary_store::hooks::NewSubscription {
    tributary_store::hooks::NewSubscription {
        instance_id,
        resource: "contacts".into(),
        event_key: event_key.into(),
        action: "created".into(),
        token_hash: vec![token; 32],
        status: "Pending".into(),
        now_ms: NOW,
    }
}

async fn hook_subscriptions_are_found_by_token_hash_and_replaced_with_a_new_one(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let instance = insert(store.as_ref(), principal, 1, "hooked").await;
    let id = store
        .put_subscription(subscription(instance.id, "contact.add", 7))
        .await
        .unwrap();
    store
        .set_subscription(id, Some("12".into()), "Verified", None, NOW + 1)
        .await
        .unwrap();
    let found = store
        .subscription_by_token(&[7; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.id,
            found.provider_key.as_deref(),
            found.status.as_str()
        ),
        (id, Some("12"), "Verified")
    );
    // A status alone keeps the key.
    store
        .set_subscription(id, None, "Inactive", Some("gone".into()), NOW + 2)
        .await
        .unwrap();
    let kept = store.subscriptions(instance.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].provider_key.as_deref(), Some("12"));
    assert_eq!(kept[0].last_error.as_deref(), Some("gone"));
    // Re-created: same row, a new token, the provider's key and error forgotten.
    let again = store
        .put_subscription(subscription(instance.id, "contact.add", 8))
        .await
        .unwrap();
    assert_eq!(again, id);
    assert!(
        store
            .subscription_by_token(&[7; 32])
            .await
            .unwrap()
            .is_none()
    );
    let renewed = store
        .subscription_by_token(&[8; 32])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((renewed.provider_key, renewed.last_error), (None, None));
    assert_eq!(store.subscribed_instances().await.unwrap(), [instance.id]);
    // Deleting the instance takes its subscriptions.
    assert!(
        store
            .delete_instance(principal.organization_id, instance.id)
            .await
            .unwrap()
    );
    assert!(store.subscriptions(instance.id).await.unwrap().is_empty());
}

async fn a_stored_delivery_is_claimed_once_per_lease_and_leaves_with_its_events(
    store: Arc<dyn Store>,
) {
    let principal = org(store.as_ref(), 1).await;
    let instance = insert(store.as_ref(), principal, 1, "hooked").await;
    let sub = store
        .put_subscription(subscription(instance.id, "contact.add", 7))
        .await
        .unwrap();
    let new = |ids: &[&str]| tributary_store::hooks::NewInbound {
        instance_id: instance.id,
        subscription_id: sub,
        resource: "contacts".into(),
        action: "created".into(),
        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        now_ms: NOW,
    };
    store.insert_inbound(new(&["1", "2"])).await.unwrap();
    store.insert_inbound(new(&["3"])).await.unwrap();
    assert_eq!(store.inbound_waiting(instance.id).await.unwrap(), 2);
    let counted = store.subscriptions(instance.id).await.unwrap();
    assert_eq!(
        (counted[0].deliveries, counted[0].last_delivery_ms),
        (2, Some(NOW))
    );

    let first = store.claim_inbound(NOW, 1_000, 1).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].ids, ["1", "2"], "oldest first");
    assert_eq!(first[0].attempts, 1);
    let second = store.claim_inbound(NOW, 1_000, 10).await.unwrap();
    assert_eq!(second.len(), 1, "the leased one is not claimed again");
    assert_eq!(second[0].ids, ["3"]);
    assert!(
        store
            .claim_inbound(NOW + 999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A failure frees it at the retry time, not before; the first one's lease ended: claimed
    // again (a crash mid-processing), attempt 2.
    store
        .fail_inbound(second[0].id, "provider down", NOW + 5_000)
        .await
        .unwrap();
    let retried = store.claim_inbound(NOW + 1_000, 1_000, 10).await.unwrap();
    assert_eq!(
        retried.iter().map(|d| d.id).collect::<Vec<_>>(),
        [first[0].id]
    );
    assert_eq!(retried[0].attempts, 2);
    assert!(
        store
            .claim_inbound(NOW + 1_999, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Its events and its removal in one commit; the same event again is not stored twice.
    let inserted = store
        .commit_inbound(
            first[0].id,
            instance.id,
            "contacts",
            vec![event("e1"), event("e2")],
            NOW + 2,
        )
        .await
        .unwrap();
    assert_eq!(inserted, 2);
    assert_eq!(store.inbound_waiting(instance.id).await.unwrap(), 1);
    let claimed = store.claim_inbound(NOW + 10_000, 1_000, 10).await.unwrap();
    let again = store
        .commit_inbound(
            claimed[0].id,
            instance.id,
            "contacts",
            vec![event("e1")],
            NOW + 3,
        )
        .await
        .unwrap();
    assert_eq!(again, 0, "an event id stored once");
    assert_eq!(store.inbound_waiting(instance.id).await.unwrap(), 0);
    let reports = store
        .object_reports(instance.id, "contacts", "42")
        .await
        .unwrap();
    assert_eq!(reports.last_date_ms, Some(NOW));
    assert!(!reports.deletion_told());
}
