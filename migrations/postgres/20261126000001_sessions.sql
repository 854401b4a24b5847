-- Server-side sessions, refresh tokens, account disabling and rate-limit counters: the
-- PostgreSQL twin of migrations/sqlite/20261126000001. Living in the database, they are shared
-- by every replica: a logout or a revoked session on one is seen by all.

-- A disabled account keeps its data but can neither sign in nor use a live session.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per sign-in. Access tokens carry the session id (`sid`), and every request checks the
-- row, so revoking it ends the session on the very next request rather than at token expiry.
CREATE TABLE sessions (
    -- 122 random bits (UUID v4): not guessable, and it says nothing about the user.
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT  NOT NULL,
    -- Absolute lifetime: no refresh extends a session past this instant.
    expires_at   BIGINT  NOT NULL,
    user_agent   TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    -- Set once; a revoked session never comes back.
    revoked_at   BIGINT,
    revoked_reason TEXT
);

CREATE INDEX sessions_user_id ON sessions (user_id, last_used_at DESC);

-- Refresh tokens, stored only as SHA-256 hashes (a database leak yields no usable token).
-- Every token of a session stays here after use, so presenting a rotated one is recognised as
-- reuse and revokes the session (RFC 9700 §4.14.2), whichever replica it is presented to.
CREATE TABLE refresh_tokens (
    token_hash TEXT   PRIMARY KEY,
    session_id TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- Fixed-window counters for login and registration attempts, shared by every replica.
CREATE TABLE rate_limits (
    key          TEXT    PRIMARY KEY,
    window_start BIGINT  NOT NULL,
    count        BIGINT  NOT NULL
);
