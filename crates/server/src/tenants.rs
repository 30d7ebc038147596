//! `tributary tenants create`: a new organization with its first user, secrets shown once.

use tributary_store::{NewOrganization, Store};

use crate::app::GeneratedSecrets;
use crate::secrets::{hash_secret, random_secret};

/// Creates an organization named `name`; returns its fresh secrets.
pub async fn create(
    store: &dyn Store,
    name: &str,
    now_ms: i64,
) -> anyhow::Result<GeneratedSecrets> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        anyhow::bail!("--name must be 1 to 200 characters");
    }
    let organization_secret = random_secret();
    let user_secret = random_secret();
    store
        .create_organization(NewOrganization {
            name: name.to_owned(),
            organization_secret_hash: hash_secret(&organization_secret),
            user_secret_hash: hash_secret(&user_secret),
            now_ms,
        })
        .await?;
    Ok(GeneratedSecrets {
        organization_secret: organization_secret.into(),
        user_secret: user_secret.into(),
    })
}
