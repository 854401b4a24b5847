-- Suspected clones, new-device alerts and "This wasn't me".

-- A suspended passkey signs in nowhere until its owner re-enables it (after confirming with
-- their password) or removes it. Set when a sign-in's signature counter did not go up (the
-- WebAuthn sign of a cloned authenticator: `cloned`), or by "This wasn't me" (`secured`).
ALTER TABLE passkeys ADD COLUMN suspended_at BIGINT;
ALTER TABLE passkeys ADD COLUMN suspended_reason TEXT;

-- Device cookies signed before this moment (Unix ms) no longer make a browser a known device of
-- the account: "This wasn't me" sets it, so a thief's browser gets no rate-limit allowance and
-- its next sign-in is mailed as a new device.
ALTER TABLE users ADD COLUMN devices_reset_at BIGINT NOT NULL DEFAULT 0;
-- Whether a sign-in from a new browser is mailed (the account page turns it off; mails about
-- security changes always go).
ALTER TABLE users ADD COLUMN new_device_mail BOOLEAN NOT NULL DEFAULT TRUE;

-- The "This wasn't me" links in security mails. Only the SHA-256 of a link's token is stored.
-- Opening one (and confirming) spends every link of the account: securing it twice does
-- nothing more.
CREATE TABLE alert_links (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX alert_links_user ON alert_links (user_id);
CREATE INDEX alert_links_expires ON alert_links (expires_at);
