//! Concurrent partial updates of one instance that touch different keys all succeed, and the
//! instance ends with every one of them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::backends::{on_postgres, on_sqlite};
use crate::helpers::TestApp;

#[tokio::test]
async fn eighteen_concurrent_patches_of_different_keys_all_succeed_on_sqlite() {
    on_sqlite(|_| {}, eighteen_patches).await;
}

#[tokio::test]
async fn eighteen_concurrent_patches_of_different_keys_all_succeed_on_postgres() {
    on_postgres(|_| {}, eighteen_patches).await;
}

async fn eighteen_patches(app: TestApp) {
    let id = app.create_seed_instance().await["id"].as_i64().unwrap();
    let app = std::sync::Arc::new(app);
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(18));
    let writers: Vec<_> = (0..18)
        .map(|i| {
            let (app, start) = (app.clone(), start.clone());
            tokio::spawn(async move {
                let patch =
                    json!({"configuration": {format!("custom.writer{i}"): format!("v{i}")}});
                start.wait().await;
                let response = app
                    .call(Method::PATCH, &format!("/instances/{id}"), Some(&patch))
                    .await;
                (response.status(), response.text().await.unwrap())
            })
        })
        .collect();
    for writer in writers {
        let (status, text) = writer.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    let configuration = &app.instance(id).await["configuration"];
    for i in 0..18 {
        assert_eq!(
            configuration[format!("custom.writer{i}")],
            json!(format!("v{i}")),
            "{configuration}"
        );
    }
}
