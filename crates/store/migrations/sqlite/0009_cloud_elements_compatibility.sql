-- What Cloud Elements clients read back (issue 15).
--
-- An instance's token sealed by the application (AES-256-GCM), beside its hash: the hash still
-- finds the instance, the sealed copy lets its owner read the token back, as Cloud Elements
-- allows. Instances created before this migration have only the hash (NULL here): their token
-- works but cannot be shown.
ALTER TABLE instances ADD COLUMN token_sealed BLOB;

-- The user Cloud Elements shows in an instance's `user` object (NULL when never given).
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN first_name TEXT;
ALTER TABLE users ADD COLUMN last_name TEXT;

-- A notification's numeric id (its envelope's outer `id`, derived from its id), so a client
-- holding either finds it in the event log. NULL for notifications queued before.
ALTER TABLE notifications ADD COLUMN number INTEGER;

CREATE INDEX notifications_by_number ON notifications (number) WHERE number IS NOT NULL;
