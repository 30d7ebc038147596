//! A search in a JSON body (the `search` dialect, HubSpot's): its filter groups read back into
//! conditions (groups OR-ed, filters in a group AND-ed), its first sort, its page size and
//! cursor, each at the pointer the definition's body template puts it.

use serde_json::Value;

use crate::generic::data;
use crate::generic::language::{Condition, Literal};
use crate::generic::spec::Search;

/// What a search body asked.
#[derive(Debug, Default)]
pub(crate) struct Asked {
    /// OR of ANDs; empty: everything.
    pub groups: Vec<Vec<Condition>>,
    /// The record field to order by, and whether descending.
    pub sort: Option<(String, bool)>,
    pub page_size: Option<u64>,
    pub offset: Option<u64>,
}

fn number(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn record_field(search: &Search, provider: &str) -> String {
    search
        .fields
        .iter()
        .find(|(p, _)| p == provider)
        .map_or(provider, |(_, record)| record.as_str())
        .to_owned()
}

/// Reads a search body.
pub(crate) fn read(search: &Search, body: &Value) -> Result<Asked, String> {
    let at = |pointer: &Option<String>| pointer.as_deref().and_then(|p| body.pointer(p));
    let mut asked = Asked {
        page_size: number(at(&search.page_size)),
        offset: number(at(&search.cursor)).or_else(|| number(at(&search.offset))),
        ..Asked::default()
    };
    let group = |filters: &Value| -> Result<Vec<Condition>, String> {
        let Some(filters) = filters.as_array() else {
            return Err(format!("filters must be an array, got {filters}"));
        };
        filters
            .iter()
            .map(|filter| condition(search, filter))
            .collect()
    };
    if let Some(groups) = at(&search.filter_groups).and_then(Value::as_array) {
        for each in groups {
            asked
                .groups
                .push(group(each.get("filters").unwrap_or(&Value::Null))?);
        }
    } else if let Some(filters) = at(&search.filters) {
        asked.groups.push(group(filters)?);
    }
    asked.groups.retain(|g| !g.is_empty());
    if let (Some(sorts), Some(field_key)) = (
        at(&search.sorts).and_then(Value::as_array),
        &search.sort_field_key,
    ) && let Some(first) = sorts.first()
        && let Some(field) = first.get(field_key).and_then(Value::as_str)
    {
        let descending = match (&search.sort_direction_key, &search.descending) {
            (Some(key), Some(word)) => first.get(key).and_then(Value::as_str) == Some(word),
            _ => false,
        };
        asked.sort = Some((record_field(search, field), descending));
    }
    Ok(asked)
}

fn condition(search: &Search, filter: &Value) -> Result<Condition, String> {
    let field = filter
        .get(&search.field_key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a filter without {}: {filter}", search.field_key))?;
    let word = filter
        .get(&search.operator_key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a filter without {}: {filter}", search.operator_key))?;
    // An operator the definition does not map is kept as is, and not narrowed.
    let operator = search
        .operators
        .iter()
        .find(|(w, _)| w == word)
        .map_or(word, |(_, ceql)| ceql.as_str());
    let literal = match filter.get(&search.value_key) {
        None | Some(Value::Null) => Literal::Null,
        Some(value) => Literal::Bare(data::text_of(value)),
    };
    Ok(Condition {
        field: record_field(search, field),
        operator: operator.to_owned(),
        literal,
    })
}
