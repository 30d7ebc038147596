//! Rows into records, written once for both backends: the column lists the statements select,
//! and the functions that read a row of them.
//!
//! A row is read through [`Columns`], which both backends' rows implement, so the mapping
//! functions are plain functions of `&impl Columns` rather than generic over a database.

use std::str::FromStr;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Postgres, Row, Sqlite, Type};

use crate::{
    Attempt, ConfigEntry, EventCount, EventRecord, InstanceRecord, NotificationRecord,
    NotificationView, PollerRecord, Principal, Result, Session, StoreError, StoredValue,
    UserProfile, UserRecord,
};

/// A value the store reads from a row: one both backends decode (integers are `BIGINT` on
/// PostgreSQL so that all of them read as `i64`, as SQLite's do).
pub trait Stored:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Stored for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A row's columns, by name.
pub trait Columns {
    fn column<T: Stored>(&self, name: &'static str) -> Result<T>;
}

impl Columns for SqliteRow {
    fn column<T: Stored>(&self, name: &'static str) -> Result<T> {
        Ok(self.try_get(name)?)
    }
}

impl Columns for PgRow {
    fn column<T: Stored>(&self, name: &'static str) -> Result<T> {
        Ok(self.try_get(name)?)
    }
}

/// `SELECT` of an instance row, then the rest of the statement (from `FROM instances`).
macro_rules! select_instances {
    ($rest:literal) => {
        concat!(
            "SELECT id, organization_id, user_id, element_key, name, tags, token_sealed,
                    credentials, valid, invalid_reason, disabled, events_enabled, version,
                    created_ms, updated_ms
             FROM instances ",
            $rest
        )
    };
}

/// The columns of a poller row.
macro_rules! poller_columns {
    () => {
        "instance_id, resource, enabled_ms, cursor_ms, seen, next_due_ms, failures, last_error,
         last_poll_ms, last_summary, events_emitted, version, delete_cursor_ms, deletes_lost,
         deletes_lost_from_ms, deletes_lost_until_ms, deletes_lost_at_ms, paused_until_ms,
         delete_memory,
         (SELECT s.swept_ms FROM sweeps s
          WHERE s.instance_id = pollers.instance_id AND s.resource = pollers.resource)
             AS swept_ms,
         (SELECT i.version FROM instances i WHERE i.id = pollers.instance_id)
             AS instance_version,
         (SELECT i.valid AND NOT i.disabled FROM instances i WHERE i.id = pollers.instance_id)
             AS instance_polls"
    };
}

/// `SELECT` of a poller row, then the rest of the statement (from `FROM pollers`).
macro_rules! select_pollers {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            $crate::sql::rows::poller_columns!(),
            " FROM pollers ",
            $rest
        )
    };
}

/// An event's status (of the row `e`), derived from its notification's: a settle moves the
/// notification alone and never rewrites its ten event rows (issue 21). The stored `status` is
/// `NEW` until the event is queued, then `QUEUED` (or, in databases from before the change,
/// where the settle wrote it, the same as its notification's).
macro_rules! event_status {
    () => {
        "CASE WHEN e.notification_id IS NULL THEN e.status
              ELSE COALESCE((SELECT n.status FROM notifications n WHERE n.id = e.notification_id),
                            e.status) END"
    };
}

/// `SELECT` of an event row (as `e`) and any `columns:` more, then the rest of the statement
/// (from `FROM events e`).
macro_rules! select_events {
    ($rest:literal) => {
        select_events!(columns: "", $rest)
    };
    (columns: $columns:literal, $rest:literal) => {
        concat!(
            "SELECT e.id, e.event_id, e.instance_id, e.resource, e.object_id, e.event_type,
                    e.date_ms, e.poll_date_ms, e.date_error, e.record, ",
            event_status!(),
            " AS status, e.notification_id, e.created_ms",
            $columns,
            " FROM events e ",
            $rest
        )
    };
}

