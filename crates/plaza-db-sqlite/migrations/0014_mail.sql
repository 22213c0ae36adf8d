-- Email: password-reset tokens (their SHA-256 only; one pending per user) and the
-- messages a missed-mentions digest will tell its user about. Both go with their user.
CREATE TABLE password_reset (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX password_reset_by_user ON password_reset (user_id);

-- Written when a message mentions someone or reaches them in a direct space; taken
-- (deleted) by the digest sweep once old enough, so one node alone mails each item.
CREATE TABLE digest_item (
    user_id TEXT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    space_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX digest_item_by_time ON digest_item (created, user_id);
