//! Keeping an instance's subscriptions true at the provider: the wanted set (configured
//! resources × actions, while events are on with webhooks and the instance is enabled)
//! against the stored rows and, for the keeper, the provider's own list.

use tributary_domain::instance_config::VendorType;
use tributary_elements::client::{InstanceClient, Subscription};
use tributary_elements::definition::hooks::HooksSpec;
use tributary_store::InstanceRecord;
use tributary_store::hooks::{NewSubscription, SubscriptionRecord};

use super::{FAILED, MISSING, PENDING, hook_url, new_token};
use crate::secrets::hash_secret;
use crate::state::AppState;

/// One wanted subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    resource: String,
    event_key: String,
    action: &'static str,
}

/// The subscriptions an instance should have now.
fn wanted(state: &AppState, record: &InstanceRecord) -> Result<Vec<Wanted>, String> {
    let Some(element) = state.registry.get(&record.element_key) else {
        return Ok(Vec::new());
    };
    let Some(spec) = &element.hooks else {
        return Ok(Vec::new());
    };
    if record.disabled || !record.valid {
        return Ok(Vec::new());
    }
    let prepared = state.clients.prepared(record).map_err(|e| e.to_string())?;
    let settings = &prepared.settings;
    if !settings.enabled || settings.vendor != VendorType::Webhooks {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (name, compiled) in &prepared.pollers {
        // The hub resource the poller reads (its URL names it), as the poll finds it.
        let path = compiled.config.url.split('?').next().unwrap_or_default();
        let hub = path.rsplit('/').next().unwrap_or(name);
        let Some(resource) = element.resource(hub).or_else(|| element.resource(name)) else {
            continue;
        };
        for (event_key, action) in spec.event_keys(resource) {
            out.push(Wanted {
                resource: name.clone(),
                event_key,
                action: action.as_str(),
            });
        }
    }
    Ok(out)
}

/// Makes an instance's subscriptions what its configuration wants: creates the missing ones,
/// removes the unwanted (at the provider too), and — with `check` (the keeper) — asks the
/// provider for their status and mends those not delivering. A provider that refuses leaves
/// the subscription stored with its error; the keeper tries again.
pub async fn sync(state: &AppState, record: &InstanceRecord, check: bool) -> Result<(), String> {
    let Some(element) = state.registry.get(&record.element_key) else {
        return Ok(());
    };
    let Some(spec) = element.hooks.clone() else {
        return Ok(());
    };
    let wanted = wanted(state, record)?;
    let stored = state
        .store
        .subscriptions(record.id)
        .await
        .map_err(|e| e.to_string())?;
    if wanted.is_empty() && stored.is_empty() {
        return Ok(());
    }
    let client = state.clients.client(record).map_err(|e| e.to_string())?;
    for row in &stored {
        if !wanted.iter().any(|w| w.event_key == row.event_key) {
            unsubscribe(state, &client, row).await;
        }
    }
    let listed = if check && !wanted.is_empty() {
        match client.hook_list().await {
            Ok(listed) => Some(listed),
            Err(error) => {
                tracing::warn!(instance = record.id, %error, "could not list the subscriptions");
                None
            }
        }
    } else {
        None
    };
    let Some(public_url) = state.settings.public_url.clone() else {
        return Err("TRIBUTARY_PUBLIC_URL is not set: providers cannot reach the hook URLs".into());
    };
    let stored = match &listed {
        Some(listed) if strays(state, &client, record, &public_url, listed).await => state
            .store
            .subscriptions(record.id)
            .await
            .map_err(|e| e.to_string())?,
        _ => stored,
    };
    for want in &wanted {
        let row = stored.iter().find(|r| r.event_key == want.event_key);
        let Some(row) = row else {
            subscribe(state, &client, record, want, &public_url).await?;
            continue;
        };
        let status = match (&listed, &row.provider_key) {
            (Some(listed), Some(key)) => listed
                .iter()
                .find(|s| &s.key == key)
                .map_or(MISSING.to_owned(), |s| s.status.clone()),
            _ => row.status.clone(),
        };
        if spec.is_verified(&status) {
            if status != row.status {
                set(state, row.id, None, &status, None).await;
            }
            continue;
        }
        if !check && row.status != FAILED && row.status != PENDING {
            // Outside the keeper, a stored subscription is left as it is.
            continue;
        }
        if mend(state, &client, &spec, row, &status).await {
            continue;
        }
        if let Some(key) = &row.provider_key
            && let Err(error) = client.hook_delete(key).await
        {
            tracing::warn!(instance = record.id, %error, "could not remove a broken subscription");
        }
        subscribe(state, &client, record, want, &public_url).await?;
    }
    Ok(())
}

/// Deals with the provider's subscriptions under this instance's hook URLs that no stored
/// subscription knows by its key — left by a crash between the provider's answer to a
/// subscribe and the storing of its key. One whose token is that of a stored subscription
/// still waiting for its key is adopted (its key and status stored); any other is removed at
/// the provider, so no stray hook is left sending to a URL that answers 410. Returns whether
/// one was adopted (the stored rows changed).
///
/// The rows are read after the listing: a subscribe stores its token before it asks the
/// provider, so every hook listed that a subscribe in flight (here or on another node) made
/// is known by its token by then, and is adopted rather than removed.
async fn strays(
    state: &AppState,
    client: &InstanceClient,
    record: &InstanceRecord,
    public_url: &str,
    listed: &[Subscription],
) -> bool {
    let prefix = hook_url(public_url, &record.element_key, record.id, "");
    let stored = match state.store.subscriptions(record.id).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(instance = record.id, %error, "could not read the subscriptions");
            return false;
        }
    };
    let mut adopted = false;
    for hook in listed {
        let Some(token) = hook.hook_url.strip_prefix(&prefix) else {
            continue; // Not this instance's: another instance's, or another deployment's.
        };
        if token.is_empty()
            || stored
                .iter()
                .any(|row| row.provider_key.as_deref() == Some(hook.key.as_str()))
        {
            continue;
        }
        let owner = match state.store.subscription_by_token(&hash_secret(token)).await {
            Ok(owner) => owner,
            Err(error) => {
                tracing::warn!(instance = record.id, %error, "could not read a subscription");
                continue;
            }
        };
        match owner {
            Some(row)
                if row.instance_id == record.id
                    && row.provider_key.is_none()
                    && row.event_key == hook.event_key =>
            {
                set(state, row.id, Some(hook.key.clone()), &hook.status, None).await;
                tracing::info!(instance = record.id, event_key = %hook.event_key,
                    "adopted a subscription made before a crash");
                adopted = true;
            }
            _ => match client.hook_delete(&hook.key).await {
                Ok(()) => tracing::info!(instance = record.id, event_key = %hook.event_key,
                    "removed a subscription at the provider that nothing here knows (left by a crash)"),
                Err(error) => tracing::warn!(instance = record.id, %error,
                    "could not remove a stray subscription at the provider"),
            },
        }
    }
    adopted
}

