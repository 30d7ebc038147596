-- The outbox: notifications built from stored events, their delivery state and attempts.
--
-- Events are the durable record of changes; a notification is built from events that have
-- none yet (events.notification_id IS NULL) and stored, exact body bytes included, before
-- anything is sent. Sending is leased like polling, never a transaction held across the call.

ALTER TABLE events ADD COLUMN notification_id TEXT;

CREATE INDEX events_without_notification ON events (id) WHERE notification_id IS NULL;

CREATE TABLE notifications (
    id               TEXT    PRIMARY KEY,
    instance_id      INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    resource         TEXT    NOT NULL,
    callback_url     TEXT    NOT NULL,
    -- The exact bytes sent (and signed).
    body             BLOB    NOT NULL,
    -- QUEUED until delivered (NOTIFIED) or out of retries (FAILED).
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_until_ms   INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_ms       INTEGER NOT NULL,
    delivered_ms     INTEGER
);

CREATE INDEX notifications_due ON notifications (status, next_attempt_ms);

CREATE TABLE delivery_attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id  TEXT    NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    at_ms            INTEGER NOT NULL,
    status_code      INTEGER,
    duration_ms      INTEGER NOT NULL,
    -- The first bytes of the answer, or why there was none.
    excerpt          TEXT,
    error            TEXT
);

CREATE INDEX delivery_attempts_by_notification ON delivery_attempts (notification_id, id);
