//! The plots' pure functions, case by case.

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
