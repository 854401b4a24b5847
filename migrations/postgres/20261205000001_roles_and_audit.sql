-- Roles, and the audit trail of security events.

-- `user` (everyone) or `admin` (may manage other accounts at /admin and /api/v1/admin). Read
-- from the database on every request with the session, never from a token's claims, so a
-- demotion takes effect on the caller's next request.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin'));

-- Security events: sign-ups, sign-ins, lockouts, sessions ended, passwords and roles changed,
-- accounts disabled, enabled and deleted. Never a password, a token or a cookie value.
-- No foreign keys: the record of what happened to an account outlives the account (an admin
-- must still see who deleted it); rows older than AUDIT_RETENTION are erased by the server.
CREATE TABLE audit_events (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT  NOT NULL,
    -- What happened, as a fixed name such as `login_succeeded` (server/audit.rs).
    event      TEXT    NOT NULL,
    -- Who did it: the signed-in person, or NULL for an anonymous client or the command line.
    actor_id   BIGINT,
    -- Whose account it concerns, when it concerns one.
    subject_id BIGINT,
    ip         TEXT    NOT NULL,
    user_agent TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    -- A short, fixed-vocabulary detail ("user → admin", "by an administrator").
    detail     TEXT    NOT NULL DEFAULT ''
);

-- A person's own activity, and an admin's view of one account, newest first.
CREATE INDEX audit_events_subject ON audit_events (subject_id, id DESC);
-- The retention sweep.
CREATE INDEX audit_events_at ON audit_events (at);
