//! Running one server test on both backends: SQLite always, and PostgreSQL when
//! `TEST_POSTGRES_URL` names a server whose user may create databases (each run gets a database
//! of its own, dropped afterwards), as the store's contract suite does.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tributary_server::Settings;
use tributary_simulator::Config;

use crate::helpers::{TestApp, spawn_app_with};

/// base64 of 32 bytes: a key for the tests' PostgreSQL servers.
pub const MASTER_KEY: &str = "dHJpYnV0YXJ5LXRlc3QtbWFzdGVyLWtleS0zMmJ5dGU=";

/// Runs `test` against a server on SQLite, then on a fresh PostgreSQL database when
/// `TEST_POSTGRES_URL` is set. `tweak` adjusts the settings of both.
pub async fn on_both_backends<Fut>(
    tweak: impl Fn(&mut Settings) + Send + Sync + 'static,
    test: impl Fn(TestApp) -> Fut,
) where
    Fut: Future<Output = ()> + Send + 'static,
{
    let app = spawn_app_with(Config::default(), &tweak).await;
    test(app).await;
    let Some(database) = PostgresDatabase::create().await else {
        eprintln!("TEST_POSTGRES_URL is not set: the PostgreSQL half did not run");
        return;
    };
    let url = database.url.clone();
    let app = spawn_app_with(Config::default(), move |s| {
        tweak(s);
        s.database_url = url;
        // PostgreSQL has no key file beside it: every node is given the key.
        s.master_key = Some(MASTER_KEY.to_owned().into());
    })
    .await;
    // On a task of its own, so a failure still drops the database.
    let outcome = tokio::spawn(test(app)).await;
    database.drop_it().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// A database of its own on the `TEST_POSTGRES_URL` server.
pub struct PostgresDatabase {
    pub url: String,
    name: String,
    admin: PgConnection,
}

impl PostgresDatabase {
    /// `None` when `TEST_POSTGRES_URL` is not set.
    pub async fn create() -> Option<PostgresDatabase> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let admin_url = std::env::var("TEST_POSTGRES_URL").ok()?;
        let name = format!(
            "tributary_server_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("TEST_POSTGRES_URL connects");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        let (base, query) = admin_url
            .split_once('?')
            .map_or((admin_url.as_str(), String::new()), |(b, q)| {
                (b, format!("?{q}"))
            });
        let (scheme, rest) = base.split_once("://").unwrap();
        let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
        Some(PostgresDatabase {
            url: format!("{scheme}://{authority}/{name}{query}"),
            name,
            admin,
        })
    }

    pub async fn drop_it(mut self) {
        // FORCE: the server's pool may not have closed its connections yet.
        self.admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .await
            .unwrap();
    }
}
