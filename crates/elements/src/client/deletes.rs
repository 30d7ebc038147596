//! Reading a resource's deletions: over a time window (`separate_request` delete detection) —
//! the request from the definition's templates, the window as `query.lower`/`query.upper`, and
//! the answer read by its pointers: each deletion's id and date, where the provider says the
//! window really ended, and the oldest deletion it still keeps — or a page of its archived
//! records (`archived_list`), each archive's id and date read by the same pointers.

use serde_json::Value;
use tributary_domain::dates::{DatePattern, Zone};

use super::build::Parts;
use super::{InstanceClient, ProviderError};
use crate::budgets::RequestKind;
use crate::definition::Resource;
use crate::definition::deletes::{DeleteKind, DeletesSpec};
use crate::pager::{self, Position};
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

/// One page of a resource's archived records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchivedPage {
    pub archives: Vec<Deletion>,
    /// Entries without a usable id or date (counted, never guessed at).
    pub unreadable: usize,
    /// Where the next page starts, when the pager says there is one.
    pub next: Option<Position>,
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
    /// The resource's delete spec when it is of `kind`; otherwise a refusal saying the element
    /// cannot `what` the resource ("read the deletes of", "list the archived").
    fn delete_spec<'a>(
        &'a self,
        resource: &'a Resource,
        kind: DeleteKind,
        what: &str,
    ) -> Result<&'a DeletesSpec, ProviderError> {
        self.element
            .deletes_of(resource)
            .filter(|spec| spec.kind == kind)
            .ok_or_else(|| ProviderError::Rejected {
                status: 400,
                message: format!("{} cannot {what} {}", self.element.name, resource.name),
            })
    }

    /// The deletions of `resource` in `[start_ms, end_ms)` as the element's delete request
    /// reads them. A resource without a delete detection Tributary implements is a refusal.
    pub async fn deleted(
        &self,
        resource: &Resource,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<DeletedPage, ProviderError> {
        let spec =
            self.delete_spec(resource, DeleteKind::SeparateRequest, "read the deletes of")?;
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
            .send(RequestKind::Deletes, |values| {
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

    /// One page of `resource`'s archived records from `at`, as the element's `archived_list`
    /// request reads them. A resource without one is a refusal.
    pub async fn archived(
        &self,
        resource: &Resource,
        at: &Position,
    ) -> Result<ArchivedPage, ProviderError> {
        let spec = self.delete_spec(resource, DeleteKind::ArchivedList, "list the archived")?;
        let size = spec
            .page_size
            .unwrap_or(self.element.api.max_page_size)
            .max(1);
        let page = at.vars(size);
        let path = spec.path.as_deref().unwrap_or_default();
        let (body, headers) = self
            .send(RequestKind::Deletes, |values| {
                let scope = self.scope(values, Some(resource), Some(&page), None, None);
                if let Position::Url(url) = at {
                    return self.follow(&scope, url);
                }
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
        let pointer = crate::definition::resource_pointer(
            spec.records.as_deref().unwrap_or_default(),
            resource,
        );
        let Some(Value::Array(entries)) = body.pointer(&pointer) else {
            return Err(malformed(format!(
                "the archived list has no {pointer:?} array"
            )));
        };
        let (archives, unreadable) = entries_of(spec, entries)?;
        let next = spec
            .pager
            .as_ref()
            .and_then(|pager| pager::advance(pager, at, size, entries.len(), &body, &headers).next);
        Ok(ArchivedPage {
            archives,
            unreadable,
            next,
        })
    }
}

/// Each entry's id and date by the spec's pointers; entries without both are counted.
fn entries_of(
    spec: &DeletesSpec,
    entries: &[Value],
) -> Result<(Vec<Deletion>, usize), ProviderError> {
    let pattern = spec
        .date_format
        .as_deref()
        .map(DatePattern::compile)
        .transpose()
        .map_err(|e| malformed(format!("the delete date format: {e}")))?;
    let zone = Zone::utc();
    let mut deletions = Vec::new();
    let mut unreadable = 0;
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
        let deleted_ms = spec
            .date
            .as_deref()
            .and_then(|p| entry.pointer(p))
            .and_then(Value::as_str)
            .and_then(|text| pattern.as_ref()?.parse(text, &zone).ok());
        match (id, deleted_ms) {
            (Some(id), Some(deleted_ms)) => deletions.push(Deletion {
                id,
                deleted_ms,
                entry: entry.clone(),
            }),
            _ => unreadable += 1,
        }
    }
    Ok((deletions, unreadable))
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
    let (deletions, unreadable) = entries_of(spec, entries)?;
    let at = |p: &Option<String>| date(p.as_deref().and_then(|p| body.pointer(p)));
    Ok(DeletedPage {
        deletions,
        covered_ms: at(&spec.covered),
        earliest_ms: at(&spec.earliest),
        unreadable,
    })
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
