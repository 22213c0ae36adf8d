-- Each space numbers its messages in the order they are stored: the number is taken
-- while the space row is locked, so it follows commit order even when `created`
-- (taken before the lock) does not. A reconnecting client catches up by it, and so
-- never misses a message stored just before its last one but created just after.
ALTER TABLE space ADD COLUMN message_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE message ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE message SET seq = (
    SELECT COUNT(*) FROM message earlier
    WHERE earlier.space_id = message.space_id
      AND (earlier.created < message.created
           OR (earlier.created = message.created AND earlier.message_id <= message.message_id))
);
UPDATE space SET message_seq = (
    SELECT COALESCE(MAX(m.seq), 0) FROM message m WHERE m.space_id = space.space_id
);
CREATE INDEX message_by_space_seq ON message (space_id, seq);
