//! The words of a plot: its description, and its numbers as a table.

use std::fmt::Write;

use super::{Plot, Unit, format_value, hour_label};

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
