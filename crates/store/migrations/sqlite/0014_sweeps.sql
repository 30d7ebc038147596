-- What a resource's reconciliation sweep remembers between sweeps (issue 20): delete detection
-- by absence (Keap lists never say a record was deleted; a sweep reads the whole list and
-- compares the ids) and checksum mode (a resource without a change date; a sweep compares
-- each record's content hash). Its own table, not a column of `pollers`, so the poller rows
-- every poll and the API read stay small: a 100,000-record resource remembers about 3 MB.
--
-- memory:   JSON object, object id -> token (the change date in epoch ms as text, or the
--           content hash); written only in the poll's one transaction, with the events the
--           sweep decided, and only by a sweep that read the whole list.
-- records:  how many ids the memory holds.
-- swept_ms: when the last complete sweep began (Tributary's clock): the next is due one sweep
--           interval later.
CREATE TABLE sweeps (
    instance_id INTEGER NOT NULL,
    resource    TEXT    NOT NULL,
    memory      TEXT    NOT NULL,
    records     INTEGER NOT NULL,
    swept_ms    INTEGER NOT NULL,
    PRIMARY KEY (instance_id, resource),
    FOREIGN KEY (instance_id, resource) REFERENCES pollers (instance_id, resource)
        ON DELETE CASCADE
);
