-- A send writes one message row, one space row and the sender's membership, however
-- many members the space has. The time of the last message moves from every membership
-- onto the space, and each membership keeps its read position in the space's message
-- sequence instead of a counter every send had to bump:
--   unread = space.message_seq - membership.read_seq - membership.sent_since_read
-- where sent_since_read counts the member's own messages since that position, which are
-- never unread to them.
ALTER TABLE space ADD COLUMN last_message_at BIGINT NOT NULL DEFAULT 0;
UPDATE space SET last_message_at = COALESCE(
    (SELECT MAX(m.created) FROM message m WHERE m.space_id = space.space_id), 0
);
ALTER TABLE membership ADD COLUMN read_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE membership ADD COLUMN sent_since_read BIGINT NOT NULL DEFAULT 0;
UPDATE membership SET read_seq = (
    SELECT s.message_seq FROM space s WHERE s.space_id = membership.space_id
) - unread_count;
DROP INDEX membership_by_last_message;
ALTER TABLE membership DROP COLUMN last_message_at;
ALTER TABLE membership DROP COLUMN unread_count;