/// Verifies an unverified subscription again; `true` when it now delivers.
async fn mend(
    state: &AppState,
    client: &InstanceClient,
    spec: &HooksSpec,
    row: &SubscriptionRecord,
    status: &str,
) -> bool {
    let Some(key) = &row.provider_key else {
        return false;
    };
    if !spec.is_unverified(status) {
        return false;
    }
    match client.hook_verify(key).await {
        Ok(Some(answer)) => {
            set(state, row.id, None, &answer.status, None).await;
            spec.is_verified(&answer.status)
        }
        Ok(None) => false,
        Err(error) => {
            set(state, row.id, None, status, Some(error.to_string())).await;
            false
        }
    }
}

/// Creates (or replaces) one subscription: a new token stored as its hash first, so the
/// provider's verification request, which arrives before its answer, finds it.
async fn subscribe(
    state: &AppState,
    client: &InstanceClient,
    record: &InstanceRecord,
    want: &Wanted,
    public_url: &str,
) -> Result<(), String> {
    let token = new_token();
    let id = state
        .store
        .put_subscription(NewSubscription {
            instance_id: record.id,
            resource: want.resource.clone(),
            event_key: want.event_key.clone(),
            action: want.action.to_owned(),
            token_hash: hash_secret(&token),
            status: PENDING.to_owned(),
            now_ms: state.now_ms(),
        })
        .await
        .map_err(|e| e.to_string())?;
    let url = hook_url(public_url, &record.element_key, record.id, &token);
    match client.hook_subscribe(&want.event_key, &url).await {
        Ok(answer) => set(state, id, Some(answer.key), &answer.status, None).await,
        Err(error) => {
            // The provider may quote the hook URL back; its token is a secret.
            let error = error.to_string().replace(&token, "********");
            tracing::warn!(instance = record.id, event_key = %want.event_key, %error,
                "the provider refused a subscription; the keeper will try again");
            set(state, id, None, FAILED, Some(error)).await;
        }
    }
    Ok(())
}

/// Removes one subscription at the provider, then here; kept (with the error) when the
/// provider cannot be told, so the keeper tries again.
async fn unsubscribe(state: &AppState, client: &InstanceClient, row: &SubscriptionRecord) {
    if let Some(key) = &row.provider_key
        && let Err(error) = client.hook_delete(key).await
    {
        set(
            state,
            row.id,
            None,
            &row.status,
            Some(format!("could not unsubscribe: {error}")),
        )
        .await;
        return;
    }
    if let Err(error) = state.store.delete_subscription(row.id).await {
        tracing::error!(%error, "could not forget a subscription");
    }
}

async fn set(
    state: &AppState,
    id: i64,
    provider_key: Option<String>,
    status: &str,
    error: Option<String>,
) {
    if let Err(e) = state
        .store
        .set_subscription(id, provider_key, status, error, state.now_ms())
        .await
    {
        tracing::error!(error = %e, "could not record a subscription's status");
    }
}

/// Removes every subscription of an instance at the provider (its deletion): best effort, each
/// failure logged.
pub async fn remove_all(state: &AppState, record: &InstanceRecord) {
    let stored = match state.store.subscriptions(record.id).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(%error, "could not read the subscriptions to remove");
            return;
        }
    };
    if stored.is_empty() {
        return;
    }
    let client = match state.clients.client(record) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(instance = record.id, %error, "cannot unsubscribe: no provider client");
            return;
        }
    };
    for row in &stored {
        unsubscribe(state, &client, row).await;
    }
}

/// The keeper's pass: every instance with subscriptions checked at the provider and mended.
/// Never sleeps; tests step it.
pub async fn keep_all(state: &AppState) {
    let ids = match state.store.subscribed_instances().await {
        Ok(ids) => ids,
        Err(error) => {
            tracing::error!(%error, "could not list the instances with subscriptions");
            return;
        }
    };
    for id in ids {
        let Ok(Some(record)) = state.store.instance_by_id(id).await else {
            continue;
        };
        if let Err(error) = sync(state, &record, true).await {
            tracing::warn!(instance = id, %error, "could not keep the subscriptions");
        }
    }
}
