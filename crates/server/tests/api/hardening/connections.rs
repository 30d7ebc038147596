//! Connections that never finish their request cannot starve the server: a half-sent request
//! is closed after the header timeout, the open connections are capped, and `/healthz` keeps
//! answering. And a malformed body is the client's 400.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tributary_simulator::Config;

use crate::helpers::{TestApp, spawn_app_with};

fn root(app: &TestApp) -> String {
    app.api.trim_end_matches("/elements/api-v2").to_owned()
}

fn address(app: &TestApp) -> String {
    root(app).trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or it resets); `None` if it stays open for
/// `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    tokio::time::timeout(within, async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| received)
}

#[tokio::test]
async fn half_sent_requests_are_closed_and_healthz_answers_past_them() {
    let app = spawn_app_with(Config::default(), |s| {
        s.header_timeout = Duration::from_millis(500);
        s.max_connections = 16;
    })
    .await;
    // 64 clients on loopback send half a request each and stop: four times the cap.
    let mut half_sent = Vec::new();
    for _ in 0..64 {
        let mut stream = TcpStream::connect(address(&app)).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")
            .await
            .unwrap();
        half_sent.push(stream);
    }
    let healthz = app
        .http
        .get(format!("{}/healthz", root(&app)))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .expect("/healthz answers while half-sent requests wait");
    assert_eq!(healthz.status(), StatusCode::OK);
    // Each half-sent request was closed by the server (it never answered them in full).
    for stream in &mut half_sent {
        let received = closed_within(stream, Duration::from_secs(20))
            .await
            .expect("a half-sent request is closed after the header timeout");
        assert!(
            !String::from_utf8_lossy(&received).contains("200 OK"),
            "no answer to half a request"
        );
    }
    // A connection that sends nothing, and one idle after its request, are closed too.
    let mut silent = TcpStream::connect(address(&app)).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(10))
            .await
            .is_some()
    );
    let mut kept = TcpStream::connect(address(&app)).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = closed_within(&mut kept, Duration::from_secs(10))
        .await
        .expect("an idle kept-alive connection is closed");
    assert!(String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_malformed_chunked_body_is_a_400_and_a_stalled_one_a_408() {
    let app = spawn_app_with(Config::default(), |s| {
        s.body_timeout = Duration::from_millis(500);
    })
    .await;
    let send = |body: &'static [u8]| {
        let address = address(&app);
        let auth = app.auth.clone();
        async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            let head = format!(
                "POST /elements/api-v2/instances HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(body).await.unwrap();
            let answer = closed_within(&mut stream, Duration::from_secs(10))
                .await
                .expect("answered and closed");
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let malformed = send(b"zz\r\n{}\r\n0\r\n\r\n").await;
    assert!(malformed.starts_with("HTTP/1.1 400"), "{malformed}");
    let stalled = send(b"10\r\n{\"name\":").await;
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
}
