-- Chat messages, posts ("ideas") and tasks.
--
-- A space's history is paged as keyset ranges on (space_id, created, message_id),
-- newest first; comments are found by parent. content is the JSON object clients read
-- and is never queried by field. Deleting keeps the row (content emptied) so that
-- clients catching up learn of the deletion.
CREATE TABLE message (
    message_id TEXT PRIMARY KEY,
    space_id TEXT NOT NULL REFERENCES space (space_id) ON DELETE CASCADE,
    category TEXT NOT NULL CHECK (category IN ('chat', 'idea', 'task')),
    sender_id TEXT NOT NULL REFERENCES app_user (user_id),
    content TEXT NOT NULL,
    parent_id TEXT REFERENCES message (message_id),
    chat_count BIGINT NOT NULL DEFAULT 0,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    modified BIGINT NOT NULL
);
CREATE INDEX message_by_space ON message (space_id, created, message_id);
CREATE INDEX message_by_parent ON message (parent_id, created, message_id);
