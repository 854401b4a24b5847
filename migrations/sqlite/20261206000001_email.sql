-- Outgoing mail and the links it carries: verified addresses, password resets, email changes.

-- When the account's current address was proven to receive mail (a verification or an
-- email-change link opened, or a password reset done through a link sent to it). NULL: not yet.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- The single-use links sent by mail. Only the SHA-256 of the token in a link is stored, so a
-- copy of the database opens no account. A newer link of the same purpose deletes the older
-- ones; rows are erased a day after they expire.
CREATE TABLE email_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'verify_email', 'change_email')),
    -- The address the link was sent to: the account's address for a reset or a verification
    -- (a link stops working if the account's address changed since), the new address for an
    -- email change.
    email      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    -- Set when the link is used; a used link never works again.
    used_at    BIGINT
);

CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);

-- Mail waiting to be sent, sent, or given up on. Pages only add rows; a background sender on
-- every replica claims due rows, sends them over SMTP and retries failures with backoff. A
-- claim is a lease (locked_until): a replica that dies mid-send leaves the row to the others
-- once it runs out. Without SMTP_URL in development the rows are the /dev/mailbox.
CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      BIGINT  NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    -- Both parts of the message. Emptied once the message is sent or given up on: they may
    -- hold a link's token.
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    locked_until    BIGINT,
    sent_at         BIGINT,
    failed_at       BIGINT,
    -- The SMTP server's last refusal or the connection error, for the operator.
    last_error      TEXT
);

-- The sender's scan: unsent, not given up, oldest due first.
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
