//! The hub: the element's normalized API over the provider's, for clients (`/hubs/…`) and for
//! the poller. One hub call is one provider request.
//!
//! A hub query string is read here once for both: `where` (CEQL, translated by the element's
//! dialect: what the provider can take goes to it, the other safe parts are evaluated by
//! Tributary, the rest is refused naming the clause), `orderBy`, and the paging (`pageSize`,
//! `page`, `nextPage`). The next page's token is base64 of the pager's position with an HMAC
//! tag bound to the instance and resource (a position may be a next-page URL that the client
//! fetches with the instance's bearer token, so a forged token is refused, 400), given only
//! while the element's pager says the provider's pages go on — never on a `next` link alone.
//! An id or URL that Tributary will not send (`../../settings`) is the caller's 400, said as
//! Tributary's refusal — the provider never saw it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tributary_elements::client::ProviderError;
use tributary_elements::pager::Position;
use tributary_elements::query::{self, Translated};
use tributary_elements::{Element, Resource};
use tributary_store::InstanceRecord;

use crate::secrets::{Vault, hash_secret};
use crate::services::error::{ProviderFailure, ServiceError};
use crate::state::AppState;

/// The page size when a call names none (Cloud Elements' default).
pub const DEFAULT_PAGE_SIZE: u32 = 200;

/// The secrets a hub call presents: the user's, the instance's token, and optionally the
/// organization's (which must then match the user's).
#[derive(Clone)]
pub struct HubCredentials {
    pub user: String,
    pub element: String,
    pub organization: Option<String>,
}

impl std::fmt::Debug for HubCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubCredentials(********)")
    }
}

/// The instance a hub call acts for, after checking every secret it presented.
pub async fn authenticate(
    state: &AppState,
    credentials: &HubCredentials,
) -> Result<InstanceRecord, ServiceError> {
    let refused =
        || ServiceError::Unauthorized("the User secret or the Element token is wrong".into());
    let principal = state
        .store
        .principal_of_user(&hash_secret(&credentials.user))
        .await?
        .ok_or_else(refused)?;
    if let Some(organization) = &credentials.organization {
        let both = state
            .store
            .principal(&hash_secret(organization), &hash_secret(&credentials.user))
            .await?;
        if both != Some(principal) {
            return Err(ServiceError::Unauthorized(
                "the Organization secret does not match the User".into(),
            ));
        }
    }
    let instance = state
        .store
        .instance_by_token(&hash_secret(&credentials.element))
        .await?
        .filter(|i| i.organization_id == principal.organization_id)
        .ok_or_else(refused)?;
    if !instance.valid {
        return Err(ServiceError::Provider {
            failure: ProviderFailure::Unauthorized,
            message: format!(
                "instance {} must be authorized again (PATCH /instances/{} with a new providerData.code)",
                instance.id, instance.id
            ),
            provider: instance
                .invalid_reason
                .clone()
                .unwrap_or_else(|| "the provider authorization is no longer valid".into()),
        });
    }
    if instance.disabled {
        // Cloud Elements answers a disabled instance's hub call with 403.
        return Err(ServiceError::Forbidden(format!(
            "instance {} is disabled; enable it with PUT /instances/{}/enabled",
            instance.id, instance.id
        )));
    }
    Ok(instance)
}

/// A hub query string, read: each parameter as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubQuery {
    params: Vec<(String, String)>,
}

impl HubQuery {
    /// Reads a query string (`where=…&orderBy=…&pageSize=…`).
    pub fn parse(text: &str) -> Result<HubQuery, ServiceError> {
        serde_urlencoded::from_str(text)
            .map(|params| HubQuery { params })
            .map_err(|_| ServiceError::BadInput("the query string is malformed".into()))
    }

    /// A parameter's value as given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter as given, in order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The record filter of the query for one resource: `where` and `orderBy` as the element's
    /// dialect writes them for the provider, and the parts evaluated locally.
    pub fn record_filter(
        &self,
        element: &Element,
        resource: &Resource,
    ) -> Result<Translated, ServiceError> {
        query::hub_query(element, resource, &self.params)
            .map_err(|e| ServiceError::BadInput(e.to_string()))
    }

    /// The page size asked for (default 200), at most the element's largest page.
    fn page_size(&self, max: u32) -> Result<u32, ServiceError> {
        match self.get("pageSize") {
            None => Ok(DEFAULT_PAGE_SIZE.min(max)),
            Some(text) => match text.trim().parse::<u32>() {
                Ok(size) if size >= 1 => Ok(size.min(max)),
                _ => Err(ServiceError::BadInput(format!(
                    "pageSize must be a whole number from 1 to {max}, got {text:?}"
                ))),
            },
        }
    }

