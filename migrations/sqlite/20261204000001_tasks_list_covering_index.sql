-- A user's list is read from this index alone: it holds every column the list shows, so the
-- rows come out in order without a lookup into the table per task, and a list costs the same
-- however many tasks other people have (issue 10's 1,000,000-row budget). `done` comes right
-- after the key, so the Open / Done filters are decided in the index too.
CREATE INDEX tasks_user_list ON tasks (user_id, id DESC, done, title, created_at);
DROP INDEX tasks_user_id_id;
