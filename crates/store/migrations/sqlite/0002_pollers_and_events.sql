-- Pollers (one per instance and resource with events on) and the event log.
--
-- A poller's cursor and dedupe memory change only together with the events they produced, in
-- one transaction guarded by the poller's version, so a poll that fails part-way, or loses a
-- race, writes nothing.

CREATE TABLE pollers (
    instance_id     INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    resource        TEXT    NOT NULL,
    -- When events were enabled for this resource (Tributary's clock, epoch ms).
    enabled_ms      INTEGER NOT NULL,
    -- The highest updated date emitted (provider time, epoch ms); NULL before the first poll.
    cursor_ms       INTEGER,
    -- JSON object: object id -> updated ms (number) or content hash (string).
    seen            TEXT    NOT NULL,
    next_due_ms     INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until_ms  INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_poll_ms    INTEGER,
    -- JSON object: what the last poll did.
    last_summary    TEXT,
    events_emitted  INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (instance_id, resource)
);

CREATE INDEX pollers_by_due ON pollers (next_due_ms);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Derived from instance, resource, object id and the change: a repeat cannot insert twice.
    event_id      TEXT    NOT NULL UNIQUE,
    instance_id   INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    resource      TEXT    NOT NULL,
    object_id     TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    date_ms       INTEGER NOT NULL,
    poll_date_ms  INTEGER NOT NULL,
    date_error    TEXT,
    -- The record as the provider returned it (JSON).
    record        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL
);

CREATE INDEX events_by_instance ON events (instance_id, id);
