//! The `tributary` binary itself: its subcommands, flags and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn tributary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
}

/// Kills the child when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn simulate_infusionsoft_serves_on_the_printed_url_with_the_given_flags() {
    let child = tributary()
        .args([
            "simulate",
            "infusionsoft",
            "--bind",
            "127.0.0.1:0",
            "--client",
            "app1:s3cret",
            "--token-ttl",
            "120",
            "--throttle-per-minute",
            "7",
            "--seed",
            "150",
            "--tenants",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let mut first = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "https://client.example/cb";
    let consent = http
        .post(format!("{url}/app/oauth/authorize"))
        .query(&[("client_id", "app1"), ("redirect_uri", redirect)])
        .form(&[("allow", "true"), ("tenant", "ab124.infusionsoft.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 302);
    let location = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = http
        .post(format!("{url}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "app1"),
            ("client_secret", "s3cret"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["expires_in"], 120);
    assert_eq!(tokens["scope"], "full|ab124.infusionsoft.com");
    let contacts = http
        .get(format!("{url}/crm/rest/v1/contacts"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(contacts.headers()["x-keap-product-throttle-limit"], "7");
    let body: serde_json::Value = contacts.json().await.unwrap();
    assert_eq!(
        body["count"], 50,
        "--seed 150 gives each tenant 50 contacts"
    );

    // The default app is gone when --client is given.
    let default_app = http
        .get(format!("{url}/app/oauth/authorize"))
        .query(&[("client_id", "tributary-demo"), ("redirect_uri", redirect)])
        .send()
        .await
        .unwrap();
    assert_eq!(default_app.status(), 400);
}

#[test]
fn bad_flags_are_refused_with_a_message_naming_them() {
    for (args, needle) in [
        (vec!["--client", "nocolon"], "--client"),
        (vec!["--token-ttl", "0"], "--token-ttl"),
        (vec!["--throttle-per-minute", "-3"], "--throttle-per-minute"),
        (vec!["--bind", "not-an-address"], "--bind"),
        (vec!["--tenants", "0"], "--tenants"),
        (vec!["--hook-time-scale", "-1"], "--hook-time-scale"),
    ] {
        let output = tributary()
            .args(["simulate", "infusionsoft"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn serve_and_demo_say_plainly_that_they_are_not_built_yet() {
    for command in ["serve", "demo"] {
        let output = tributary().arg(command).output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("not yet"));
    }
}

#[test]
fn help_documents_the_default_app() {
    let output = tributary()
        .args(["simulate", "infusionsoft", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("tributary-demo") && help.contains("tributary-demo-secret"),
        "{help}"
    );
}
