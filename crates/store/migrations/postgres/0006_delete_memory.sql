-- What a poller's delete sweep remembers between sweeps (issue 19). SQLite's migration 0013
-- says what it holds.

ALTER TABLE pollers ADD COLUMN delete_memory TEXT;
