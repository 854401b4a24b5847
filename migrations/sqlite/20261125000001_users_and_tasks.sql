-- Users and their tasks. Kept to SQL that PostgreSQL understands too, except the id columns.

CREATE TABLE users (
    -- AUTOINCREMENT: ids are never reused, so a token minted for a deleted account can never
    -- authenticate whoever signs up next.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stored normalized (trimmed, lower-cased); uniqueness is enforced here, not by a lookup,
    -- so two concurrent sign-ups of one email cannot both succeed.
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    -- argon2id PHC string; never leaves the server.
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE tasks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- A user's list, newest first, without touching anybody else's rows.
CREATE INDEX tasks_user_id_id ON tasks (user_id, id DESC);
