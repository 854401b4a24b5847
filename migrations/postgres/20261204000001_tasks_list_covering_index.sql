-- A user's list is read from this index alone (an index-only scan): it holds every column the
-- list shows, so a list costs the same however many tasks other people have. Same columns in
-- the same order as SQLite's index; PostgreSQL keeps the non-key ones out of the B-tree's key.
CREATE INDEX tasks_user_list ON tasks (user_id, id DESC) INCLUDE (done, title, created_at);
DROP INDEX tasks_user_id_id;
