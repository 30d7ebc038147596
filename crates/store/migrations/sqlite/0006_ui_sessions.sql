-- Web UI sessions: the cookie holds a random token; only its SHA-256 is stored, so a copy of
-- the database signs no one in. Each session carries the CSRF token its forms must echo.
CREATE TABLE ui_sessions (
    token_hash       BLOB    PRIMARY KEY,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf             TEXT    NOT NULL,
    created_ms       INTEGER NOT NULL,
    expires_ms       INTEGER NOT NULL
);

CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_ms);
