-- The idempotency key, client id first: the SDK's ids start with the time,
-- so new entries land at one edge of the index instead of one edge per
-- sender, and each group commit rewrites far fewer index pages.
DROP INDEX IF EXISTS messages_by_client_id;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (client_id, from_accid, app_key);
