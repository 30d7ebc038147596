//! Processes starting at once on one empty database create one first organization between
//! them: one wins and shows its secrets, the others start normally.

use std::sync::Arc;

use tributary_domain::SystemClock;
use tributary_server::{Application, Settings};

use crate::backends::{MASTER_KEY, PostgresDatabase};
use crate::helpers::TempDir;

/// Builds eight applications on `url` at once (migrated already, so they race straight to
/// the bootstrap); returns how many generated secrets.
async fn start_eight(url: &str) -> usize {
    tributary_store::open(url, 0).await.unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(8));
    let builds: Vec<_> = (0..8)
        .map(|_| {
            let settings = Settings {
                bind: "127.0.0.1:0".parse().unwrap(),
                database_url: url.to_owned(),
                master_key: Some(MASTER_KEY.to_owned().into()),
                ..Settings::default()
            };
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                Application::build(settings, Arc::new(SystemClock)).await
            })
        })
        .collect();
    let mut generated = 0;
    for build in builds {
        let app = build.await.unwrap().expect("every process starts");
        generated += usize::from(app.generated_secrets().is_some());
        let organizations = app.state().store.organization_count().await.unwrap();
        assert!(organizations <= 1, "{organizations} organizations");
    }
    generated
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_on_an_empty_database_create_one_organization_on_sqlite() {
    let dir = TempDir::new("tributary-bootstrap");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    assert_eq!(start_eight(&url).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_on_an_empty_database_create_one_organization_on_postgres() {
    let database = PostgresDatabase::create().await;
    let url = database.url.clone();
    let outcome = tokio::spawn(async move { start_eight(&url).await }).await;
    database.drop_it().await;
    assert_eq!(outcome.unwrap(), 1);
}
