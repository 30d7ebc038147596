//! The hooks API of an element (`[hooks]`): list, subscribe, verify and delete subscriptions,
//! through the same pacing, refresh and classifier as every other provider call.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::build::{Parts, bad_request};
use super::{InstanceClient, ProviderError};
use crate::budgets::RequestKind;
use crate::definition::Method;
use crate::definition::hooks::{HookMethod, HookRequest, HooksSpec};

/// A subscription as the provider shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub key: String,
    pub event_key: String,
    pub hook_url: String,
    pub status: String,
}

impl InstanceClient {
    fn hooks_spec(&self) -> Result<&HooksSpec, ProviderError> {
        self.element.hooks.as_ref().ok_or_else(|| {
            bad_request(format!(
                "{} has no [hooks] in its definition",
                self.element.name
            ))
        })
    }

    /// Sends one request of the hooks API; `id` is a subscription's key.
    async fn hook_call(
        &self,
        request: &HookRequest,
        id: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, ProviderError> {
        if let Some(id) = id
            && (id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(bad_request(format!("{id:?} is not a subscription key")));
        }
        let none = BTreeMap::new();
        let (body, _) = self
            .send(RequestKind::Get, |values| {
                let scope = self.scope(values, None, None, None, id);
                let mut outgoing = self.outgoing(
                    &scope,
                    Parts {
                        method: request.method.as_method().unwrap_or(Method::Get),
                        path: &request.path,
                        query: &none,
                        headers: &none,
                        body: None,
                    },
                    Vec::new(),
                )?;
                outgoing.method = match request.method {
                    HookMethod::Get => reqwest::Method::GET,
                    HookMethod::Post => reqwest::Method::POST,
                    HookMethod::Put => reqwest::Method::PUT,
                    HookMethod::Delete => reqwest::Method::DELETE,
                };
                outgoing.body = body.clone();
                Ok(outgoing)
            })
            .await?;
        Ok(body)
    }

    fn read_subscription(&self, value: &Value) -> Result<Subscription, ProviderError> {
        let spec = self.hooks_spec()?;
        let text = |pointer: &str| match value.pointer(pointer) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let key = text(&spec.fields.key).ok_or_else(|| {
            ProviderError::Malformed(format!("a subscription without {}", spec.fields.key))
        })?;
        Ok(Subscription {
            key,
            event_key: text(&spec.fields.event).unwrap_or_default(),
            hook_url: text(&spec.fields.url).unwrap_or_default(),
            status: text(&spec.fields.status).unwrap_or_default(),
        })
    }

    /// Every subscription of the account.
    pub async fn hook_list(&self) -> Result<Vec<Subscription>, ProviderError> {
        let spec = self.hooks_spec()?;
        match self.hook_call(&spec.list, None, None).await? {
            Value::Array(items) => items.iter().map(|v| self.read_subscription(v)).collect(),
            _ => Err(ProviderError::Malformed(
                "the list of subscriptions is not an array".into(),
            )),
        }
    }

    /// Subscribes `hook_url` to `event_key`; the provider verifies it before it answers.
    pub async fn hook_subscribe(
        &self,
        event_key: &str,
        hook_url: &str,
    ) -> Result<Subscription, ProviderError> {
        let spec = self.hooks_spec()?;
        let mut body = Map::new();
        body.insert(spec.body.event.clone(), Value::String(event_key.to_owned()));
        body.insert(spec.body.url.clone(), Value::String(hook_url.to_owned()));
        let answer = self
            .hook_call(&spec.subscribe, None, Some(Value::Object(body)))
            .await?;
        self.read_subscription(&answer)
    }

    /// Asks the provider to verify a subscription again; `None` when the element cannot.
    pub async fn hook_verify(&self, key: &str) -> Result<Option<Subscription>, ProviderError> {
        let spec = self.hooks_spec()?;
        let Some(verify) = &spec.verify else {
            return Ok(None);
        };
        let answer = self.hook_call(verify, Some(key), None).await?;
        self.read_subscription(&answer).map(Some)
    }

    /// Removes a subscription; one the provider no longer has is removed already.
    pub async fn hook_delete(&self, key: &str) -> Result<(), ProviderError> {
        let spec = self.hooks_spec()?;
        match self.hook_call(&spec.delete, Some(key), None).await {
            Ok(_) | Err(ProviderError::Rejected { status: 404, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }
}
