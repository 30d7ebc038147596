//! [`Store::activity`](crate::Store::activity): three counting statements, each one `GROUP BY`
//! over an organization's rows in a stretch of time.
//!
//! A bucket is `(time - from) / bucket_ms`: integer division on both backends (every integer is
//! `BIGINT` on PostgreSQL). Computed columns are cast to `BIGINT` so that PostgreSQL's `CASE`
//! (an `integer`) reads as `i64` like everything else. Groups are named by position
//! (`GROUP BY 1, 2`), which both accept.

use std::sync::LazyLock;

use sqlx::Executor;

use super::rows::Columns;
use super::{Backend, Param, SqlStore};
use crate::activity::LATENCY_BOUNDS_MS;
use crate::{
    Activity, ActivityFilter, LatencyCount, NotificationStatus, OutcomeCount, ResourceCount,
    Result, StoreError,
};

/// The latency histogram's statement: its `CASE` lists [`LATENCY_BOUNDS_MS`] (numbers written
/// from a constant, never input).
static LATENCY_SQL: LazyLock<String> = LazyLock::new(|| {
    let bins: String = LATENCY_BOUNDS_MS
        .iter()
        .enumerate()
        .map(|(bin, bound)| format!("WHEN d.latency <= {bound} THEN {bin} "))
        .collect();
    format!(
        "SELECT CAST((d.delivered_ms - $3) / $5 AS BIGINT) AS bucket,
                CAST(CASE {bins}ELSE {open} END AS BIGINT) AS bin,
                COUNT(*) AS count
         FROM (SELECT n.delivered_ms AS delivered_ms,
                      n.delivered_ms - MIN(e.poll_date_ms) AS latency
               FROM notifications n
               JOIN instances i ON i.id = n.instance_id
               JOIN events e ON e.notification_id = n.id
               WHERE i.organization_id = $1
                 AND ($2 IS NULL OR n.instance_id = $2)
                 AND n.status = $6
                 AND n.delivered_ms >= $3 AND n.delivered_ms < $4
               GROUP BY n.id, n.delivered_ms) d
         GROUP BY 1, 2
         ORDER BY 1, 2",
        open = LATENCY_BOUNDS_MS.len()
    )
});

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: Executor<'c, Database = B>,
    i64: Param<B>,
    Option<i64>: Param<B>,
    &'static str: Param<B>,
{
    pub(super) async fn count_activity(
        &self,
        organization_id: i64,
        filter: &ActivityFilter,
    ) -> Result<Activity> {
        if filter.bucket_ms <= 0 {
            return Err(StoreError::InvalidInput(format!(
                "activity buckets must be positive, got {} ms",
                filter.bucket_ms
            )));
        }
        let events = sqlx::query(
            "SELECT CAST((e.created_ms - $3) / $5 AS BIGINT) AS bucket, e.resource AS resource,
                    COUNT(*) AS count
             FROM events e
             JOIN instances i ON i.id = e.instance_id
             WHERE i.organization_id = $1
               AND ($2 IS NULL OR e.instance_id = $2)
               AND e.created_ms >= $3 AND e.created_ms < $4
             GROUP BY 1, 2",
        )
        .bind(organization_id)
        .bind(filter.instance_id)
        .bind(filter.from_ms)
        .bind(filter.to_ms)
        .bind(filter.bucket_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut events = events
            .iter()
            .map(|row| {
                Ok(ResourceCount {
                    bucket: row.column("bucket")?,
                    resource: row.column("resource")?,
                    count: row.column("count")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Ordered here: the backends' collations order names differently.
        events.sort_by(|a, b| {
            (a.bucket, a.resource.as_bytes()).cmp(&(b.bucket, b.resource.as_bytes()))
        });

        let notifications = sqlx::query(
            "SELECT CAST((n.created_ms - $3) / $5 AS BIGINT) AS bucket, n.status AS status,
                    CAST(CASE WHEN n.attempts > 0 THEN 1 ELSE 0 END AS BIGINT) AS tried,
                    COUNT(*) AS count
             FROM notifications n
             JOIN instances i ON i.id = n.instance_id
             WHERE i.organization_id = $1
               AND ($2 IS NULL OR n.instance_id = $2)
               AND n.created_ms >= $3 AND n.created_ms < $4
             GROUP BY 1, 2, 3
             ORDER BY 1, 2, 3",
        )
        .bind(organization_id)
        .bind(filter.instance_id)
        .bind(filter.from_ms)
        .bind(filter.to_ms)
        .bind(filter.bucket_ms)
        .fetch_all(&self.pool)
        .await?;
        let notifications = notifications
            .iter()
            .map(|row| {
                let status: String = row.column("status")?;
                Ok(OutcomeCount {
                    bucket: row.column("bucket")?,
                    status: status
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("notification status: {e}")))?,
                    tried: row.column::<i64>("tried")? > 0,
                    count: row.column("count")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let latency = sqlx::query(LATENCY_SQL.as_str())
            .bind(organization_id)
            .bind(filter.instance_id)
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.bucket_ms)
            .bind(NotificationStatus::Notified.as_str())
            .fetch_all(&self.pool)
            .await?;
        let latency = latency
            .iter()
            .map(|row| {
                let bin: i64 = row.column("bin")?;
                Ok(LatencyCount {
                    bucket: row.column("bucket")?,
                    bin: usize::try_from(bin)
                        .map_err(|_| StoreError::Corrupt(format!("latency bin {bin}")))?,
                    count: row.column("count")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Activity {
            events,
            notifications,
            latency,
        })
    }
}
