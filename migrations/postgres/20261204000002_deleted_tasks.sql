-- Deleted tasks, kept for a short while so that Undo can bring them back with their own id,
-- title, state and creation time (the web page offers Undo for a few seconds after a delete
-- or "Clear done"). Rows older than the retention are erased by the server. The id is the
-- task's own (tasks' identity column never hands it out again), so no identity here.
CREATE TABLE deleted_tasks (
    id         BIGINT  PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    done       BOOLEAN NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    deleted_at BIGINT  NOT NULL,
    -- One delete or one "Clear done": what one Undo brings back (a random number).
    batch      BIGINT  NOT NULL
);

CREATE INDEX deleted_tasks_user_batch ON deleted_tasks (user_id, batch);
CREATE INDEX deleted_tasks_deleted_at ON deleted_tasks (deleted_at);
