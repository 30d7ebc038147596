//! The one implementation of [`Store`](crate::Store), shared by both backends.
//!
//! [`SqlStore<B>`] implements the whole trait once, generic over the sqlx database `B`:
//! `store.rs` has every method, most of them one statement; the transactions of several
//! statements are by concern in `instances.rs`, `polling.rs` and `delivery.rs`; `rows.rs` reads
//! rows into records. What truly differs between SQLite and PostgreSQL is the [`Backend`]
//! trait, implemented in `sqlite.rs` and `postgres.rs`:
//! - how a writing transaction starts ([`Backend::BEGIN`]: `BEGIN IMMEDIATE` takes SQLite's one
//!   write lock at once), and which rows it locks before it writes ([`Lock`]: PostgreSQL's row
//!   and advisory locks; nothing on SQLite, whose one writer at a time excludes the others);
//! - the claims (`FOR UPDATE SKIP LOCKED` on PostgreSQL; one statement under the write lock on
//!   SQLite), and the statements that take a list of ids (arrays on PostgreSQL; a loop on
//!   SQLite);
//! - wake-ups between processes, text PostgreSQL cannot store, the migrations.
//!
//! Every statement here is valid on both. Parameters are numbered `$n` on both: sqlx-sqlite
//! binds `$n` to the n-th bound value, as PostgreSQL does (so a value used twice is bound
//! once; the contract tests pin it) — but for statements of thousands of parameters, which
//! SQLite takes anonymous (`Backend::NUMBERED_BINDS`). Statuses are bound, not written into
//! the SQL. A `LIMIT` is always a number ([`limit`]); booleans are `TRUE`/`FALSE`; no function
//! only one backend has is called (`MAX(a, b)` is SQLite's alone: a `CASE` says it for both).

mod activity;
mod delivery;
mod hooks;
mod instances;
mod polling;
pub(crate) mod rows;
mod store;

use std::future::Future;

use sqlx::postgres::PgQueryResult;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{Database, Encode, IntoArguments, Pool, Transaction, Type};

use crate::migrate::Migration;
use crate::{CallbackCaps, NotificationRecord, Result};

pub(crate) use delivery::Queued;
pub(crate) use rows::Columns;

/// The [`Store`](crate::Store) of a backend `B`: its connections.
#[derive(Debug, Clone)]
pub struct SqlStore<B: Database> {
    /// Every statement and transaction, reading or writing. (A SQLite file's writes through a
    /// connection of their own were measured in issue 21 and not used: see `sqlite.rs`.)
    pool: Pool<B>,
    /// This process's turn to write, on a backend of one writer at a time
    /// ([`Backend::ROW_LOCKS`] false): see [`SqlStore::turn`].
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Idle polls' commits waiting for their group commit (`polling.rs`).
    idle: std::sync::Arc<polling::IdleCommits>,
    /// A task that lives as long as the store (SQLite's checkpoints), stopped with its last
    /// clone.
    beside: Option<std::sync::Arc<Beside>>,
}

/// A task stopped when this is dropped.
#[derive(Debug)]
struct Beside(tokio::task::AbortHandle);

impl Drop for Beside {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<B: Backend> SqlStore<B> {
    /// A store over a pool that is open and migrated, reading and writing through it.
    pub(crate) fn new(pool: Pool<B>) -> SqlStore<B> {
        SqlStore {
            pool,
            turn: std::sync::Arc::default(),
            idle: std::sync::Arc::default(),
            beside: None,
        }
    }

    /// Keeps `task` running as long as this store (and its clones) lives.
    pub(crate) fn run_beside(&mut self, task: tokio::task::AbortHandle) {
        self.beside = Some(std::sync::Arc::new(Beside(task)));
    }

