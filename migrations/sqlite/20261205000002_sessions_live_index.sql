-- The metrics' count of live sessions (`tasks_sessions_active`) reads only unrevoked sessions
-- from here, instead of every session row ever created: sessions are kept after they end.
CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;
