-- When the poll that found a notification's events ran (its body's `message.raw.pollDate`),
-- kept beside the body (issue 21): the delivery latency of `/metrics` is counted from it, and
-- reading it out of a body of 7 KB and more on every delivery was about 5% of the drain's CPU.
-- NULL for a notification stored before: its body is read for it, as before.
ALTER TABLE notifications ADD COLUMN poll_date_ms INTEGER;
