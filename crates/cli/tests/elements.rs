//! `tributary elements export` and `tributary elements check`: the first steps of adding one's
//! own provider, as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Running, eventually, listening, serve_command, temp_dir};

fn tributary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn check(files: &[&Path]) -> Output {
    let mut args = vec!["elements".to_owned(), "check".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tributary(&args)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn an_exported_definition_renamed_checks_clean_and_unrenamed_is_refused() {
    let exported = tributary(&["elements", "export", "infusionsoftrest"]);
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let definition = text(&exported.stdout);
    assert!(
        definition.contains("key = \"infusionsoftrest\"") && definition.contains("# "),
        "the definition as written, comments included: {definition}"
    );

    let folder = temp_dir("export");
    let renamed = folder.write(
        "mykeap.toml",
        &definition.replacen("key = \"infusionsoftrest\"", "key = \"mykeap\"", 1),
    );
    let output = check(&[&renamed]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("mykeap is valid (9 resources)"),
        "{}",
        text(&output.stdout)
    );

    // As exported, its key is a built-in one: the server would refuse it as defined twice.
    let same = folder.write("same.toml", &definition);
    let output = check(&[&same]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let key_line = line_of(&definition, "key = \"infusionsoftrest\"");
    assert!(
        stderr.contains(&format!(
            "{}:{key_line}:1: key: \"infusionsoftrest\" is a built-in element's key",
            same.display()
        )),
        "{stderr}"
    );
}

#[test]
fn each_problem_is_named_with_its_file_line_and_column() {
    let definition = text(&tributary(&["elements", "export", "sfdc"]).stdout);
    let folder = temp_dir("broken");
    let good = folder.write(
        "good.toml",
        &definition.replacen("key = \"sfdc\"", "key = \"mysfdc\"", 1),
    );
    // Parses, but two fields are refused by validation.
    let invalid_text = definition
        .replacen("key = \"sfdc\"", "key = \"My SFDC\"", 1)
        .replacen("type = \"oauth2\"", "type = \"basic\"", 1);
    let invalid = folder.write("invalid.toml", &invalid_text);
    // Does not parse: a string where a number goes.
    let unparsable_text = definition.replacen("key = \"sfdc\"", "key = 42", 1);
    let unparsable = folder.write("unparsable.toml", &unparsable_text);
    let missing = folder.join("missing.toml");

    let output = check(&[&good, &invalid, &unparsable]);
    assert_eq!(output.status.code(), Some(1));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(stdout.contains("mysfdc is valid"), "{stdout}");
    let invalid_shown = invalid.display();
    for expected in [
        format!(
            "{invalid_shown}:{}:1: key: \"My SFDC\" must be lower-case letters",
            line_of(&invalid_text, "My SFDC")
        ),
        format!(
            "{invalid_shown}:{}:1: auth.type: \"basic\" is not supported",
            line_of(&invalid_text, "type = \"basic\"")
        ),
        format!("{invalid_shown}: 2 problems"),
        format!(
            "{}:{}:7: invalid type: integer `42`, expected a string",
            unparsable.display(),
            line_of(&unparsable_text, "key = 42")
        ),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in:\n{stderr}");
    }

    let output = check(&[&good, &missing]);
    assert_eq!(output.status.code(), Some(2), "an unreadable file");
    assert!(
        text(&output.stderr).contains("missing.toml: cannot be read"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn exporting_an_unknown_key_names_the_built_in_ones() {
    let output = tributary(&["elements", "export", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    for key in ["infusionsoftrest", "sfdc", "hubspotcrm", "quickbooks"] {
        assert!(stderr.contains(key), "{stderr}");
    }
    assert!(text(&output.stdout).is_empty());
}

#[test]
fn config_names_the_folders_refused_definitions() {
    let definition = text(&tributary(&["elements", "export", "hubspotcrm"]).stdout);
    let folder = temp_dir("config");
    folder.write(
        "mine.toml",
        &definition.replacen("key = \"hubspotcrm\"", "key = \"myhubspot\"", 1),
    );
    folder.write("broken.toml", "key = ");
    let output = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .arg("config")
        .env("TRIBUTARY_ELEMENTS_DIR", &*folder)
        .env("TRIBUTARY_DATABASE_URL", "sqlite::memory:")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.toml") && stderr.contains("serve starts without it"),
        "{stderr}"
    );
    assert!(!stderr.contains("mine.toml"), "{stderr}");
}

const ORGANIZATION: &str = "elements-test-organization-secret";
const USER: &str = "elements-test-user-secret-00001";

/// The element keys `GET /elements` lists.
async fn listed(api: &str) -> Vec<String> {
    let elements: serde_json::Value = reqwest::Client::new()
        .get(format!("{api}/elements"))
        .header(
            "Authorization",
            format!("User {USER}, Organization {ORGANIZATION}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    elements
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `GET /elements` satisfies `done`, for 30 s at most.
async fn until_listed(api: &str, what: &str, done: impl Fn(&[String]) -> bool) {
    eventually(Duration::from_secs(30), what, async || {
        done(&listed(api).await)
    })
    .await;
}

fn hang_up(running: &Running) {
    let status = Command::new("kill")
        .args(["-HUP", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn sighup_reads_the_elements_folder_again() {
    let folder = temp_dir("sighup");
    let elements = temp_dir("sighup-elements");
    let export = |key: &str, mine: &str| {
        text(&tributary(&["elements", "export", key]).stdout).replacen(
            &format!("key = \"{key}\""),
            &format!("key = \"{mine}\""),
            1,
        )
    };
    let first = elements.write("first.toml", &export("hubspotcrm", "myhubspot"));
    let mut command = serve_command(&format!("sqlite://{}", folder.join("t.db").display()));
    command
        .env("TRIBUTARY_ELEMENTS_DIR", &*elements)
        .env("TRIBUTARY_BOOTSTRAP_ORG_SECRET", ORGANIZATION)
        .env("TRIBUTARY_BOOTSTRAP_USER_SECRET", USER)
        .env_remove("TRIBUTARY_MASTER_KEY")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null());
    let (running, api) = listening(&mut command);
    let keys = listed(&api).await;
    assert!(keys.contains(&"myhubspot".to_owned()), "{keys:?}");
    assert!(!keys.contains(&"myqbo".to_owned()), "{keys:?}");

    // A new definition and a broken one: the new one serves after SIGHUP, the broken one is
    // refused and the rest stay.
    elements.write("second.toml", &export("quickbooks", "myqbo"));
    elements.write("third.toml", "key = ");
    hang_up(&running);
    until_listed(&api, "myqbo is served after SIGHUP", |keys| {
        keys.iter().any(|k| k == "myqbo")
    })
    .await;
    let keys = listed(&api).await;
    assert!(
        keys.contains(&"myhubspot".to_owned()) && keys.contains(&"infusionsoftrest".to_owned()),
        "{keys:?}"
    );

    // A definition removed from the folder is gone after the next SIGHUP.
    std::fs::remove_file(first).unwrap();
    hang_up(&running);
    until_listed(&api, "myhubspot is gone after SIGHUP", |keys| {
        !keys.iter().any(|k| k == "myhubspot")
    })
    .await;
    assert!(listed(&api).await.contains(&"myqbo".to_owned()));
}
