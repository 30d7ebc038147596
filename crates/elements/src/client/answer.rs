//! Reading a provider's answer once: its status, whether it is an HTML page (never passed on),
//! its JSON, the provider's message, and `Retry-After`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde_json::Value;

use super::ProviderError;
use crate::definition::Element;

pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A provider's answer, read once: its status, whether it is an HTML page, its JSON, and what
/// the caller's reader took apart from it (`X`: a list's records, kept as text).
pub(super) struct Answer<X = ()> {
    status: StatusCode,
    is_html: bool,
    pub(super) json: Option<Value>,
    extra: X,
}

impl<X: Default> Answer<X> {
    /// An answer whose 2xx body `read` reads (into its JSON and what it took apart); any
    /// other status's body is read whole, for the classifier and the provider's message.
    pub(super) fn read_with(
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        read: impl FnOnce(&[u8]) -> Option<(Value, X)>,
    ) -> Answer<X> {
        let is_html = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"))
            || body.trim_ascii_start().starts_with(b"<");
        let (json, extra) = if is_html {
            (None, X::default())
        } else if status == StatusCode::NO_CONTENT && body.trim_ascii().is_empty() {
            // No content, as promised (a delete): nothing to read, not a malformed answer.
            (Some(serde_json::Value::Null), X::default())
        } else if status.is_success() {
            match read(body) {
                Some((json, extra)) => (Some(json), extra),
                None => (None, X::default()),
            }
        } else {
            (serde_json::from_slice(body).ok(), X::default())
        };
        Answer {
            status,
            is_html,
            json,
            extra,
        }
    }
}

impl<X> Answer<X> {
    /// The provider's message, or the status in words (never an HTML page).
    pub(super) fn message(&self, element: &Element) -> String {
        let status = self.status;
        match &self.json {
            Some(value) => element
                .api
                .errors
                .message(value)
                .unwrap_or_else(|| format!("HTTP {status}")),
            None if self.is_html => format!("HTTP {status} (an HTML error page)"),
            None => format!("HTTP {status}"),
        }
    }

    /// A 2xx's JSON (and what the reader took apart), or an error that never forwards an
    /// HTML page.
    pub(super) fn into_result(self, element: &Element) -> Result<(Value, X), ProviderError> {
        let status = self.status;
        if status.is_success() {
            let is_html = self.is_html;
            let extra = self.extra;
            return self.json.map(|json| (json, extra)).ok_or_else(|| {
                ProviderError::Malformed(if is_html {
                    format!("an HTML page with status {status}")
                } else {
                    format!("a body that is not JSON with status {status}")
                })
            });
        }
        let message = self.message(element);
        let code = status.as_u16();
        if status.is_client_error() {
            Err(ProviderError::Rejected {
                status: code,
                message,
            })
        } else {
            Err(ProviderError::Failed {
                status: code,
                message,
            })
        }
    }
}

pub(super) fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else if error.is_decode() || error.is_body() {
        "the connection broke while reading the answer".into()
    } else {
        "the connection closed without an answer".into()
    }
}
