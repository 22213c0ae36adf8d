-- The server processes of a deployment, by the time each last said it was alive.
-- A node that stopped beating (killed, crashed, cut off) is found by the others, which
-- then treat its connections as dropped (meeting attendees get their grace and leave).
CREATE TABLE node (
    node_id TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
CREATE INDEX node_by_seen ON node (seen_at);
