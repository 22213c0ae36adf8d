-- Uploaded files and which messages attach them.
--
-- A file is 'pending' from the moment an upload URL is handed out until its bytes are
-- stored; pending rows past expires_at are swept with their half-written blobs. Blobs
-- live in the blob store under keys the server made (never client names). A server-made
-- thumbnail is a file of its own, named by thumbnail_key. message_file indexes every
-- fileId and thumbnailFile a message's content names, so "may this user read this file"
-- is one query: the owner, or a reader of a live message that attaches it.
CREATE TABLE stored_file (
    file_key TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    space_id TEXT,
    name TEXT,
    content_type TEXT NOT NULL,
    content_length BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
    thumbnail_key TEXT,
    created BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX stored_file_by_owner ON stored_file (owner_id, state);
CREATE INDEX stored_file_by_expiry ON stored_file (state, expires_at);

CREATE TABLE message_file (
    message_id TEXT NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    file_key TEXT NOT NULL,
    PRIMARY KEY (message_id, file_key)
);
CREATE INDEX message_file_by_file ON message_file (file_key, message_id);

-- Secrets every node of a cluster must share (e.g. the key that signs file URLs),
-- created once by whichever node needs one first.
CREATE TABLE server_secret (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created BIGINT NOT NULL
);
