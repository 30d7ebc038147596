-- Each notification's body (the exact bytes sent and signed) in a table of its own (issue 21).
-- SQLite rewrites a whole row on any update, so with the body inline every claim (the lease)
-- and every settle rewrote the body's ~10 KB of overflow pages; now they touch a row of a few
-- dozen bytes. A body is written once with its notification, read when it is claimed or
-- shown, and deleted with it (the cascade: foreign keys are on).
CREATE TABLE notification_bodies (
    notification_id TEXT PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    body            BLOB NOT NULL
);

INSERT INTO notification_bodies (notification_id, body) SELECT id, body FROM notifications;

ALTER TABLE notifications DROP COLUMN body;
