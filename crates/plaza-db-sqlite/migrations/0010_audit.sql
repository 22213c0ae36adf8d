-- The security audit log: logins, role changes, removals, deletions, client and
-- service-app changes. Append-only; old rows are purged after `audit.retention_days`.
-- Ids are time-ordered ObjectIds, so newest-first pages use them as the cursor.
CREATE TABLE audit_event (
    event_id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    space_id TEXT,
    client_ip TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_event_by_time ON audit_event (at);
CREATE INDEX audit_event_by_actor ON audit_event (actor_id, event_id);
CREATE INDEX audit_event_by_target ON audit_event (target_id, event_id);
CREATE INDEX audit_event_by_space ON audit_event (space_id, event_id);
