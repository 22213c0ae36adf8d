-- Ids became unguessable: after their 4-byte second, 8 random bytes instead of a
-- per-process middle and a counter. They no longer order rows within a second, so the
-- lists paged newest first (meeting history, the audit log) order by their time column
-- and then the id, and their indexes follow.
DROP INDEX meeting_by_space;
CREATE INDEX meeting_by_space ON meeting (space_id, started, meeting_id);
DROP INDEX audit_event_by_actor;
DROP INDEX audit_event_by_target;
DROP INDEX audit_event_by_space;
DROP INDEX audit_event_by_time;
CREATE INDEX audit_event_by_time ON audit_event (at, event_id);
CREATE INDEX audit_event_by_actor ON audit_event (actor_id, at, event_id);
CREATE INDEX audit_event_by_target ON audit_event (target_id, at, event_id);
CREATE INDEX audit_event_by_space ON audit_event (space_id, at, event_id);
-- The administrators' user list pages in the order accounts were made.
CREATE INDEX app_user_by_created ON app_user (created, user_id);
