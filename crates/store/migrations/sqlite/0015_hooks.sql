-- Webhook sources (issue 20): an instance with `event.vendor.type: webhooks` subscribes to the
-- provider's own hooks, one subscription per event key (`contact.add`), and stores each
-- delivery before acknowledging it.
--
-- hook_subscriptions: what Tributary keeps true at the provider.
--   token_hash:   SHA-256 of the random secret part of the hook URL (the token itself is never
--                 stored; a delivery names its subscription by it).
--   provider_key: the subscription's key at the provider, once it answered.
--   status:       the provider's word (`Verified`, `Unverified`, `Inactive`), or Tributary's
--                 `Pending` (not yet asked) and `Failed` (the provider refused, see last_error).
--   last_delivery_ms, deliveries: the last stored delivery, and how many.
CREATE TABLE hook_subscriptions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    resource         TEXT    NOT NULL,
    event_key        TEXT    NOT NULL,
    action           TEXT    NOT NULL,
    token_hash       BLOB    NOT NULL UNIQUE,
    provider_key     TEXT,
    status           TEXT    NOT NULL,
    last_error       TEXT,
    last_delivery_ms INTEGER,
    deliveries       INTEGER NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL,
    UNIQUE (instance_id, event_key)
);

-- hook_inbound: deliveries stored, not yet turned into events. A row is written before the
-- provider gets its 200 and deleted in the transaction that stores its events, so a crash
-- between the two repeats the processing, whose event ids make the repeat nothing.
--   ids:            JSON array of the object ids (as text) the delivery named.
--   lease_until_ms: claimed by a worker until then (0: free); a failed attempt sets it to the
--                   retry time.
-- No foreign key to the subscription: a delivery stored before its subscription was removed
-- still holds real changes.
CREATE TABLE hook_inbound (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    subscription_id INTEGER NOT NULL,
    resource        TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    ids             TEXT    NOT NULL,
    received_ms     INTEGER NOT NULL,
    lease_until_ms  INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX hook_inbound_due ON hook_inbound (lease_until_ms, id);
