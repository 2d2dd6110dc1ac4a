CREATE TABLE IF NOT EXISTS apps (
    app_key    TEXT PRIMARY KEY,
    app_secret TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    app_key    TEXT NOT NULL,
    accid      TEXT NOT NULL,
    name       TEXT NOT NULL,
    token      TEXT NOT NULL,
    blocked    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app_key, accid)
);

CREATE TABLE IF NOT EXISTS api_nonces (
    app_key TEXT NOT NULL,
    nonce   TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (app_key, nonce)
);

-- One row per conversation: the sequence counter. Its row lock serialises
-- the writers of one conversation across nodes, so sequences stay gapless.
CREATE TABLE IF NOT EXISTS conversations (
    app_key      TEXT NOT NULL,
    conversation TEXT NOT NULL,
    last_seq     BIGINT NOT NULL,
    PRIMARY KEY (app_key, conversation)
);

CREATE TABLE IF NOT EXISTS user_conversations (
    app_key      TEXT NOT NULL,
    accid        TEXT NOT NULL,
    conversation TEXT NOT NULL,
    session_type INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    PRIMARY KEY (app_key, accid, conversation)
);

CREATE TABLE IF NOT EXISTS messages (
    app_key          TEXT NOT NULL,
    conversation     TEXT NOT NULL,
    seq              BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
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
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (app_key, conversation, seq)
);

-- The idempotency key of a send.
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (app_key, from_accid, client_id);

-- Server ids: milliseconds in the high bits, this counter below.
CREATE SEQUENCE IF NOT EXISTS message_id_counter;
