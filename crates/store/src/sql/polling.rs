//! A poller's transactions: replacing an instance's set of pollers, and committing a poll (its
//! events, cursor and memory together, guarded by the poller's version).

use sqlx::Executor;

use super::rows::Columns;
use super::{Backend, Lock, Param, RowsAffected, SqlStore};
use crate::{
    Committed, DeleteCommit, Outbox, OutboxQueued, PollCommit, Result, StoreError, SweepCommit,
};

/// A poll's outcome on its poller's row, guarded by the version the poll read: the lease
/// released, the failures forgotten.
const POLLED: &str = "UPDATE pollers SET cursor_ms = $1, seen = $2, next_due_ms = $3, failures = 0,
         last_error = NULL, last_poll_ms = $4, last_summary = $5, version = version + 1,
         lease_owner = NULL, lease_until_ms = NULL, paused_until_ms = NULL
     WHERE instance_id = $6 AND resource = $7 AND version = $8";

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    i64: Param<B>,
    Option<i64>: Param<B>,
    &'static str: Param<B>,
    String: Param<B>,
    Option<String>: Param<B>,
    Vec<u8>: Param<B>,
{
    /// Makes an instance's pollers exactly `resources`, in one transaction.
    pub(super) async fn replace_pollers(
        &self,
        instance_id: i64,
        resources: &[(String, i64)],
        now_ms: i64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        // Two syncs of one instance take turns: interleaved, each would keep the poller the
        // other added, leaving a set neither asked for.
        B::lock(&mut tx, Lock::InstancePollers(instance_id)).await?;
        let existing = sqlx::query("SELECT resource FROM pollers WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_all(&mut *tx)
            .await?;
        for row in existing {
            let resource: String = row.column("resource")?;
            if !resources.iter().any(|(r, _)| *r == resource) {
                sqlx::query("DELETE FROM pollers WHERE instance_id = $1 AND resource = $2")
                    .bind(instance_id)
                    .bind(resource.clone())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for (resource, first_due_ms) in resources {
            sqlx::query(
                "INSERT INTO pollers (instance_id, resource, enabled_ms, seen, next_due_ms)
                 VALUES ($1, $2, $3, '{}', $4)
                 ON CONFLICT (instance_id, resource) DO NOTHING",
            )
            .bind(instance_id)
            .bind(resource.clone())
            .bind(now_ms)
            .bind(*first_due_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes a poll's events, cursor, memory and summary in one transaction, or nothing on a
    /// version conflict; with an `outbox`, queues its notifications in the same transaction
    /// where every event is new and the instance is enabled at the outbox's version.
    pub(super) async fn commit(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
        sweep: Option<SweepCommit>,
        outbox: Option<&Outbox>,
    ) -> Result<(Committed, OutboxQueued)> {
        if commit.events.is_empty() && sweep.is_none() {
            // No event, so no notification: an outbox has nothing to queue.
            return Ok((self.commit_idle(commit, deletes).await?, OutboxQueued::Left));
        }
        let events = commit.events.len();
        let mut tx = self.begin().await?;
        B::lock(&mut tx, Lock::Instance(commit.instance_id)).await?;
        if !commit.events.is_empty() {
            B::lock(&mut tx, Lock::EventOrder).await?;
        }
        // A concurrent commit from the same version waits for this row (its lock, or SQLite's
        // write lock), then re-reads it, finds the version moved on, and updates nothing: a
        // conflict.
        let updated = sqlx::query(POLLED)
            .bind(commit.cursor_ms)
            .bind(commit.seen)
            .bind(commit.next_due_ms)
            .bind(commit.now_ms)
            .bind(commit.summary)
            .bind(commit.instance_id)
            .bind(commit.resource.clone())
            .bind(commit.expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Ok((Committed::Conflict, OutboxQueued::Left));
        }
        if let Some(deletes) = deletes {
            let (lost, from, until) = match deletes.lost {
                Some((from, until)) => (1_i64, Some(from), Some(until)),
                None => (0_i64, None, None),
            };
            // A loss replaces the last one shown; no loss keeps it (it stays news until a
            // person has seen it in the API, the UI or /metrics).
            sqlx::query(
                "UPDATE pollers SET delete_cursor_ms = $1, deletes_lost = deletes_lost + $2,
                     deletes_lost_from_ms = COALESCE($3, deletes_lost_from_ms),
                     deletes_lost_until_ms = COALESCE($4, deletes_lost_until_ms),
                     deletes_lost_at_ms = CASE WHEN $2 > 0 THEN $5 ELSE deletes_lost_at_ms END,
                     delete_memory = COALESCE($8, delete_memory)
                 WHERE instance_id = $6 AND resource = $7",
            )
            .bind(deletes.cursor_ms)
            .bind(lost)
            .bind(from)
            .bind(until)
            .bind(commit.now_ms)
            .bind(commit.instance_id)
            .bind(commit.resource.clone())
            .bind(deletes.memory)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(sweep) = sweep {
            // One statement in both dialects: SQLite and PostgreSQL share the upsert.
            sqlx::query(
                "INSERT INTO sweeps (instance_id, resource, memory, records, swept_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (instance_id, resource) DO UPDATE SET memory = excluded.memory,
                     records = excluded.records, swept_ms = excluded.swept_ms",
            )
            .bind(commit.instance_id)
            .bind(commit.resource.clone())
            .bind(sweep.memory)
            .bind(sweep.records)
            .bind(sweep.swept_ms)
            .execute(&mut *tx)
            .await?;
        }
        // The statements a hook's delivery stores its events with too (`hooks.rs`): one event
        // id, one event, whichever source saw the change first.
        let inserted = Self::insert_events(
            &mut tx,
            commit.instance_id,
            &commit.resource,
            commit.events,
            commit.now_ms,
        )
        .await?;
        // The instance's version as the outbox needs it, in the same trip (none where it is
        // disabled: its events wait unqueued, as a queue pass leaves them).
        let instance_version: Option<i64> = sqlx::query(
            "UPDATE pollers SET events_emitted = events_emitted + $1
             WHERE instance_id = $2 AND resource = $3
             RETURNING (SELECT version FROM instances
                        WHERE id = $2 AND disabled = FALSE) AS instance_version",
        )
        .bind(i64::try_from(inserted).unwrap_or(i64::MAX))
        .bind(commit.instance_id)
        .bind(commit.resource.clone())
        .fetch_one(&mut *tx)
        .await?
        .column("instance_version")?;
        // Only where every event is new: an event stored before may be queued already, or
        // differ from the one the outbox's body was built from.
        let queued = match outbox {
            Some(outbox)
                if usize::try_from(inserted) == Ok(events)
                    && instance_version == Some(outbox.instance_version) =>
            {
                let leased =
                    Self::queue_in(&mut tx, &outbox.notifications, commit.now_ms, &outbox.lease)
                        .await?;
                OutboxQueued::Queued { leased }
            }
            _ => OutboxQueued::Left,
        };
        tx.commit().await?;
        Ok((Committed::Done { inserted }, queued))
    }

    /// The commit of a poll that found nothing (no event, no reconciliation sweep; a delete
    /// sweep that found none moves its cursor and memory): the poller's row alone, by group
    /// commit. Most polls are idle, and many finish at once; each waits for the one writing
    /// (or for its own commit, written by it), and whoever writes next writes every idle
    /// commit waiting by then in one statement — one
    /// round trip to the database's thread (SQLite) or server, and one transaction, for the
    /// lot. One statement is atomic by itself; each row's version guard refuses a late
    /// duplicate as the transaction's first statement does. No lock on the instance: the
    /// statement inserts nothing that names it, and a delete of the instance takes the
    /// poller's row with it (then nothing is updated: a conflict, as when another poll won).
    /// A crash before the statement commits leaves the lease to end and the poll to run again.
    async fn commit_idle(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
    ) -> Result<Committed> {
        self.idle
            .submit(
                IdleRow::of(commit, deletes),
                |batch| async move {
                    // On a task of its own: a poll abandoned while it writes (a shutdown) must
                    // not abandon the others' commits with it.
                    let pool = self.pool.clone();
                    let turn = self.turn().await;
                    let _ = tokio::spawn(async move {
                        write_idle::<B>(pool, batch).await;
                        drop(turn);
                    })
                    .await;
                },
                || {
                    Err(StoreError::Database(
                        "the writer of an idle commit went away".into(),
                    ))
                },
            )
            .await
    }
}

/// Idle commits waiting for their group commit.
pub(crate) type IdleCommits = crate::group::GroupCommit<IdleRow, Result<Committed>>;

/// An idle commit waiting, and who to tell when it is written.
type IdleWaiting = (IdleRow, tokio::sync::oneshot::Sender<Result<Committed>>);

/// An idle commit, as [`Backend::IDLE_ROWS`] reads it ([`IdleRow::json`]).
#[derive(Debug)]
pub(crate) struct IdleRow {
    i: i64,
    r: String,
    ver: i64,
    c: i64,
    s: String,
    d: i64,
    n: i64,
    m: String,
    dc: Option<i64>,
    l: i64,
    lf: Option<i64>,
    lu: Option<i64>,
    dm: Option<String>,
}

impl IdleRow {
    fn of(commit: PollCommit, deletes: Option<DeleteCommit>) -> IdleRow {
        let (dc, lost, dm) = match deletes {
            Some(d) => (Some(d.cursor_ms), d.lost, d.memory),
            None => (None, None, None),
        };
        IdleRow {
            i: commit.instance_id,
            r: commit.resource,
            ver: commit.expected_version,
            c: commit.cursor_ms,
            s: commit.seen,
            d: commit.next_due_ms,
            n: commit.now_ms,
            m: commit.summary,
            dc,
            l: i64::from(lost.is_some()),
            lf: lost.map(|(from, _)| from),
            lu: lost.map(|(_, until)| until),
            dm,
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "i": self.i, "r": self.r, "ver": self.ver, "c": self.c, "s": self.s, "d": self.d,
            "n": self.n, "m": self.m, "dc": self.dc, "l": self.l, "lf": self.lf, "lu": self.lu,
            "dm": self.dm,
        })
    }
}

/// Writes a batch of idle commits and tells each its outcome. A poller twice in the batch (a
/// poll whose lease ended, and the next) goes in a later statement, so that each statement
/// names a poller once and the rows it returns say whose commit won.
async fn write_idle<B>(pool: sqlx::Pool<B>, batch: Vec<IdleWaiting>)
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    String: Param<B>,
{
    let mut left = batch;
    while !left.is_empty() {
        let mut round = Vec::with_capacity(left.len());
        let mut later = Vec::new();
        let mut names = std::collections::HashSet::with_capacity(left.len());
        for waiting in left {
            if names.insert((waiting.0.i, waiting.0.r.clone())) {
                round.push(waiting);
            } else {
                later.push(waiting);
            }
        }
        left = later;
        let rows: Vec<serde_json::Value> = round.iter().map(|(row, _)| row.json()).collect();
        let mut instances: Vec<i64> = round.iter().map(|(row, _)| row.i).collect();
        instances.sort_unstable();
        instances.dedup();
        let outcome = update_idle::<B>(
            &pool,
            serde_json::Value::Array(rows).to_string(),
            &instances,
        )
        .await;
        match outcome {
            Ok(updated) => {
                for (row, done) in round {
                    let won = updated.contains(&(row.i, row.r));
                    let _ = done.send(Ok(if won {
                        Committed::Done { inserted: 0 }
                    } else {
                        Committed::Conflict
                    }));
                }
            }
            Err(error) => {
                for (_, done) in round {
                    let _ = done.send(Err(error.clone()));
                }
            }
        }
    }
}

/// The statement of a batch of idle commits ([`POLLED`] for each row, and the delete sweep's
/// columns where it swept); returns the pollers it updated. Where the backend locks rows
/// (PostgreSQL), its `instances` first, in id order ([`Lock::IdleInstances`]): the statement
/// updates its rows in whatever order the planner picks, and without that turn a delete of an
/// instance or a sync of its pollers, meeting two of its rows in the other order, could
/// deadlock with it.
async fn update_idle<B>(
    pool: &sqlx::Pool<B>,
    rows: String,
    instances: &[i64],
) -> Result<std::collections::HashSet<(i64, String)>>
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    String: Param<B>,
{
    let statement = format!(
        "UPDATE pollers SET cursor_ms = v.c, seen = v.s, next_due_ms = v.d, failures = 0,
             last_error = NULL, last_poll_ms = v.n, last_summary = v.m,
             version = pollers.version + 1, lease_owner = NULL, lease_until_ms = NULL,
             paused_until_ms = NULL,
             delete_cursor_ms = COALESCE(v.dc, pollers.delete_cursor_ms),
             deletes_lost = pollers.deletes_lost + v.l,
             deletes_lost_from_ms = COALESCE(v.lf, pollers.deletes_lost_from_ms),
             deletes_lost_until_ms = COALESCE(v.lu, pollers.deletes_lost_until_ms),
             deletes_lost_at_ms = CASE WHEN v.l > 0 THEN v.n ELSE pollers.deletes_lost_at_ms END,
             delete_memory = COALESCE(v.dm, pollers.delete_memory)
         FROM {}
         WHERE pollers.instance_id = v.i AND pollers.resource = v.r AND pollers.version = v.ver
         RETURNING pollers.instance_id AS instance_id, pollers.resource AS resource",
        B::IDLE_ROWS
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(statement)).bind(rows);
    let updated = if B::ROW_LOCKS {
        let mut tx = pool.begin_with(B::BEGIN).await?;
        B::lock(&mut tx, Lock::IdleInstances(instances)).await?;
        let updated = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        updated
    } else {
        // One statement, atomic by itself (in this process's turn, taken by the caller).
        let mut conn = pool.acquire().await?;
        query.fetch_all(&mut *conn).await?
    };
    updated
        .iter()
        .map(|row| Ok((row.column("instance_id")?, row.column("resource")?)))
        .collect()
}
