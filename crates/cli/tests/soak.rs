//! `tributary soak`, short: the real `serve` killed with SIGKILL mid-poll and mid-delivery and
//! restarted, the receiver down and back, the provider's clock stepped, faults — and nothing
//! lost, no duplicate but those a kill explains. (`scripts/soak` runs it longer, on SQLite and
//! PostgreSQL, in CI.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn a_short_soak_loses_nothing_and_duplicates_only_what_a_kill_explains() {
    let output = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["soak", "--rounds", "12", "--seed", "7"])
        .env_remove("TRIBUTARY_MASTER_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the soak failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("soak: OK: nothing lost, no unexplained duplicate"),
        "{stdout}"
    );
    let report = stdout
        .lines()
        .find(|l| l.starts_with("soak: 12 rounds"))
        .unwrap_or_else(|| panic!("the report names its rounds:\n{stdout}"));
    let kills: u64 = report
        .split("serve killed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    assert!(kills > 0, "serve was killed at least once: {report}");
    assert!(stdout.contains("lost 0;"), "{stdout}");
}

#[test]
fn soak_flags_are_checked() {
    for (flags, wanted) in [
        (vec!["--rounds", "0"], "--rounds"),
        (vec!["--minutes", "0"], "--minutes"),
        (vec!["--element", "nope"], "--element"),
        (vec!["--rate", "0"], "--rate"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_tributary"))
            .arg("soak")
            .args(&flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(wanted), "{flags:?}: {stderr}");
    }
}
