-- Each notification's body (the exact bytes sent and signed) in a table of its own (issue 21),
-- as on SQLite: claims and settles update small rows (a new row version of each, under MVCC)
-- and never carry the body, which is written once, read when claimed or shown, and deleted
-- with its notification.
CREATE TABLE notification_bodies (
    notification_id TEXT COLLATE "C" PRIMARY KEY
                         REFERENCES notifications (id) ON DELETE CASCADE,
    body            BYTEA NOT NULL
);

INSERT INTO notification_bodies (notification_id, body) SELECT id, body FROM notifications;

ALTER TABLE notifications DROP COLUMN body;
