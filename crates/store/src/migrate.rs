//! Forward-only schema migrations, embedded in the binary.
//!
//! Each backend has an ordered list of SQL files; a table `_tributary_migrations` records which
//! versions ran. A migration runs in one transaction with its bookkeeping row, so a crash leaves
//! it either applied or not, and that transaction first takes the database's migration lock, so
//! two processes starting at once apply each migration once: the second waits, then finds the
//! version recorded and skips it. The runner is small and written here (rather than using the
//! `sqlx::migrate!` macro) to keep sqlx's macro crate, and a second build of its drivers, out of
//! the dependency tree.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::{Result, StoreError};

/// One migration: a version number, a name, and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// SQLite's migrations, oldest first.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "tenants_and_instances",
        sql: include_str!("../migrations/sqlite/0001_tenants_and_instances.sql"),
    },
    Migration {
        version: 2,
        name: "pollers_and_events",
        sql: include_str!("../migrations/sqlite/0002_pollers_and_events.sql"),
    },
    Migration {
        version: 3,
        name: "notifications",
        sql: include_str!("../migrations/sqlite/0003_notifications.sql"),
    },
    Migration {
        version: 4,
        name: "stopped_callbacks",
        sql: include_str!("../migrations/sqlite/0004_stopped_callbacks.sql"),
    },
    Migration {
        version: 5,
        name: "events_by_notification",
        sql: include_str!("../migrations/sqlite/0005_events_by_notification.sql"),
    },
    Migration {
        version: 6,
        name: "ui_sessions",
        sql: include_str!("../migrations/sqlite/0006_ui_sessions.sql"),
    },
    Migration {
        version: 7,
        name: "ui_connects",
        sql: include_str!("../migrations/sqlite/0007_ui_connects.sql"),
    },
    Migration {
        version: 8,
        name: "notifications_by_instance",
        sql: include_str!("../migrations/sqlite/0008_notifications_by_instance.sql"),
    },
    Migration {
        version: 9,
        name: "cloud_elements_compatibility",
        sql: include_str!("../migrations/sqlite/0009_cloud_elements_compatibility.sql"),
    },
    Migration {
        version: 10,
        name: "deletes_and_pauses",
        sql: include_str!("../migrations/sqlite/0010_deletes_and_pauses.sql"),
    },
    Migration {
        version: 13,
        name: "delete_memory",
        sql: include_str!("../migrations/sqlite/0013_delete_memory.sql"),
    },
    Migration {
        version: 14,
        name: "sweeps",
        sql: include_str!("../migrations/sqlite/0014_sweeps.sql"),
    },
    Migration {
        version: 15,
        name: "hooks",
        sql: include_str!("../migrations/sqlite/0015_hooks.sql"),
    },
    Migration {
        version: 16,
        name: "notification_bodies",
        sql: include_str!("../migrations/sqlite/0016_notification_bodies.sql"),
    },
    Migration {
        version: 17,
        name: "notifications_due_by_url",
        sql: include_str!("../migrations/sqlite/0017_notifications_due_by_url.sql"),
    },
    Migration {
        version: 18,
        name: "notification_poll_dates",
        sql: include_str!("../migrations/sqlite/0018_notification_poll_dates.sql"),
    },
];

/// PostgreSQL's migrations, oldest first. PostgreSQL support started from SQLite's version 7
/// schema, so its history starts there in one file; later changes add a file to both lists.
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "cloud_elements_compatibility",
        sql: include_str!("../migrations/postgres/0002_cloud_elements_compatibility.sql"),
    },
    Migration {
        version: 3,
        name: "deletes_and_pauses",
        sql: include_str!("../migrations/postgres/0003_deletes_and_pauses.sql"),
    },
    Migration {
        version: 6,
        name: "delete_memory",
        sql: include_str!("../migrations/postgres/0006_delete_memory.sql"),
    },
    Migration {
        version: 7,
        name: "sweeps",
        sql: include_str!("../migrations/postgres/0007_sweeps.sql"),
    },
    Migration {
        version: 8,
        name: "hooks",
        sql: include_str!("../migrations/postgres/0008_hooks.sql"),
    },
    Migration {
        version: 9,
        name: "notification_bodies",
        sql: include_str!("../migrations/postgres/0009_notification_bodies.sql"),
    },
    Migration {
        version: 10,
        name: "notifications_due_by_url",
        sql: include_str!("../migrations/postgres/0010_notifications_due_by_url.sql"),
    },
    Migration {
        version: 11,
        name: "notification_poll_dates",
        sql: include_str!("../migrations/postgres/0011_notification_poll_dates.sql"),
    },
];

