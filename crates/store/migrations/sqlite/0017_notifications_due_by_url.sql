-- The queued notifications of each callback URL in the order they are due (issue 21): the
-- worker refills what it keeps claimed ahead for a receiver it is sending to with a claim of
-- that URL's alone, which reads these entries (skipping the few leased) rather than ranking
-- every due notification of every URL. Only queued rows are kept here: a notification leaves
-- it once delivered or failed. The claim names the status as this literal, so the planner can
-- use the index.
CREATE INDEX notifications_due_by_url ON notifications (callback_url, next_attempt_ms, id)
    WHERE status = 'QUEUED';
