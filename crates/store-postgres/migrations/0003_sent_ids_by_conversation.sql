-- The idempotency key names the conversation too: a resend goes to the
-- conversation of its original, and a client id reused for another peer
-- is another message (it used to be answered with the first peer's
-- message as its "original").
DROP INDEX IF EXISTS messages_by_client_id;
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id
    ON messages (client_id, from_accid, app_key, conversation);
