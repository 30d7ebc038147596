//! What a provider's answers say besides their data: its remaining request budget (headers,
//! or a usage header read with a pattern), and how to treat an error (the classifier's rules),
//! with the provider's own message found by declared JSON pointers.
//!
//! The classifier's rules are tried in order; the first whose status matches (and whose body
//! test holds, when it has one) decides. Without a matching rule, a 4xx is the provider's
//! refusal and anything else non-2xx its failure.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

/// The provider's request budget and the headers that report it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The published budget per client app and minute (the pacer's starting rate).
    pub requests_per_minute: u32,
    /// The published budget per owner and day, where there is one (Keap's 150,000 per app): the
    /// scheduler plans polls within the smaller of this spread over the day and the minute's.
    #[serde(default)]
    pub requests_per_day: Option<u32>,
    /// Headers holding the requests left; the smallest of those present counts.
    #[serde(default)]
    pub remaining: Vec<String>,
    /// A header holding the window's limit (with a usage pattern's `{used}`, gives what is left).
    pub limit: Option<String>,
    /// A header saying when the window resets.
    pub reset: Option<ResetHeader>,
    /// Headers read with a pattern, such as `api-usage={used}/{limit}`.
    #[serde(default)]
    pub usage: Vec<UsageHeader>,
    /// Whose the main budget (and `concurrent`) is: the app's (default) or each instance's.
    #[serde(default)]
    pub scope: crate::budgets::BudgetScope,
    /// Requests one owner of the main budget may have in flight at once.
    pub concurrent: Option<u32>,
    /// Budgets for some requests besides the main one (HubSpot's search).
    #[serde(default)]
    pub budgets: Vec<crate::budgets::Budget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetHeader {
    pub header: String,
    pub unit: ResetUnit,
}

/// How a reset header counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetUnit {
    /// Seconds from now.
    Seconds,
    /// Milliseconds from now.
    Milliseconds,
    /// The reset's time, in seconds since the epoch.
    EpochSeconds,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageHeader {
    pub header: String,
    /// Text with `{used}`, `{limit}` and/or `{remaining}` where numbers stand.
    pub pattern: String,
}

/// What one response said about the budget.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    pub remaining: Option<f64>,
    pub limit: Option<f64>,
    pub reset: Option<Duration>,
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok()
}

/// The placeholders of a usage pattern found in `text`: `(name, number)` pairs.
pub fn read_usage(pattern: &str, text: &str) -> Option<Vec<(String, f64)>> {
    // Split the pattern into literal pieces and `{name}` placeholders.
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        if open > 0 {
            pieces.push((false, &rest[..open]));
        }
        pieces.push((true, &rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push((false, rest));
    }
    // The first literal may sit anywhere in the header (`api-usage=` after other parts).
    let mut at = match pieces.first() {
        Some((false, literal)) => text.find(literal)?,
        _ => 0,
    };
    let mut found = Vec::new();
    for (is_name, piece) in pieces {
        if is_name {
            let digits = text[at..]
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(text.len(), |end| at + end);
            found.push((piece.to_owned(), text[at..digits].parse::<f64>().ok()?));
            at = digits;
        } else {
            text[at..].starts_with(piece).then_some(())?;
            at += piece.len();
        }
    }
    Some(found)
}

impl RateLimit {
    /// Reads the budget signals of one response (`now_ms` turns an epoch reset into a wait).
    pub fn observe(&self, headers: &HeaderMap, now_ms: i64) -> Observed {
        let mut remaining: Option<f64> = None;
        let mut take = |value: f64| {
            remaining = Some(remaining.map_or(value, |r: f64| r.min(value)));
        };
        for name in &self.remaining {
            if let Some(value) = header_number(headers, name) {
                take(value);
            }
        }
        let mut limit = self
            .limit
            .as_deref()
            .and_then(|h| header_number(headers, h));
        for usage in &self.usage {
            let Some(text) = headers.get(&usage.header).and_then(|v| v.to_str().ok()) else {
                continue;
            };
            let Some(found) = read_usage(&usage.pattern, text) else {
                continue;
            };
            let get = |name: &str| found.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            if let Some(l) = get("limit") {
                limit = Some(l);
            }
            if let Some(r) = get("remaining") {
                take(r);
            } else if let (Some(used), Some(l)) = (get("used"), get("limit").or(limit)) {
                take((l - used).max(0.0));
            }
        }
        let reset = self.reset.as_ref().and_then(|reset| {
            let value = header_number(headers, &reset.header)?;
            let ms = match reset.unit {
                ResetUnit::Seconds => value * 1000.0,
                ResetUnit::Milliseconds => value,
                ResetUnit::EpochSeconds => value * 1000.0 - now_ms as f64,
            };
            (ms.is_finite() && ms >= 0.0).then(|| Duration::from_millis(ms as u64))
        });
        Observed {
            remaining,
            limit,
            reset,
        }
    }
}

/// How errors are read and treated.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// JSON pointers to the provider's message, tried in order.
    #[serde(default)]
    pub messages: Vec<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// What to do with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send the request again after `Retry-After` (capped) or `wait`, up to `attempts` times in
    /// all; the app's other requests go on.
    Retry,
    /// Hold every request of the provider app (`Retry-After`, capped, or an exponential
    /// back-off with jitter), then send again, up to `attempts` times in all.
    Backoff,
    /// Refresh the access token once and send again.
    Refresh,
    /// Hold the provider app until the reset header's time or for `wait`, and fail this request.
    Pause,
    /// The provider failed (a 502 to hub callers).
    Fail,
    /// The provider refused the request (its status kept for 4xx).
    Reject,
    /// The authorization is dead: the instance must be authorized again.
    Invalid,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Backoff => "backoff",
            Action::Refresh => "refresh",
            Action::Pause => "pause",
            Action::Fail => "fail",
            Action::Reject => "reject",
            Action::Invalid => "invalid",
        }
    }
}

