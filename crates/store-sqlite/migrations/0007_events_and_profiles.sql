-- The per-account event log: each account's last position, and its events
-- (trimmed by age and count; positions are never reused).
CREATE TABLE account_event_heads (
    app_key TEXT NOT NULL,
    accid TEXT NOT NULL,
    last_pos INTEGER NOT NULL,
    PRIMARY KEY (app_key, accid)
) WITHOUT ROWID;

CREATE TABLE account_events (
    app_key TEXT NOT NULL,
    accid TEXT NOT NULL,
    pos INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (app_key, accid, pos)
) WITHOUT ROWID;

CREATE INDEX account_events_by_time ON account_events (created_at);

-- Profiles hosted by the server; an account without a row has empty
-- fields and its name as nick.
CREATE TABLE user_profiles (
    app_key TEXT NOT NULL,
    accid TEXT NOT NULL,
    nick TEXT NOT NULL,
    avatar TEXT NOT NULL,
    sign TEXT NOT NULL,
    gender INTEGER NOT NULL,
    email TEXT NOT NULL,
    birth TEXT NOT NULL,
    mobile TEXT NOT NULL,
    ext TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, accid)
) WITHOUT ROWID;