    /// This process's turn to write, on SQLite (`None` on PostgreSQL, whose writers lock rows
    /// and go side by side): transactions and the busiest writing statements (the claims, an
    /// idle commit) wait for it in order, in this process, so they do not meet in SQLite's
    /// busy handler — which sleeps 1, 2, 5, 10 … ms however soon the lock frees (issue 21: a
    /// claim waited 2.6 ms on average behind the group commit of attempts, while a claim alone
    /// takes a few hundred µs). Other processes on the same file still meet `busy_timeout`.
    /// Whoever holds it must not wait for it again.
    async fn turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        if !B::ROW_LOCKS {
            Some(self.turn.clone().lock_owned().await)
        } else {
            None
        }
    }

    /// Starts a transaction that will write, in this process's turn ([`SqlStore::turn`]).
    async fn begin(&self) -> Result<WriteTx<B>> {
        let turn = self.turn().await;
        Ok(WriteTx {
            tx: self.pool.begin_with(B::BEGIN).await?,
            _turn: turn,
        })
    }
}

/// A writing transaction and, on SQLite, this process's turn to write, held until it ends.
/// Its statements run on it as on the transaction's connection (`&mut *tx`).
pub(crate) struct WriteTx<B: Database> {
    tx: Transaction<'static, B>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<B: Database> WriteTx<B> {
    /// Commits, then gives the turn up.
    async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl<B: Database> std::ops::Deref for WriteTx<B> {
    type Target = B::Connection;

    fn deref(&self) -> &B::Connection {
        &self.tx
    }
}

impl<B: Database> std::ops::DerefMut for WriteTx<B> {
    fn deref_mut(&mut self) -> &mut B::Connection {
        &mut self.tx
    }
}

// The traits below are `pub` only so that the public `SqlStore` may name them in its bounds;
// this module is private, so nothing outside the crate can name, use or implement them.

/// A value the shared statements bind: sqlx can encode it for the backend `B`. (A bound per
/// type is how generic code tells the compiler what each backend can encode. The values bound
/// are owned, or `&'static`: a bound for every lifetime of `&str` trips the compiler's check
/// that the methods' futures are `Send`.)
pub trait Param<B: Database>: for<'q> Encode<'q, B> + Type<B> {}

impl<B: Database, T> Param<B> for T where T: for<'q> Encode<'q, B> + Type<B> {}

/// What differs between the backends: everything else is written once, in [`SqlStore`].
pub trait Backend:
    Database<Arguments: IntoArguments<Self>, Row: Columns, QueryResult: RowsAffected>
    + sqlx::database::HasStatementCache
{
    /// The statement that starts a transaction that will write.
    const BEGIN: &'static str;

    /// Whether a statement of many parameters should number them (`$n`, each value bound once
    /// however often it is used) rather than leave them anonymous (`?`, every use bound in
    /// turn). sqlx-sqlite finds the number of each `$n` by asking SQLite its name, which SQLite
    /// looks up in a list as long as the statement's parameters: a statement of thousands of
    /// numbered parameters costs their square. PostgreSQL binds by position either way.
    const NUMBERED_BINDS: bool;

    /// Whether writers lock rows, so that statements touching several must take them in one
    /// order (PostgreSQL); SQLite's one writer at a time locks none ([`Backend::lock`]), and
    /// this process's writers take turns in memory instead ([`SqlStore::turn`]).
    const ROW_LOCKS: bool;

    /// The backend's migrations, oldest first.
    const MIGRATIONS: &'static [Migration];

    /// Diagnostic text (an error message, a receiver's answer) as the backend can store it.
    fn diagnostic(text: &str) -> String;

    /// Takes `lock` in the transaction on `conn`, before the writes it orders.
    fn lock(conn: &mut Self::Connection, lock: Lock<'_>)
    -> impl Future<Output = Result<()>> + Send;

    /// Stores one notification in the queuing transaction on `conn`: gives it the events it
    /// names that no notification carries yet (marking them queued) and, only if it took every
    /// one, inserts it (leased as `queued` says unless its URL is stopped for its instance)
    /// and its body. One that took some but not all gives them back, to be grouped afresh by
    /// the next pass: two passes that read different windows must not each send some event.
    /// A notification stored before is left as it is. Returns whether it was stored leased.
    fn queue_notification(
        conn: &mut Self::Connection,
        queued: &Queued<'_>,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Records a batch of delivery attempts and moves their notifications on, in two
    /// statements whatever the batch's size. `attempts` is a JSON array of objects, each
    /// `{"id", "at", "code", "duration", "excerpt", "error", "status", "next", "delivered"}`
    /// (the notification, the attempt's columns, and the notification's new status, next due
    /// time and delivery time), no notification twice; an attempt of a notification deleted
    /// meanwhile is skipped.
    fn settle_attempts(
        conn: &mut Self::Connection,
        attempts: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The rows of a batch of idle commits (`$1`, a JSON array of objects, each
    /// `{"i", "r", "ver", "c", "s", "d", "n", "m", "dc", "l", "lf", "lu", "dm"}`: the poller,
    /// the version its poll read, the poll's cursor, memory, next due time, moment and summary,
    /// and its delete sweep's cursor, loss (0 or 1, its span) and memory, null without one) as a
    /// table `v` of those columns, for the `FROM` of one `UPDATE`.
    const IDLE_ROWS: &'static str;

    /// [`Store::claim_due_pollers`](crate::Store::claim_due_pollers).
    fn claim_due_pollers(
        pool: &Pool<Self>,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<crate::PollerRecord>>> + Send;

    /// [`Store::claim_due_notifications_capped`](crate::Store::claim_due_notifications_capped).
    fn claim_due_notifications(
        pool: &Pool<Self>,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        caps: &CallbackCaps,
    ) -> impl Future<Output = Result<Vec<NotificationRecord>>> + Send;

    /// Claims up to `limit` queued notifications to `url` due at `now_ms` whose lease is free
    /// and whose URL is not stopped for their instance, in the order they are due (then by
    /// id), through the index of that URL's queued notifications
    /// (`notifications_due_by_url`): a refill for a receiver being sent to.
    fn claim_due_for_url(
        pool: &Pool<Self>,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        url: &str,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<NotificationRecord>>> + Send;

    /// [`Store::requeue_failed`](crate::Store::requeue_failed).
    fn requeue_failed(
        pool: &Pool<Self>,
        instance_id: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// [`Store::wake_others`](crate::Store::wake_others).
    fn wake_others(pool: &Pool<Self>, topic: &str) -> impl Future<Output = Result<()>> + Send;

    /// [`Store::wake_ups`](crate::Store::wake_ups).
    fn wake_ups(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Option<tokio::sync::mpsc::Receiver<String>>>> + Send;
}

/// What a transaction locks before it writes, on a backend where transactions run side by
/// side (PostgreSQL, whose module says how the order keeps them from deadlocking). SQLite runs
/// one writing transaction at a time and takes none of these.
#[derive(Debug, Clone, Copy)]
pub enum Lock<'a> {
    /// An instance's row, shared: an edit of the instance goes on, its delete waits.
    Instance(i64),
    /// The row of the instance a notification belongs to, shared.
    InstanceOf(&'a str),
    /// An instance's row, against other syncs of its pollers (and against its edits).
    InstancePollers(i64),
    /// The turn to store events, so that event ids become visible in id order.
    EventOrder,
    /// An instance's notifications about to follow its new callback URL, in id order.
    Repointed(i64),
    /// The instances, then the notifications, a batch of attempts settles, each in id order.
    Settling(&'a [String]),
    /// The rows of the instances of a batch of idle commits, shared against their edits,
    /// deletes and pollers' syncs, in id order.
    IdleInstances(&'a [i64]),
    /// The turn to create the first organization, so that processes starting together on an
    /// empty database create one, not one each.
    Bootstrap,
}

/// A `LIMIT` both backends read alike: SQLite reads a negative limit as none and PostgreSQL
/// refuses one, so a negative limit becomes the largest.
pub(crate) fn limit(limit: i64) -> i64 {
    if limit < 0 { i64::MAX } else { limit }
}

/// A count as the API has it (a database count is never negative).
fn count(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

/// How many rows a statement changed: each backend's result has the method, no sqlx trait does.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}
