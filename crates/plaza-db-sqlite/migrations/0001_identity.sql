-- Identity: users, their settings, registration invitations, revoked JWTs and the
-- OAuth2 provider's clients, codes and tokens.
--
-- Conventions shared with the PostgreSQL tree (same file names, same order):
-- ids are 24-hex ObjectIds stored as TEXT; times are epoch milliseconds (INTEGER);
-- JSON that is never queried by field (settings, phone numbers) is TEXT; flags are
-- INTEGER 0/1 here and BOOLEAN there, both bound from Rust `bool`.

-- One-row facts about this server, such as whether the first admin was claimed.
CREATE TABLE plaza_meta (
    meta_key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO plaza_meta (meta_key, value) VALUES ('first_admin_claimed', '0');

-- "user" is reserved in PostgreSQL, hence app_user in both trees.
CREATE TABLE app_user (
    user_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'anonymous', 'service')),
    username TEXT NOT NULL,
    -- lower(username) for registered and service users, NULL for anonymous guests,
    -- who may all call themselves "Anonymous".
    username_key TEXT,
    displayname TEXT NOT NULL,
    password_hash TEXT,
    picture_url TEXT,
    timezone TEXT,
    phone_numbers TEXT NOT NULL DEFAULT '[]',
    is_server_admin INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE UNIQUE INDEX user_username_key ON app_user (username_key);
CREATE INDEX user_expires_at ON app_user (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE user_settings (
    user_id TEXT PRIMARY KEY REFERENCES app_user (user_id) ON DELETE CASCADE,
    settings_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    modified INTEGER NOT NULL
);

CREATE TABLE registration_invite (
    email_key TEXT PRIMARY KEY,
    invited_by TEXT,
    created INTEGER NOT NULL
);

-- JWTs revoked by logout, kept until they would have expired anyway.
CREATE TABLE revoked_jwt (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_jwt_expires_at ON revoked_jwt (expires_at);

CREATE TABLE oauth_client (
    client_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('oauth', 'service_app')),
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    service_user_id TEXT REFERENCES app_user (user_id),
    created_by TEXT,
    created INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);

-- Codes and tokens are stored as SHA-256 hashes: a leaked table grants nothing.
CREATE TABLE oauth_code (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oauth_client (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    expires_at INTEGER NOT NULL
);

CREATE TABLE oauth_token (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id TEXT NOT NULL REFERENCES oauth_client (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    grant_id TEXT NOT NULL
);
CREATE INDEX oauth_token_grant_id ON oauth_token (grant_id);
CREATE INDEX oauth_token_expires_at ON oauth_token (expires_at);
