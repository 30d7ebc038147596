//! Plots drawn on the server as SVG: stacked bars of counts and lines of durations over equal
//! steps of time. No script and no chart library reach the browser; the page's stylesheet
//! colours the marks through classes (so dark mode and the strict CSP both hold), and every
//! plot carries its own text: a `<title>` and a `<desc>` for assistive technology, a tooltip
//! per mark, and [`table`] for the numbers as a table beside it.
//!
//! Everything here is a pure function of a [`Plot`]: the scales and ticks ([`count_ticks`],
//! [`duration_ticks`], [`time_ticks`]), the marks ([`bars`], [`lines`]) and the words
//! ([`describe`], [`table`]).

mod draw;
#[cfg(test)]
mod tests;
mod words;

pub use draw::{bars, lines};
pub use words::{Table, describe, table};

/// What the values of a plot measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Things counted (events, notifications).
    Count,
    /// Milliseconds.
    Millis,
}

/// How a line's points are marked, so that two lines differ in shape as well as colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
}

/// One series: a value per step (`None`: nothing measured then, drawn as a gap).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    /// The stylesheet's class for its colour (`series-0`, `ok`, `bad`…).
    pub class: &'static str,
    /// Bars filled with the class's hatching rather than flat (the failed and the retrying,
    /// so they read without colour).
    pub hatched: bool,
    pub marker: Marker,
    pub values: Vec<Option<f64>>,
}

/// A plot over equal steps of time.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Unique on the page: prefixes the ids inside the drawing.
    pub id: String,
    pub title: String,
    /// The first sentence of the description (what is plotted, over which time).
    pub summary: String,
    /// What the plot says when it has nothing to show.
    pub empty: String,
    /// The start of each step (epoch ms).
    pub starts: Vec<i64>,
    pub step_ms: i64,
    pub unit: Unit,
    pub series: Vec<Series>,
}

impl Plot {
    fn steps(&self) -> usize {
        self.starts.len()
    }

    /// Whether any series has a value above zero.
    pub fn is_empty(&self) -> bool {
        !self
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .any(|v| *v > 0.0)
    }

    fn value(&self, series: usize, step: usize) -> Option<f64> {
        self.series[series].values.get(step).copied().flatten()
    }
}

/// Text as SVG and HTML read it.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Ticks for counts up to `max`: whole numbers from 0 in steps of 1, 2 or 5 times a power of
/// ten, at most `target` steps, the last at or above `max`. Nothing to count: just 0.
pub fn count_ticks(max: f64, target: usize) -> Vec<f64> {
    if max.is_nan() || max <= 0.0 {
        return vec![0.0];
    }
    let target = target.max(1) as f64;
    let mut power = 1.0;
    let step = loop {
        if let Some(step) = [1.0, 2.0, 5.0]
            .iter()
            .map(|m| m * power)
            .find(|step| max / step <= target)
        {
            break step;
        }
        power *= 10.0;
    };
    ticks_to(max, step)
}

/// Durations' steps, in milliseconds: each a round number in its own unit.
const DURATION_STEPS: [f64; 26] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4,
    3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5,
];

/// Ticks for durations up to `max` ms, each a round number of its unit (`2 s`, `5 min`),
/// at most `target` steps where the steps allow.
pub fn duration_ticks(max: f64, target: usize) -> Vec<f64> {
    if max.is_nan() || max <= 0.0 {
        return vec![0.0];
    }
    let target = target.max(1) as f64;
    let step = DURATION_STEPS
        .iter()
        .copied()
        .find(|step| max / step <= target)
        .unwrap_or_else(|| (max / target / 432e5).ceil() * 432e5);
    ticks_to(max, step)
}

fn ticks_to(max: f64, step: f64) -> Vec<f64> {
    let steps = (max / step).ceil().max(1.0) as usize;
    (0..=steps).map(|i| i as f64 * step).collect()
}

/// A value as a label: counts in full below ten thousand (`1.2k` above), durations in the
/// largest unit that keeps a number of at least 1 (`750 ms`, `1.5 s`, `3 min`, `2 h`).
pub fn format_value(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Count if value.abs() >= 10_000.0 => trim(format!("{:.1}k", value / 1_000.0)),
        Unit::Count => format!("{}", value.round() as i64),
        Unit::Millis => {
            let (amount, name) = if value.abs() >= 3_600_000.0 {
                (value / 3_600_000.0, "h")
            } else if value.abs() >= 60_000.0 {
                (value / 60_000.0, "min")
            } else if value.abs() >= 1_000.0 {
                (value / 1_000.0, "s")
            } else {
                (value, "ms")
            };
            if value == 0.0 {
                "0".into()
            } else if name == "ms" {
                format!("{} ms", amount.round() as i64)
            } else {
                format!("{} {name}", trim(format!("{amount:.1}")))
            }
        }
    }
}

/// `1.0` as `1`, `1.5` as `1.5` (a trailing `.0` says nothing).
fn trim(text: String) -> String {
    match text.strip_suffix(".0") {
        Some(whole) => whole.to_owned(),
        None => text.replace(".0k", "k"),
    }
}

/// An instant as the plots label it, in UTC: `14:00`, or the day at midnight (`29 Nov`).
pub fn clock_label(ms: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
        return String::new();
    };
    // A timestamp formats in UTC.
    if ms.rem_euclid(86_400_000) == 0 {
        at.strftime("%-d %b").to_string()
    } else {
        at.strftime("%H:%M").to_string()
    }
}

/// An hour as the tables and tooltips name it: `29 Nov 14:00 UTC`.
pub fn hour_label(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%-d %b %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The steps that start on a multiple of `every_ms` (UTC), with their labels: where the time
/// axis has its ticks.
pub fn time_ticks(starts: &[i64], every_ms: i64) -> Vec<(usize, String)> {
    if every_ms <= 0 {
        return Vec::new();
    }
    starts
        .iter()
        .enumerate()
        .filter(|(_, start)| start.rem_euclid(every_ms) == 0)
        .map(|(i, start)| (i, clock_label(*start)))
        .collect()
}
