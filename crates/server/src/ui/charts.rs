//! The plots of the home and instance pages, from [`RecentActivity`]: events per resource,
//! delivery outcomes, delivery latency. Each becomes a [`Figure`] (the SVG, its legend and its
//! numbers as a table) that `plots.html` renders.

use super::plot::{self, Marker, Plot, Series, Table, Unit};
use crate::services::activity::{HOURS, RecentActivity};

/// Colours for resources, from the stylesheet's colour-blind-safe palette; past the last,
/// resources share one "other" series.
const RESOURCE_CLASSES: [&str; 7] = [
    "series-0", "series-1", "series-2", "series-3", "series-4", "series-5", "series-6",
];

/// One plot as the page shows it.
#[derive(Debug)]
pub(super) struct Figure {
    pub id: String,
    pub title: String,
    /// One line under the title: what is counted.
    pub note: String,
    pub svg: String,
    pub legend: Vec<LegendItem>,
    pub table: Table,
}

/// A legend entry: the mark's look, its name, and its total or range.
#[derive(Debug)]
pub(super) struct LegendItem {
    pub label: String,
    pub class: &'static str,
    /// `line-circle` or `line-square` for a line's mark; empty for a bar's swatch.
    pub shape: &'static str,
    pub figure: String,
}

/// The three plots of an instance's (or the organization's) last two days. `prefix` keeps the
/// drawings' ids unique on the page; `whose` names the scope in the descriptions.
pub(super) fn figures(activity: &RecentActivity, prefix: &str, whose: &str) -> Vec<Figure> {
    vec![
        events_figure(activity, prefix, whose),
        outcomes_figure(activity, prefix, whose),
        latency_figure(activity, prefix, whose),
    ]
}

/// The key figures over the whole stretch, as the stat tiles show them.
#[derive(Debug)]
pub(super) struct Totals {
    pub events: i64,
    pub delivered: i64,
    pub failed: i64,
    pub retrying: i64,
    pub p50: String,
    pub p99: String,
}

pub(super) fn totals(activity: &RecentActivity) -> Totals {
    let sum = |values: &[i64]| values.iter().sum::<i64>();
    let duration = |ms: Option<i64>| match ms {
        Some(ms) => plot::format_value(Unit::Millis, ms as f64),
        None => "–".into(),
    };
    Totals {
        events: activity.events.iter().map(|(_, v)| sum(v)).sum(),
        delivered: sum(&activity.outcomes.delivered),
        failed: sum(&activity.outcomes.failed),
        retrying: sum(&activity.outcomes.retrying),
        p50: duration(activity.overall_p50_ms),
        p99: duration(activity.overall_p99_ms),
    }
}

fn counts(values: &[i64]) -> Vec<Option<f64>> {
    values.iter().map(|v| Some(*v as f64)).collect()
}

fn base(activity: &RecentActivity, id: String, title: &str, summary: String) -> Plot {
    Plot {
        id,
        title: title.to_owned(),
        summary,
        empty: String::new(),
        starts: activity.hours(),
        step_ms: activity.bucket_ms,
        unit: Unit::Count,
        series: Vec::new(),
    }
}

fn legend_for_counts(plot: &Plot) -> Vec<LegendItem> {
    plot.series
        .iter()
        .map(|s| LegendItem {
            label: s.label.clone(),
            class: s.class,
            shape: "",
            figure: plot::format_value(Unit::Count, s.values.iter().flatten().sum()),
        })
        .collect()
}

fn figure(plot: Plot, note: &str, svg: String, legend: Vec<LegendItem>) -> Figure {
    Figure {
        id: plot.id.clone(),
        title: plot.title.clone(),
        note: note.to_owned(),
        table: plot::table(&plot),
        svg,
        legend,
    }
}

fn events_figure(activity: &RecentActivity, prefix: &str, whose: &str) -> Figure {
    let mut plot = base(
        activity,
        format!("{prefix}-events"),
        "Events per resource",
        format!("Events {whose} stored per hour and resource over the last {HOURS} hours, UTC"),
    );
    plot.empty = format!("No events in the last {HOURS} hours");
    // The busiest resources get their own colour; the rest are summed as "other".
    let mut resources: Vec<&(String, Vec<i64>)> = activity.events.iter().collect();
    resources.sort_by_key(|(name, values)| (-values.iter().sum::<i64>(), name.clone()));
    let (own, rest) = resources.split_at(resources.len().min(RESOURCE_CLASSES.len()));
    for ((name, values), class) in own.iter().map(|r| (&r.0, &r.1)).zip(RESOURCE_CLASSES) {
        plot.series.push(Series {
            label: name.clone(),
            class,
            hatched: false,
            marker: Marker::Circle,
            values: counts(values),
        });
    }
    if !rest.is_empty() {
        let mut other = vec![0; HOURS];
        for (_, values) in rest {
            for (sum, v) in other.iter_mut().zip(values) {
                *sum += v;
            }
        }
        plot.series.push(Series {
            label: format!("{} other resources", rest.len()),
            class: "series-other",
            hatched: false,
            marker: Marker::Circle,
            values: counts(&other),
        });
    }
    let legend = legend_for_counts(&plot);
    let svg = plot::bars(&plot);
    figure(plot, "Stored per hour, by resource", svg, legend)
}