    /// Where the page that `nextPage` or `page` names starts (default: the first page).
    fn position(
        &self,
        (vault, instance_id): (&Vault, i64),
        element: &Element,
        resource: &Resource,
        page_size: u32,
    ) -> Result<Position, ServiceError> {
        let kind = element.list_request(resource).pager.kind;
        match (self.get("nextPage"), self.get("page")) {
            (Some(token), _) => read_page_token(vault, instance_id, &resource.name, token)
                .ok_or_else(|| {
                    ServiceError::BadInput("nextPage is not a token this server gave out".into())
                }),
            (None, Some(page)) => match page.trim().parse::<u64>() {
                Ok(page) if page >= 1 => {
                    Position::of_page(kind, page, page_size).ok_or_else(|| {
                        ServiceError::BadInput(format!(
                            "page {page}: {} cannot jump to a page; follow nextPage instead",
                            element.name
                        ))
                    })
                }
                _ => Err(ServiceError::BadInput(format!(
                    "page must be a whole number from 1, got {page:?}"
                ))),
            },
            (None, None) => Ok(Position::Start),
        }
    }
}

/// The element's resource a hub path names.
pub fn resource<'a>(
    element: &'a Element,
    hub: &str,
    name: &str,
) -> Result<&'a Resource, ServiceError> {
    if hub != element.hub {
        return Err(ServiceError::NotFound(format!(
            "no hub {hub:?} for this instance: its element {} is in hub {:?}",
            element.key, element.hub
        )));
    }
    element.resource(name).ok_or_else(|| {
        let names: Vec<&str> = element.resources.iter().map(|r| r.name.as_str()).collect();
        ServiceError::NotFound(format!(
            "no resource {name:?} in hub {hub}; it has {}",
            names.join(", ")
        ))
    })
}

fn provider_error(provider_name: &str, error: ProviderError) -> ServiceError {
    let (failure, message, provider) = match error {
        // Refused here, never sent: the caller's input, and no word of the provider's.
        ProviderError::Unsent(reason) => {
            return ServiceError::BadInput(format!(
                "Tributary refused the request before sending it to {provider_name}: {reason}"
            ));
        }
        ProviderError::Invalid(reason) => (
            ProviderFailure::Unauthorized,
            "the instance must be authorized again (PATCH it with a new providerData.code)"
                .to_owned(),
            reason,
        ),
        ProviderError::Rejected { status, message } => (
            ProviderFailure::Refused {
                status: Some(status),
            },
            format!("{provider_name} refused the request"),
            message,
        ),
        ProviderError::Failed { status, message } => (
            ProviderFailure::Failed,
            format!("{provider_name} failed (HTTP {status})"),
            message,
        ),
        ProviderError::Unreachable(message) => (
            ProviderFailure::Failed,
            format!("{provider_name} could not be reached"),
            message,
        ),
        ProviderError::Malformed(message) => (
            ProviderFailure::Failed,
            format!("{provider_name} answered something unreadable"),
            message,
        ),
    };
    ServiceError::Provider {
        failure,
        message,
        provider,
    }
}

