//! The `[hooks]` section of a definition: how Tributary subscribes to a provider's own
//! webhooks (REST hooks) and reads what they deliver, as data. Keap's shape
//! (`shared/research/infusionsoft.md` §6) is the first written in it: subscriptions by event
//! key (`contact.add`), a handshake that echoes a header, payloads of ids.
//!
//! Every request path is a template under the API's base URL; `{{id}}` is the subscription's
//! key at the provider. A resource takes part when it declares `hook_object`: its event keys
//! are `hook_object` + `separator` + the action's word (`contact` + `.` + `add`).

use serde::Deserialize;

use super::{Method, Resource};

/// How an element's webhooks are subscribed to, verified, kept and read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksSpec {
    /// Every subscription of the account: a JSON array of subscriptions.
    pub list: HookRequest,
    /// Creates one subscription; its JSON body is `{body.event: KEY, body.url: URL}`.
    pub subscribe: HookRequest,
    /// Asks the provider to verify a subscription again (`{{id}}`: its key).
    pub verify: Option<HookRequest>,
    /// Removes a subscription (`{{id}}`: its key).
    pub delete: HookRequest,
    /// The subscribe request's body field names.
    pub body: HookBody,
    /// Where a subscription's fields sit in the provider's answers (JSON pointers).
    pub fields: HookFields,
    /// Subscription statuses that mean "delivering".
    pub verified: Vec<String>,
    /// Statuses a verification can mend (asked again with `verify`); any other status that is
    /// not `verified` (an inactive subscription, or an unknown word) is created anew.
    #[serde(default)]
    pub unverified: Vec<String>,
    /// The verification handshake.
    pub handshake: Handshake,
    /// Where a delivery keeps its event key and its ids.
    pub payload: Payload,
    /// The words of the event keys per action.
    pub actions: Actions,
    /// Between `hook_object` and the action's word (`.`).
    #[serde(default = "dot")]
    pub separator: String,
    /// The most ids one delivery carries (Keap: 1,000), for the documentation and the
    /// inbound size limit's sanity; deliveries with more are still read.
    pub max_ids: Option<usize>,
}

fn dot() -> String {
    ".".into()
}

/// One request of the hooks API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookRequest {
    pub method: HookMethod,
    pub path: String,
}

/// The methods the hooks API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HookMethod {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PUT")]
    Put,
    #[serde(rename = "DELETE")]
    Delete,
}

impl HookMethod {
    /// The template method, where the list and get templates' method applies.
    pub fn as_method(self) -> Option<Method> {
        match self {
            HookMethod::Get => Some(Method::Get),
            HookMethod::Post => Some(Method::Post),
            HookMethod::Put | HookMethod::Delete => None,
        }
    }
}

/// The subscribe request's body field names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookBody {
    /// The field of the event key (`eventKey`).
    pub event: String,
    /// The field of the URL the provider delivers to (`hookUrl`).
    pub url: String,
}

/// JSON pointers into a subscription as the provider shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookFields {
    pub key: String,
    pub event: String,
    pub url: String,
    pub status: String,
}

/// The verification handshake: the provider POSTs to the hook URL with `header`, and the
/// receiver answers 200 echoing it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handshake {
    pub echo_header: String,
}

/// Where a delivery keeps what it says (JSON pointers).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The event key (`/event_key`).
    pub event: String,
    /// The array of changed objects (`/object_keys`).
    pub ids: String,
    /// The id within one object (`/id`); a number or a string.
    pub id: String,
}

/// The action words of event keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    pub created: String,
    pub updated: String,
    pub deleted: String,
}

/// What an event key says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAction {
    Created,
    Updated,
    Deleted,
}

impl HookAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HookAction::Created => "created",
            HookAction::Updated => "updated",
            HookAction::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> Option<HookAction> {
        match text {
            "created" => Some(HookAction::Created),
            "updated" => Some(HookAction::Updated),
            "deleted" => Some(HookAction::Deleted),
            _ => None,
        }
    }
}

impl HooksSpec {
    /// A resource's event keys with their actions (none when it has no `hook_object`).
    pub fn event_keys(&self, resource: &Resource) -> Vec<(String, HookAction)> {
        let Some(object) = &resource.hook_object else {
            return Vec::new();
        };
        [
            (&self.actions.created, HookAction::Created),
            (&self.actions.updated, HookAction::Updated),
            (&self.actions.deleted, HookAction::Deleted),
        ]
        .into_iter()
        .map(|(word, action)| (format!("{object}{}{word}", self.separator), action))
        .collect()
    }

    /// The status word means the subscription delivers.
    pub fn is_verified(&self, status: &str) -> bool {
        self.verified.iter().any(|s| s == status)
    }

    /// The status word can be mended by verifying again.
    pub fn is_unverified(&self, status: &str) -> bool {
        self.unverified.iter().any(|s| s == status)
    }
}
