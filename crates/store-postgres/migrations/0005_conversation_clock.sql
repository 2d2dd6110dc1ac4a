-- The latest time a conversation's messages were stamped with. A message
-- is stamped no earlier: when the database's clock steps back, a
-- conversation's times still follow its sequence, which devices order
-- history and pick a session's last message by. Kept on the counter row,
-- whose lock already orders a conversation's appends across nodes.
ALTER TABLE conversations ADD COLUMN IF NOT EXISTS last_at BIGINT NOT NULL DEFAULT 0;
UPDATE conversations c SET last_at = m.created_at
FROM messages m
WHERE m.app_key = c.app_key AND m.conversation = c.conversation AND m.seq = c.last_seq;
