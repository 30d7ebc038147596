//! Injected faults: the next N provider requests (optionally of one resource) fail in a chosen way.
//!
//! Faults sit in a queue; a request takes the first fault that matches its resource and
//! decrements its count, so a fault of count N hits exactly N requests. Faults act at the
//! gateway, before authentication and throttling, as a load balancer's would. What counts as a
//! "resource" (`contacts`, `Account`, `token`, …) is the provider's word.

use serde::{Deserialize, Serialize};

/// How a faulted request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Answer `status` with a JSON body (the real throttle body for 429).
    Status,
    /// Close the connection without answering.
    Reset,
    /// Never answer (until the simulator stops or five minutes pass).
    Timeout,
    /// Answer 200 with truncated JSON.
    Malformed,
    /// Answer `status` (default 502) with an HTML error page, as a front end does.
    Html,
    /// Answer normally after `latency_ms`.
    Latency,
    /// Answer 200 with the provider's error in the body (QuickBooks' Fault inside a 200).
    #[serde(rename = "error_in_200")]
    ErrorIn200,
}

/// `POST /_sim/faults` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultIn {
    pub status: Option<u16>,
    pub count: Option<u32>,
    pub resource: Option<String>,
    pub kind: Option<FaultKind>,
    pub latency_ms: Option<u64>,
    /// Let this many matching requests through before the fault starts (page 3 of 5: 2).
    pub after: Option<u32>,
}

/// A fault waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub kind: FaultKind,
    pub status: u16,
    pub remaining: u32,
    pub resource: Option<String>,
    pub latency_ms: u64,
    /// Matching requests still to let through before the fault starts.
    pub after: u32,
}

impl FaultIn {
    /// Validates the request into a queued fault, or says what is wrong. `targets` are the
    /// resources the provider lets a fault name.
    pub fn into_fault(self, targets: &[&str]) -> Result<Fault, String> {
        let kind = match (self.kind, self.status, self.latency_ms) {
            (Some(kind), _, _) => kind,
            (None, Some(_), _) => FaultKind::Status,
            (None, None, Some(_)) => FaultKind::Latency,
            (None, None, None) => {
                return Err("a fault needs a status, a kind or a latency_ms".into());
            }
        };
        let status = match (kind, self.status) {
            (_, Some(status)) if !(100..=599).contains(&status) => {
                return Err(format!("status must be between 100 and 599, got {status}"));
            }
            (_, Some(status)) => status,
            (FaultKind::Status, None) => {
                return Err("kind \"status\" needs a status".into());
            }
            (FaultKind::Html, None) => 502,
            (FaultKind::Timeout, None) => 504,
            _ => 200,
        };
        let count = self.count.unwrap_or(1);
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        if let Some(resource) = &self.resource
            && !targets.contains(&resource.as_str())
        {
            return Err(format!(
                "unknown resource {resource:?}; expected one of {}",
                targets.join(", ")
            ));
        }
        if kind == FaultKind::Latency && self.latency_ms.is_none() {
            return Err("kind \"latency\" needs latency_ms".into());
        }
        Ok(Fault {
            kind,
            status,
            remaining: count,
            resource: self.resource,
            latency_ms: self.latency_ms.unwrap_or(0),
            after: self.after.unwrap_or(0),
        })
    }
}

/// Takes one use of the first fault matching `resource` (`None` for requests outside any
/// resource), removing faults that are used up.
pub fn take(queue: &mut Vec<Fault>, resource: Option<&str>) -> Option<Fault> {
    let index = queue.iter().position(|fault| match &fault.resource {
        None => true,
        Some(wanted) => Some(wanted.as_str()) == resource,
    })?;
    let fault = &mut queue[index];
    if fault.after > 0 {
        fault.after -= 1;
        return None;
    }
    fault.remaining -= 1;
    let taken = fault.clone();
    if fault.remaining == 0 {
        queue.remove(index);
    }
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault_in(json: &str) -> Result<Fault, String> {
        serde_json::from_str::<FaultIn>(json)
            .map_err(|e| e.to_string())?
            .into_fault(&["contacts", "tasks", "token"])
    }

    #[test]
    fn a_fault_of_count_n_is_taken_exactly_n_times_and_only_by_its_resource() {
        let mut queue = vec![
            fault_in(r#"{"status": 500, "count": 2, "resource": "contacts"}"#).expect("valid"),
        ];
        assert!(take(&mut queue, Some("tasks")).is_none());
        assert_eq!(
            take(&mut queue, Some("contacts")).map(|f| f.status),
            Some(500)
        );
        assert_eq!(
            take(&mut queue, Some("contacts")).map(|f| f.status),
            Some(500)
        );
        assert!(take(&mut queue, Some("contacts")).is_none());
        assert!(queue.is_empty());
    }

    #[test]
    fn a_fault_can_wait_for_the_nth_matching_request() {
        let mut queue = vec![fault_in(r#"{"status": 500, "after": 2}"#).expect("valid")];
        assert!(take(&mut queue, Some("contacts")).is_none());
        assert!(take(&mut queue, Some("tasks")).is_none());
        assert_eq!(
            take(&mut queue, Some("contacts")).map(|f| f.status),
            Some(500)
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn bad_fault_requests_say_what_is_wrong() {
        assert!(
            fault_in(r#"{"status": 700}"#)
                .unwrap_err()
                .contains("between 100 and 599")
        );
        assert!(
            fault_in(r#"{"status": 500, "count": 0}"#)
                .unwrap_err()
                .contains("at least 1")
        );
        assert!(
            fault_in(r#"{"status": 500, "resource": "widgets"}"#)
                .unwrap_err()
                .contains("unknown resource")
        );
        assert!(
            fault_in(r#"{"kind": "explode"}"#)
                .unwrap_err()
                .contains("unknown variant")
        );
        assert!(fault_in(r#"{}"#).unwrap_err().contains("needs a status"));
        assert!(
            fault_in(r#"{"kind": "status"}"#)
                .unwrap_err()
                .contains("needs a status")
        );
        assert_eq!(fault_in(r#"{"kind": "html"}"#).map(|f| f.status), Ok(502));
    }
}
