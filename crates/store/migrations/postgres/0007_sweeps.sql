-- What a resource's reconciliation sweep remembers between sweeps (issue 20). SQLite's
-- migration 0014 says what each column holds.
CREATE TABLE sweeps (
    instance_id BIGINT NOT NULL,
    resource    TEXT   NOT NULL,
    memory      TEXT   NOT NULL,
    records     BIGINT NOT NULL,
    swept_ms    BIGINT NOT NULL,
    PRIMARY KEY (instance_id, resource),
    FOREIGN KEY (instance_id, resource) REFERENCES pollers (instance_id, resource)
        ON DELETE CASCADE
);
