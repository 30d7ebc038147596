//! JSON logs (`TRIBUTARY_LOG_FORMAT=json`): one object a line, each line of a request carrying
//! its request id, each line of a poll its instance id; no secret on any line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tributary_server::telemetry::{LogFormat, init_as};

use super::metrics::{deliver_until, polled_instance, receiver};
use crate::helpers::{ORG_SECRET, USER_SECRET};

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The value of `field` in a JSON line's spans (any of them).
fn span_field<'a>(line: &'a Value, field: &str) -> Vec<&'a Value> {
    line["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|span| span.get(field))
        .collect()
}

#[tokio::test]
async fn json_log_lines_carry_their_request_id_and_instance_id_and_no_secret() {
    let capture = Capture::default();
    let sink = capture.clone();
    init_as(move || sink.clone(), LogFormat::Json, false, "info");

    let (callback, inbox) = receiver().await;
    let (app, id) = polled_instance(&callback).await;
    deliver_until(&app, &inbox, 1).await;

    // A refused request: its lines (the refusal and the request line) carry its id.
    let response = app
        .http
        .patch(format!("{}/instances/{id}", app.api))
        .header("Authorization", &app.auth)
        .json(&json!({"name": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // A poll that fails: its warning carries the instance (and, asked for by a request, the
    // request's id too).
    app.http
        .post(format!("{}/_sim/faults", app.sim.url()))
        .json(&json!({"status": 500, "count": 50}))
        .send()
        .await
        .unwrap();
    let poll = app
        .call(Method::POST, &format!("/instances/{id}/events/poll"), None)
        .await;
    let poll_request = poll.headers()["x-request-id"].to_str().unwrap().to_owned();

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let of_request: Vec<&Value> = lines
        .iter()
        .filter(|l| span_field(l, "request_id").contains(&&json!(request_id)))
        .collect();
    assert!(
        of_request.len() >= 2
            && of_request
                .iter()
                .any(|l| l["fields"]["message"] == "request refused")
            && of_request.iter().any(|l| l["fields"]["status"] == 400),
        "the refused request's lines carry its id:\n{text}"
    );
    let failed_poll = lines
        .iter()
        .find(|l| l["fields"]["message"] == "poll failed")
        .unwrap_or_else(|| panic!("a poll failed:\n{text}"));
    assert_eq!(
        span_field(failed_poll, "instance_id"),
        [&json!(id)],
        "{failed_poll}"
    );
    assert_eq!(span_field(failed_poll, "resource"), [&json!("contacts")]);
    assert_eq!(
        span_field(failed_poll, "request_id"),
        [&json!(poll_request)]
    );

    for secret in [
        ORG_SECRET,
        USER_SECRET,
        "tributary-demo-secret",
        "MySecretEventSignatureKey",
    ] {
        assert!(!text.contains(secret), "no secret in the log");
    }
}
