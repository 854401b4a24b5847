-- Users and their tasks: the PostgreSQL twin of migrations/sqlite/20261125000001 (tests/schema.rs
-- checks the two engines end up with the same tables, columns, keys and indexes).

CREATE TABLE users (
    -- An identity column never hands out an id twice (like SQLite's AUTOINCREMENT), so a token
    -- minted for a deleted account can never authenticate whoever signs up next.
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored normalized (trimmed, lower-cased); uniqueness is enforced here, not by a lookup,
    -- so two concurrent sign-ups of one email cannot both succeed, even on different replicas.
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    -- argon2id PHC string; never leaves the server.
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE tasks (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- A user's list, newest first, read from the index alone however many rows others have.
CREATE INDEX tasks_user_id_id ON tasks (user_id, id DESC);
