//! Running one server test on either backend: SQLite, or PostgreSQL on the `TEST_POSTGRES_URL`
//! server, whose user may create databases (each run gets a database of its own, dropped
//! afterwards), as the store's contract suite does. A test that runs on both is two tests: the
//! PostgreSQL one is named `…_on_postgres`, so nextest's default profile counts it as skipped,
//! and it fails, saying what to set, when `TEST_POSTGRES_URL` is missing.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tributary_server::Settings;
use tributary_simulator::Config;

use crate::helpers::{TestApp, spawn_app_with};

/// base64 of 32 bytes: a key for the tests' PostgreSQL servers.
pub const MASTER_KEY: &str = "dHJpYnV0YXJ5LXRlc3QtbWFzdGVyLWtleS0zMmJ5dGU=";

/// Runs `test` against a server on a fresh SQLite database, `tweak` adjusting its settings.
pub async fn on_sqlite<Fut>(
    tweak: impl Fn(&mut Settings) + Send + Sync + 'static,
    test: impl Fn(TestApp) -> Fut,
) where
    Fut: Future<Output = ()> + Send + 'static,
{
    test(spawn_app_with(Config::default(), &tweak).await).await;
}

/// Runs `test` against a server on a fresh PostgreSQL database of the `TEST_POSTGRES_URL`
/// server (dropped afterwards, whatever the outcome); panics when that is not set. Only a test
/// whose name contains `_on_postgres` may call it: nextest's default profile leaves those out.
pub async fn on_postgres<Fut>(
    tweak: impl Fn(&mut Settings) + Send + Sync + 'static,
    test: impl Fn(TestApp) -> Fut,
) where
    Fut: Future<Output = ()> + Send + 'static,
{
    let database = PostgresDatabase::create().await;
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

/// `TEST_POSTGRES_URL`, or a panic saying how to provide it: a PostgreSQL test never passes
/// without having run.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "this test needs PostgreSQL and TEST_POSTGRES_URL is not set. Set it to a server \
             whose user may create databases, e.g. \
             TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres, and run \
             `cargo nextest run --profile postgres`; the default profile skips the \
             `_on_postgres` tests"
        )
    })
}

/// A database of its own on the `TEST_POSTGRES_URL` server.
pub struct PostgresDatabase {
    pub url: String,
    name: String,
    admin: PgConnection,
}

impl PostgresDatabase {
    /// Panics when `TEST_POSTGRES_URL` is not set ([`postgres_admin_url`]).
    pub async fn create() -> PostgresDatabase {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let admin_url = postgres_admin_url();
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
        PostgresDatabase {
            url: format!("{scheme}://{authority}/{name}{query}"),
            name,
            admin,
        }
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
