//! How a definition says its provider takes a translated `where`: the dialect and its words
//! (data only; [`crate::query`] does the translating).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The query dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Params,
    Where,
    Search,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Params => "params",
            Dialect::Where => "where",
            Dialect::Search => "search",
        }
    }
}

/// How a definition's provider takes a translated `where` (`FORMAT.md` lists which fields
/// each dialect reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    pub dialect: Dialect,
    /// The CEQL name standing for `<updated> >= …` (Cloud Elements' `since`).
    pub lower_alias: Option<String>,
    /// The CEQL name standing for `<updated> <= …` (Cloud Elements' `until`).
    pub upper_alias: Option<String>,
    /// How dates compared with the resource's date fields are written (a formatter name);
    /// params: unset passes the client's text as it is.
    pub date_format: Option<String>,
    /// params: the parameter naming the order field.
    pub order_parameter: Option<String>,
    /// params: the parameter naming the direction.
    pub direction_parameter: Option<String>,
    /// The word for ascending order (where: after the field; search: the direction value).
    pub ascending: Option<String>,
    /// The word for descending order (params: the direction parameter's value).
    pub descending: Option<String>,
    /// where: the character that opens and closes a string literal.
    pub string_quote: Option<String>,
    /// where: how characters inside a string literal are written (`"'" = "\\'"`).
    #[serde(default)]
    pub string_escapes: BTreeMap<String, String>,
    /// where: whether date literals are quoted like strings (QBO) or not (SOQL).
    #[serde(default)]
    pub quote_dates: bool,
    /// where: the text before the conditions when there are any (default `" WHERE "`).
    pub where_prefix: Option<String>,
    /// where: the text between conditions (default `" AND "`).
    pub joiner: Option<String>,
    /// where: the text before the order field (default `" ORDER BY "`).
    pub order_prefix: Option<String>,
    /// where and search: CEQL operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `LIKE`,
    /// `IS NULL`, `IS NOT NULL`) → the provider's; an operator not listed is not sent.
    #[serde(default)]
    pub operators: BTreeMap<String, String>,
    /// search: the keys of a filter object.
    pub filter_keys: Option<FilterKeys>,
    /// search: the keys of a sort object.
    pub sort_keys: Option<SortKeys>,
    /// search: write numbers, booleans and dates as JSON strings.
    #[serde(default)]
    pub string_values: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterKeys {
    pub field: String,
    pub operator: String,
    pub value: String,
    /// The key of an `IN` list.
    pub values: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortKeys {
    pub field: String,
    pub direction: String,
}

/// The CEQL operators a dialect may map.
pub const OPERATORS: &[&str] = &[
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "IN",
    "LIKE",
    "IS NULL",
    "IS NOT NULL",
];
