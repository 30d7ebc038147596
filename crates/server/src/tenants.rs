//! `tributary tenants create`: a new organization with its first user, secrets shown once.

use tributary_store::{NewOrganization, Store, UserProfile};

use crate::app::GeneratedSecrets;
use crate::secrets::{hash_secret, random_secret};

/// The longest name, email address or user name accepted.
const MAX_TEXT: usize = 200;

/// Creates an organization named `name` whose first user is known by its secret alone;
/// returns its fresh secrets.
pub async fn create(
    store: &dyn Store,
    name: &str,
    now_ms: i64,
) -> anyhow::Result<GeneratedSecrets> {
    create_with_user(store, name, UserProfile::default(), now_ms).await
}

/// Creates an organization named `name` whose first user is `user` (what an instance's `user`
/// object shows: each part optional); returns its fresh secrets.
pub async fn create_with_user(
    store: &dyn Store,
    name: &str,
    user: UserProfile,
    now_ms: i64,
) -> anyhow::Result<GeneratedSecrets> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TEXT {
        anyhow::bail!("--name must be 1 to {MAX_TEXT} characters");
    }
    let user = UserProfile {
        email: optional("--email", user.email)?,
        first_name: optional("--first-name", user.first_name)?,
        last_name: optional("--last-name", user.last_name)?,
    };
    if let Some(email) = &user.email
        && !email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
    {
        anyhow::bail!("--email must be an email address such as ada@example.com");
    }
    let organization_secret = random_secret();
    let user_secret = random_secret();
    store
        .create_organization(NewOrganization {
            name: name.to_owned(),
            organization_secret_hash: hash_secret(&organization_secret),
            user_secret_hash: hash_secret(&user_secret),
            user,
            now_ms,
        })
        .await?;
    Ok(GeneratedSecrets {
        organization_secret: organization_secret.into(),
        user_secret: user_secret.into(),
    })
}

/// A part of the user given: trimmed, blank as absent, at most [`MAX_TEXT`] characters.
fn optional(flag: &str, value: Option<String>) -> anyhow::Result<Option<String>> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        anyhow::bail!("{flag} must be at most {MAX_TEXT} characters, without control characters");
    }
    Ok(Some(value))
}
