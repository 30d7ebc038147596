//! An instance with its configuration: reading an instance row with its entries, and the
//! transactions that insert and update an instance with its whole configuration (and the
//! insert of an organization with its first user).

use sqlx::Executor;

use tributary_domain::instance_config::CALLBACK_URL;

use super::rows::{self, Columns};
use super::{Backend, Lock, Param, RowsAffected, SqlStore};
use crate::{
    InstanceData, InstanceRecord, NewInstance, NewOrganization, NotificationStatus, Principal,
    Result, StoreError, StoredValue, Updated,
};

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    i64: Param<B>,
    bool: Param<B>,
    &'static str: Param<B>,
    String: Param<B>,
    Option<String>: Param<B>,
    Vec<u8>: Param<B>,
    Option<Vec<u8>>: Param<B>,
{
    /// The instance a row of [`rows::select_instances!`] holds, with its configuration.
    pub(super) async fn load(&self, row: B::Row) -> Result<InstanceRecord> {
        let id: i64 = row.column("id")?;
        let entries = sqlx::query(
            "SELECT id, key, value, sealed FROM instance_configuration
             WHERE instance_id = $1 ORDER BY key",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let configuration = entries
            .iter()
            .map(|entry| rows::config_entry(entry, id))
            .collect::<Result<_>>()?;
        rows::instance(&row, configuration)
    }

    /// An organization's instance.
    pub(super) async fn load_instance(
        &self,
        organization_id: i64,
        id: i64,
    ) -> Result<Option<InstanceRecord>> {
        let row = sqlx::query(rows::select_instances!(
            "WHERE organization_id = $1 AND id = $2"
        ))
        .bind(organization_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        self.load_optional(row).await
    }

    pub(super) async fn load_optional(
        &self,
        row: Option<B::Row>,
    ) -> Result<Option<InstanceRecord>> {
        match row {
            Some(row) => Ok(Some(self.load(row).await?)),
            None => Ok(None),
        }
    }

    /// Inserts an organization and its first user in the caller's transaction.
    pub(super) async fn insert_organization(
        conn: &mut B::Connection,
        new: NewOrganization,
    ) -> Result<Principal> {
        let organization_id: i64 = sqlx::query(
            "INSERT INTO organizations (name, secret_hash, created_ms) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .bind(new.name)
        .bind(new.organization_secret_hash)
        .bind(new.now_ms)
        .fetch_one(&mut *conn)
        .await?
        .column("id")?;
        let user_id: i64 = sqlx::query(
            "INSERT INTO users (organization_id, secret_hash, created_ms, email, first_name,
                 last_name)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id",
        )
        .bind(organization_id)
        .bind(new.user_secret_hash)
        .bind(new.now_ms)
        .bind(new.user.email)
        .bind(new.user.first_name)
        .bind(new.user.last_name)
        .fetch_one(&mut *conn)
        .await?
        .column("id")?;
        Ok(Principal {
            organization_id,
            user_id,
        })
    }

    /// Writes an instance's whole configuration in the caller's transaction, which holds the
    /// instance's row (its insert, or its version-guarded update), so no other writer changes
    /// these rows meanwhile.
    pub(super) async fn write_configuration(
        conn: &mut B::Connection,
        instance_id: i64,
        configuration: &[(String, StoredValue)],
    ) -> Result<()> {
        let existing = sqlx::query("SELECT key FROM instance_configuration WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_all(&mut *conn)
            .await?;
        for row in existing {
            let key: String = row.column("key")?;
            if !configuration.iter().any(|(k, _)| *k == key) {
                sqlx::query(
                    "DELETE FROM instance_configuration WHERE instance_id = $1 AND key = $2",
                )
                .bind(instance_id)
                .bind(key.clone())
                .execute(&mut *conn)
                .await?;
            }
        }
        for (key, value) in configuration {
            let (plain, sealed) = match value {
                StoredValue::Plain(text) => (Some(text.clone()), None),
                StoredValue::Sealed(bytes) => (None, Some(bytes.clone())),
            };
            // An upsert keeps the entry's id stable across updates.
            sqlx::query(
                "INSERT INTO instance_configuration (instance_id, key, value, sealed)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (instance_id, key)
                 DO UPDATE SET value = excluded.value, sealed = excluded.sealed",
            )
            .bind(instance_id)
            .bind(key.clone())
            .bind(plain)
            .bind(sealed)
            .execute(&mut *conn)
            .await?;
        }
        // Notifications not yet delivered follow the instance's callback URL: a new URL takes
        // them (and lifts a 410 stop, which named the old one).
        B::lock(conn, Lock::Repointed(instance_id)).await?;
        sqlx::query(
            "UPDATE notifications SET callback_url = (SELECT value FROM instance_configuration
                 WHERE instance_id = $1 AND key = $2)
             WHERE instance_id = $1 AND status <> $3
               AND callback_url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = $1 AND key = $2)",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .bind(NotificationStatus::Notified.as_str())
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM stopped_callbacks WHERE instance_id = $1
               AND url <> (SELECT value FROM instance_configuration
                   WHERE instance_id = $1 AND key = $2)",
        )
        .bind(instance_id)
        .bind(CALLBACK_URL)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Inserts an instance with its configuration, in one transaction.
    pub(super) async fn insert(&self, new: NewInstance) -> Result<InstanceRecord> {
        let mut tx = self.begin().await?;
        let data = &new.data;
        let id: i64 = sqlx::query(
            "INSERT INTO instances (organization_id, user_id, element_key, name, token_hash, tags,
                 credentials, valid, invalid_reason, disabled, events_enabled, version,
                 created_ms, updated_ms, token_sealed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12, $13)
             RETURNING id",
        )
        .bind(new.principal.organization_id)
        .bind(new.principal.user_id)
        .bind(new.element_key.clone())
        .bind(data.name.clone())
        .bind(new.token_hash.clone())
        .bind(rows::tags_json(&data.tags))
        .bind(data.credentials.clone())
        .bind(data.valid)
        .bind(data.invalid_reason.clone())
        .bind(data.disabled)
        .bind(data.events_enabled)
        .bind(new.now_ms)
        .bind(new.token_sealed.clone())
        .fetch_one(&mut *tx)
        .await?
        .column("id")?;
        Self::write_configuration(&mut tx, id, &data.configuration).await?;
        tx.commit().await?;
        self.load_instance(new.principal.organization_id, id)
            .await?
            .ok_or_else(|| StoreError::Database(format!("instance {id} vanished after insert")))
    }

    /// Replaces an instance's data and configuration if it is still at `expected_version`, in one
    /// transaction.
    pub(super) async fn update(
        &self,
        organization_id: i64,
        id: i64,
        expected_version: i64,
        data: InstanceData,
        now_ms: i64,
    ) -> Result<Updated> {
        let mut tx = self.begin().await?;
        // A concurrent update from the same version waits for this row (its lock, or SQLite's
        // write lock), then re-reads it and finds the version moved on: a conflict. The lock is
        // held to the commit, so the configuration below is written by one updater at a time.
        let changed = sqlx::query(
            "UPDATE instances SET name = $1, tags = $2, credentials = $3, valid = $4,
                 invalid_reason = $5, disabled = $6, events_enabled = $7, version = version + 1,
                 updated_ms = $8
             WHERE organization_id = $9 AND id = $10 AND version = $11",
        )
        .bind(data.name)
        .bind(rows::tags_json(&data.tags))
        .bind(data.credentials)
        .bind(data.valid)
        .bind(data.invalid_reason)
        .bind(data.disabled)
        .bind(data.events_enabled)
        .bind(now_ms)
        .bind(organization_id)
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            let exists =
                sqlx::query("SELECT id FROM instances WHERE organization_id = $1 AND id = $2")
                    .bind(organization_id)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(if exists.is_some() {
                Updated::Conflict
            } else {
                Updated::NotFound
            });
        }
        Self::write_configuration(&mut tx, id, &data.configuration).await?;
        tx.commit().await?;
        match self.load_instance(organization_id, id).await? {
            Some(record) => Ok(Updated::Done(Box::new(record))),
            None => Ok(Updated::NotFound),
        }
    }
}
