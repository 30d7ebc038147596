//! A poller's transactions: replacing an instance's set of pollers, and committing a poll (its
//! events, cursor and memory together, guarded by the poller's version).

use sqlx::Executor;

use super::rows::Columns;
use super::{Backend, Lock, Param, RowsAffected, SqlStore};
use crate::{Committed, DeleteCommit, PollCommit, Result, SweepCommit};

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
    /// version conflict.
    pub(super) async fn commit(
        &self,
        commit: PollCommit,
        deletes: Option<DeleteCommit>,
        sweep: Option<SweepCommit>,
    ) -> Result<Committed> {
        if commit.events.is_empty() && deletes.is_none() && sweep.is_none() {
            return self.commit_idle(commit).await;
        }
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
            return Ok(Committed::Conflict);
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
        sqlx::query(
            "UPDATE pollers SET events_emitted = events_emitted + $1
             WHERE instance_id = $2 AND resource = $3",
        )
        .bind(i64::try_from(inserted).unwrap_or(i64::MAX))
        .bind(commit.instance_id)
        .bind(commit.resource.clone())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Committed::Done { inserted })
    }

    /// The commit of a poll that found nothing (no event, no delete sweep, no reconciliation
    /// sweep): the poller's row alone, in one statement and no transaction of several — most
    /// polls are idle, and each statement is a round trip to the database's thread (SQLite) or
    /// server. One statement is atomic by itself; the version guard refuses a late duplicate
    /// as the transaction's first statement does. No lock on the instance: the statement
    /// inserts nothing that names it, and a delete of the instance takes the poller's row with
    /// it (then nothing is updated: a conflict, as when another poll won).
    async fn commit_idle(&self, commit: PollCommit) -> Result<Committed> {
        let updated = sqlx::query(POLLED)
            .bind(commit.cursor_ms)
            .bind(commit.seen)
            .bind(commit.next_due_ms)
            .bind(commit.now_ms)
            .bind(commit.summary)
            .bind(commit.instance_id)
            .bind(commit.resource)
            .bind(commit.expected_version)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(if updated == 0 {
            Committed::Conflict
        } else {
            Committed::Done { inserted: 0 }
        })
    }
}
