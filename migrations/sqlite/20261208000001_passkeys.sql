-- Passkeys (WebAuthn): the credentials people sign in with instead of a password, and the
-- registration and sign-in ceremonies waiting for the browser's answer.

-- FALSE for an account made with a passkey only. Such an account still has a password_hash:
-- the argon2id hash of 256 random bits nobody keeps, so a password sign-in takes the same work
-- and gets the same answer as any wrong password, with no special case. Setting a password
-- (the account page, or a reset link) makes it TRUE.
ALTER TABLE users ADD COLUMN has_password BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE passkeys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The authenticator's credential id, base64url: how a sign-in finds its passkey.
    credential_id   TEXT    NOT NULL UNIQUE,
    -- The WebAuthn user handle given at registration (base64url of a random UUID, never the
    -- account id or email); a sign-in's userHandle must match it.
    user_handle     TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    -- webauthn-rs's Passkey as JSON: the public key, the sign counter, the backup flags.
    credential      TEXT    NOT NULL,
    -- Copies of the counter and flags kept in step with `credential`, so a sign-in can be
    -- accepted in one conditional UPDATE (a cloned authenticator's lower counter loses, on
    -- every replica) and the account page can show them.
    sign_count      BIGINT  NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backed_up       BOOLEAN NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT
);

CREATE INDEX passkeys_user ON passkeys (user_id);

-- A registration or sign-in started and waiting for the browser's answer. The browser holds a
-- random ticket; only its SHA-256 is stored, with the ceremony's state (webauthn-rs, JSON).
-- Short-lived and single-use: finishing deletes the row first. In the database, not in one
-- process's memory, so any replica finishes what another started.
CREATE TABLE passkey_challenges (
    token_hash TEXT    PRIMARY KEY,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('sign_in', 'sign_up', 'add')),
    -- The account adding a passkey; NULL for a sign-in or a sign-up.
    user_id    BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
