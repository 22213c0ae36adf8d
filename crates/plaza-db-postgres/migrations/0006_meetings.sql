-- Meetings, and meeting records in a space's history.
--
-- A meeting row holds the core's state document and a version that every save bumps
-- (compare-and-swap: any node may change any meeting, no locks). At most one meeting
-- per space is active, which the partial unique index enforces across nodes. due_at is
-- when the server must look at the meeting unprompted (a dropped attendee's grace
-- runs out). A meeting's record in the history is a message of the new category
-- 'meeting' with the same id.
ALTER TABLE message DROP CONSTRAINT message_category_check;
ALTER TABLE message ADD CONSTRAINT message_category_check
    CHECK (category IN ('chat', 'idea', 'task', 'meeting'));

CREATE TABLE meeting (
    meeting_id TEXT PRIMARY KEY,
    space_id TEXT NOT NULL REFERENCES space (space_id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    started BIGINT NOT NULL,
    ended BIGINT,
    due_at BIGINT
);
CREATE UNIQUE INDEX meeting_active_key ON meeting (space_id) WHERE ended IS NULL;
CREATE INDEX meeting_by_space ON meeting (space_id, meeting_id);
CREATE INDEX meeting_by_due ON meeting (due_at) WHERE due_at IS NOT NULL AND ended IS NULL;