fn outcomes_figure(activity: &RecentActivity, prefix: &str, whose: &str) -> Figure {
    let mut plot = base(
        activity,
        format!("{prefix}-outcomes"),
        "Delivery outcomes",
        format!(
            "Notifications {whose} made per hour over the last {HOURS} hours, UTC, by where \
             they stand now"
        ),
    );
    plot.empty = format!("No notifications in the last {HOURS} hours");
    let o = &activity.outcomes;
    for (label, class, hatched, values) in [
        ("delivered", "ok", false, &o.delivered),
        ("waiting", "idle", false, &o.waiting),
        ("retrying", "warn", true, &o.retrying),
        ("failed", "bad", true, &o.failed),
    ] {
        plot.series.push(Series {
            label: label.into(),
            class,
            hatched,
            marker: Marker::Circle,
            values: counts(values),
        });
    }
    let legend = legend_for_counts(&plot);
    let svg = plot::bars(&plot);
    figure(plot, "Made per hour, by where they stand now", svg, legend)
}

fn latency_figure(activity: &RecentActivity, prefix: &str, whose: &str) -> Figure {
    let mut plot = base(
        activity,
        format!("{prefix}-latency"),
        "Delivery latency",
        format!(
            "Time {whose} from the poll that found a change to its delivery, median (p50) and \
             99th percentile (p99) per hour over the last {HOURS} hours, UTC"
        ),
    );
    plot.unit = Unit::Millis;
    plot.empty = format!("No deliveries in the last {HOURS} hours");
    let ms = |values: &[Option<i64>]| values.iter().map(|v| v.map(|v| v as f64)).collect();
    plot.series = vec![
        Series {
            label: "p50".into(),
            class: "series-0",
            hatched: false,
            marker: Marker::Circle,
            values: ms(&activity.p50_ms),
        },
        Series {
            label: "p99".into(),
            class: "series-1",
            hatched: false,
            marker: Marker::Square,
            values: ms(&activity.p99_ms),
        },
    ];
    let legend = plot
        .series
        .iter()
        .map(|s| {
            let measured: Vec<f64> = s.values.iter().flatten().copied().collect();
            let figure = match measured.iter().copied().reduce(f64::max) {
                Some(high) => format!("up to {}", plot::format_value(Unit::Millis, high)),
                None => "none".into(),
            };
            LegendItem {
                label: s.label.clone(),
                class: s.class,
                shape: match s.marker {
                    Marker::Circle => "line-circle",
                    Marker::Square => "line-square",
                },
                figure,
            }
        })
        .collect();
    let svg = plot::lines(&plot);
    let deliveries: i64 = activity.deliveries.iter().sum();
    let note = format!(
        "Poll to receiver's 2xx, per hour · {deliveries} deliver{}",
        if deliveries == 1 { "y" } else { "ies" }
    );
    figure(plot, &note, svg, legend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::activity::{HOUR_MS, Outcomes};

    fn activity(resources: usize) -> RecentActivity {
        let mut p50 = vec![None; HOURS];
        p50[47] = Some(1_200);
        RecentActivity {
            from_ms: 1_795_910_400_000,
            bucket_ms: HOUR_MS,
            events: (0..resources)
                .map(|i| (format!("r{i}"), vec![i as i64 + 1; HOURS]))
                .collect(),
            outcomes: Outcomes {
                delivered: vec![1; HOURS],
                retrying: vec![0; HOURS],
                failed: vec![0; HOURS],
                waiting: vec![0; HOURS],
            },
            deliveries: vec![1; HOURS],
            p50_ms: p50,
            p99_ms: vec![None; HOURS],
            overall_p50_ms: Some(1_200),
            overall_p99_ms: None,
        }
    }

    #[test]
    fn the_busiest_resources_get_colours_and_the_rest_are_summed() {
        let figures = figures(&activity(9), "home", "of your instances");
        let events = &figures[0];
        assert_eq!(events.legend.len(), 8);
        assert_eq!(events.legend[0].label, "r8");
        assert_eq!(events.legend[7].label, "2 other resources");
        // r0 and r1: 1 + 2 events an hour.
        assert_eq!(events.legend[7].figure, "144");
        assert_eq!(events.id, "home-events");
    }

    #[test]
    fn latency_without_deliveries_says_none_and_outcomes_keep_their_order() {
        let figures = figures(&activity(1), "i1", "of this instance");
        let labels: Vec<&str> = figures[1].legend.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["delivered", "waiting", "retrying", "failed"]);
        assert_eq!(figures[1].legend[3].class, "bad");
        assert_eq!(figures[2].legend[0].figure, "up to 1.2 s");
        assert_eq!(figures[2].legend[1].figure, "none");
        assert_eq!(figures[2].legend[1].shape, "line-square");
    }
}
