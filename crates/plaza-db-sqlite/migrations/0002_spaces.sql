-- Spaces, memberships and invitations.
--
-- Listings are per user and ordered by the space's recent activity, so that time (and
-- the time of the last message) is copied onto every membership row and indexed with
-- the user id: a page deep in a 10 000-space listing is an index range scan, the same
-- work as the first page. Writers update all memberships of a space when its activity
-- changes, which is rare next to reads.

CREATE TABLE space (
    space_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('group', 'direct', 'personal')),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- 0 normal, 1 archived, 2 deleted (kept so listings can report it).
    status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
    settings TEXT NOT NULL DEFAULT '{}',
    restrict_list TEXT NOT NULL DEFAULT '[]',
    creator_id TEXT NOT NULL REFERENCES app_user (user_id),
    -- direct:<id>:<id> or personal:<owner id>: makes get-or-create race-free.
    unique_key TEXT,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL
);
CREATE UNIQUE INDEX space_unique_key ON space (unique_key);

CREATE TABLE membership (
    space_id TEXT NOT NULL REFERENCES space (space_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    state TEXT NOT NULL CHECK (state IN ('active', 'kicked', 'left')),
    join_time INTEGER NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0,
    is_pinned INTEGER,
    notification INTEGER,
    unread_count INTEGER NOT NULL DEFAULT 0,
    messages_last_read_time INTEGER,
    last_access INTEGER NOT NULL,
    activity_at INTEGER NOT NULL,
    -- 0 until the space has a message.
    last_message_at INTEGER NOT NULL DEFAULT 0,
    modified INTEGER NOT NULL,
    PRIMARY KEY (space_id, user_id)
);
CREATE INDEX membership_by_activity ON membership (user_id, activity_at, space_id);
CREATE INDEX membership_by_last_message ON membership (user_id, last_message_at, space_id);
CREATE INDEX membership_by_space_role ON membership (space_id, state, role, join_time);

CREATE TABLE invitation (
    invitation_id TEXT PRIMARY KEY,
    space_id TEXT NOT NULL REFERENCES space (space_id) ON DELETE CASCADE,
    invitee_type TEXT NOT NULL CHECK (invitee_type IN ('email', 'userId')),
    invitee TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'guest')),
    invited_by TEXT NOT NULL,
    created INTEGER NOT NULL,
    accepted_by TEXT,
    accepted_at INTEGER
);
CREATE INDEX invitation_by_space ON invitation (space_id);
