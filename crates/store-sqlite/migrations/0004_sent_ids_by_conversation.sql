-- The idempotency key names the conversation instead of the app (the
-- conversation belongs to one app): a resend goes to the conversation of
-- its original, and a client id reused for another peer is another
-- message (it used to be answered with the first peer's message as its
-- "original"). The key loses the app key's 32 characters, which every
-- entry of this index carried.
CREATE TABLE sent_ids_v4 (
    client_id       TEXT NOT NULL,
    from_accid      TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    PRIMARY KEY (client_id, from_accid, conversation_id)
) WITHOUT ROWID;
INSERT INTO sent_ids_v4 (client_id, from_accid, conversation_id, seq)
    SELECT client_id, from_accid, conversation_id, seq FROM sent_ids;
DROP TABLE sent_ids;
ALTER TABLE sent_ids_v4 RENAME TO sent_ids;