/// How a backend serializes migration runs and keeps its bookkeeping table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ledger {
    /// Starts a migration's transaction.
    pub begin: &'static str,
    /// Run first in that transaction; holds the migration lock until it ends. `None` when the
    /// `begin` statement already holds it.
    pub lock: Option<&'static str>,
    /// Creates the bookkeeping table if this is a new database.
    pub create: &'static str,
}

/// SQLite: `BEGIN IMMEDIATE` takes the database's one write lock at once.
pub(crate) const SQLITE_LEDGER: Ledger = Ledger {
    begin: "BEGIN IMMEDIATE",
    lock: None,
    create: "CREATE TABLE IF NOT EXISTS _tributary_migrations (
                 version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
};

/// PostgreSQL: a transaction-scoped advisory lock (the key spells "tribmigr"), released by the
/// commit or rollback. It is taken before the `CREATE TABLE IF NOT EXISTS` too, which is not
/// safe to race on PostgreSQL (two creators can both pass the check and one fail on the catalog).
/// Advisory locks belong to one database, so databases sharing a server do not wait on each other.
pub(crate) const POSTGRES_LEDGER: Ledger = Ledger {
    begin: "BEGIN",
    lock: Some("SELECT pg_advisory_xact_lock(8390884927207991154)"),
    create: "CREATE TABLE IF NOT EXISTS _tributary_migrations (
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
};

/// Applies the migrations of `list` that the database has not recorded, each in its own locked
/// transaction. Every statement here is valid on both backends (`$n` parameters included:
/// SQLite reads `$1` as parameter 1).
pub(crate) async fn run<DB>(
    pool: &Pool<DB>,
    ledger: Ledger,
    list: &[Migration],
    now_ms: i64,
) -> Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
{
    for migration in list {
        let mut tx = pool.begin_with(ledger.begin).await?;
        if let Some(lock) = ledger.lock {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        sqlx::query(ledger.create).execute(&mut *tx).await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM _tributary_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
        if applied.is_some() {
            continue;
        }
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::Migration(format!("{} ({}): {e}", migration.version, migration.name))
            })?;
        sqlx::query(
            "INSERT INTO _tributary_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "migrated"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_increasing() {
        for list in [SQLITE, POSTGRES] {
            for pair in list.windows(2) {
                assert!(pair[0].version < pair[1].version, "{pair:?}");
            }
            assert_eq!(list.first().map(|m| m.version), Some(1));
        }
    }

    /// A database made before notification bodies had a table of their own (SQLite 0016)
    /// keeps every body: the migration moves each, byte for byte, and drops the column.
    #[tokio::test]
    async fn bodies_stored_inline_move_to_their_own_table() {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        use std::str::FromStr;
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .unwrap()
            .foreign_keys(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let before: Vec<Migration> = SQLITE.iter().copied().filter(|m| m.version < 16).collect();
        run(&pool, SQLITE_LEDGER, &before, 0).await.unwrap();

        // Every NOT NULL column without a default gets a value of its type; the bodies are
        // arbitrary bytes, a NUL and invalid UTF-8 included.
        let columns: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('notifications')",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let bodies: [&[u8]; 2] = [b"{\"events\": [1]}", &[0, 159, 146, 150, 255]];
        for (n, body) in bodies.iter().enumerate() {
            let mut names = Vec::new();
            let mut values = Vec::new();
            for (name, kind, not_null, default) in &columns {
                if name == "body" || name == "id" || *not_null == 0 || default.is_some() {
                    continue;
                }
                names.push(name.clone());
                values.push(if kind.eq_ignore_ascii_case("INTEGER") {
                    "0".to_owned()
                } else {
                    "'x'".to_owned()
                });
            }
            let sql = format!(
                "INSERT INTO notifications (id, body{}{}) VALUES ($1, $2{}{})",
                if names.is_empty() { "" } else { ", " },
                names.join(", "),
                if values.is_empty() { "" } else { ", " },
                values.join(", ")
            );
            // Built here from the schema's own column names and fixed literals.
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(format!("n{n}"))
                .bind(body.to_vec())
                .execute(&pool)
                .await
                .unwrap();
        }

        run(&pool, SQLITE_LEDGER, SQLITE, 1).await.unwrap();
        let moved: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT notification_id, body FROM notification_bodies ORDER BY notification_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            moved,
            [
                ("n0".to_owned(), bodies[0].to_vec()),
                ("n1".to_owned(), bodies[1].to_vec())
            ]
        );
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pragma_table_info('notifications') WHERE name = 'body'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(left, 0, "the inline column is gone");
    }
}
