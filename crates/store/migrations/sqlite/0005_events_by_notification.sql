-- Settling a delivery attempt updates the events of its notification; without this index that
-- UPDATE read the whole events table (kept for the retention period) once per attempt, inside
-- the database's one write lock.
CREATE INDEX events_by_notification ON events (notification_id)
    WHERE notification_id IS NOT NULL;
