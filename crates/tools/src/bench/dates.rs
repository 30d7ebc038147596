//! Parses per second for the seed's pattern and for RFC 822 dates, next to jiff's own RFC 3339
//! parser measured in the same run (the goal: within 1.5× its time per parse).
//!
//! A plain `Instant` loop: rounds of 20,000 parses until the budget has passed, keeping the best
//! round, which is the least disturbed by other work on the machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use indicatif::ProgressBar;
use serde::Serialize;
use tributary_domain::dates::{DatePattern, Zone};

use super::{Figure, count, step};

/// What the dates benchmark measures for how long.
#[derive(Debug, Clone, Serialize)]
pub struct DatesOptions {
    /// How long each of the three parsers runs.
    #[serde(rename = "budget_ms", serialize_with = "milliseconds")]
    pub budget: Duration,
}

fn milliseconds<S: serde::Serializer>(duration: &Duration, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_u128(duration.as_millis())
}

impl Default for DatesOptions {
    fn default() -> Self {
        DatesOptions {
            budget: Duration::from_millis(1_000),
        }
    }
}

const SEED: &str = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";
const RFC822: &str = "EEE, dd MMM yyyy HH:mm:ss Z";
const ROUND: u32 = 20_000;

/// Runs `f` in rounds until `budget` has passed; returns the best rate seen (parses/second).
/// Fails if any parse failed. The bar advances between rounds, outside the timed part.
fn rate(
    budget: Duration,
    bar: &ProgressBar,
    mut f: impl FnMut() -> Option<i64>,
) -> anyhow::Result<f64> {
    let budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
    let base = bar.position();
    let started = Instant::now();
    let mut best = 0f64;
    let mut sink = 0i64;
    let mut failed = 0u32;
    while started.elapsed() < budget {
        let round = Instant::now();
        for _ in 0..ROUND {
            match f() {
                Some(ms) => sink = sink.wrapping_add(ms),
                None => failed += 1,
            }
        }
        best = best.max(f64::from(ROUND) / round.elapsed().as_secs_f64());
        let done = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        bar.set_position(base + done.min(budget_ms));
    }
    black_box(sink);
    ensure!(failed == 0, "{failed} parses failed during the run");
    Ok(best)
}

/// Measures jiff's RFC 3339 parser, then the seed's pattern, then RFC 822's.
pub fn run(options: &DatesOptions, bar: &ProgressBar) -> anyhow::Result<Vec<Figure>> {
    let budget = options.budget;
    let gmt = Zone::parse("GMT").context("the GMT zone")?;
    let seed = DatePattern::compile(SEED).context("the seed's pattern")?;
    let rfc822 = DatePattern::compile(RFC822).context("the RFC 822 pattern")?;
    let seed_input = "2026-11-28T10:00:00.123Z";
    let rfc822_input = "Sat, 28 Nov 2026 10:00:00 -0800";
    ensure!(
        seed.parse(seed_input, &gmt) == Ok(1_795_860_000_123),
        "{SEED} read {seed_input} wrong"
    );
    ensure!(
        rfc822.parse(rfc822_input, &gmt) == Ok(1_795_888_800_000),
        "{RFC822} read {rfc822_input} wrong"
    );
    ensure!(
        "2026-11-28T10:00:00.123Z"
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .ok()
            == Some(1_795_860_000_123),
        "jiff read 2026-11-28T10:00:00.123Z wrong"
    );

    let budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
    step(
        bar,
        "jiff RFC 3339, then our two patterns (ms of budget)",
        budget_ms.saturating_mul(3),
    );
    let baseline = rate(budget, bar, || {
        black_box(black_box("2026-11-28T10:00:00.123Z").parse::<jiff::Timestamp>())
            .ok()
            .map(|t| t.as_millisecond())
    })?;
    bar.set_position(budget_ms);
    let seed_rate = rate(budget, bar, || {
        seed.parse(black_box(seed_input), black_box(&gmt)).ok()
    })?;
    bar.set_position(budget_ms.saturating_mul(2));
    let rfc822_rate = rate(budget, bar, || {
        rfc822.parse(black_box(rfc822_input), black_box(&gmt)).ok()
    })?;

    let ceiling_name = "jiff's RFC 3339 parser (\"2026-11-28T10:00:00.123Z\"), same run";
    let figure = |pattern: &str, input: &str, ours: f64| {
        // The ratio is our time per parse over jiff's: the goal reads "at most 1.5".
        let mut figure = Figure::against(
            format!("dates: parses/s, pattern {pattern}"),
            ours,
            "parses/s",
            ceiling_name,
            baseline,
            "jiff's time per parse",
            true,
            format!(
                "ratio = jiff's parses/s / ours: our time per parse in jiff's (the goal: at \
                 most 1.5); {input:?} in GMT; the best of {}-parse rounds over {} ms each",
                count(ROUND as usize),
                budget.as_millis()
            ),
        );
        figure.ratio = baseline / ours;
        figure
    };
    Ok(vec![
        figure(SEED, seed_input, seed_rate),
        figure(RFC822, rfc822_input, rfc822_rate),
    ])
}
