-- Callback URLs that answered 410 Gone: nothing more is sent to them until the instance's URL
-- changes (new notifications name the new URL) or the user resumes delivery.
CREATE TABLE stopped_callbacks (
    instance_id  INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    url          TEXT    NOT NULL,
    stopped_ms   INTEGER NOT NULL,
    PRIMARY KEY (instance_id, url)
);
