//! `FORMAT.md` against the code: its sketches stay valid definitions as the format changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tributary_elements::registry::parse_definition;

#[test]
fn the_format_sketches_are_valid_definitions() {
    let text = include_str!("../FORMAT.md");
    let sketches: Vec<&str> = text
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    // Salesforce was the third; it ships now (definitions/sfdc.toml, checked as a built-in).
    assert_eq!(sketches.len(), 2, "HubSpot, QuickBooks Online");
    for (i, sketch) in sketches.iter().enumerate() {
        let element =
            parse_definition(&format!("sketch {i}"), sketch).unwrap_or_else(|e| panic!("{e}"));
        assert!(!element.resources.is_empty());
    }
}
