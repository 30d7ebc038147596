-- Deletes seen through polling, and pauses of an instance's polling (issue 18). SQLite's
-- migration 0010 says what each column is for.

ALTER TABLE pollers ADD COLUMN delete_cursor_ms BIGINT;
ALTER TABLE pollers ADD COLUMN deletes_lost BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pollers ADD COLUMN deletes_lost_from_ms BIGINT;
ALTER TABLE pollers ADD COLUMN deletes_lost_until_ms BIGINT;
ALTER TABLE pollers ADD COLUMN deletes_lost_at_ms BIGINT;
ALTER TABLE pollers ADD COLUMN paused_until_ms BIGINT;
