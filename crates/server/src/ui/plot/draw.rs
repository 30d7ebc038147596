//! The marks: the frame (axes, ticks, the drawing's title and description), stacked bars
//! and lines.

use std::fmt::Write;

use super::{
    Marker, Plot, Series, Unit, count_ticks, describe, duration_ticks, escape, format_value,
    hour_label, time_ticks,
};

/// The drawing's size in SVG units; the page scales it to its column's width.
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 170.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

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
