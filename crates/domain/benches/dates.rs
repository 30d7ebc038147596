//! Parses per second for the seed's pattern and for RFC 822 dates, next to jiff's own RFC 3339
//! parser measured in the same run (the goal: within 1.5x of it).
//!
//!   CARGO_TARGET_DIR=/work/target-dates cargo bench -p tributary-domain --bench dates
//!
//! A plain `Instant` loop rather than criterion, to keep the domain crate quick to build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use tributary_domain::dates::{DatePattern, Zone};

/// Runs `f` in rounds until `budget` has passed; returns the best rate seen (parses/second),
/// which is the least disturbed by other work on the machine.
fn rate(budget: Duration, mut f: impl FnMut() -> i64) -> f64 {
    const ROUND: u32 = 20_000;
    let started = Instant::now();
    let mut best = 0f64;
    let mut sink = 0i64;
    while started.elapsed() < budget {
        let round = Instant::now();
        for _ in 0..ROUND {
            sink = sink.wrapping_add(f());
        }
        best = best.max(f64::from(ROUND) / round.elapsed().as_secs_f64());
    }
    black_box(sink);
    best
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("BENCH_MILLIS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    );
    let gmt = Zone::parse("GMT").unwrap();
    let seed = DatePattern::compile("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").unwrap();
    let rfc822 = DatePattern::compile("EEE, dd MMM yyyy HH:mm:ss Z").unwrap();
    let seed_input = "2026-11-28T10:00:00.123Z";
    let rfc822_input = "Sat, 28 Nov 2026 10:00:00 -0800";
    assert_eq!(seed.parse(seed_input, &gmt), Ok(1_795_860_000_123));
    assert_eq!(rfc822.parse(rfc822_input, &gmt), Ok(1_795_888_800_000));

    let baseline = rate(budget, || {
        black_box(black_box("2026-11-28T10:00:00.123Z").parse::<jiff::Timestamp>())
            .unwrap()
            .as_millisecond()
    });
    let seed_rate = rate(budget, || {
        seed.parse(black_box(seed_input), black_box(&gmt)).unwrap()
    });
    let rfc822_rate = rate(budget, || {
        rfc822
            .parse(black_box(rfc822_input), black_box(&gmt))
            .unwrap()
    });
    println!("jiff RFC 3339 (baseline)         {baseline:>12.0} parses/s");
    for (name, ours) in [
        ("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", seed_rate),
        ("EEE, dd MMM yyyy HH:mm:ss Z", rfc822_rate),
    ] {
        println!(
            "{name:<32} {ours:>12.0} parses/s  {:.2}x the baseline's time",
            baseline / ours
        );
    }
}
