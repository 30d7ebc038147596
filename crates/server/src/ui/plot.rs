//! Plots drawn on the server as SVG: stacked bars of counts and lines of durations over equal
//! steps of time. No script and no chart library reach the browser; the page's stylesheet
//! colours the marks through classes (so dark mode and the strict CSP both hold), and every
//! plot carries its own text: a `<title>` and a `<desc>` for assistive technology, a tooltip
//! per mark, and [`table`] for the numbers as a table beside it.
//!
//! Everything here is a pure function of a [`Plot`]: the scales and ticks ([`count_ticks`],
//! [`duration_ticks`], [`time_ticks`]), the marks ([`bars`], [`lines`]) and the words
//! ([`describe`], [`table`]).

use std::fmt::Write;

/// The drawing's size in SVG units; the page scales it to its column's width.
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 170.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

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

/// The value axis' ticks of a plot whose largest value (or stacked total) is `max`.
fn value_ticks(unit: Unit, max: f64) -> Vec<f64> {
    match unit {
        Unit::Count => count_ticks(max, 4),
        Unit::Millis => duration_ticks(max, 4),
    }
}

/// Where things go in the drawing.
struct Frame {
    steps: usize,
    top_value: f64,
}

impl Frame {
    fn step_width(&self) -> f64 {
        (WIDTH - LEFT - RIGHT) / self.steps.max(1) as f64
    }

    fn x(&self, step: usize) -> f64 {
        LEFT + step as f64 * self.step_width()
    }

    fn y(&self, value: f64) -> f64 {
        let height = HEIGHT - TOP - BOTTOM;
        if self.top_value <= 0.0 {
            return HEIGHT - BOTTOM;
        }
        HEIGHT - BOTTOM - (value / self.top_value).clamp(0.0, 1.0) * height
    }
}

/// The drawing's opening, its title and description, and the axes with their ticks.
fn open(plot: &Plot, ticks: &[f64], frame: &Frame, out: &mut String) {
    let id = escape(&plot.id);
    let _ = write!(
        out,
        "<svg class=\"plot\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" focusable=\"false\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(&plot.title),
        escape(&describe(plot)),
    );
    let hatched: Vec<&Series> = plot.series.iter().filter(|s| s.hatched).collect();
    if !hatched.is_empty() {
        out.push_str("<defs>");
        for series in hatched {
            // A flat fill of the series' colour crossed by lines in the page's ink: the bars
            // read as different without their colour.
            let _ = write!(
                out,
                "<pattern id=\"{id}-{class}\" width=\"4\" height=\"4\" \
                 patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
                 <rect class=\"{class}\" width=\"4\" height=\"4\"/>\
                 <line class=\"hatch\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\"/></pattern>",
                class = series.class
            );
        }
        out.push_str("</defs>");
    }
    out.push_str("<g class=\"axis\">");
    for tick in ticks {
        let y = frame.y(*tick);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 5.0,
            y + 3.5,
            escape(&format_value(plot.unit, *tick))
        );
    }
    for (step, label) in time_ticks(&plot.starts, 12 * 3_600_000) {
        let x = frame.x(step);
        let _ = write!(
            out,
            "<line class=\"tick-mark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{}\" y2=\"{}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 4.0,
            HEIGHT - 6.0,
            escape(&label)
        );
    }
    let _ = write!(
        out,
        "<line class=\"baseline\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/></g>",
        WIDTH - RIGHT,
        y = HEIGHT - BOTTOM
    );
}

/// The drawing's end: the "nothing to show" words when there is nothing.
fn close(plot: &Plot, out: &mut String) {
    if plot.is_empty() {
        let _ = write!(
            out,
            "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
            escape(&plot.empty)
        );
    }
    out.push_str("</svg>");
}

/// Stacked bars: one bar per step, one segment per series in order (the first at the bottom).
/// A segment is at least one unit tall, so that a single event shows.
pub fn bars(plot: &Plot) -> String {
    let steps = plot.steps();
    let totals: Vec<f64> = (0..steps)
        .map(|step| {
            (0..plot.series.len())
                .filter_map(|s| plot.value(s, step))
                .sum()
        })
        .collect();
    let ticks = value_ticks(plot.unit, totals.iter().copied().fold(0.0, f64::max));
    let frame = Frame {
        steps,
        top_value: ticks.last().copied().unwrap_or(0.0),
    };
    let mut out = String::new();
    open(plot, &ticks, &frame, &mut out);
    let width = (frame.step_width() * 0.78).max(1.0);
    let inset = (frame.step_width() - width) / 2.0;
    out.push_str("<g class=\"marks\">");
    for step in 0..steps {
        let mut below = 0.0;
        for (s, series) in plot.series.iter().enumerate() {
            let Some(value) = plot.value(s, step).filter(|v| *v > 0.0) else {
                continue;
            };
            let bottom = frame.y(below);
            let top = frame.y(below + value).min(bottom - 1.0);
            below += value;
            let fill = if series.hatched {
                format!(" fill=\"url(#{}-{})\"", escape(&plot.id), series.class)
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<rect class=\"{}{}\"{fill} x=\"{:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" \
                 height=\"{:.1}\"><title>{}: {} {}</title></rect>",
                series.class,
                if series.hatched { " hatched" } else { "" },
                frame.x(step) + inset,
                bottom - top,
                escape(&hour_label(plot.starts[step])),
                escape(&format_value(plot.unit, value)),
                escape(&series.label),
            );
        }
    }
    out.push_str("</g>");
    close(plot, &mut out);
    out
}

