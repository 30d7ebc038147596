-- What a poller's delete sweep remembers between sweeps (issue 19), where its kind needs more
-- than a cursor: the archived list of HubSpot has no time filter, so a sweep compares what it
-- lists with the archives it reported already. JSON (object id → when it was archived, epoch
-- ms), written only in the poll's one transaction with the events it produced; bounded by the
-- provider's own list (an id no longer listed is forgotten). NULL: nothing remembered yet.
ALTER TABLE pollers ADD COLUMN delete_memory TEXT;
