-- no-transaction
-- Meetings, and meeting records in a space's history.
--
-- A meeting row holds the core's state document and a version that every save bumps
-- (compare-and-swap: any node may change any meeting, no locks). At most one meeting
-- per space is active, which the partial unique index enforces across nodes. due_at is
-- when the server must look at the meeting unprompted (a dropped attendee's grace
-- runs out). A meeting's record in the history is a message of the new category
-- 'meeting' with the same id.
--
-- SQLite cannot change a CHECK constraint in place, so message is rebuilt (the
-- documented "make other kinds of table schema changes" procedure). Foreign keys must
-- be off while it is dropped, or the drop would cascade into message_file and
-- message_assignee; that pragma only works outside a transaction, hence the explicit
-- BEGIN/COMMIT in a migration that sqlx runs without one.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE message_rebuilt (
    message_id TEXT PRIMARY KEY,
    space_id TEXT NOT NULL REFERENCES space (space_id) ON DELETE CASCADE,
    category TEXT NOT NULL CHECK (category IN ('chat', 'idea', 'task', 'meeting')),
    sender_id TEXT NOT NULL REFERENCES app_user (user_id),
    content TEXT NOT NULL,
    parent_id TEXT REFERENCES message (message_id),
    chat_count INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    search_text TEXT NOT NULL DEFAULT '',
    has_files BOOLEAN NOT NULL DEFAULT FALSE,
    parent_category TEXT,
    task_status TEXT
);
INSERT INTO message_rebuilt (message_id, space_id, category, sender_id, content, parent_id,
    chat_count, deleted, created, modified, search_text, has_files, parent_category, task_status)
SELECT message_id, space_id, category, sender_id, content, parent_id,
    chat_count, deleted, created, modified, search_text, has_files, parent_category, task_status
FROM message;
DROP TABLE message;
ALTER TABLE message_rebuilt RENAME TO message;
CREATE INDEX message_by_space ON message (space_id, created, message_id);
CREATE INDEX message_by_parent ON message (parent_id, created, message_id);
CREATE INDEX message_by_sender ON message (sender_id, created, message_id);
CREATE INDEX message_by_space_modified ON message (space_id, modified, message_id);

CREATE TABLE meeting (
    meeting_id TEXT PRIMARY KEY,
    space_id TEXT NOT NULL REFERENCES space (space_id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    started INTEGER NOT NULL,
    ended INTEGER,
    due_at INTEGER
);
CREATE UNIQUE INDEX meeting_active_key ON meeting (space_id) WHERE ended IS NULL;
CREATE INDEX meeting_by_space ON meeting (space_id, meeting_id);
CREATE INDEX meeting_by_due ON meeting (due_at) WHERE due_at IS NOT NULL AND ended IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;
