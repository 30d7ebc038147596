-- Webhook sources (issue 20): subscriptions kept at the provider and deliveries stored before
-- they are acknowledged. SQLite's migration 0015 says what each column holds.
CREATE TABLE hook_subscriptions (
    id               BIGSERIAL PRIMARY KEY,
    instance_id      BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    resource         TEXT   NOT NULL,
    event_key        TEXT   NOT NULL,
    action           TEXT   NOT NULL,
    token_hash       BYTEA  NOT NULL UNIQUE,
    provider_key     TEXT,
    status           TEXT   NOT NULL,
    last_error       TEXT,
    last_delivery_ms BIGINT,
    deliveries       BIGINT NOT NULL DEFAULT 0,
    created_ms       BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL,
    UNIQUE (instance_id, event_key)
);

CREATE TABLE hook_inbound (
    id              BIGSERIAL PRIMARY KEY,
    instance_id     BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    subscription_id BIGINT NOT NULL,
    resource        TEXT   NOT NULL,
    action          TEXT   NOT NULL,
    ids             TEXT   NOT NULL,
    received_ms     BIGINT NOT NULL,
    lease_until_ms  BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX hook_inbound_due ON hook_inbound (lease_until_ms, id);