/// The columns of a notification row, as a claim's `RETURNING` lists them (with the version of
/// its instance, which [`notification`] reads).
macro_rules! notification_columns {
    () => {
        "id, instance_id, resource, callback_url, status, attempts, next_attempt_ms, poll_date_ms,
         (SELECT i.version FROM instances i WHERE i.id = notifications.instance_id)
             AS instance_version,
         (SELECT b.body FROM notification_bodies b WHERE b.notification_id = notifications.id)
             AS body"
    };
}

pub(crate) use {
    event_status, notification_columns, poller_columns, select_events, select_instances,
    select_pollers,
};

/// A status column, parsed.
fn status<T: FromStr>(row: &impl Columns, what: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    let text: String = row.column("status")?;
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} status: {e}")))
}

pub(crate) fn event(row: &impl Columns) -> Result<EventRecord> {
    Ok(EventRecord {
        id: row.column("id")?,
        event_id: row.column("event_id")?,
        instance_id: row.column("instance_id")?,
        resource: row.column("resource")?,
        object_id: row.column("object_id")?,
        event_type: row.column("event_type")?,
        date_ms: row.column("date_ms")?,
        poll_date_ms: row.column("poll_date_ms")?,
        date_error: row.column("date_error")?,
        record: row.column("record")?,
        status: status(row, "event")?,
        notification_id: row.column("notification_id")?,
        created_ms: row.column("created_ms")?,
    })
}

pub(crate) fn poller(row: &impl Columns) -> Result<PollerRecord> {
    Ok(PollerRecord {
        instance_id: row.column("instance_id")?,
        resource: row.column("resource")?,
        enabled_ms: row.column("enabled_ms")?,
        cursor_ms: row.column("cursor_ms")?,
        seen: row.column("seen")?,
        next_due_ms: row.column("next_due_ms")?,
        failures: row.column("failures")?,
        last_error: row.column("last_error")?,
        last_poll_ms: row.column("last_poll_ms")?,
        last_summary: row.column("last_summary")?,
        events_emitted: row.column("events_emitted")?,
        version: row.column("version")?,
        delete_cursor_ms: row.column("delete_cursor_ms")?,
        deletes_lost: row.column("deletes_lost")?,
        deletes_lost_from_ms: row.column("deletes_lost_from_ms")?,
        deletes_lost_until_ms: row.column("deletes_lost_until_ms")?,
        deletes_lost_at_ms: row.column("deletes_lost_at_ms")?,
        paused_until_ms: row.column("paused_until_ms")?,
        delete_memory: row.column("delete_memory")?,
        swept_ms: row.column("swept_ms")?,
        // NULL only for an instance deleted meanwhile (its pollers go with it).
        instance_version: row.column("instance_version")?,
        instance_polls: row
            .column::<Option<bool>>("instance_polls")?
            .unwrap_or(false),
    })
}

/// A row of [`notification_columns!`].
pub(crate) fn notification(row: &impl Columns) -> Result<NotificationRecord> {
    Ok(NotificationRecord {
        id: row.column("id")?,
        instance_id: row.column("instance_id")?,
        resource: row.column("resource")?,
        callback_url: row.column("callback_url")?,
        // Its own table (written with the notification, so never missing but in a race with
        // the notification's deletion, which then has nothing left to send).
        body: row.column::<Option<Vec<u8>>>("body")?.unwrap_or_default(),
        status: status(row, "notification")?,
        attempts: row.column("attempts")?,
        // NULL only for an instance deleted meanwhile: 0 is a version no sender has seen.
        instance_version: row.column::<Option<i64>>("instance_version")?.unwrap_or(0),
        poll_date_ms: row.column("poll_date_ms")?,
    })
}

/// A row of `SELECT id, number, instance_id, resource, status, attempts, created_ms,
/// delivered_ms FROM notifications` with `body` from `notification_bodies`.
pub(crate) fn notification_view(row: &impl Columns) -> Result<NotificationView> {
    Ok(NotificationView {
        id: row.column("id")?,
        number: row.column("number")?,
        instance_id: row.column("instance_id")?,
        resource: row.column("resource")?,
        status: status(row, "notification")?,
        attempts: row.column("attempts")?,
        created_ms: row.column("created_ms")?,
        delivered_ms: row.column("delivered_ms")?,
        body: row.column::<Option<Vec<u8>>>("body")?.unwrap_or_default(),
    })
}

