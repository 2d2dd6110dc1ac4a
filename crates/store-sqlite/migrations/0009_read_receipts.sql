-- How far each account read each of its conversations (P2P read receipts).
CREATE TABLE read_marks (
    app_key TEXT NOT NULL,
    conversation TEXT NOT NULL,
    reader TEXT NOT NULL,
    seq INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (app_key, conversation, reader)
) WITHOUT ROWID;