/// Lines through each step's value, broken where a step has none; each point marked with its
/// series' shape, so that a lone point between gaps shows too.
pub fn lines(plot: &Plot) -> String {
    let steps = plot.steps();
    let max = plot
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .fold(0.0, f64::max);
    let ticks = value_ticks(plot.unit, max);
    let frame = Frame {
        steps,
        top_value: ticks.last().copied().unwrap_or(0.0),
    };
    let mut out = String::new();
    open(plot, &ticks, &frame, &mut out);
    out.push_str("<g class=\"marks\">");
    for (s, series) in plot.series.iter().enumerate() {
        let centre = |step: usize| frame.x(step) + frame.step_width() / 2.0;
        let mut path = String::new();
        let mut previous = false;
        for step in 0..steps {
            match plot.value(s, step) {
                Some(value) => {
                    let command = if previous { 'L' } else { 'M' };
                    let _ = write!(path, "{command}{:.1} {:.1} ", centre(step), frame.y(value));
                    previous = true;
                }
                None => previous = false,
            }
        }
        if path.contains('L') {
            let _ = write!(
                out,
                "<path class=\"line {}\" d=\"{}\"/>",
                series.class,
                path.trim_end()
            );
        }
        for step in 0..steps {
            let Some(value) = plot.value(s, step) else {
                continue;
            };
            let (x, y) = (centre(step), frame.y(value));
            let tip = format!(
                "<title>{}: {} {}</title>",
                escape(&hour_label(plot.starts[step])),
                escape(&series.label),
                escape(&format_value(plot.unit, value))
            );
            let _ = match series.marker {
                Marker::Circle => write!(
                    out,
                    "<circle class=\"point {}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.6\">{tip}</circle>",
                    series.class
                ),
                Marker::Square => write!(
                    out,
                    "<rect class=\"point {}\" x=\"{:.1}\" y=\"{:.1}\" width=\"5\" height=\"5\">{tip}</rect>",
                    series.class,
                    x - 2.5,
                    y - 2.5
                ),
            };
        }
    }
    out.push_str("</g>");
    close(plot, &mut out);
    out
}

/// The plot in words: its summary, then each series' total (counts) or range (durations), or
/// that there was nothing.
pub fn describe(plot: &Plot) -> String {
    let mut text = plot.summary.trim_end_matches('.').to_owned();
    text.push('.');
    if plot.is_empty() {
        text.push(' ');
        text.push_str(plot.empty.trim_end_matches('.'));
        text.push('.');
        return text;
    }
    for series in &plot.series {
        let measured: Vec<(usize, f64)> = series
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        let Some(&(peak_at, peak)) = measured
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        else {
            let _ = write!(text, " {}: none.", series.label);
            continue;
        };
        let when = plot.starts.get(peak_at).map(|s| hour_label(*s));
        match plot.unit {
            Unit::Count => {
                let total: f64 = measured.iter().map(|(_, v)| v).sum();
                let _ = write!(
                    text,
                    " {}: {} in all",
                    series.label,
                    format_value(plot.unit, total)
                );
                if total > 0.0 {
                    let _ = write!(
                        text,
                        ", most in the hour from {} ({})",
                        when.unwrap_or_default(),
                        format_value(plot.unit, peak)
                    );
                }
                text.push('.');
            }
            Unit::Millis => {
                let low = measured.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
                let _ = write!(
                    text,
                    " {}: from {} to {} (highest in the hour from {}), measured in {} of {} hours.",
                    series.label,
                    format_value(plot.unit, low),
                    format_value(plot.unit, peak),
                    when.unwrap_or_default(),
                    measured.len(),
                    plot.steps()
                );
            }
        }
    }
    text
}

/// The numbers of a plot as a table: one row per step with something in it (empty steps are
/// left out, and said so in the caption).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub caption: String,
    pub head: Vec<String>,
    /// The step's label, then one cell per series (`–` where nothing was measured).
    pub rows: Vec<(String, Vec<String>)>,
}