/// A row of `SELECT id, organization_id, email, first_name, last_name FROM users`.
pub(crate) fn user(row: &impl Columns) -> Result<UserRecord> {
    Ok(UserRecord {
        id: row.column("id")?,
        organization_id: row.column("organization_id")?,
        profile: UserProfile {
            email: row.column("email")?,
            first_name: row.column("first_name")?,
            last_name: row.column("last_name")?,
        },
    })
}

/// A row of the event counts (`bucket`, `instance_id`, `count`, `notified`, `failed`), its
/// bucket index turned into the bucket's start.
pub(crate) fn event_count(row: &impl Columns, from_ms: i64, bucket_ms: i64) -> Result<EventCount> {
    let bucket: i64 = row.column("bucket")?;
    Ok(EventCount {
        bucket_ms: from_ms.saturating_add(bucket.saturating_mul(bucket_ms)),
        instance_id: row.column("instance_id")?,
        count: row.column("count")?,
        notified: row.column("notified")?,
        failed: row.column("failed")?,
    })
}

pub(crate) fn attempt(row: &impl Columns) -> Result<Attempt> {
    let status_code = row
        .column::<Option<i64>>("status_code")?
        .map(|code| {
            u16::try_from(code)
                .map_err(|_| StoreError::Corrupt(format!("attempt status code {code}")))
        })
        .transpose()?;
    Ok(Attempt {
        at_ms: row.column("at_ms")?,
        status_code,
        duration_ms: row.column("duration_ms")?,
        excerpt: row.column("excerpt")?,
        error: row.column("error")?,
    })
}

/// A row with `organization_id` and `user_id`.
pub(crate) fn principal(row: &impl Columns) -> Result<Principal> {
    Ok(Principal {
        organization_id: row.column("organization_id")?,
        user_id: row.column("user_id")?,
    })
}

pub(crate) fn session(row: &impl Columns) -> Result<Session> {
    Ok(Session {
        principal: principal(row)?,
        csrf: row.column("csrf")?,
        expires_ms: row.column("expires_ms")?,
    })
}

/// A row of `instance_configuration`.
pub(crate) fn config_entry(row: &impl Columns, instance_id: i64) -> Result<ConfigEntry> {
    let key: String = row.column("key")?;
    let value = match (row.column("value")?, row.column("sealed")?) {
        (Some(value), None) => StoredValue::Plain(value),
        (None, Some(sealed)) => StoredValue::Sealed(sealed),
        _ => {
            return Err(StoreError::Corrupt(format!(
                "instance {instance_id} configuration {key}: needs exactly one of value and sealed"
            )));
        }
    };
    Ok(ConfigEntry {
        id: row.column("id")?,
        key,
        value,
    })
}

/// A row of [`select_instances!`], with its configuration (read separately).
pub(crate) fn instance(
    row: &impl Columns,
    configuration: Vec<ConfigEntry>,
) -> Result<InstanceRecord> {
    let id: i64 = row.column("id")?;
    let tags: String = row.column("tags")?;
    let tags: Vec<String> = serde_json::from_str(&tags)
        .map_err(|e| StoreError::Corrupt(format!("instance {id} tags: {e}")))?;
    Ok(InstanceRecord {
        id,
        organization_id: row.column("organization_id")?,
        user_id: row.column("user_id")?,
        element_key: row.column("element_key")?,
        name: row.column("name")?,
        tags,
        token_sealed: row.column("token_sealed")?,
        configuration,
        credentials: row.column("credentials")?,
        valid: row.column("valid")?,
        invalid_reason: row.column("invalid_reason")?,
        disabled: row.column("disabled")?,
        events_enabled: row.column("events_enabled")?,
        version: row.column("version")?,
        created_ms: row.column("created_ms")?,
        updated_ms: row.column("updated_ms")?,
    })
}

/// Tags as stored: a JSON array of strings.
pub(crate) fn tags_json(tags: &[String]) -> String {
    serde_json::Value::from(tags.to_vec()).to_string()
}