/// A status, a status class (`"5xx"`), or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(StatusItem),
    Many(Vec<StatusItem>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusItem {
    Code(u16),
    Class(String),
}

impl StatusItem {
    fn matches(&self, status: u16) -> bool {
        match self {
            StatusItem::Code(code) => *code == status,
            StatusItem::Class(class) => {
                let class = class.trim().to_ascii_lowercase();
                class.len() == 3
                    && class.ends_with("xx")
                    && class.as_bytes()[0].wrapping_sub(b'0')
                        == u8::try_from(status / 100).unwrap_or(0)
            }
        }
    }

    /// Whether the item is a code from 100 to 599 or a class `1xx` … `5xx`.
    pub fn is_valid(&self) -> bool {
        match self {
            StatusItem::Code(code) => (100..=599).contains(code),
            StatusItem::Class(class) => {
                let class = class.trim().to_ascii_lowercase();
                class.len() == 3
                    && class.ends_with("xx")
                    && matches!(class.as_bytes()[0], b'1'..=b'5')
            }
        }
    }
}

impl StatusSpec {
    pub fn items(&self) -> &[StatusItem] {
        match self {
            StatusSpec::One(item) => std::slice::from_ref(item),
            StatusSpec::Many(items) => items,
        }
    }
}

/// One classifier rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub status: StatusSpec,
    /// A JSON pointer into the body that the rule also tests.
    pub pointer: Option<String>,
    /// The value at `pointer` must equal this.
    pub equals: Option<Value>,
    /// The value at `pointer` must be there (true) or not (false).
    pub exists: Option<bool>,
    pub action: Action,
    /// `retry`, `backoff`: requests in all, the first included.
    pub attempts: Option<u32>,
    /// `retry`, `pause`: how long, such as `60s` (units ms, s, m, h).
    pub wait: Option<String>,
    /// `refresh`: what to do when the rule matches again after its refresh (`invalid`: the
    /// refreshed token is refused too, so the authorization is dead). Unset: as if no rule
    /// matched.
    pub then: Option<Action>,
    /// `pause`: whom the pause holds — the whole provider app (`app`, the default: a budget
    /// shared by every tenant) or this instance only (`instance`: a tenant's own quota).
    pub scope: Option<PauseScope>,
}

/// Whom a `pause` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseScope {
    App,
    Instance,
}

impl Rule {
    fn matches(&self, status: u16, body: Option<&Value>) -> bool {
        if !self.status.items().iter().any(|s| s.matches(status)) {
            return false;
        }
        let Some(pointer) = &self.pointer else {
            return true;
        };
        let found = body.and_then(|b| b.pointer(pointer));
        if let Some(expected) = &self.equals
            && found != Some(expected)
        {
            return false;
        }
        if let Some(exists) = self.exists
            && found.is_some() != exists
        {
            return false;
        }
        true
    }

    /// `wait` as a duration (validated when the definition loads).
    pub fn wait(&self) -> Option<Duration> {
        self.wait.as_deref().and_then(|w| parse_duration(w).ok())
    }
}

impl ErrorSpec {
    /// The first rule matching an answer, with its index.
    pub fn classify(&self, status: u16, body: Option<&Value>) -> Option<(usize, &Rule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.matches(status, body))
    }

    /// The provider's message, from the first declared pointer holding a string.
    pub fn message(&self, body: &Value) -> Option<String> {
        self.messages
            .iter()
            .filter_map(|p| body.pointer(p))
            .find_map(|v| v.as_str().map(str::to_owned))
    }
}

