//! A PostgreSQL server that refuses connections (too many) or ends them (shutting down) makes
//! the API answer 503 — try again — not an opaque 500. (The SQLSTATE mapping itself, which
//! also covers a query ended mid-way by a shutdown, is table-tested in the store's `lib.rs`.)

use reqwest::{Method, StatusCode};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tributary_simulator::Config;

use crate::backends::{PostgresDatabase, postgres_admin_url};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_database_out_of_connections_or_shutting_down_is_a_503_on_postgres() {
    let database = PostgresDatabase::create().await;
    // A role of its own (a superuser is exempt from connection limits), owning the database.
    let admin_url = postgres_admin_url();
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    let name = database
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    for statement in [
        format!("CREATE ROLE {name} LOGIN"),
        format!("ALTER DATABASE {name} OWNER TO {name}"),
    ] {
        admin.execute(AssertSqlSafe(statement)).await.unwrap();
    }
    // The database's URL as that role (the admin URL's own user gives way).
    let (scheme, rest) = database.url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let url = format!("{scheme}://{name}@{host}");
    let app = spawn_app_with(Config::default(), move |s| {
        s.database_url = url;
        s.master_key = Some(crate::backends::MASTER_KEY.to_owned().into());
    })
    .await;
    let role = name.clone();
    let outcome = tokio::spawn(async move {
        let name = role;
        app.expect(Method::GET, "/instances", None, StatusCode::OK)
            .await;
        // No new connection may open (53300), and the open ones are ended as a shutdown ends
        // them (57P01).
        admin
            .execute(AssertSqlSafe(format!(
                "ALTER ROLE {name} CONNECTION LIMIT 0"
            )))
            .await
            .unwrap();
        admin
            .execute(AssertSqlSafe(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )))
            .await
            .unwrap();
        for _ in 0..3 {
            let response = app.call(Method::GET, "/instances", None).await;
            let status = response.status();
            let text = response.text().await.unwrap();
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
        }
    })
    .await;
    database.drop_it().await;
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    admin
        .execute(AssertSqlSafe(format!("DROP ROLE IF EXISTS {name}")))
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