/// Whether a poller configuration can ever be polled: its URL is exactly
/// `/hubs/{hub}/{resource}` for a resource of the element (no `..`, nothing after it), its
/// query reads as a hub call's, and its `where` translates for that resource with the poll's
/// change filter — what every poll does, done once when the configuration is written (create,
/// PUT, PATCH), so a configuration that could only fail at every poll, or never match, is
/// refused then with the problem named (issue 16). The message says what is wrong with the URL.
pub fn check_poller_url(element: &Element, url: &str, updated_field: &str) -> Result<(), String> {
    let template =
        tributary_domain::placeholders::UrlTemplate::compile(url).map_err(|e| e.to_string())?;
    let rendered = template.render(0, 0);
    let (path, query_text) = rendered.split_once('?').unwrap_or((&rendered, ""));
    let hub_prefix = format!("/hubs/{}/", element.hub);
    let names: Vec<&str> = element.resources.iter().map(|r| r.name.as_str()).collect();
    let shape = || {
        format!(
            "must be /hubs/{}/<resource> (one of {}), optionally with ?where=…, got {path:?}",
            element.hub,
            names.join(", ")
        )
    };
    let name = path
        .strip_prefix(&hub_prefix)
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .ok_or_else(shape)?;
    let resource = element.resource(name).ok_or_else(shape)?;
    let params = HubQuery::parse(query_text).map_err(|e| e.to_string())?;
    query::poll_query(element, resource, params.params(), updated_field, 0)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// What a page token's tag binds: the instance and resource it pages, and the position.
fn token_purpose(instance_id: i64, resource: &str) -> String {
    format!("page token {instance_id} {resource}")
}

/// A page token: the position (base64url), a dot, and its tag (base64url). Tamper-proof
/// (issue 16): a position may be a next-page URL, which the client follows with the instance's
/// bearer token, so a forged one must not be accepted — its tag cannot be made without the
/// master key, and it binds the instance and resource too.
fn page_token(vault: &Vault, instance_id: i64, resource: &str, position: &Position) -> String {
    let text = position.encode();
    let tag = vault.tag(&token_purpose(instance_id, resource), text.as_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(text),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The position a page token names, if this deployment gave it out for this resource.
fn read_page_token(
    vault: &Vault,
    instance_id: i64,
    resource: &str,
    token: &str,
) -> Option<Position> {
    let (text, tag) = token.trim().split_once('.')?;
    let text = URL_SAFE_NO_PAD.decode(text).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    if !vault.verify(&token_purpose(instance_id, resource), &text, &tag) {
        return None;
    }
    Position::decode(&String::from_utf8(text).ok()?)
}

/// One page of a hub listing.
#[derive(Debug, Clone)]
pub struct HubPage {
    pub records: Vec<Value>,
    /// The token of the next page, while the provider's pages go on.
    pub next_page: Option<String>,
    /// The parts of `where` Tributary evaluated itself, as text.
    pub local_filter: Option<String>,
    /// The provider's total of matches, when it says and nothing was filtered locally.
    pub total: Option<u64>,
}

/// One page of a resource's records, as the query string (`where`, `orderBy`, `pageSize`,
/// `page`, `nextPage`) asks: one provider request.
pub async fn list(
    state: &AppState,
    instance: &InstanceRecord,
    hub: &str,
    name: &str,
    query_text: &str,
) -> Result<HubPage, ServiceError> {
    let client = state.clients.client(instance)?;
    let element = client.element();
    let resource = resource(element, hub, name)?;
    let query = HubQuery::parse(query_text)?;
    let page_size = query.page_size(element.api.max_page_size)?;
    let at = query.position((&state.vault, instance.id), element, resource, page_size)?;
    let translated = query.record_filter(element, resource)?;
    let page = client
        .list(resource, &translated, &at, page_size)
        .await
        .map_err(|e| provider_error(&element.name, e))?;
    let records: Vec<Value> = page
        .records
        .into_iter()
        .filter(|record| translated.keeps(record))
        .collect();
    let local_filter = translated.local_text();
    Ok(HubPage {
        records,
        next_page: page
            .next
            .as_ref()
            .map(|next| page_token(&state.vault, instance.id, &resource.name, next)),
        total: page.total.filter(|_| local_filter.is_none()),
        local_filter,
    })
}

/// One record of a resource.
pub async fn get(
    state: &AppState,
    instance: &InstanceRecord,
    hub: &str,
    name: &str,
    id: &str,
) -> Result<Value, ServiceError> {
    let client = state.clients.client(instance)?;
    let element = client.element();
    let resource = resource(element, hub, name)?;
    client
        .get(resource, id)
        .await
        .map_err(|e| provider_error(&element.name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_a_forged_or_moved_one_is_refused() {
        let vault = Vault::from_key(&[7; 32]);
        for offset in [0, 7, 2_500, u64::MAX] {
            let position = Position::Offset(offset);
            let token = page_token(&vault, 1, "contacts", &position);
            assert_eq!(
                read_page_token(&vault, 1, "contacts", &token),
                Some(position)
            );
        }
        let cursor = Position::Cursor("after:200".into());
        let token = page_token(&vault, 1, "contacts", &cursor);
        assert_eq!(read_page_token(&vault, 1, "contacts", &token), Some(cursor));
        // Another instance, another resource, another key: refused.
        assert_eq!(read_page_token(&vault, 2, "contacts", &token), None);
        assert_eq!(read_page_token(&vault, 1, "orders", &token), None);
        let other = Vault::from_key(&[8; 32]);
        assert_eq!(read_page_token(&other, 1, "contacts", &token), None);
        // A forged next-page URL, with or without a borrowed tag.
        let (_, tag) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode("u:/crm/rest/v1/account/profile");
        assert_eq!(read_page_token(&vault, 1, "contacts", &forged), None);
        let borrowed = format!("{forged}.{tag}");
        assert_eq!(read_page_token(&vault, 1, "contacts", &borrowed), None);
        assert_eq!(read_page_token(&vault, 1, "contacts", "not a token"), None);
    }
}