/// `250ms`, `60s`, `5m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: ms, s, m or h"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 60s"))?;
    let ms = match unit {
        "ms" => number,
        "s" => number.saturating_mul(1000),
        "m" => number.saturating_mul(60_000),
        "h" => number.saturating_mul(3_600_000),
        _ => return Err(format!("{text:?}: the units are ms, s, m and h")),
    };
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn limits(text: &str) -> RateLimit {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_smallest_remaining_header_counts() {
        let keap = limits(
            r#"requests_per_minute = 1500
               remaining = ["x-keap-product-throttle-available", "x-keap-tenant-throttle-available"]"#,
        );
        let seen = keap.observe(
            &headers(&[
                ("x-keap-product-throttle-available", "120"),
                ("x-keap-tenant-throttle-available", "7"),
            ]),
            0,
        );
        assert_eq!(seen.remaining, Some(7.0));
        assert_eq!(keap.observe(&HeaderMap::new(), 0), Observed::default());
    }

    #[test]
    fn a_usage_header_is_read_with_its_pattern() {
        let salesforce = limits(
            r#"requests_per_minute = 100
               usage = [{ header = "Sforce-Limit-Info", pattern = "api-usage={used}/{limit}" }]"#,
        );
        let seen = salesforce.observe(&headers(&[("sforce-limit-info", "api-usage=18/5000")]), 0);
        assert_eq!((seen.remaining, seen.limit), (Some(4982.0), Some(5000.0)));
        let newer = salesforce.observe(
            &headers(&[(
                "sforce-limit-info",
                "api-usage=10018/100000; api-bursts=1/750",
            )]),
            0,
        );
        assert_eq!(newer.remaining, Some(89982.0));
        let garbled = salesforce.observe(&headers(&[("sforce-limit-info", "api-usage=x/5")]), 0);
        assert_eq!(garbled.remaining, None);
        assert_eq!(
            read_usage("{remaining} left", "12 left"),
            Some(vec![("remaining".to_owned(), 12.0)])
        );
    }

    #[test]
    fn a_reset_header_becomes_a_wait_in_each_unit() {
        for (unit, value, now, expected) in [
            ("seconds", "30", 0, 30_000),
            ("milliseconds", "1500", 0, 1_500),
            ("epoch_seconds", "1767225660", 1_767_225_600_000, 60_000),
        ] {
            let spec = limits(&format!(
                "requests_per_minute = 1\nlimit = \"x-limit\"\nreset = {{ header = \"x-reset\", unit = \"{unit}\" }}"
            ));
            let seen = spec.observe(&headers(&[("x-reset", value), ("x-limit", "100")]), now);
            assert_eq!(seen.reset, Some(Duration::from_millis(expected)), "{unit}");
            assert_eq!(seen.limit, Some(100.0));
        }
    }

    fn spec(text: &str) -> ErrorSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_first_matching_rule_decides_by_status_and_body() {
        let rules = spec(
            r#"
            messages = ["/0/message", "/Fault/Error/0/Message", "/message"]
            [[rules]]
            status = 401
            action = "refresh"
            [[rules]]
            status = 403
            pointer = "/0/errorCode"
            equals = "REQUEST_LIMIT_EXCEEDED"
            action = "pause"
            wait = "1h"
            [[rules]]
            status = [429, "5xx"]
            action = "retry"
            attempts = 3
            wait = "200ms"
            [[rules]]
            status = 200
            pointer = "/Fault"
            exists = true
            action = "fail"
            "#,
        );
        let action =
            |status: u16, body: Value| rules.classify(status, Some(&body)).map(|(_, r)| r.action);
        assert_eq!(action(401, json!({})), Some(Action::Refresh));
        let quota = json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]);
        assert_eq!(action(403, quota.clone()), Some(Action::Pause));
        assert_eq!(
            rules.classify(403, Some(&quota)).unwrap().1.wait(),
            Some(Duration::from_secs(3600))
        );
        let permission = json!([{"message": "no", "errorCode": "INSUFFICIENT_ACCESS"}]);
        assert_eq!(
            action(403, permission),
            None,
            "another 403 is a plain refusal"
        );
        assert_eq!(action(503, json!(null)), Some(Action::Retry));
        assert_eq!(action(429, json!(null)), Some(Action::Retry));
        assert_eq!(
            action(200, json!({"Fault": {"Error": [{"Message": "bad"}]}})),
            Some(Action::Fail)
        );
        assert_eq!(action(200, json!({"QueryResponse": {}})), None);
        assert_eq!(
            rules.classify(401, None).map(|(i, _)| i),
            Some(0),
            "an unreadable body still matches by status"
        );

        assert_eq!(
            rules.message(&quota).as_deref(),
            Some("TotalRequests Limit exceeded.")
        );
        assert_eq!(
            rules
                .message(
                    &json!({"Fault": {"Error": [{"Message": "Invalid query", "code": "4000"}]}})
                )
                .as_deref(),
            Some("Invalid query")
        );
        assert_eq!(rules.message(&json!({"other": 1})), None);
    }

    #[test]
    fn status_items_and_durations_are_checked() {
        assert!(StatusItem::Class("4xx".into()).is_valid());
        assert!(!StatusItem::Class("6xx".into()).is_valid());
        assert!(!StatusItem::Class("40x".into()).is_valid());
        assert!(!StatusItem::Code(42).is_valid());
        assert!(StatusItem::Class("4XX".into()).matches(404));
        assert!(!StatusItem::Class("4xx".into()).matches(500));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("60").is_err());
        assert!(parse_duration("1d").is_err());
    }
}
