-- What Cloud Elements clients read back: SQLite's migration 0009 (whose comments say what each
-- column is for).

ALTER TABLE instances ADD COLUMN token_sealed BYTEA;

ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN first_name TEXT;
ALTER TABLE users ADD COLUMN last_name TEXT;

ALTER TABLE notifications ADD COLUMN number BIGINT;

CREATE INDEX notifications_by_number ON notifications (number) WHERE number IS NOT NULL;
