-- Friends, one row each way: my alias and ext for the friend are mine.
CREATE TABLE friends (
    app_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    friend TEXT NOT NULL,
    alias TEXT NOT NULL,
    ext TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, owner, friend)
) WITHOUT ROWID;

-- Friend requests not yet answered, and the notification that carried each.
CREATE TABLE friend_requests (
    app_key TEXT NOT NULL,
    from_accid TEXT NOT NULL,
    to_accid TEXT NOT NULL,
    notification_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, from_accid, to_accid)
) WITHOUT ROWID;

-- The blacklist (relation 1) and the mute list (relation 2).
CREATE TABLE special_relations (
    app_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    relation INTEGER NOT NULL,
    target TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, owner, relation, target)
) WITHOUT ROWID;

-- System notifications; the id is the position of the event that added it.
CREATE TABLE system_notifications (
    app_key TEXT NOT NULL,
    owner TEXT NOT NULL,
    id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    from_accid TEXT NOT NULL,
    target TEXT NOT NULL,
    postscript TEXT NOT NULL,
    attach TEXT NOT NULL,
    status INTEGER NOT NULL,
    read INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, owner, id)
) WITHOUT ROWID;

-- Custom notifications kept for an account with no device online.
CREATE TABLE custom_notifications (
    app_key TEXT NOT NULL,
    to_accid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    from_accid TEXT NOT NULL,
    content TEXT NOT NULL,
    push_content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, to_accid, seq)
) WITHOUT ROWID;
