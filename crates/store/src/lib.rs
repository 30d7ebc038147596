//! Tributary's storage layer.
//!
//! It will own the `Store` trait with its SQLite implementation (the embedded default) and its
//! PostgreSQL implementation (several nodes sharing one database), migrations per backend, and one
//! contract test suite run against both. Issue 3 brings the trait and SQLite, issue 10 PostgreSQL.
//! Until then the crate is empty on purpose, so the workspace layout is fixed from the start.
