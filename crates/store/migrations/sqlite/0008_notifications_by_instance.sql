-- Changing or deleting an instance touches its notifications; without this index each such
-- write read the whole notifications table.
CREATE INDEX notifications_by_instance ON notifications (instance_id);
