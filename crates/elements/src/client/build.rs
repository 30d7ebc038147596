//! Building a request from the element's templates: the base URL, the path, the query (the
//! dialect's parameters first), the headers and the JSON body, or a next-page URL checked to
//! stay under the base URL.

use std::collections::BTreeMap;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{InstanceClient, ProviderError};
use crate::connection::InstanceValues;
use crate::definition::{GetRequest, ListRequest, Method, Resource};
use crate::pager::Position;
use crate::query::Translated;
use crate::template::{self, Context, PageVars, ResourceVars, Scope, Template};

/// A request's templates, as a definition gives them.
pub(super) struct Parts<'a> {
    pub(super) method: Method,
    pub(super) path: &'a str,
    pub(super) query: &'a BTreeMap<String, String>,
    pub(super) headers: &'a BTreeMap<String, String>,
    pub(super) body: Option<&'a Value>,
}

/// A request ready to send.
pub(super) struct Outgoing {
    pub(super) method: reqwest::Method,
    pub(super) url: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) body: Option<Value>,
}

impl Outgoing {
    /// The request, with the instance's bearer token.
    pub(super) fn request(
        &self,
        http: &reqwest::Client,
        token: &SecretString,
    ) -> reqwest::RequestBuilder {
        let mut request = http
            .request(self.method.clone(), &self.url)
            .query(&self.query)
            .bearer_auth(token.expose_secret());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &self.body {
            request = request.json(body);
        }
        request
    }
}

/// A request Tributary will not send (the provider never sees it).
pub(super) fn bad_request(message: String) -> ProviderError {
    ProviderError::Unsent(message)
}

impl InstanceClient {
    pub(super) fn scope<'a>(
        &'a self,
        values: &'a InstanceValues,
        resource: Option<&'a Resource>,
        page: Option<&'a PageVars>,
        query: Option<&'a Translated>,
        id: Option<&'a str>,
    ) -> Scope<'a> {
        Scope {
            page,
            resource: resource.map(|r| ResourceVars {
                name: &r.name,
                path: &r.path,
                object: r.object.as_deref(),
                fields: &r.fields,
            }),
            id,
            connection: &values.connection,
            config: &values.config,
            query: query.map(|q| &q.vars),
            formats: self.element.formats(),
        }
    }

    fn base_url(&self, scope: &Scope<'_>) -> Result<String, ProviderError> {
        let base = render(&self.element.api.base_url, scope, Context::Text)?
            .ok_or_else(|| bad_request("the API base URL has no value".into()))?;
        match Url::parse(&base) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                Ok(base.trim_end_matches('/').to_owned())
            }
            _ => Err(bad_request(
                "the API base URL is not an http or https URL".into(),
            )),
        }
    }

    /// A request's URL, query, headers and body from its templates; `first_params` (the
    /// query dialect's) go before the template's own.
    pub(super) fn outgoing(
        &self,
        scope: &Scope<'_>,
        parts: Parts<'_>,
        first_params: Vec<(String, String)>,
    ) -> Result<Outgoing, ProviderError> {
        let Parts {
            method,
            path,
            query,
            headers,
            body,
        } = parts;
        let base = self.base_url(scope)?;
        let path = render(path, scope, Context::Path)?.unwrap_or_default();
        let mut params = first_params;
        for (name, value) in query {
            if let Some(value) = render(value, scope, Context::Text)? {
                params.push((name.clone(), value));
            }
        }
        let body = match body {
            Some(body) => template::render_json(body, scope)
                .map_err(|e| bad_request(format!("the request body: {e}")))?,
            None => None,
        };
        Ok(Outgoing {
            method: match method {
                Method::Get => reqwest::Method::GET,
                Method::Post => reqwest::Method::POST,
            },
            url: format!("{base}{path}"),
            query: params,
            headers: self.headers(scope, headers)?,
            body,
        })
    }

    fn headers(
        &self,
        scope: &Scope<'_>,
        own: &BTreeMap<String, String>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, ProviderError> {
        let mut out = Vec::new();
        for (name, value) in self.element.api.headers.iter().chain(own) {
            let Some(value) = render(value, scope, Context::Text)? else {
                continue;
            };
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad_request(format!("{name:?} is not a header name")))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| bad_request(format!("the header {name} has an unusable value")))?;
            out.push((header, value));
        }
        Ok(out)
    }

    /// A next-page URL the provider (or a hub page token) gave: resolved against the base
    /// URL, and only on the base URL's origin, under its path (the bearer token goes with it,
    /// and a page token must not reach other parts of the provider's API).
    pub(super) fn follow(&self, scope: &Scope<'_>, url: &str) -> Result<Outgoing, ProviderError> {
        let base = Url::parse(&self.base_url(scope)?)
            .map_err(|_| bad_request("the API base URL is not a URL".into()))?;
        let next = base
            .join(url)
            .map_err(|_| bad_request("the next page's URL is not a URL".into()))?;
        let base_path = base.path().trim_end_matches('/');
        let under_base = next.path() == base_path
            || next
                .path()
                .strip_prefix(base_path)
                .is_some_and(|rest| rest.starts_with('/'));
        if next.origin() != base.origin() || !under_base {
            return Err(bad_request(
                "the next page's URL is not under the provider's API base URL".into(),
            ));
        }
        Ok(Outgoing {
            method: reqwest::Method::GET,
            url: next.into(),
            query: Vec::new(),
            headers: self.headers(scope, &BTreeMap::new())?,
            body: None,
        })
    }

    pub(super) fn list_outgoing(
        &self,
        request: &ListRequest,
        resource: &Resource,
        query: &Translated,
        at: &Position,
        page: &PageVars,
        values: &InstanceValues,
    ) -> Result<Outgoing, ProviderError> {
        let scope = self.scope(values, Some(resource), Some(page), Some(query), None);
        if let Position::Url(url) = at {
            return self.follow(&scope, url);
        }
        let parts = Parts {
            method: request.method,
            path: &request.path,
            query: &request.query,
            headers: &request.headers,
            body: request.body.as_ref(),
        };
        self.outgoing(&scope, parts, query.params.clone())
    }

    pub(super) fn get_outgoing(
        &self,
        request: &GetRequest,
        resource: &Resource,
        id: &str,
        values: &InstanceValues,
    ) -> Result<Outgoing, ProviderError> {
        let scope = self.scope(values, Some(resource), None, None, Some(id));
        let parts = Parts {
            method: request.method,
            path: &request.path,
            query: &request.query,
            headers: &request.headers,
            body: None,
        };
        self.outgoing(&scope, parts, Vec::new())
    }
}

fn render(
    text: &str,
    scope: &Scope<'_>,
    context: Context,
) -> Result<Option<String>, ProviderError> {
    Template::parse(text)
        .and_then(|t| t.render(scope, context))
        .map_err(|e| bad_request(format!("the request cannot be built: {e}")))
}
