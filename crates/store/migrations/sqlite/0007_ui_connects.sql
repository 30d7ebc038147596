-- A web UI "Connect": the new-instance form waits here (sealed: it holds the app secret and the
-- signature key) while the browser visits the provider's consent page. The OAuth `state` names
-- it (only its hash is stored), and only the session that started it can finish it.
CREATE TABLE ui_connects (
    state_hash    BLOB    PRIMARY KEY,
    session_hash  BLOB    NOT NULL REFERENCES ui_sessions (token_hash) ON DELETE CASCADE,
    sealed_form   BLOB    NOT NULL,
    expires_ms    INTEGER NOT NULL
);
