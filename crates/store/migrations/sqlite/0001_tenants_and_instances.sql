-- Tenants, instances and their configuration.
--
-- Times are epoch milliseconds from the application's injected clock, never the database's.
-- Secrets are never stored: organization and user secrets and instance tokens as SHA-256
-- hashes (they are random, so a plain hash is enough to make a stolen database useless for
-- signing in); provider credentials and secret configuration values sealed with AES-256-GCM
-- by the application before they reach this layer.

CREATE TABLE organizations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    secret_hash  BLOB    NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL
);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    secret_hash      BLOB    NOT NULL UNIQUE,
    created_ms       INTEGER NOT NULL
);

CREATE TABLE instances (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users (id),
    element_key      TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    token_hash       BLOB    NOT NULL UNIQUE,
    -- JSON array of strings.
    tags             TEXT    NOT NULL,
    -- Sealed JSON: access and refresh tokens and their expiry.
    credentials      BLOB,
    valid            INTEGER NOT NULL,
    invalid_reason   TEXT,
    disabled         INTEGER NOT NULL,
    events_enabled   INTEGER NOT NULL,
    -- Bumped by every update; writers say which version they read (optimistic concurrency).
    version          INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);

CREATE INDEX instances_by_organization ON instances (organization_id, id);

-- One row per configuration key, so each entry has a stable id for
-- GET/PATCH /instances/{id}/configuration/{configurationId}.
CREATE TABLE instance_configuration (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    key          TEXT    NOT NULL,
    -- Exactly one of these is set: `value` for plain keys, `sealed` for secret ones.
    value        TEXT,
    sealed       BLOB,
    UNIQUE (instance_id, key)
);