pub fn table(plot: &Plot) -> Table {
    let rows: Vec<(String, Vec<String>)> = (0..plot.steps())
        .filter(|step| {
            (0..plot.series.len()).any(|s| plot.value(s, *step).is_some_and(|v| v > 0.0))
        })
        .map(|step| {
            let cells = (0..plot.series.len())
                .map(|s| match plot.value(s, step) {
                    Some(value) => format_value(plot.unit, value),
                    None => "–".into(),
                })
                .collect();
            (hour_label(plot.starts[step]), cells)
        })
        .collect();
    let caption = format!(
        "{}: {} of {} hours had any; the others are left out.",
        plot.title,
        rows.len(),
        plot.steps()
    );
    let mut head = vec!["Hour from".to_owned()];
    head.extend(plot.series.iter().map(|s| s.label.clone()));
    Table {
        caption,
        head,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 29 Nov 2026 00:00 UTC.
    const MIDNIGHT: i64 = 1_795_910_400_000;
    const HOUR: i64 = 3_600_000;

    fn plot(unit: Unit, series: Vec<Vec<Option<f64>>>) -> Plot {
        let steps = series.first().map_or(0, Vec::len);
        Plot {
            id: "p".into(),
            title: "Events <per> resource".into(),
            summary: "Events over the last hours".into(),
            empty: "No events".into(),
            starts: (0..steps as i64).map(|i| MIDNIGHT + i * HOUR).collect(),
            step_ms: HOUR,
            unit,
            series: series
                .into_iter()
                .enumerate()
                .map(|(i, values)| Series {
                    label: format!("s{i}"),
                    class: if i == 0 { "series-0" } else { "bad" },
                    hatched: i == 1,
                    marker: if i == 0 {
                        Marker::Circle
                    } else {
                        Marker::Square
                    },
                    values,
                })
                .collect(),
        }
    }

    #[test]
    fn count_ticks_are_whole_round_steps_from_zero_past_the_largest_value() {
        assert_eq!(count_ticks(0.0, 4), [0.0]);
        assert_eq!(count_ticks(1.0, 4), [0.0, 1.0]);
        assert_eq!(count_ticks(3.0, 4), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(count_ticks(7.0, 4), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(count_ticks(18.0, 4), [0.0, 5.0, 10.0, 15.0, 20.0]);
        assert_eq!(count_ticks(1234.0, 4), [0.0, 500.0, 1000.0, 1500.0]);
        assert_eq!(count_ticks(f64::NAN, 4), [0.0]);
    }

    #[test]
    fn duration_ticks_are_round_in_their_own_unit() {
        assert_eq!(duration_ticks(0.0, 4), [0.0]);
        assert_eq!(duration_ticks(750.0, 4), [0.0, 200.0, 400.0, 600.0, 800.0]);
        assert_eq!(duration_ticks(50_000.0, 4), [0.0, 15e3, 3e4, 45e3, 6e4]);
        assert_eq!(
            duration_ticks(4.0 * 3_600_000.0, 4),
            [0.0, 36e5, 72e5, 108e5, 144e5]
        );
        let labels: Vec<String> = duration_ticks(50_000.0, 4)
            .into_iter()
            .map(|t| format_value(Unit::Millis, t))
            .collect();
        assert_eq!(labels, ["0", "15 s", "30 s", "45 s", "1 min"]);
    }

    #[test]
    fn values_are_labelled_in_their_unit() {
        assert_eq!(format_value(Unit::Count, 7.0), "7");
        assert_eq!(format_value(Unit::Count, 12_000.0), "12k");
        assert_eq!(format_value(Unit::Count, 12_345.0), "12.3k");
        assert_eq!(format_value(Unit::Millis, 0.0), "0");
        assert_eq!(format_value(Unit::Millis, 395.4), "395 ms");
        assert_eq!(format_value(Unit::Millis, 1_500.0), "1.5 s");
        assert_eq!(format_value(Unit::Millis, 180_000.0), "3 min");
        assert_eq!(format_value(Unit::Millis, 5_400_000.0), "1.5 h");
    }

    #[test]
    fn the_time_axis_ticks_every_twelve_hours_naming_the_day_at_midnight() {
        let starts: Vec<i64> = (0..48).map(|i| MIDNIGHT - 6 * HOUR + i * HOUR).collect();
        assert_eq!(
            time_ticks(&starts, 12 * HOUR),
            [
                (6, "29 Nov".to_owned()),
                (18, "12:00".to_owned()),
                (30, "30 Nov".to_owned()),
                (42, "12:00".to_owned()),
            ]
        );
        assert!(time_ticks(&starts, 0).is_empty());
    }

    #[test]
    fn an_empty_plot_says_so_inside_and_in_its_description() {
        let empty = plot(Unit::Count, vec![vec![Some(0.0), None, Some(0.0)]]);
        let svg = bars(&empty);
        assert!(svg.contains("class=\"empty\""), "{svg}");
        assert!(svg.contains(">No events</text>"), "{svg}");
        assert!(!svg.contains("<rect class=\"series-0"), "no bar: {svg}");
        assert_eq!(describe(&empty), "Events over the last hours. No events.");
        assert!(table(&empty).rows.is_empty());
        let no_steps = plot(Unit::Millis, vec![vec![]]);
        assert!(lines(&no_steps).ends_with("</svg>"));
    }

    #[test]
    fn a_plot_is_labelled_for_assistive_technology_and_escapes_its_text() {
        let svg = bars(&plot(Unit::Count, vec![vec![Some(1.0)]]));
        assert!(svg.starts_with("<svg class=\"plot\""), "{svg}");
        assert!(
            svg.contains("role=\"img\" aria-labelledby=\"p-title p-desc\""),
            "{svg}"
        );
        assert!(
            svg.contains("<title id=\"p-title\">Events &lt;per&gt; resource</title>"),
            "{svg}"
        );
        assert!(svg.contains("<desc id=\"p-desc\">"), "{svg}");
        assert!(!svg.contains("<per>"), "{svg}");
        assert!(!svg.contains("style="), "CSP: no inline styles: {svg}");
    }

    #[test]
    fn bars_stack_in_series_order_and_one_event_still_shows() {
        let p = plot(
            Unit::Count,
            vec![vec![Some(3.0), Some(1.0)], vec![Some(1.0), None]],
        );
        let svg = bars(&p);
        // Ticks 0..4 for the stacked total of 4; the first bar's lower segment is 3 of 4.
        assert!(svg.contains(">4</text>"), "{svg}");
        assert_eq!(svg.matches("<rect class=\"series-0\"").count(), 2, "{svg}");
        assert_eq!(
            svg.matches("<rect class=\"bad hatched\"").count(),
            1,
            "{svg}"
        );
        assert!(svg.contains("fill=\"url(#p-bad)\""), "{svg}");
        assert!(svg.contains("<pattern id=\"p-bad\""), "{svg}");
        assert!(
            svg.contains("<title>29 Nov 00:00 UTC: 3 s0</title>"),
            "{svg}"
        );
        // A value of 1 in 4 ticks' worth of height is still at least one unit tall.
        let heights: Vec<f64> = svg
            .split("height=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .filter(|h: &f64| *h < 100.0)
            .collect();
        assert!(heights.iter().all(|h| *h >= 1.0), "{heights:?}");
    }

    #[test]
    fn lines_break_at_gaps_and_a_lone_point_is_marked() {
        let p = plot(
            Unit::Millis,
            vec![
                vec![Some(100.0), Some(200.0), None, Some(300.0), Some(400.0)],
                vec![None, None, Some(900.0), None, None],
            ],
        );
        let svg = lines(&p);
        let first = svg
            .split("<path class=\"line series-0\" d=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        assert_eq!(first.matches('M').count(), 2, "two runs: {first}");
        assert_eq!(first.matches('L').count(), 2, "{first}");
        // The lone point has no line, only its mark.
        assert!(!svg.contains("<path class=\"line bad\""), "{svg}");
        assert_eq!(svg.matches("<rect class=\"point bad\"").count(), 1, "{svg}");
        assert_eq!(svg.matches("<circle class=\"point series-0\"").count(), 4);
        assert!(svg.contains(">1 s</text>"), "ticks to 1 s: {svg}");
    }

    #[test]
    fn one_point_makes_a_plot_with_a_mark_and_a_table_row() {
        let p = plot(Unit::Millis, vec![vec![None, Some(1_500.0), None]]);
        let svg = lines(&p);
        assert_eq!(svg.matches("class=\"point series-0\"").count(), 1, "{svg}");
        assert!(!svg.contains("<path"), "{svg}");
        let t = table(&p);
        assert_eq!(t.head, ["Hour from", "s0"]);
        assert_eq!(
            t.rows,
            [("29 Nov 01:00 UTC".to_owned(), vec!["1.5 s".to_owned()])]
        );
        assert!(t.caption.contains("1 of 3 hours"), "{}", t.caption);
        assert_eq!(
            describe(&p),
            "Events over the last hours. s0: from 1.5 s to 1.5 s (highest in the hour from \
             29 Nov 01:00 UTC), measured in 1 of 3 hours."
        );
    }

    #[test]
    fn a_description_totals_each_series_and_names_its_busiest_hour() {
        let p = plot(
            Unit::Count,
            vec![
                vec![Some(2.0), Some(5.0), Some(5.0)],
                vec![None, None, None],
            ],
        );
        assert_eq!(
            describe(&p),
            "Events over the last hours. s0: 12 in all, most in the hour from 29 Nov 01:00 UTC \
             (5). s1: none."
        );
    }
}
