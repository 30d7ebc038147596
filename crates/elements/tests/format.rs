//! `FORMAT.md` against the code: its TOML examples stay valid as the format changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tributary_elements::registry::parse_definition;

#[test]
fn the_format_examples_are_valid_toml_and_whole_ones_valid_definitions() {
    let text = include_str!("../FORMAT.md");
    let examples: Vec<&str> = text
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    for (i, example) in examples.iter().enumerate() {
        let table: toml::Table = toml::from_str(example).unwrap_or_else(|e| panic!("{i}: {e}"));
        if table.contains_key("key") {
            parse_definition(&format!("example {i}"), example).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

#[test]
fn the_providers_once_sketched_ship_as_definitions() {
    // HubSpot and QuickBooks Online were sketched in FORMAT.md, Salesforce before them.
    let text = include_str!("../FORMAT.md");
    for file in ["sfdc.toml", "hubspotcrm.toml", "quickbooks.toml"] {
        assert!(text.contains(&format!("definitions/{file}")), "{file}");
    }
}
