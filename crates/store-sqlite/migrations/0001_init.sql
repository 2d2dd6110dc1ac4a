CREATE TABLE apps (
    app_key    TEXT PRIMARY KEY,
    app_secret TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
    app_key    TEXT NOT NULL,
    accid      TEXT NOT NULL,
    name       TEXT NOT NULL,
    token      TEXT NOT NULL,
    blocked    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, accid)
) WITHOUT ROWID;

CREATE TABLE api_nonces (
    app_key TEXT NOT NULL,
    nonce   TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (app_key, nonce)
) WITHOUT ROWID;

-- One row per conversation: the sequence counter.
CREATE TABLE conversations (
    app_key      TEXT NOT NULL,
    conversation TEXT NOT NULL,
    last_seq     INTEGER NOT NULL,
    PRIMARY KEY (app_key, conversation)
) WITHOUT ROWID;

-- Which conversations an account takes part in (drives offline sync).
CREATE TABLE user_conversations (
    app_key      TEXT NOT NULL,
    accid        TEXT NOT NULL,
    conversation TEXT NOT NULL,
    session_type INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    PRIMARY KEY (app_key, accid, conversation)
) WITHOUT ROWID;

-- Messages are stored once, clustered by conversation and sequence.
CREATE TABLE messages (
    app_key          TEXT NOT NULL,
    conversation     TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    server_id        INTEGER NOT NULL,
    client_id        TEXT NOT NULL,
    from_accid       TEXT NOT NULL,
    from_nick        TEXT NOT NULL,
    from_client_type INTEGER NOT NULL,
    to_id            TEXT NOT NULL,
    session_type     INTEGER NOT NULL,
    message_type     INTEGER NOT NULL,
    body             TEXT NOT NULL,
    attachment       TEXT NOT NULL,
    remote_ext       TEXT NOT NULL,
    flags            INTEGER NOT NULL,
    apns_content     TEXT NOT NULL,
    apns_payload     TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (app_key, conversation, seq)
) WITHOUT ROWID;

-- The idempotency key of a send.
CREATE UNIQUE INDEX messages_by_client_id ON messages (app_key, from_accid, client_id);
