//! Reading a resource's deletions over a time window (`separate_request` delete detection):
//! the request from the definition's templates, the window as `query.lower`/`query.upper`, and
//! the answer read by its pointers — each deletion's id and date, where the provider says the
//! window really ended, and the oldest deletion it still keeps.

use serde_json::Value;
use tributary_domain::dates::{DatePattern, Zone};

use super::build::Parts;
use super::{InstanceClient, ProviderError};
use crate::definition::Resource;
use crate::definition::deletes::{DeleteKind, DeletesSpec};
use crate::query::Translated;
use crate::template::QueryVars;

/// One deletion the provider reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    pub id: String,
    /// When the record was deleted (epoch ms).
    pub deleted_ms: i64,
    /// The provider's entry as it is.
    pub entry: Value,
}

/// What one delete request said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeletedPage {
    pub deletions: Vec<Deletion>,
    /// Where the provider's answer really ends (the next window starts there), when it says.
    pub covered_ms: Option<i64>,
    /// The oldest deletion the provider still keeps, when it says.
    pub earliest_ms: Option<i64>,
    /// Entries without a usable id or date (counted, never guessed at).
    pub unreadable: usize,
}

fn malformed(message: String) -> ProviderError {
    ProviderError::Malformed(message)
}

impl InstanceClient {
    /// The deletions of `resource` in `[start_ms, end_ms)` as the element's delete request
    /// reads them. A resource without a delete detection Tributary implements is a refusal.
    pub async fn deleted(
        &self,
        resource: &Resource,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<DeletedPage, ProviderError> {
        let spec = self
            .element
            .deletes_of(resource)
            .filter(|spec| spec.kind == DeleteKind::SeparateRequest)
            .ok_or_else(|| ProviderError::Rejected {
                status: 400,
                message: format!(
                    "{} cannot read the deletes of {}",
                    self.element.name, resource.name
                ),
            })?;
        let window = Translated {
            vars: QueryVars {
                lower_ms: Some(start_ms),
                upper_ms: Some(end_ms),
                ..QueryVars::default()
            },
            ..Translated::default()
        };
        let path = spec.path.as_deref().unwrap_or_default();
        let (body, _) = self
            .send(|values| {
                let scope = self.scope(values, Some(resource), None, Some(&window), None);
                let parts = Parts {
                    method: spec.method,
                    path,
                    query: &spec.query,
                    headers: &spec.headers,
                    body: None,
                };
                self.outgoing(&scope, parts, Vec::new())
            })
            .await?;
        read(spec, &body)
    }
}

/// Reads a delete answer by the spec's pointers.
fn read(spec: &DeletesSpec, body: &Value) -> Result<DeletedPage, ProviderError> {
    let pattern = spec
        .date_format
        .as_deref()
        .map(DatePattern::compile)
        .transpose()
        .map_err(|e| malformed(format!("the delete date format: {e}")))?;
    let zone = Zone::utc();
    let date = |value: Option<&Value>| -> Option<i64> {
        let text = value?.as_str()?;
        pattern.as_ref()?.parse(text, &zone).ok()
    };
    let pointer = spec.records.as_deref().unwrap_or_default();
    let Some(Value::Array(entries)) = body.pointer(pointer) else {
        return Err(malformed(format!(
            "the delete answer has no {pointer:?} array"
        )));
    };
    let mut page = DeletedPage::default();
    for entry in entries {
        let id = spec
            .id
            .as_deref()
            .and_then(|p| entry.pointer(p))
            .and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let deleted_ms = date(spec.date.as_deref().and_then(|p| entry.pointer(p)));
        match (id, deleted_ms) {
            (Some(id), Some(deleted_ms)) => page.deletions.push(Deletion {
                id,
                deleted_ms,
                entry: entry.clone(),
            }),
            _ => page.unreadable += 1,
        }
    }
    let at = |p: &Option<String>| date(p.as_deref().and_then(|p| body.pointer(p)));
    page.covered_ms = at(&spec.covered);
    page.earliest_ms = at(&spec.earliest);
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn salesforce() -> DeletesSpec {
        toml::from_str(
            r#"
            kind = "separate_request"
            path = "/sobjects/{{resource.object}}/deleted/"
            records = "/deletedRecords"
            id = "/id"
            date = "/deletedDate"
            date_format = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
            covered = "/latestDateCovered"
            earliest = "/earliestDateAvailable"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_delete_answer_is_read_by_its_pointers_and_unreadable_entries_are_counted() {
        let body = json!({
            "deletedRecords": [
                {"id": "001D000000IRFmaIAH", "deletedDate": "2013-05-07T22:07:19.000+0000"},
                {"id": "", "deletedDate": "2013-05-07T22:07:19.000+0000"},
                {"id": "001D000000IRFmbIAH", "deletedDate": "yesterday"}
            ],
            "earliestDateAvailable": "2013-05-03T15:57:00.000+0000",
            "latestDateCovered": "2013-05-08T21:20:00.000+0000"
        });
        let page = read(&salesforce(), &body).unwrap();
        assert_eq!(page.deletions.len(), 1);
        assert_eq!(page.deletions[0].id, "001D000000IRFmaIAH");
        assert_eq!(page.deletions[0].deleted_ms, 1_367_964_439_000);
        assert_eq!(page.unreadable, 2);
        assert_eq!(page.covered_ms, Some(1_368_048_000_000));
        assert_eq!(page.earliest_ms, Some(1_367_596_620_000));
        assert!(matches!(
            read(&salesforce(), &json!({"records": []})),
            Err(ProviderError::Malformed(_))
        ));
    }
}
