-- Deletes seen through polling, and pauses of an instance's polling (issue 18).
--
-- A poller's delete sweep has its own cursor beside the update cursor: a provider's delete log
-- is a separate feed with its own retention. It moves only in the poll's one transaction, with
-- the events it produced. When the provider says deletes were lost (its oldest kept deletion is
-- later than the cursor), the loss is counted and its span kept, for the API, the UI and
-- /metrics; a DELETES_LOST event says it to the client.

-- The first instant not yet swept (provider time, epoch ms); NULL before the first sweep.
ALTER TABLE pollers ADD COLUMN delete_cursor_ms INTEGER;
-- How many times deletes were found lost, and the last loss: its span and when it was found.
ALTER TABLE pollers ADD COLUMN deletes_lost INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pollers ADD COLUMN deletes_lost_from_ms INTEGER;
ALTER TABLE pollers ADD COLUMN deletes_lost_until_ms INTEGER;
ALTER TABLE pollers ADD COLUMN deletes_lost_at_ms INTEGER;
-- Until when the poller waits for the provider (a tenant's spent quota); not a failure.
-- Cleared by the next committed poll.
ALTER TABLE pollers ADD COLUMN paused_until_ms INTEGER;
