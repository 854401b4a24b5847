-- Two-step sign-in: authenticator-app secrets (TOTP, RFC 6238), recovery codes, and sign-ins
-- waiting for their second step.

-- One authenticator app per account. The secret is stored encrypted (XChaCha20-Poly1305 under a
-- key derived from TOTP_ENCRYPTION_KEY, the account id as associated data), so a copy of the
-- database alone cannot produce codes.
CREATE TABLE totp_secrets (
    user_id      BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    -- NULL while enrolment waits for the first code from the app: until then sign-in does not
    -- ask for codes, and starting again replaces the row.
    confirmed_at BIGINT,
    -- The 30-second time step of the last code accepted. Only a later step is accepted, so a
    -- code (or an older one still inside the clock-skew allowance) never works twice.
    last_step    BIGINT
);

-- Single-use recovery codes: only the SHA-256 of each (80 random bits) is stored.
CREATE TABLE recovery_codes (
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A correct password of an account with two-step sign-in, waiting for a code. The token is
-- in an HttpOnly cookie (browser) or is the token endpoint's mfa_token (API); only its SHA-256
-- is stored. Short-lived, single-use, and ended after too many wrong codes.
CREATE TABLE sign_in_challenges (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel    TEXT    NOT NULL CHECK (channel IN ('browser', 'api')),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    failures   BIGINT  NOT NULL DEFAULT 0
);

CREATE INDEX sign_in_challenges_user ON sign_in_challenges (user_id);
CREATE INDEX sign_in_challenges_expires ON sign_in_challenges (expires_at);
