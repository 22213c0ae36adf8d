-- Which node hosts the media room (the SFU) of a space, when Plaza runs as several
-- nodes: the clients' signalling is relayed to it, and their media goes to its address.
-- A node takes a space over when no node hosts it or its host stopped beating (see
-- node.seen_at); rows stay while their host lives.
CREATE TABLE media_host (
    space_id TEXT PRIMARY KEY REFERENCES space (space_id) ON DELETE CASCADE,
    node_id TEXT NOT NULL,
    -- The host's media address as clients reach it (what its SDP announces).
    address TEXT NOT NULL,
    since INTEGER NOT NULL
);
