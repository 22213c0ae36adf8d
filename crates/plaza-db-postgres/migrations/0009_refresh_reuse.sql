-- Refresh tokens already redeemed, remembered until they would have expired, with the
-- grant (token family) they belonged to. A refresh token presented a second time was
-- stolen or leaked: the family's live tokens are then revoked (OAuth 2.0 security
-- best current practice, refresh token rotation with reuse detection).
CREATE TABLE used_refresh_token (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_refresh_token_by_expiry ON used_refresh_token (expires_at);
