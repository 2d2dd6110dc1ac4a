-- The sync after login asks for an account's conversations a range of
-- session ids at a time (a device with thousands of sessions sends its
-- cursors in parts): this index reads one range without the others. Ids
-- compare bytewise ("C"), as the protocol orders them, whatever the
-- database's locale.
CREATE INDEX IF NOT EXISTS user_conversations_by_session
    ON user_conversations (app_key, accid, session_type, session_id COLLATE "C");
