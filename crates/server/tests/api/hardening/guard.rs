//! The address guard judges by IANA's special-purpose registries, IPv4 embedded in IPv6
//! unwrapped: an IP-literal callback in any such range is warned about when it is set.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{seed_body, spawn_app_with};

#[tokio::test]
async fn a_callback_in_a_special_purpose_range_or_embedding_one_is_warned_about() {
    let app = spawn_app_with(tributary_simulator::Config::default(), |s| {
        s.allow_private_callbacks = false;
    })
    .await;
    let mut id = None;
    for host in [
        "[64:ff9b::a9fe:a9fe]",
        "[::a9fe:a9fe]",
        "[2002:a9fe:a9fe::1]",
        "[fec0::1]",
        "198.18.0.1",
        "192.0.0.170",
        "240.0.0.1",
    ] {
        let url = format!("http://{host}/events");
        let answer = match id {
            None => {
                let mut body = seed_body(&app.code().await);
                body["configuration"]["event.notification.callback.url"] = json!(url);
                app.expect(Method::POST, "/instances", Some(&body), StatusCode::OK)
                    .await
            }
            Some(id) => {
                let patch = json!({"configuration": {"event.notification.callback.url": url}});
                app.expect(
                    Method::PATCH,
                    &format!("/instances/{id}"),
                    Some(&patch),
                    StatusCode::OK,
                )
                .await
            }
        };
        id = answer["id"].as_i64().or(id);
        let warning = answer["warnings"][0].as_str().unwrap_or_default();
        assert!(warning.contains("private address"), "{host}: {answer}");
    }
}
