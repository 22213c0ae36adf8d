-- What message queries filter on, kept beside the JSON content so that no query parses
-- it: search text (lowercased title and description), whether files are attached, the
-- category of a comment's parent, a task's status, and a task's assignees.
ALTER TABLE message ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE message ADD COLUMN has_files BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE message ADD COLUMN parent_category TEXT;
ALTER TABLE message ADD COLUMN task_status TEXT;

UPDATE message SET
    search_text = lower(concat_ws(E'\n', nullif(content::jsonb ->> 'bodyText', ''),
                                  nullif(content::jsonb ->> 'description', ''))),
    has_files = jsonb_typeof(content::jsonb -> 'data') = 'array'
                AND jsonb_array_length(content::jsonb -> 'data') > 0,
    task_status = CASE WHEN category = 'task' THEN content::jsonb ->> 'status' END
WHERE NOT deleted;
UPDATE message SET parent_category =
    (SELECT p.category FROM message p WHERE p.message_id = message.parent_id)
WHERE parent_id IS NOT NULL;

CREATE TABLE message_assignee (
    message_id TEXT NOT NULL REFERENCES message (message_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_assignee_by_user ON message_assignee (user_id, message_id);
INSERT INTO message_assignee (message_id, user_id)
SELECT DISTINCT m.message_id, a.value ->> '_id'
FROM message m, jsonb_array_elements(m.content::jsonb -> 'assignees') a
WHERE m.category = 'task' AND NOT m.deleted
  AND jsonb_typeof(m.content::jsonb -> 'assignees') = 'array'
  AND a.value ->> '_id' IS NOT NULL;

CREATE INDEX message_by_sender ON message (sender_id, created, message_id);
CREATE INDEX message_by_space_modified ON message (space_id, modified, message_id);
