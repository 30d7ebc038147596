//! Forward-only schema migrations, embedded in the binary.
//!
//! Each backend has an ordered list of SQL files; a table `_tributary_migrations` records which
//! versions ran. A migration runs in one transaction with its bookkeeping row, so a crash leaves
//! it either applied or not. The runner is small and written here (rather than using the
//! `sqlx::migrate!` macro) to keep sqlx's macro crate, and a second build of its drivers, out of
//! the dependency tree.

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
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_increasing() {
        for pair in SQLITE.windows(2) {
            assert!(pair[0].version < pair[1].version, "{pair:?}");
        }
        assert_eq!(SQLITE.first().map(|m| m.version), Some(1));
    }
}
